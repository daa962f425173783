"""Fixtures for data-path tests on the session gateway."""

from __future__ import annotations

import itertools
import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.gateway_process import Gateway, Instance

_tenants = itertools.count()


@dataclass
class TokenPair:
    """Two tokens of one instance: read-write and read-only."""

    read_write: Instance
    read_only: Instance


@pytest.fixture
def token_pair(gateway: Gateway) -> TokenPair:
    tenant = f"ro{next(_tenants)}"
    read_write = gateway.create_instance(tenant, "main")
    read_only = gateway.new_token(tenant, "main", "read-only")
    return TokenPair(read_write, read_only)


@dataclass
class InstanceRow:
    port: int
    passwords: dict[str, str]


def instance_row(gateway: Gateway, tenant: str, instance: str) -> InstanceRow:
    """Read an instance's port and ACL passwords from the gateway's SQLite state."""
    uri = f"file:{gateway.data_dir / 'state.db'}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as db:
        port, passwords = db.execute(
            "SELECT port, passwords FROM instances WHERE tenant = ? AND id = ?",
            (tenant, instance),
        ).fetchone()
    return InstanceRow(int(port), json.loads(passwords))


# Small enough that tests can cross it cheaply.
SMALL_LIMIT_BYTES = 1024


@pytest.fixture(scope="session")
def small_limit(gateway: Gateway) -> Instance:
    """An instance of a tenant whose quota limits request bodies to 1 KiB."""
    return gateway.create_instance(
        "small-limit", "main", quota={"max_request_size": "1Ki"}
    )


def json_body_of_size(size: int, key: str = "k") -> bytes:
    """Return ``["SET", key, "xxx..."]`` padded to exactly ``size`` bytes."""
    empty = b'["SET","%s",""]' % key.encode()
    return empty[:-2] + b"x" * (size - len(empty)) + b'"]'


def valkey_pids() -> list[int]:
    """Return the pid of every valkey-server process on this machine."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if name == "valkey-server":
            pids.append(int(entry.name))
    return pids
