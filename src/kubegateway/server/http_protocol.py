"""The gateway's HTTP/1.1 protocol: httptools parsing, one write per response.

uvicorn still runs the workers, the sockets, signals, lifespan and graceful
shutdown. It instantiates this class for every connection in place of its own
protocol (``uvicorn.Config(http=...)``). Data-path requests go straight to
``DataPath.handle`` with the body already read, and the reply leaves in one
``write``. Under load that saves about a third of the CPU per request against
uvicorn's own protocol, which creates an ASGI cycle, writes headers and body
separately, and runs proxy-header middleware (see docs/benchmarks.md). Other
paths (the admin API, ``/metrics``) go through a small ASGI bridge to the
FastAPI app, off the hot path.

What the protocol guarantees, each covered by tests: keep-alive, HTTP
pipelining (replies in request order), chunked request bodies, a body size cap
with the reply sent only after the body was read, early replies to
``Expect: 100-continue`` requests that would be rejected, back-pressure when
the client reads slowly, a keep-alive idle timeout, and a JSON 400 for bytes
that are not HTTP.
"""

from __future__ import annotations

import asyncio
import collections
import http
import os
import typing
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import unquote

import httptools
import orjson
import structlog

from kubegateway.gateway.datapath import PREFIX, BufferedBody, DataPath

if typing.TYPE_CHECKING:
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    from kubegateway.server.worker import WorkerApp

log = structlog.get_logger("kubegateway.http")

# Body bytes kept for admin API requests, whose bodies are small JSON objects.
# Data-path requests keep up to their tenant's request size limit, and none
# when the token is invalid. A longer body is read and dropped, and the
# request then gets 413 (or its auth error), as the data path does.
MAX_ADMIN_BODY = 2**20
# Request line and headers of one request; beyond this the reply is 431.
MAX_HEADER_BYTES = 64 * 2**10
# A request must arrive whole within this time after its first byte.
REQUEST_TIMEOUT_SECONDS = float(
    os.environ.get("KUBEGATEWAY_HTTP_REQUEST_TIMEOUT", "60")
)
# Complete requests queued on one connection before reading pauses.
MAX_PIPELINED = 32
_JSON = b"content-type: application/json\r\n"
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_REASONS = {status.value: status.phrase.encode() for status in http.HTTPStatus}

_current_app: WorkerApp | None = None


def register(app: WorkerApp) -> None:
    """Make ``app`` the one this worker process's connections serve."""
    global _current_app
    _current_app = app


class _Request:
    __slots__ = (
        "body",
        "body_limit",
        "body_size",
        "headers",
        "http_version",
        "keep_alive",
        "method",
        "url",
    )

    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.body_size = 0
        self.body_limit = MAX_ADMIN_BODY
        self.method = "GET"
        self.http_version = "1.1"
        self.keep_alive = True


