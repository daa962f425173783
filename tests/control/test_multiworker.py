"""Two gateway workers share rate limits and metrics through the system valkey."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.gateway_process import Gateway


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    server = Gateway(tmp_path_factory.mktemp("two") / "data", workers=2)
    server.start()
    yield server
    server.stop()


def worker_pids(server: Gateway, token: str, url: str) -> set[str]:
    """Return the distinct sync-token prefixes, one per worker process."""
    seen = set()
    for _ in range(40):
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as client:
            response = client.post(url, json=["PING"])
        seen.add(response.headers["upstash-sync-token"].split("-")[0])
    return seen


def test_requests_reach_both_workers(two_workers: Gateway) -> None:
    target = two_workers.create_instance("spread", "db", memory="16Mi")
    assert len(worker_pids(two_workers, target.token, target.url)) == 2


def test_rate_limit_holds_across_workers(two_workers: Gateway) -> None:
    target = two_workers.create_instance(
        "shared-rate", "db", memory="16Mi", quota={"requests_per_minute": 30}
    )
    statuses = []
    workers = set()
    first_minute = int(time.time() // 60)
    for _ in range(60):
        # A new connection each time, so the kernel spreads them over workers.
        with httpx.Client(
            headers={"Authorization": f"Bearer {target.token}"}
        ) as client:
            response = client.post(target.url, json=["PING"])
        statuses.append(response.status_code)
        workers.add(response.headers["upstash-sync-token"].split("-")[0])
    same_window = int(time.time() // 60) == first_minute
    assert len(workers) == 2
    assert set(statuses) == {200, 429}
    if same_window:
        assert statuses.count(200) == 30
    else:
        # A minute boundary fell inside the loop and opened a second budget.
        assert 30 <= statuses.count(200) <= 60


def test_metrics_sum_both_workers(two_workers: Gateway) -> None:
    target = two_workers.create_instance("metered", "db", memory="16Mi")
    sent = 50
    for _ in range(sent):
        with httpx.Client(
            headers={"Authorization": f"Bearer {target.token}"}
        ) as client:
            client.post(target.url, json=["SET", "secret-key-name", "secret-value"])
    time.sleep(2.5)  # both workers flush once a second
    with two_workers.admin() as client:
        text = client.get("/metrics").text
    pattern = re.compile(
        r'kubegateway_requests_total\{command_class="write",instance="db",'
        r'status="200",tenant="metered"\} (\d+)'
    )
    match = pattern.search(text)
    assert match is not None, text[:2000]
    assert int(float(match.group(1))) == sent
    assert "secret-key-name" not in text
    assert "secret-value" not in text
    assert "kubegateway_request_duration_seconds_bucket{" in text


def test_metrics_labels_are_bounded(two_workers: Gateway) -> None:
    target = two_workers.create_instance("bounded", "db", memory="16Mi")
    headers = {"Authorization": f"Bearer {target.token}"}
    for name in ("GET", "FOOBAR", "CONFIG", "x" * 50):
        httpx.post(target.url, json=[name, "k"], headers=headers)
    httpx.post(
        f"{two_workers.url}/v1/redis/no-such/tenant", json=["PING"], headers=headers
    )
    time.sleep(2.5)
    with two_workers.admin() as client:
        text = client.get("/metrics").text
    classes = set(re.findall(r'command_class="([^"]+)"', text))
    assert classes <= {"read", "write", "rejected", "none"}
    assert "FOOBAR" not in text
    assert "no-such" not in text


def test_audit_log_is_durable_and_scoped(tmp_path: Path) -> None:
    server = Gateway(tmp_path / "data")
    server.start()
    try:
        server.create_instance("audited", "db", memory="8Mi")
        server.create_instance("other", "db", memory="8Mi")
        with server.admin() as client:
            key = client.post(
                "/v1/tenants/audited/api-keys", json={"role": "tenant-admin"}
            ).json()["key"]
    finally:
        server.stop()
    server.start()
    try:
        with server.admin(key) as client:
            own = client.get("/v1/tenants/audited/audit")
            other = client.get("/v1/tenants/other/audit")
    finally:
        server.stop()
    actions = [entry["action"] for entry in own.json()]
    assert "tenant.create" in actions
    assert "instance.create" in actions
    assert all(entry["tenant"] == "audited" for entry in own.json())
    assert all(entry["actor"].startswith("apikey:") for entry in own.json())
    assert other.status_code == 403
