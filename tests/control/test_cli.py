"""The CLI against a running gateway, as the README's quickstart uses it."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx

from tests.gateway_process import Gateway


def cli(gateway: Gateway, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "kubegateway",
            *args,
            "--url",
            gateway.url,
            "--data-dir",
            str(gateway.data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_quickstart_through_cli(gateway: Gateway) -> None:
    assert cli(gateway, "tenant", "create", "clitenant").returncode == 0
    created = cli(gateway, "instance", "create", "cache", "--tenant", "clitenant")
    assert created.returncode == 0, created.stderr
    assert "Running" in created.stdout
    issued = cli(gateway, "token", "create", "-t", "clitenant", "-i", "cache")
    assert issued.returncode == 0, issued.stderr
    token = next(line for line in issued.stdout.splitlines() if line.startswith("kgt_"))
    url = f"{gateway.url}/v1/redis/clitenant/cache"
    response = httpx.post(
        url, json=["PING"], headers={"Authorization": f"Bearer {token}"}
    )
    assert response.json() == {"result": "PONG"}
    listed = cli(gateway, "token", "list", "-t", "clitenant", "-o", "json")
    assert token not in listed.stdout
    token_id = json.loads(listed.stdout)[0]["id"]
    assert cli(gateway, "token", "revoke", token_id, "-t", "clitenant").returncode == 0


def test_tenant_list_and_show(gateway: Gateway) -> None:
    cli(gateway, "tenant", "create", "showme", "--plan", "free", "--quota", "cpu=100m")
    listed = cli(gateway, "tenant", "list", "-o", "json")
    assert "showme" in [t["id"] for t in json.loads(listed.stdout)]
    shown = json.loads(cli(gateway, "tenant", "show", "showme").stdout)
    assert shown["config"]["cpu"] == {"value": 100, "source": "override"}
    assert shown["summary"]["instances"]["used"] == 0


def test_bad_id_is_one_clear_line(gateway: Gateway) -> None:
    result = cli(gateway, "tenant", "create", "Not_Valid")
    assert result.returncode == 1
    assert "DNS-1123" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_size_is_one_clear_line(gateway: Gateway) -> None:
    cli(gateway, "tenant", "create", "badsize")
    result = cli(
        gateway, "instance", "create", "x", "-t", "badsize", "--memory", "lots"
    )
    assert result.returncode == 1
    assert "quantity" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_gateway_is_reported(gateway: Gateway) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubegateway",
            "tenant",
            "list",
            "--url",
            "http://127.0.0.1:9",
            "--token",
            "kga_0000000000000000_x",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "cannot reach the gateway" in result.stderr


def test_tenant_delete_through_cli(gateway: Gateway) -> None:
    cli(gateway, "tenant", "create", "clidelete")
    assert cli(gateway, "tenant", "delete", "clidelete").returncode == 0
    assert cli(gateway, "tenant", "show", "clidelete").returncode == 1