class GatewayProtocol(asyncio.Protocol):
    """One client connection."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if _current_app is None:
            raise RuntimeError("no worker app is registered for this process")
        self._app = _current_app
        self._datapath: DataPath = _current_app.datapath
        self._loop = _loop or asyncio.get_event_loop()
        self._config = config
        self._server_state = server_state
        self._app_state = app_state
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._request = _Request()
        self._header_bytes = 0
        self._message_started: float | None = None
        self._queue: collections.deque[_Request] = collections.deque()
        self._task: asyncio.Task[None] | None = None
        self._idle: asyncio.TimerHandle | None = None
        self._last_active = self._loop.time()
        self._reading_paused = False
        self._writable = asyncio.Event()
        self._writable.set()
        self._closing = False
        self._disconnected = self._loop.create_future()
        self._client: tuple[str, int] | None = None
        self._server: tuple[str, int] | None = None

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = typing.cast(asyncio.Transport, transport)
        self._server_state.connections.add(self)  # type: ignore[arg-type]
        self._client = _address(transport.get_extra_info("peername"))
        self._server = _address(transport.get_extra_info("sockname"))
        self._idle = self._loop.call_later(
            self._config.timeout_keep_alive, self._check_idle
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self._server_state.connections.discard(self)
        self._closing = True
        self._cancel_idle_timer()
        self._writable.set()
        if not self._disconnected.done():
            self._disconnected.set_result(None)

    def data_received(self, data: bytes) -> None:
        self._last_active = self._loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserCallbackError:
            if self._header_bytes > MAX_HEADER_BYTES:
                self._fail_protocol(
                    f"the request line and headers are over {MAX_HEADER_BYTES} bytes",
                    status=431,
                )
            else:
                log.exception("The HTTP parser callback failed.")
                self._fail_protocol("the request could not be processed", 500)
        except httptools.HttpParserUpgrade:
            self._fail_protocol("protocol upgrades are not supported")
        except httptools.HttpParserError as error:
            self._fail_protocol(f"the request is not valid HTTP/1.1: {error}")

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def eof_received(self) -> bool | None:
        return None

    # httptools callbacks

    def on_message_begin(self) -> None:
        self._request = _Request()
        self._header_bytes = 0
        self._message_started = self._loop.time()

    def on_url(self, url: bytes) -> None:
        self._request.url += url
        self._count_header_bytes(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._request.headers.append((name.lower(), value))
        self._count_header_bytes(len(name) + len(value))

    def _count_header_bytes(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > MAX_HEADER_BYTES:
            # httptools stops parsing and raises HttpParserCallbackError from
            # feed_data, which data_received turns into a 431.
            raise _HeadersTooLarge

    def on_headers_complete(self) -> None:
        request = self._request
        request.method = self._parser.get_method().decode("ascii", "replace")
        request.http_version = self._parser.get_http_version()
        request.keep_alive = self._parser.should_keep_alive()
        rejection = None
        if request.url.startswith(PREFIX):
            rejection, request.body_limit = self._datapath.precheck(_scope(request))
        expects_continue = any(
            name == b"expect" and value.lower() == b"100-continue"
            for name, value in request.headers
        )
        if not expects_continue:
            return
        if rejection is None or self._queue or self._task is not None:
            self._write(_CONTINUE)
            return
        # The client has not sent the body, so reply and close: the unsent
        # body can never be parsed as the next request.
        status, body = rejection
        self._write(_response(status, body, [(b"connection", b"close")], False))
        self._close()

    def on_body(self, body: bytes) -> None:
        request = self._request
        request.body_size += len(body)
        if request.body_size > request.body_limit:
            request.body.clear()
            return
        request.body.append(body)

    def on_message_complete(self) -> None:
        self._message_started = None
        self._last_active = self._loop.time()
        if self._closing:
            return
        self._queue.append(self._request)
        if len(self._queue) >= MAX_PIPELINED and self._transport is not None:
            self._transport.pause_reading()
            self._reading_paused = True
        if self._task is None:
            self._task = self._loop.create_task(self._serve_queue())
            self._server_state.tasks.add(self._task)

    # Serving

    async def _serve_queue(self) -> None:
        try:
            while self._queue and not self._transport_closed():
                request = self._queue.popleft()
                if self._reading_paused and len(self._queue) < MAX_PIPELINED // 2:
                    assert self._transport is not None
                    self._transport.resume_reading()
                    self._reading_paused = False
                await self._serve(request)
                if not request.keep_alive:
                    self._close()
                    return
                if not self._writable.is_set():
                    await self._writable.wait()
        finally:
            task, self._task = self._task, None
            if task is not None:
                self._server_state.tasks.discard(task)
        self._last_active = self._loop.time()
        if self._closing:
            self._close()

    async def _serve(self, request: _Request) -> None:
        self._server_state.total_requests += 1
        head = request.method == "HEAD"
        body = b"".join(request.body)
        too_large = request.body_size > request.body_limit
        extra: list[tuple[bytes, bytes]]
        if request.url.startswith(PREFIX):
            # A body over the limit was dropped; the data path rejects it by
            # its size (or for a bad token) with the usual JSON reply.
            status, payload, extra = await self._datapath.handle(
                _scope(request), BufferedBody(body, request.body_size)
            )
        elif too_large:
            status, extra = 413, []
            payload = _error(
                f"the request body is over the limit of {MAX_ADMIN_BODY} bytes"
            )
        else:
            status, payload, extra = await self._call_admin(request, body)
        if not request.keep_alive or self._closing:
            extra.append((b"connection", b"close"))
        extra.extend(self._server_state.default_headers)
        self._write(_response(status, payload, extra, head))

    async def _call_admin(
        self, request: _Request, body: bytes
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        """Run the admin ASGI app on a fully read request and collect its reply."""
        path, _, query = request.url.partition(b"?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": request.http_version,
            "server": self._server,
            "client": self._client,
            "scheme": "http",
            "method": request.method,
            "root_path": "",
            "path": unquote(path.decode("latin-1")),
            "raw_path": path,
            "query_string": query,
            "headers": request.headers,
            "state": dict(self._app_state),
        }
        sent_body = False
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await self._disconnected
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self._app.admin(scope, receive, send)
        except Exception:
            log.exception("The admin API failed.", path=scope["path"])
            start.clear()
        if not start:
            return 500, orjson.dumps({"error": "internal error"}), []
        headers = [
            (bytes(name).lower(), bytes(value))
            for name, value in start.get("headers", [])
            if bytes(name).lower() not in (b"content-length", b"transfer-encoding")
        ]
        return int(start["status"]), b"".join(chunks), headers

    # Connection control

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def _transport_closed(self) -> bool:
        return self._transport is None or self._transport.is_closing()

    def _close(self) -> None:
        self._closing = True
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()

    def _fail_protocol(self, message: str, status: int = 400) -> None:
        close = [(b"connection", b"close")]
        self._write(_response(status, _error(message), close, False))
        self._close()

    def _check_idle(self) -> None:
        """Close a connection idle for the keep-alive timeout.

        One timer per connection re-arms itself, so requests only stamp the
        time of their last activity instead of arming a timer each.
        """
        self._idle = None
        if self._closing:
            return
        now = self._loop.time()
        timeout = self._config.timeout_keep_alive
        started = self._message_started
        if started is not None:
            # A request is arriving: it gets the request timeout as a whole,
            # so a client that trickles headers or body cannot hold the
            # connection forever.
            if now - started >= REQUEST_TIMEOUT_SECONDS:
                self._fail_protocol(
                    f"the request did not arrive within {REQUEST_TIMEOUT_SECONDS:g} "
                    "seconds",
                    status=408,
                )
                return
            wait = min(timeout, REQUEST_TIMEOUT_SECONDS - (now - started))
        elif self._task is None and not self._queue:
            idle_for = now - self._last_active
            if idle_for >= timeout:
                self._close()
                return
            wait = timeout - idle_for
        else:
            wait = timeout
        self._idle = self._loop.call_later(max(wait, 0.1), self._check_idle)

    def _cancel_idle_timer(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def shutdown(self) -> None:
        """Close after the requests already received get their replies.

        uvicorn calls this on graceful shutdown.
        """
        self._closing = True
        if self._task is None:
            self._close()


class _HeadersTooLarge(Exception):
    """The request line and headers passed ``MAX_HEADER_BYTES``."""


def _error(message: str) -> bytes:
    return orjson.dumps({"error": message})


def _scope(request: _Request) -> dict[str, Any]:
    path, _, query = request.url.partition(b"?")
    return {
        "method": request.method,
        "path": "",
        "raw_path": path,
        "query_string": query,
        "headers": request.headers,
    }


def _address(value: object) -> tuple[str, int] | None:
    if isinstance(value, tuple) and len(value) >= 2:
        return str(value[0]), int(value[1])
    return None


def _response(
    status: int, body: bytes, headers: list[tuple[bytes, bytes]], head: bool
) -> bytes:
    """Serialize a whole response: status line, headers and body, in one buffer."""
    parts = [
        b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b"Unknown")),
        b"content-length: %d\r\n" % len(body),
    ]
    has_type = False
    for name, value in headers:
        if name == b"content-type":
            has_type = True
        parts.append(name + b": " + value + b"\r\n")
    if not has_type:
        parts.append(_JSON)
    parts.append(b"\r\n")
    if not head:
        parts.append(body)
    return b"".join(parts)
