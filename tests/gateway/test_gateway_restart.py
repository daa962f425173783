"""A stopped and restarted gateway keeps data and tokens and leaves no orphans."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import call
from tests.gateway.conftest import valkey_pids
from tests.gateway_process import Gateway, Instance


def _valkeys_under(data_dir: Path) -> list[int]:
    """Return valkey-server pids whose working directory is inside ``data_dir``."""
    root = data_dir.resolve()
    found = []
    for pid in valkey_pids():
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/cwd").resolve().is_relative_to(root):
                found.append(pid)
    return found


@dataclass
class Restart:
    instance: Instance
    running_before: list[int]
    running_after_stop: list[int]
    exit_code: int


@pytest.fixture(scope="module")
def restart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Restart]:
    """Write keys, stop with SIGTERM, and start again on the same data dir."""
    server = Gateway(tmp_path_factory.mktemp("restart") / "data")
    server.start()
    try:
        instance = server.create_instance("durable", "main")
        call(instance, ["SET", "kept", "value"])
        body = [["HSET", "hash", "f", "v"], ["RPUSH", "list", "a", "b"]]
        call(instance, body, path="/pipeline")
        running = _valkeys_under(server.data_dir)
        exit_code = server.stop(signal.SIGTERM)
        after_stop = _valkeys_under(server.data_dir)
        server.start()
        yield Restart(instance, running, after_stop, exit_code)
    finally:
        server.stop()


def test_valkeys_ran_in_data_dir(restart: Restart) -> None:
    # The system valkey and the instance's valkey.
    assert len(restart.running_before) == 2


def test_no_valkey_left_after_sigterm(restart: Restart) -> None:
    assert restart.running_after_stop == []


def test_sigterm_exit_code_is_zero(restart: Restart) -> None:
    assert restart.exit_code == 0


def test_string_survives_restart(restart: Restart) -> None:
    assert call(restart.instance, ["GET", "kept"]).json() == {"result": "value"}


def test_hash_survives_restart(restart: Restart) -> None:
    response = call(restart.instance, ["HGETALL", "hash"])
    assert response.json() == {"result": ["f", "v"]}


def test_list_survives_restart(restart: Restart) -> None:
    response = call(restart.instance, ["LRANGE", "list", "0", "-1"])
    assert response.json() == {"result": ["a", "b"]}


def test_same_token_works_after_restart(restart: Restart) -> None:
    assert call(restart.instance, ["PING"]).json() == {"result": "PONG"}
