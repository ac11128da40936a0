"""The service's HTTP/1.1 protocol: uvicorn's httptools protocol with bounds on what a client can
make the server do before its delivery is verified.

uvicorn's own options are used where they exist (`timeout_keep_alive`, idle time between
requests; `timeout_graceful_shutdown`, the last resort of a stop: see `ingest.__main__`). With
httptools, uvicorn has none for the rest (`h11_max_incomplete_event_size` is h11's only, and h11
costs throughput; `limit_concurrency` answers a plain-text 503 without Retry-After and does not
bound idle connections), so this class adds, per connection:

- the request head (request line and headers) may not pass `max_header_bytes`: past it, even in
  the middle of one header, the answer is 431 and the connection closes;
- the head must be complete within `header_timeout_seconds` of the connection's opening (or of a
  later request's first byte), else 408, or a silent close if nothing came at all; the body
  within `body_timeout_seconds` of the head, else 408;
- past `max_connections` open connections a connection's request is answered 503 with
  Retry-After (it has 1 s to send it); past twice that, up to LAST_CHANCE connections at a
  time get 0.2 s to send theirs and the same answer (a health check in a crowd of idle
  connections is answered, not reset), and any more are closed when accepted;
- at a stop, a connection whose request has not fully arrived is closed at once; requests that
  have arrived are answered.

Deadlines are checked by one sweep of the process's connections four times a second, not by a
timer per request: arming and cancelling a timer costs ~4 us (asyncio.timeout ~9 us), and the
two took a tenth of the service's CPU time per request. A deadline is thus enforced up to two
sweeps (0.5 s) late. The budget for bodies in memory is the app's (`ingest.app`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import Any

import httptools
from uvicorn._types import ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from ingest.limits import BODY_TIMED_OUT, LAST_CHANCE, Limits

_HEAD, _BODY, _DONE = 0, 1, 2  # receiving a request's head, its body; it has all arrived
_OVER_CAP_SECONDS = 1.0
_LAST_CHANCE_SECONDS = 0.2  # past twice the cap: a request must be there almost at once


class _HeadTooLarge(Exception):
    pass


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        # Put on the lifespan state by ingest.app; without it this is uvicorn's protocol.
        self._limits: Limits | None = app_state.get("limits")
        self._phase = _HEAD
        self._turn = 0  # counts phase changes, so that the sweep sees a new phase begin
        self._seen_turn = -1
        self._since = 0.0  # when the sweep first saw this turn
        self._head_timeout = 0.0
        self._head_begun = False  # a byte of the current request's head has arrived
        self._head_bytes = 0  # bytes received while the head is incomplete
        self._head_uncounted = False  # it began in a chunk counted as the previous body's
        self._entered_in_body = False
        self._head_too_large = False
        self._last_chance = False  # accepted past twice the cap, counted in last_chance_open

    # ---- connections --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        limits = self._limits
        if limits is None:
            return
        limits.metrics.connections_open.inc()
        if not limits.watching:
            limits.watching = True
            interval = min(0.25, limits.header_timeout_seconds / 4, limits.body_timeout_seconds / 4)
            self.loop.call_later(interval, _sweep, self.loop, interval, self.connections)
        open_now = len(self.connections)
        self._head_timeout = limits.header_timeout_seconds
        if open_now > limits.refuse_above:
            if limits.last_chance_open >= LAST_CHANCE:
                limits.dropped("over_limit", self._client())
                transport.close()
                return
            limits.last_chance_open += 1
            self._last_chance = True
            self.app = self._too_many_connections
            self._head_timeout = min(self._head_timeout, _LAST_CHANCE_SECONDS)
        elif open_now > limits.max_connections:
            self.app = self._too_many_connections
            self._head_timeout = min(self._head_timeout, _OVER_CAP_SECONDS)
        self._seen_turn, self._since = self._turn, self.loop.time()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._limits is not None:
            self._limits.metrics.connections_open.dec()
            if self._last_chance:
                self._last_chance = False
                self._limits.last_chance_open -= 1
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        limits = self._limits
        if limits is None:
            super().data_received(data)
            return
        # As uvicorn's data_received, with the head counted before the parser buffers it.
        self._unset_keepalive_if_required()
        self._entered_in_body = self._phase == _BODY
        if not self._entered_in_body:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            if self._head_too_large:
                self._refuse_head(limits)
                return
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return
        if self._phase != _BODY and self._head_bytes > limits.max_header_bytes:
            self._refuse_head(limits)

    def shutdown(self) -> None:
        limits = self._limits
        if limits is not None and not self.transport.is_closing() and self._receiving():
            # A request still arriving is not waited for: the client retries it.
            limits.dropped("shutdown", self._client())
            self.transport.close()
            return
        super().shutdown()

    # ---- parser callbacks ----------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._phase != _HEAD:
            self._phase = _HEAD
            self._turn += 1
        self._head_begun = True
        self._head_uncounted = self._entered_in_body

    def on_headers_complete(self) -> None:
        limits = self._limits
        if limits is not None:
            # Everything received since the head began bounds its size; only when that is
            # over the limit is the head measured exactly.
            maybe_over = self._head_uncounted or self._head_bytes > limits.max_header_bytes
            if maybe_over and _head_size(self.url, self.headers) > limits.max_header_bytes:
                self._head_too_large = True
                raise _HeadTooLarge  # stops the parser; data_received answers
            self._phase = _BODY
            self._turn += 1
            self._head_begun = False
            self._head_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._phase = _DONE
        self._head_bytes = 0
        super().on_message_complete()

    # ---- bounds ---------------------------------------------------------------------------

    def _receiving(self) -> bool:
        """A request has begun to arrive and is not complete."""
        if self._phase == _BODY:
            return True
        return (
            self._phase == _HEAD
            and self._head_begun
            and (self.cycle is None or self.cycle.response_complete)
        )

    def _check_deadline(self, now: float) -> None:
        limits = self._limits
        if limits is None or self._phase == _DONE or self.transport.is_closing():
            return
        if self._seen_turn != self._turn:
            self._seen_turn, self._since = self._turn, now
            return
        if self._phase == _BODY:
            if now - self._since >= limits.body_timeout_seconds:
                self.scope[BODY_TIMED_OUT] = True  # type: ignore[literal-required]
                self._answer(
                    limits,
                    408,
                    "body_timeout",
                    f"the body did not arrive within {limits.body_timeout_seconds:g} s",
                )
            return
        if now - self._since < self._head_timeout:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a pipelined head behind a request still being answered
        if not self._head_begun:
            limits.dropped("idle_timeout", self._client())
            self.transport.close()
            return
        self._answer(
            limits,
            408,
            "header_timeout",
            f"the request line and headers did not arrive within {self._head_timeout:g} s",
        )

    def _refuse_head(self, limits: Limits) -> None:
        self._answer(
            limits,
            431,
            "headers_too_large",
            f"the request line and headers are larger than the limit of "
            f"{limits.max_header_bytes} bytes",
        )

    async def _too_many_connections(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        limits = self._limits
        assert limits is not None
        limits.rejected(503, "too_many_connections", self._client())
        body = _error_body(
            "too_many_connections",
            f"the service has more than {limits.max_connections} connections open; retry later",
        )
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(limits.retry_after_seconds).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})

    def _answer(self, limits: Limits, status: int, reason: str, message: str) -> None:
        """Answer an error the app did not see coming, and close."""
        limits.rejected(status, reason, self._client())
        body = _error_body(reason, message)
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.append(b"content-type: application/json\r\ncontent-length: %d\r\n" % len(body))
        content.append(b"connection: close\r\n\r\n")
        content.append(body)
        self.transport.write(b"".join(content))
        self.transport.close()

    def _client(self) -> str | None:
        return self.client[0] if self.client else None


def _sweep(loop: asyncio.AbstractEventLoop, interval: float, connections: Iterable[object]) -> None:
    now = loop.time()
    for conn in list(connections):
        if isinstance(conn, BoundedHttpToolsProtocol):
            conn._check_deadline(now)
    loop.call_later(interval, _sweep, loop, interval, connections)


def _head_size(url: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    return len(url) + sum(len(name) + len(value) + 4 for name, value in headers)


def _error_body(reason: str, message: str) -> bytes:
    return json.dumps({"error": reason, "message": message}, separators=(",", ":")).encode()
