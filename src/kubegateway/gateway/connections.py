"""Multiplexed RESP connections from a gateway worker to valkey servers.

Python spends most of a request's time in framework layers and in waiting for
one backend round trip per request. So each connection here carries many
requests in flight at once. Each request's commands go out back to back as
one contiguous piece, and replies are matched to requests in order, because
RESP returns replies in request order on one connection. A pipeline or a
MULTI/EXEC block is one piece, so no other request's commands can land inside
a transaction.

A connection that fails fails every request waiting on it at once, so a dead
server is reported within milliseconds rather than after a timeout. The next
request opens a new connection.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import typing
from collections.abc import Sequence
from dataclasses import dataclass

import hiredis

from kubegateway.errors import BackendTimeout, BackendUnavailable
from kubegateway.protocol.resp import Command, encode_command, encode_commands

CONNECT_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Endpoint:
    """The address of a valkey server and the ACL user to log in as."""

    host: str
    port: int
    username: str
    password: str


class _Pending:
    __slots__ = ("deadline", "future", "remaining", "replies")

    def __init__(
        self, future: asyncio.Future[list[object]], count: int, deadline: float
    ) -> None:
        self.future = future
        self.remaining = count
        self.replies: list[object] = []
        self.deadline = deadline


class RespConnection(asyncio.Protocol):
    """One TCP connection that many requests share.

    Writes are coalesced: requests made in one event-loop iteration leave in
    one ``write`` call, which halves the system calls under load. A request
    that waits past ``timeout`` seconds fails the whole connection, because a
    reply that never came leaves the stream out of step. One timer per
    connection checks the oldest waiter, so requests carry no timer of their
    own.
    """

    CHECK_INTERVAL_SECONDS = 0.1

    def __init__(self, timeout: float = 10.0) -> None:
        self._loop = asyncio.get_running_loop()
        self._reader = hiredis.Reader()
        self._pending: collections.deque[_Pending] = collections.deque()
        self._transport: asyncio.Transport | None = None
        self._buffer: list[bytes] = []
        self._timeout = timeout
        self._watchdog: asyncio.TimerHandle | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the Transport methods without
        # subclassing asyncio.Transport, so this is a cast, not a check.
        self._transport = typing.cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        pending = self._pending
        while True:
            try:
                reply = self._reader.gets()
            except hiredis.ProtocolError as error:
                self._fail(
                    BackendUnavailable(f"invalid reply from the server: {error}")
                )
                return
            if reply is False:
                return
            if not pending:
                # A reply without a waiting request means the stream is out of step.
                self._fail(BackendUnavailable("unexpected reply from the server"))
                return
            waiter = pending[0]
            waiter.replies.append(reply)
            waiter.remaining -= 1
            if waiter.remaining == 0:
                pending.popleft()
                if not waiter.future.done():
                    waiter.future.set_result(waiter.replies)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(BackendUnavailable("the connection to the instance was lost"))

    def _fail(self, error: Exception) -> None:
        self.closed = True
        self._buffer.clear()
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        while self._pending:
            waiter = self._pending.popleft()
            if not waiter.future.done():
                waiter.future.set_exception(error)
        if self._transport is not None:
            self._transport.close()

    def send(self, payload: bytes, replies: int) -> asyncio.Future[list[object]]:
        """Queue ``payload`` and return a future for its ``replies`` replies."""
        loop = self._loop
        future: asyncio.Future[list[object]] = loop.create_future()
        if self.closed or self._transport is None:
            future.set_exception(BackendUnavailable("the connection is closed"))
            return future
        self._pending.append(_Pending(future, replies, loop.time() + self._timeout))
        if not self._buffer:
            loop.call_soon(self._flush)
        self._buffer.append(payload)
        if self._watchdog is None:
            self._watchdog = loop.call_later(self.CHECK_INTERVAL_SECONDS, self._check)
        return future

    def _flush(self) -> None:
        if self._transport is None or self.closed or not self._buffer:
            return
        data = self._buffer[0] if len(self._buffer) == 1 else b"".join(self._buffer)
        self._buffer.clear()
        self._transport.write(data)

    def _check(self) -> None:
        self._watchdog = None
        if not self._pending:
            return
        if self._pending[0].deadline < self._loop.time():
            self._fail(
                BackendTimeout(
                    f"the instance did not reply within {self._timeout:g} seconds"
                )
            )
            return
        self._watchdog = self._loop.call_later(self.CHECK_INTERVAL_SECONDS, self._check)

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()


async def open_connection(
    endpoint: Endpoint, reply_timeout: float = 10.0
) -> RespConnection:
    """Connect and log in as the endpoint's ACL user."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
            _, connection = await loop.create_connection(
                lambda: RespConnection(reply_timeout), endpoint.host, endpoint.port
            )
            replies = await connection.send(
                encode_command(
                    [b"AUTH", endpoint.username.encode(), endpoint.password.encode()]
                ),
                1,
            )
    except (OSError, TimeoutError) as error:
        raise BackendUnavailable(
            "the instance is not reachable; it may be restarting, retry shortly"
        ) from error
    if isinstance(replies[0], Exception):
        connection.close()
        raise BackendUnavailable(
            f"the instance rejected the gateway login: {replies[0]}"
        )
    return connection


class ConnectionPool:
    """A few shared connections to one endpoint, used round robin."""

    def __init__(self, endpoint: Endpoint, size: int, timeout: float) -> None:
        self.endpoint = endpoint
        self._slots: list[RespConnection | None] = [None] * size
        self._locks = [asyncio.Lock() for _ in range(size)]
        self._next = itertools.cycle(range(size))
        self._timeout = timeout

    async def _connection(self, index: int) -> RespConnection:
        async with self._locks[index]:
            connection = self._slots[index]
            if connection is None or connection.closed:
                connection = await open_connection(self.endpoint, self._timeout)
                self._slots[index] = connection
            return connection

    async def execute(self, commands: Sequence[Command]) -> list[object]:
        """Send commands back to back and return one reply per command.

        Raises BackendUnavailable when the server cannot be reached and
        BackendTimeout when it does not reply within the pool's timeout.
        """
        index = next(self._next)
        connection = self._slots[index]
        if connection is None or connection.closed:
            connection = await self._connection(index)
        if len(commands) == 1:
            payload = encode_command(commands[0])
        else:
            payload = encode_commands(commands)
        return await connection.send(payload, len(commands))

    def close(self) -> None:
        for connection in self._slots:
            if connection is not None:
                connection.close()
        self._slots = [None] * len(self._slots)
