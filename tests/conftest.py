"""Shared fixtures: one real gateway with real valkey servers per test session."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.gateway_process import Gateway, Instance
from tests.jwt_keys import JwtKeys

_names = itertools.count()


@pytest.fixture(scope="session")
def jwt_keys(tmp_path_factory: pytest.TempPathFactory) -> JwtKeys:
    """An HS256 secret and a JWKS with one RSA and one EC key, as files."""
    return JwtKeys.generate(tmp_path_factory.mktemp("jwt"))


@pytest.fixture(scope="session")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, jwt_keys: JwtKeys
) -> Iterator[Gateway]:
    server = Gateway(
        tmp_path_factory.mktemp("gw") / "data", extra_args=jwt_keys.gateway_args()
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def shared(gateway: Gateway) -> Instance:
    """One tenant and instance that read-write tests share; keys are unique per test."""
    return gateway.create_instance("shared", "main")


@pytest.fixture
def unique() -> str:
    """A key prefix no other test uses."""
    return f"k{next(_names)}:"


@pytest.fixture
def fresh(gateway: Gateway) -> Instance:
    """A new tenant with its own instance, for tests that change tenant state."""
    return gateway.create_instance(f"t{next(_names)}-fresh", "main")


def call(
    instance: Instance,
    body: object,
    *,
    path: str = "",
    base64: bool = False,
    token: str | None = None,
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token or instance.token}"}
    if base64:
        headers["Upstash-Encoding"] = "base64"
    return httpx.post(f"{instance.url}{path}", json=body, headers=headers, timeout=30.0)


def tmp_data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
