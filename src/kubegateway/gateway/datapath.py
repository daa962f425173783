"""The data path: Upstash Redis REST requests in, valkey replies out.

This is the hot path, so it uses no framework. ``DataPath.handle`` reads the
few headers it needs in one pass and authenticates from an in-memory
directory. It checks every command against the server's command table and
sends the commands over a shared multiplexed connection. Every reply, errors
included, is a JSON body. The gateway's HTTP protocol calls ``handle``
directly; ``__call__`` serves the same logic as an ASGI application.

It never forwards a command the table does not allow, never lets a token act
on another tenant or instance, and never logs a token or a value.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import structlog

from kubegateway.errors import (
    BackendUnavailable,
    Forbidden,
    KubegatewayError,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    RequestError,
    TenantSuspended,
    Unauthenticated,
)
from kubegateway.gateway.connections import ConnectionPool, Endpoint
from kubegateway.gateway.directory import Directory, Grant, InstanceView
from kubegateway.gateway.ratelimit import RateLimiter
from kubegateway.ids import InstanceId, TenantId
from kubegateway.protocol import upstash
from kubegateway.protocol.commands import CommandTable, Rule, Verdict, is_blocking_call
from kubegateway.tenancy.models import Access, Quota, TenantPhase

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = structlog.get_logger("kubegateway.gateway")

PREFIX = b"/v1/redis/"
_JSON_METHODS = frozenset({"POST"})
_PATH_METHODS = frozenset({"GET", "HEAD", "POST", "PUT"})
_CONTENT_TYPE = (b"content-type", b"application/json")

# Upper bound on a body read only to drain it before an error reply; beyond
# it the server closes the connection instead.
DRAIN_LIMIT_BYTES = 64 * 2**20


@dataclass(frozen=True, slots=True)
class Settings:
    pool_size: int = 2
    request_timeout: float = 10.0
    # Used when a tenant's quota sets no request size limit.
    max_request_size: int = 10 * 2**20
    # Worker processes; each enforces its share of a tenant's max_connections.
    workers: int = 1


@dataclass(slots=True)
class _Request:
    method: str
    tenant: TenantId
    instance: InstanceId
    rest: list[bytes]
    query: bytes
    token: str | None
    encode: bool
    content_length: int | None


class Outcome:
    """The result of one request, for metrics and logs."""

    __slots__ = (
        "authorized",
        "command_class",
        "commands",
        "instance",
        "status",
        "tenant",
    )

    def __init__(self) -> None:
        self.status = 200
        self.tenant = ""
        self.instance = ""
        self.commands = 0
        self.command_class = "none"
        # True once a token for this tenant and instance was accepted; only
        # then do the path's names become metric labels.
        self.authorized = False


class DataPath:
    def __init__(self, directory: Directory, settings: Settings) -> None:
        self._directory = directory
        self._settings = settings
        self._pools: dict[Endpoint, ConnectionPool] = {}
        self._tables: dict[tuple[str, int], CommandTable] = {}
        self._sync_prefix = f"{os.getpid():x}-{time.time_ns():x}-".encode()
        self._writes = 0
        self._request_prefix = f"{os.getpid():x}{time.time_ns() % 2**32:08x}-"
        self._requests = 0
        self._error_log = _ErrorLogLimiter()
        self._in_flight: dict[TenantId, int] = {}
        self._background: set[asyncio.Task[list[object]]] = set()
        self.observers: list[Callable[[Outcome, float, int, int], None]] = []
        self.limiter: RateLimiter | None = None
        # Tenants whose data on disk is over their storage quota.
        self.over_storage: frozenset[str] = frozenset()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request as an ASGI application."""
        status, body, extra = await self.handle(scope, _BodyReader(receive))
        await self._respond(send, status, body, scope["method"] == "HEAD", extra)

    async def handle(
        self, scope: Scope, reader: BodySource
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        """Serve one request; return the status, JSON body and extra headers.

        ``scope`` needs only the ASGI keys ``method``, ``path``, ``raw_path``,
        ``query_string`` and ``headers``, so the gateway's own HTTP protocol
        can call this without building a full ASGI scope.
        """
        started = time.perf_counter()
        outcome = Outcome()
        self._requests += 1
        request_id = (
            _client_request_id(scope) or f"{self._request_prefix}{self._requests}"
        )
        extra: list[tuple[bytes, bytes]] = [(b"x-request-id", request_id.encode())]
        try:
            request = self._parse_scope(scope)
            outcome.tenant, outcome.instance = request.tenant, request.instance
            status, body = await self._serve(request, reader, outcome)
        except KubegatewayError as error:
            status, body = error.status, orjson.dumps(error.to_body())
            if isinstance(error, RateLimited):
                extra.append((b"retry-after", str(error.retry_after).encode()))
            elif isinstance(error, _MethodNotAllowed):
                extra.append((b"allow", error.allow))
            if not reader.started and _expects_continue(scope):
                # The client waits for "100 Continue" before it sends the
                # body, so reply now and close the connection. The unsent
                # body can then never be parsed as the next request.
                extra.append((b"connection", b"close"))
            else:
                # Reply only after the whole body arrived, so clients that
                # are still sending see the reply instead of a reset
                # connection.
                await reader.drain()
            self._log_error(outcome, request_id, error.status, error.message)
        except Exception as error:
            # A bug, not bad input: reply with JSON and keep the details in
            # the log, never in the response.
            status = 500
            body = orjson.dumps(
                {"error": f"internal error; quote request id {request_id}"}
            )
            log.exception(
                "Request failed with an internal error.",
                tenant=outcome.tenant,
                instance=outcome.instance,
                request_id=request_id,
                error=type(error).__name__,
            )
            await reader.drain()
        outcome.status = status
        extra.append(
            (b"upstash-sync-token", self._sync_prefix + str(self._writes).encode())
        )
        for observe in self.observers:
            observe(outcome, time.perf_counter() - started, reader.size, len(body))
        return status, body, extra

    def precheck(self, scope: Scope) -> tuple[tuple[int, bytes] | None, int]:
        """Check a request before its body arrives.

        Returns the error reply, or None, and how many body bytes are worth
        keeping: the tenant's request size limit, or 0 for a request that will
        be rejected anyway, so unauthenticated clients cannot make the gateway
        hold large bodies. A client that sent ``Expect: 100-continue`` gets
        the error at once, before it sends the body.
        """
        try:
            request = self._parse_scope(scope)
            _grant, _instance, quota = self._authorize(request)
            self._route(request)
            limit = self._body_limit(request, quota)
        except KubegatewayError as error:
            return (error.status, orjson.dumps(error.to_body())), 0
        return None, limit

    def _log_error(
        self, outcome: Outcome, request_id: str, status: int, message: str
    ) -> None:
        suppressed = self._error_log.admit(outcome.tenant, status)
        if suppressed is None:
            return
        log_method = log.warning if status >= 500 else log.info
        log_method(
            "Request rejected." if status < 500 else "Request failed.",
            tenant=outcome.tenant,
            instance=outcome.instance,
            request_id=request_id,
            status=status,
            error=message,
            suppressed_since_last=suppressed,
        )

    def _parse_scope(self, scope: Scope) -> _Request:
        raw: bytes = scope.get("raw_path") or scope["path"].encode()
        raw = raw.split(b"?", 1)[0]
        segments = raw[len(PREFIX) :].split(b"/")
        if len(segments) < 2 or not segments[0] or not segments[1]:
            raise NotFound(
                "the path must be /v1/redis/<tenant>/<instance>[/command...]"
            )
        tenant = TenantId(segments[0].decode("ascii", "replace"))
        instance = InstanceId(segments[1].decode("ascii", "replace"))
        rest = segments[2:]
        while rest and not rest[0]:
            rest.pop(0)
        if rest and not rest[-1]:
            rest.pop()
        token = None
        encode = False
        content_length = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, credential = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer":
                    token = credential.strip()
            elif name == b"upstash-encoding":
                encode = value.lower() == b"base64"
            elif name == b"content-length" and value.isdigit():
                content_length = int(value)
        query: bytes = scope.get("query_string", b"")
        if token is None and query:
            for key, value in upstash.query_pairs(query):
                if key == b"_token":
                    token = value.decode("latin-1")
        return _Request(
            scope["method"],
            tenant,
            instance,
            rest,
            query,
            token,
            encode,
            content_length,
        )

    def _authorize(self, request: _Request) -> tuple[Grant, InstanceView, Quota]:
        if not request.token:
            raise Unauthenticated(
                "missing token: send 'Authorization: Bearer <token>' or '?_token='"
            )
        grant = self._directory.authenticate(request.token)
        if grant is None:
            raise Unauthenticated("the token is invalid, revoked or expired")
        if grant.tenant != request.tenant or grant.instance != request.instance:
            raise Forbidden(
                "the token is not valid for this tenant and instance; "
                "use a token created for it"
            )
        tenant = self._directory.tenant(grant.tenant)
        if tenant is None:
            raise NotFound(f"tenant {request.tenant!r} does not exist")
        if tenant.phase != TenantPhase.ACTIVE:
            raise TenantSuspended(
                f"tenant {request.tenant!r} is {tenant.phase.lower()} "
                f"({tenant.reason}); its data is kept but requests are rejected"
            )
        instance = self._directory.instance(grant.tenant, grant.instance)
        if instance is None:
            raise BackendUnavailable(
                f"instance {request.instance!r} is not ready yet; retry shortly"
            )
        return grant, instance, tenant.quota

    async def _serve(
        self, request: _Request, reader: BodySource, outcome: Outcome
    ) -> tuple[int, bytes]:
        grant, instance, quota = self._authorize(request)
        outcome.authorized = True
        # NOTE: each worker enforces an equal share, at least 1, so with more
        # workers than the limit the tenant may run up to one request per worker.
        share = max(1, quota.max_connections // self._settings.workers)
        in_flight = self._in_flight.get(grant.tenant, 0)
        if quota.max_connections and in_flight >= share:
            raise RateLimited(
                f"tenant {grant.tenant!r} has {quota.max_connections} concurrent "
                "requests in flight, its max_connections quota; retry shortly",
                retry_after=1,
            )
        self._in_flight[grant.tenant] = in_flight + 1
        try:
            return await self._serve_admitted(
                request, reader, outcome, grant, instance, quota
            )
        finally:
            self._in_flight[grant.tenant] -= 1

    async def _serve_admitted(
        self,
        request: _Request,
        reader: BodySource,
        outcome: Outcome,
        grant: Grant,
        instance: InstanceView,
        quota: Quota,
    ) -> tuple[int, bytes]:
        kind = self._route(request)
        limit = self._body_limit(request, quota)
        if isinstance(reader, BufferedBody):
            body = reader.take(limit)
        else:
            body = await reader.read(limit)
        endpoint = (
            instance.read_only
            if grant.access == Access.READ_ONLY
            else instance.read_write
        )
        pool = self._pool(endpoint)
        table = self._tables.get((endpoint.host, endpoint.port))
        if table is None:
            table = await self._table(pool)
        if kind == "single":
            commands = [upstash.parse_single(body)]
        elif kind == "path":
            commands = [upstash.parse_path(request.rest, body, request.query)]
        else:
            commands = upstash.parse_many(body)
        outcome.commands = len(commands)
        if self.limiter is not None and quota.requests_per_minute > 0:
            await self.limiter.acquire(
                grant.tenant, len(commands), quota.requests_per_minute
            )
        over_storage = grant.tenant in self.over_storage
        rules = [
            self._rule(table, command, grant, over_storage) for command in commands
        ]
        outcome.command_class = _command_class(rules)
        if kind == "multi-exec":
            status, response = await self._transaction(pool, commands, rules, request)
        elif kind == "pipeline":
            status, response = await self._pipeline(pool, commands, rules, request)
        elif isinstance(rules[0], Exception):
            status, response = upstash.render_result(rules[0], request.encode)
        else:
            replies = await pool.execute(commands)
            if rules[0].info.writes:
                self._writes += 1
            status, response = upstash.render_result(replies[0], request.encode)
            if status != 200:
                self._stop_busy_script(pool, replies, grant)
        return status, response

    def _stop_busy_script(
        self, pool: ConnectionPool, replies: Sequence[object], grant: Grant
    ) -> None:
        """Stop a tenant's runaway script once the server reports BUSY.

        A script in an endless loop blocks its instance, and tenants may not
        send SCRIPT KILL themselves. A script that already wrote cannot be
        killed, and the instance then replies BUSY until it is restarted.
        """
        if not any(
            isinstance(reply, Exception) and str(reply).startswith("BUSY")
            for reply in replies
        ):
            return
        log.warning(
            "Stopping a script that blocks the instance.",
            tenant=grant.tenant,
            instance=grant.instance,
        )
        task = asyncio.get_running_loop().create_task(
            pool.execute([[b"SCRIPT", b"KILL"], [b"FUNCTION", b"KILL"]])
        )
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[list[object]]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.info("Stopping a script failed.", error=str(task.exception()))

    def _body_limit(self, request: _Request, quota: Quota) -> int:
        """Return the tenant's body size limit; raise if the declared size is over."""
        limit = quota.max_request_size or self._settings.max_request_size
        if request.content_length is not None and request.content_length > limit:
            raise PayloadTooLarge(
                f"the request body is {request.content_length} bytes; "
                f"the limit is {limit} bytes"
            )
        return limit

    def _route(self, request: _Request) -> str:
        rest = request.rest
        if not rest:
            kind, allowed = "single", _JSON_METHODS
        elif rest == [b"pipeline"]:
            kind, allowed = "pipeline", _JSON_METHODS
        elif rest == [b"multi-exec"]:
            kind, allowed = "multi-exec", _JSON_METHODS
        else:
            kind, allowed = "path", _PATH_METHODS
        if request.method not in allowed:
            raise _MethodNotAllowed(request.method, allowed)
        return kind

    def _pool(self, endpoint: Endpoint) -> ConnectionPool:
        pool = self._pools.get(endpoint)
        if pool is None:
            pool = ConnectionPool(
                endpoint, self._settings.pool_size, self._settings.request_timeout
            )
            self._pools[endpoint] = pool
            self._close_stale_pools(endpoint)
        return pool

    def _close_stale_pools(self, endpoint: Endpoint) -> None:
        # A restarted instance may move to another port or change passwords;
        # drop pools to the old address so their connections do not linger.
        for other in list(self._pools):
            same_user = other.username == endpoint.username
            if other != endpoint and same_user and other.port == endpoint.port:
                self._pools.pop(other).close()

    async def _table(self, pool: ConnectionPool) -> CommandTable:
        key = (pool.endpoint.host, pool.endpoint.port)
        table = self._tables.get(key)
        if table is None:
            replies = await pool.execute([[b"COMMAND"]])
            if isinstance(replies[0], Exception) or not isinstance(replies[0], list):
                raise BackendUnavailable(
                    f"the instance did not return its command table: {replies[0]}"
                )
            table = CommandTable.from_command_reply(replies[0])
            self._tables[key] = table
        return table

    def _rule(
        self,
        table: CommandTable,
        command: Sequence[bytes],
        grant: Grant,
        over_storage: bool,
    ) -> Rule | Exception:
        rule = table.lookup(command)
        name = command[0].decode("utf-8", "replace").lower()
        if rule is None:
            return upstash.CommandRejected(f"ERR unknown command '{name}'")
        if rule.verdict == Verdict.FORBIDDEN:
            return upstash.CommandRejected(
                f"NOPERM the command '{rule.info.name}' is not allowed for tenants"
            )
        if rule.verdict == Verdict.UNSUPPORTED or (
            rule.info.name in ("xread", "xreadgroup") and is_blocking_call(command)
        ):
            return upstash.CommandRejected(
                f"ERR the command '{rule.info.name}' is not supported by the REST API"
            )
        if grant.access == Access.READ_ONLY and not rule.info.read_only:
            return upstash.CommandRejected(
                f"NOPERM this token is read-only and cannot run '{rule.info.name}'"
            )
        if (
            over_storage
            and rule.info.writes
            and "@dangerous" not in rule.info.categories
        ):
            # FLUSHDB and FLUSHALL stay allowed so a tenant can free space.
            return upstash.CommandRejected(
                f"ERR storage quota exceeded for tenant '{grant.tenant}'; "
                "delete data or ask for a larger quota"
            )
        return rule

    def _note_write(self, rules: Sequence[Rule | Exception]) -> None:
        if any(isinstance(rule, Rule) and rule.info.writes for rule in rules):
            self._writes += 1

    async def _pipeline(
        self,
        pool: ConnectionPool,
        commands: list[list[bytes]],
        rules: list[Rule | Exception],
        request: _Request,
    ) -> tuple[int, bytes]:
        allowed = [
            c for c, r in zip(commands, rules, strict=True) if isinstance(r, Rule)
        ]
        replies = iter(await pool.execute(allowed) if allowed else [])
        values = [r if isinstance(r, Exception) else next(replies) for r in rules]
        self._note_write(rules)
        return 200, orjson.dumps(upstash.render_items(values, request.encode))

    async def _transaction(
        self,
        pool: ConnectionPool,
        commands: list[list[bytes]],
        rules: list[Rule | Exception],
        request: _Request,
    ) -> tuple[int, bytes]:
        for rule in rules:
            if isinstance(rule, Exception):
                return 400, upstash.error_body(
                    f"EXECABORT Transaction discarded because of: {rule}"
                )
        replies = await pool.execute([[b"MULTI"], *commands, [b"EXEC"]])
        for reply in replies[:-1]:
            if isinstance(reply, Exception):
                # The server's EXECABORT text does not say which command
                # failed to queue, so name the first error instead.
                return 400, upstash.error_body(
                    f"EXECABORT Transaction discarded because of: {reply}"
                )
        result = replies[-1]
        if isinstance(result, Exception) or result is None:
            return 400, upstash.error_body(
                str(result or "EXECABORT transaction aborted")
            )
        assert isinstance(result, list)
        self._note_write(rules)
        return 200, orjson.dumps(upstash.render_items(result, request.encode))

    async def _respond(
        self,
        send: Send,
        status: int,
        body: bytes,
        head: bool,
        extra: list[tuple[bytes, bytes]],
    ) -> None:
        headers = [
            _CONTENT_TYPE,
            (b"content-length", str(len(body)).encode()),
        ]
        headers.extend(extra)
        await send(
            {"type": "http.response.start", "status": status, "headers": headers}
        )
        await send({"type": "http.response.body", "body": b"" if head else body})

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()


class _MethodNotAllowed(KubegatewayError):
    status = 405

    def __init__(self, method: str, allowed: frozenset[str]) -> None:
        methods = ", ".join(sorted(allowed))
        super().__init__(f"method {method} is not allowed here; use {methods}")
        self.allow = methods.encode()


def _expects_continue(scope: Scope) -> bool:
    return any(
        name == b"expect" and value.lower() == b"100-continue"
        for name, value in scope["headers"]
    )


def _command_class(rules: Sequence[Rule | Exception]) -> str:
    """Classify a request for metrics without using user-supplied names."""
    if any(isinstance(rule, Exception) for rule in rules):
        return "rejected"
    if any(isinstance(rule, Rule) and rule.info.writes for rule in rules):
        return "write"
    return "read"


class BodySource(Protocol):
    """The source of the request body for ``DataPath.handle``."""

    size: int
    complete: bool
    started: bool

    async def read(self, limit: int) -> bytes: ...

    async def drain(self) -> None: ...


class BufferedBody:
    """A body that the HTTP layer already read whole."""

    def __init__(self, body: bytes, size: int | None = None) -> None:
        self._body = body
        # The size the client sent, which is more than ``body`` holds when
        # the HTTP layer dropped a body over the limit.
        self.size = len(body) if size is None else size
        self.complete = True
        self.started = True

    async def read(self, limit: int) -> bytes:
        return self.take(limit)

    def take(self, limit: int) -> bytes:
        """Return the body without awaiting; raise PayloadTooLarge over ``limit``."""
        if self.size > limit:
            raise PayloadTooLarge(
                f"the request body is {self.size} bytes; the limit is {limit} bytes"
            )
        return self._body

    async def drain(self) -> None:
        return None


class _BodyReader:
    """Reads the request body once, under a size limit, or drains it."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.size = 0
        self.complete = False
        # Whether ``receive`` was called. The first call makes uvicorn send
        # "100 Continue" to a client that sent ``Expect: 100-continue``.
        self.started = False

    async def read(self, limit: int) -> bytes:
        chunks: list[bytes] = []
        while not self.complete:
            self.started = True
            message = await self._receive()
            if message["type"] != "http.request":
                self.complete = True
                raise RequestError("the client disconnected before sending the body")
            chunk: bytes = message.get("body", b"")
            self.size += len(chunk)
            self.complete = not message.get("more_body", False)
            if self.size > limit:
                raise PayloadTooLarge(
                    f"the request body is over the limit of {limit} bytes"
                )
            chunks.append(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def drain(self) -> None:
        """Discard the rest of the body, up to ``DRAIN_LIMIT_BYTES``."""
        while not self.complete and self.size < DRAIN_LIMIT_BYTES:
            self.started = True
            message = await self._receive()
            if message["type"] != "http.request":
                self.complete = True
                return
            self.size += len(message.get("body", b""))
            self.complete = not message.get("more_body", False)


_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")


def _client_request_id(scope: Scope) -> str | None:
    """Return the caller's ``X-Request-Id`` when it is short and plain."""
    for name, value in scope["headers"]:
        if name == b"x-request-id" and _REQUEST_ID.match(value):
            return str(value.decode("ascii"))
    return None


class _ErrorLogLimiter:
    """Let through one error line per tenant and status each second.

    A client that keeps sending bad requests would otherwise flood the log;
    the next line that gets through reports how many were left out.
    """

    INTERVAL_SECONDS = 1.0

    def __init__(self) -> None:
        self._last: dict[tuple[str, int], float] = {}
        self._suppressed: dict[tuple[str, int], int] = {}

    def admit(self, tenant: str, status: int) -> int | None:
        """Return the count left out since the last line, or None to skip this one."""
        key = (tenant, status)
        now = time.monotonic()
        if now - self._last.get(key, -self.INTERVAL_SECONDS) < self.INTERVAL_SECONDS:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return None
        if len(self._last) > 10_000:
            self._last.clear()
            self._suppressed.clear()
        self._last[key] = now
        return self._suppressed.pop(key, 0)
