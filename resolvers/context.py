"""The per-request context every resolver receives."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from connectors.records import BadRecords
from resolvers.cache.freshness import Freshness
from resolvers.cache.notices import StaleNotice
from resolvers.loaders import Loaders
from resolvers.paging import SourceFailure
from resolvers.sources import SourceRegistry

__all__ = ["Context", "ReportedFailure"]


@dataclass(frozen=True, slots=True)
class ReportedFailure:
    """A source that failed while the rest of a field's data was served."""

    failure: SourceFailure
    path: tuple[str | int, ...]


@dataclass
class Context:
    """Typed request context (``strawberry.Info[Context, None]`` in resolvers).

    Attributes:
        sources: The sources this request may read: the server's, or the client's share
            of them (:meth:`SourceRegistry.scoped`). Everything reaches sources through it.
        client: The name of the authenticated client; None without ``[[clients]]``.
        report_cost: The request asked for ``extensions.cost``.
        vendor_calls: HTTP calls made to each source's vendor for this request (the
            server binds it with ``count_vendor_calls``).
        loaders: This request's DataLoaders.
        failures: Partial failures to report next to the data, as GraphQL errors.
        stale: Sources whose cached data was served past its freshness because the
            source failed (the server binds it with ``collect_stale_notices``).
        bad_records: Vendor pages whose unusable records were skipped (the server binds
            it with ``collect_bad_records``); reported as warnings.
        nodes: GraphQL nodes built in this request, by type, source and record, so a
            record named on many rows is built once (``graph.types``).
        freshness: When the data used was fetched and how long it stays fresh (the
            server binds it with ``collect_freshness``); bounds the response cache.
        operation_type: ``query`` … once the operation to run is known.
        operation_name: Its name (None: anonymous), known at the same time.
        cost_estimate: The operation's price per source, once priced.
    """

    sources: SourceRegistry
    client: str | None = None
    report_cost: bool = False
    vendor_calls: Counter[str] = field(default_factory=Counter)
    loaders: Loaders = field(init=False)
    failures: list[ReportedFailure] = field(default_factory=list)
    stale: list[StaleNotice] = field(default_factory=list)
    bad_records: list[BadRecords] = field(default_factory=list)
    nodes: dict[tuple[type, str, int], Any] = field(default_factory=dict)
    freshness: Freshness = field(default_factory=Freshness)
    operation_type: str | None = None
    operation_name: str | None = None
    cost_estimate: dict[str, int] | None = None

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.sources)

    def report(self, failures: list[SourceFailure], path: tuple[str | int, ...]) -> None:
        self.failures.extend(ReportedFailure(failure, path) for failure in failures)
