"""The server's own ACL rejects what the gateway rejects.

These tests log in to the instance's valkey directly, as the users the
gateway uses, so they hold even if the gateway's command check had a bug.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.gateway.conftest import instance_row
from tests.gateway_process import Gateway, Instance


def _client(gateway: Gateway, instance: Instance, user: str) -> redis.Redis:
    row = instance_row(gateway, instance.tenant, instance.instance)
    return redis.Redis(
        host="127.0.0.1",
        port=row.port,
        username=user,
        password=row.passwords[user],
        socket_timeout=5,
    )


@pytest.fixture
def read_write(gateway: Gateway, shared: Instance) -> Iterator[redis.Redis]:
    client = _client(gateway, shared, "kg-rw")
    yield client
    client.close()


@pytest.fixture
def read_only(gateway: Gateway, shared: Instance) -> Iterator[redis.Redis]:
    client = _client(gateway, shared, "kg-ro")
    yield client
    client.close()


def test_read_write_user_can_ping(read_write: redis.Redis) -> None:
    assert read_write.ping() is True


@pytest.mark.parametrize(
    "command",
    [
        ("CONFIG", "GET", "maxmemory"),
        ("CONFIG", "SET", "maxmemory", "1"),
        ("SWAPDB", "0", "1"),
        ("ACL", "LIST"),
        ("MODULE", "LIST"),
        ("REPLICAOF", "NO", "ONE"),
        ("CLIENT", "LIST"),
        ("SHUTDOWN", "NOSAVE"),
        ("SELECT", "1"),
        ("BLPOP", "list", "1"),
    ],
    ids=lambda command: " ".join(command[:2]),
)
def test_read_write_user_is_denied(
    command: tuple[str, ...], read_write: redis.Redis
) -> None:
    with pytest.raises(redis.exceptions.NoPermissionError):
        read_write.execute_command(*command)


def test_read_only_user_cannot_write(read_only: redis.Redis) -> None:
    with pytest.raises(redis.exceptions.NoPermissionError):
        read_only.set("acl-probe", "x")


def test_read_only_user_cannot_enumerate(read_only: redis.Redis) -> None:
    with pytest.raises(redis.exceptions.NoPermissionError):
        read_only.keys("*")


def test_default_user_is_disabled(gateway: Gateway, shared: Instance) -> None:
    row = instance_row(gateway, shared.tenant, shared.instance)
    # No retries: redis-py retries authentication errors with backoff.
    client = redis.Redis(
        host="127.0.0.1", port=row.port, socket_timeout=5, retry=Retry(NoBackoff(), 0)
    )
    with pytest.raises(redis.exceptions.AuthenticationError):
        client.ping()
    client.close()
