"""curl, the client in most quick starts, against the data path."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.gateway_process import Instance

pytestmark = pytest.mark.skipif(
    shutil.which("curl") is None, reason="curl is not installed"
)


def _curl(*args: str) -> tuple[int, object]:
    """Run curl and return the HTTP status and the parsed JSON body."""
    result = subprocess.run(
        ["curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}", *args],
        capture_output=True,
        check=True,
        text=True,
    )
    body, _, status = result.stdout.rpartition("\n")
    return int(status), json.loads(body)


def test_single_command(shared: Instance, unique: str) -> None:
    status, body = _curl(
        "-H",
        f"Authorization: Bearer {shared.token}",
        "-d",
        json.dumps(["SET", f"{unique}k", "from curl"]),
        shared.url,
    )
    assert status == 200
    assert body == {"result": "OK"}


def test_path_style_with_query_token(shared: Instance, unique: str) -> None:
    _curl(
        "-H", f"Authorization: Bearer {shared.token}", f"{shared.url}/set/{unique}k/v1"
    )
    status, body = _curl(f"{shared.url}/get/{unique}k?_token={shared.token}")
    assert status == 200
    assert body == {"result": "v1"}


def test_pipeline(shared: Instance, unique: str) -> None:
    commands = [["INCR", f"{unique}n"], ["INCR", f"{unique}n"], ["GET", f"{unique}n"]]
    status, body = _curl(
        "-H",
        f"Authorization: Bearer {shared.token}",
        "-d",
        json.dumps(commands),
        f"{shared.url}/pipeline",
    )
    assert status == 200
    assert body == [{"result": 1}, {"result": 2}, {"result": "2"}]


def test_missing_token_is_json(shared: Instance) -> None:
    status, body = _curl("-d", '["PING"]', shared.url)
    assert status == 401
    assert isinstance(body, dict)
    assert set(body) == {"error"}
