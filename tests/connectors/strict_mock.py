"""``aioresponses`` that remembers every request and reports mocks a test never used.

A registered response that nothing consumed usually means the code made fewer calls
than the test believes (or called another URL); a request nothing matched turns into
a ``ClientConnectionError`` inside ``aioresponses``, which a connector would classify
as "vendor unavailable" and could make an error test pass for the wrong reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from re import Pattern
from types import SimpleNamespace
from typing import Any, Self

from aiohttp import ClientResponse
from aioresponses import aioresponses
from multidict import CIMultiDict
from yarl import URL

__all__ = ["CompatClientResponse", "SentRequest", "StrictAioresponses"]


@dataclass(frozen=True)
class SentRequest:
    method: str
    url: URL
    headers: CIMultiDict[str]

    @property
    def params(self) -> dict[str, str]:
        return dict(self.url.query)


class CompatClientResponse(ClientResponse):
    """aiohttp >= 3.13 requires ``stream_writer``, which aioresponses 0.7.x does not pass.

    With ``writer=None`` ("request already sent") aiohttp only reads
    ``stream_writer.output_size``, so a stand-in with that attribute is enough.
    """

    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(method, url, **kwargs)


class StrictAioresponses(aioresponses):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls: list[SentRequest] = []
        self.unmatched: list[str] = []

    def __enter__(self) -> Self:
        self.start()
        return self

    def add(  # the signature of aioresponses.add, defaulting `response_class`
        self,
        url: URL | str | Pattern[str],
        method: str = "GET",
        status: int = 200,
        body: str | bytes = "",
        exception: Exception | None = None,
        content_type: str = "application/json",
        payload: dict[Any, Any] | None = None,
        headers: CIMultiDict[Any] | dict[Any, Any] | None = None,
        response_class: type[ClientResponse] | None = None,
        repeat: bool | int = False,
        timeout: bool = False,
        reason: str | None = None,
        callback: Callable[..., Any] | None = None,
    ) -> None:
        super().add(
            url,
            method=method,
            status=status,
            body=body,
            exception=exception,
            content_type=content_type,
            payload=payload,
            headers=headers,
            response_class=response_class or CompatClientResponse,
            repeat=repeat,
            timeout=timeout,
            reason=reason,
            callback=callback,
        )

    async def match(
        self, method: str, url: URL, allow_redirects: bool = True, **kwargs: Any
    ) -> Any:
        headers: CIMultiDict[str] = CIMultiDict(kwargs.get("headers") or {})
        self.calls.append(SentRequest(method.upper(), url, headers))
        response = await super().match(method, url, allow_redirects=allow_redirects, **kwargs)
        if response is None:
            self.unmatched.append(f"{method.upper()} {url}")
        return response

    def unused(self) -> list[str]:
        """Registered responses no request consumed (read from ``_matches``/``requests``)."""
        # aioresponses deletes a one-shot match once used and counts `repeat=N` down,
        # so whatever is left in `_matches` was never (fully) consumed, except
        # `repeat=True` matches, which stay forever: those count as used once any
        # recorded request matched them.
        left = []
        for matcher in self._matches.values():
            target = f"{matcher.method.upper()} {matcher.url_or_pattern}"
            repeat = matcher.repeat
            if repeat is True or (not isinstance(repeat, bool) and repeat <= 0):
                if not any(matcher.match(method, url) for method, url in self.requests):
                    left.append(f"{target} (repeat=True, never requested)")
            else:
                remaining = 1 if repeat is False else repeat
                left.append(f"{target} ({remaining} response(s) never consumed)")
        return left

    def problems(self) -> list[str]:
        return [f"unused mock: {entry}" for entry in self.unused()] + [
            f"request matched no mock: {entry}" for entry in self.unmatched
        ]
