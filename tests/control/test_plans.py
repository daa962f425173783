"""Plans: quota presets from a file, overrides, plan moves and live plan edits."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import call
from tests.gateway_process import Gateway

PLANS = {
    "plans": {
        "small": {
            "max_instances": 1,
            "memory": "32Mi",
            "cpu": "100m",
            "storage": "64Mi",
            "requests_per_minute": 1000,
            "max_connections": 10,
            "max_request_size": "64Ki",
        },
        "large": {
            "max_instances": 3,
            "memory": "256Mi",
            "cpu": "1",
            "storage": "1Gi",
            "requests_per_minute": 0,
            "max_connections": 100,
            "max_request_size": "1Mi",
        },
    }
}


@pytest.fixture(scope="module")
def plans_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plans") / "plans.yaml"
    path.write_text(yaml.safe_dump(PLANS))
    return path


@pytest.fixture(scope="module")
def planned(
    tmp_path_factory: pytest.TempPathFactory, plans_file: Path
) -> Iterator[Gateway]:
    server = Gateway(
        tmp_path_factory.mktemp("planned") / "data",
        extra_args=["--plans", str(plans_file)],
    )
    server.start()
    yield server
    server.stop()


def test_plans_come_from_file(planned: Gateway) -> None:
    with planned.admin() as client:
        plans = client.get("/v1/plans").json()
    assert sorted(plans) == ["large", "small"]
    assert plans["small"]["memory"] == "32Mi"


def test_effective_config_shows_sources(planned: Gateway) -> None:
    with planned.admin() as client:
        client.post(
            "/v1/tenants",
            json={"id": "sourced", "plan": "small", "quota": {"memory": "48Mi"}},
        ).raise_for_status()
        config = client.get("/v1/tenants/sourced/config").json()
    assert config["quota"]["memory"] == {"value": 48 * 2**20, "source": "override"}
    assert config["quota"]["max_instances"] == {"value": 1, "source": "plan:small"}


def test_move_to_another_plan(planned: Gateway) -> None:
    with planned.admin() as client:
        client.post(
            "/v1/tenants", json={"id": "mover", "plan": "small"}
        ).raise_for_status()
        client.post("/v1/tenants/mover/instances", json={"id": "a", "memory": "8Mi"})
        blocked = client.post(
            "/v1/tenants/mover/instances", json={"id": "b", "memory": "8Mi"}
        )
        moved = client.patch("/v1/tenants/mover", json={"plan": "large"})
        allowed = client.post(
            "/v1/tenants/mover/instances", json={"id": "b", "memory": "8Mi"}
        )
    assert blocked.status_code == 403
    assert moved.json()["plan"] == "large"
    assert moved.json()["quota"]["max_instances"] == 3
    assert allowed.status_code == 201


def test_clearing_overrides_returns_to_plan(planned: Gateway) -> None:
    with planned.admin() as client:
        client.post(
            "/v1/tenants",
            json={"id": "cleared", "plan": "small", "quota": {"cpu": "2"}},
        ).raise_for_status()
        cleared = client.patch("/v1/tenants/cleared", json={"quota": {}})
    assert cleared.json()["overrides"] == {}
    assert cleared.json()["quota"]["cpu"] == "100m"


def test_plan_edit_applies_without_restart(planned: Gateway, plans_file: Path) -> None:
    target = planned.create_instance("edited", "db", memory="8Mi", plan="small")
    big = "z" * (100 * 1024)
    assert call(target, ["SET", "k", big]).status_code == 413
    edited = yaml.safe_load(plans_file.read_text())
    edited["plans"]["small"]["max_request_size"] = "1Mi"
    plans_file.write_text(yaml.safe_dump(edited))
    stat = plans_file.stat()
    os.utime(plans_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    deadline = time.monotonic() + 5
    while call(target, ["SET", "k", big]).status_code != 200:
        assert time.monotonic() < deadline, "the plan edit was not applied"
        time.sleep(0.2)
    with planned.admin() as client:
        shown = client.get("/v1/tenants/edited").json()
    assert shown["quota"]["max_request_size"] == "1Mi"
