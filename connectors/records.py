"""Reading vendor lists record by record: one unusable record never costs its page.

A list field declared ``Records[Item]`` validates the envelope's array as an array
(anything else still fails the whole response), then each element on its own: an
element that does not validate as ``Item`` (above all one without an ID, which nothing
can be looked up, linked or paged by) is dropped and counted on the
:class:`SkipTally` passed as validation context. :meth:`HttpTransport.get_model
<connectors._http.HttpTransport.get_model>` passes one per response and turns a
non-zero count into one :class:`BadRecords` notice for that page.

Notices reach the GraphQL response like the cache's stale notices: through a context
variable the server binds to the request's list (DataLoader tasks inherit it).
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, get_args

from pydantic import GetCoreSchemaHandler, ValidationError
from pydantic_core import core_schema

__all__ = [
    "BadRecords",
    "OneRecord",
    "Records",
    "SkipTally",
    "collect_bad_records",
    "report_bad_records",
]

T = TypeVar("T")


@dataclass(slots=True)
class SkipTally:
    """Validation context counting the records dropped while reading one response."""

    skipped: int = 0


class _SkipUnusable:
    """Marker behind :data:`Records` (validate the list, then each item on its own) and
    :data:`OneRecord` (an unusable JSON object reads as None; anything else still fails)."""

    def __init__(self, *, many: bool) -> None:
        self._many = many

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        if self._many:
            (item_type,) = get_args(source) or (Any,)
        else:
            item_type = next((arg for arg in get_args(source) if arg is not type(None)), Any)
        item_schema = handler.generate_schema(item_type)

        def item_or_skip(
            value: Any,
            validate: core_schema.ValidatorFunctionWrapHandler,
            info: core_schema.ValidationInfo,
        ) -> Any:
            tally = info.context if isinstance(info.context, SkipTally) else SkipTally()
            before = tally.skipped
            try:
                return validate(value)
            except ValidationError:
                if not self._many and not isinstance(value, dict):
                    raise  # not a record at all: the response is of another shape
                # One record skipped, whatever was skipped inside it before it failed.
                tally.skipped = before + 1
                return _SKIPPED

        items = core_schema.with_info_wrap_validator_function(item_or_skip, item_schema)
        if not self._many:
            return core_schema.no_info_after_validator_function(_none_if_skipped, items)
        return core_schema.no_info_after_validator_function(
            _drop_skipped, core_schema.list_schema(items)
        )


_SKIPPED: Any = object()


def _drop_skipped(values: list[Any]) -> list[Any]:
    return [value for value in values if value is not _SKIPPED]


def _none_if_skipped(value: Any) -> Any:
    return None if value is _SKIPPED else value


#: A list whose unusable items are dropped and counted (see the module docstring).
Records = Annotated[list[T], _SkipUnusable(many=True)]
#: One record (a look-up's answer) that reads as None, counted, when it is unusable.
OneRecord = Annotated[T | None, _SkipUnusable(many=False)]


@dataclass(frozen=True, slots=True)
class BadRecords:
    """Records of one vendor page that were skipped because they could not be read.

    Attributes:
        source: The configured source's name.
        vendor: The vendor kind.
        endpoint: The path of the call below the source's base URL (no query string).
        count: How many records of that page were skipped.
        page: What told this page apart from others of the endpoint (its query); used to
            report one page once, never shown.
    """

    source: str
    vendor: str
    endpoint: str
    count: int
    page: str = ""

    @property
    def message(self) -> str:
        records = "record" if self.count == 1 else "records"
        return (
            f"source {self.source!r} ({self.vendor}) on GET {self.endpoint}: skipped "
            f"{self.count} {records} that could not be read (no usable ID or malformed)"
        )


_NOTICES: ContextVar[list[BadRecords] | None] = ContextVar("lms_graph_bad_records", default=None)


def collect_bad_records(into: list[BadRecords]) -> Token[list[BadRecords] | None]:
    """Send the bad-record notices of the current task, and of tasks it starts, to ``into``."""
    return _NOTICES.set(into)


def report_bad_records(notice: BadRecords) -> None:
    """Record a notice for the current request; dropped when no request collects them."""
    notices = _NOTICES.get()
    if notices is not None:
        notices.append(notice)
