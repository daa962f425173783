"""Tenant lifecycle: suspend, resume, idempotent create and delete, rollback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import call
from tests.gateway_process import Gateway, Instance, valkey_processes


def test_suspended_tenant_gets_403_and_keeps_data(
    gateway: Gateway, fresh: Instance
) -> None:
    assert call(fresh, ["SET", "kept", "yes"]).status_code == 200
    with gateway.admin() as client:
        suspended = client.post(
            f"/v1/tenants/{fresh.tenant}/suspend", json={"reason": "unpaid invoice"}
        )
    assert suspended.json()["phase"] == "Suspended"
    assert suspended.json()["reason"] == "unpaid invoice"
    time.sleep(0.1)
    denied = call(fresh, ["GET", "kept"])
    assert denied.status_code == 403
    assert "suspended" in denied.json()["error"]
    with gateway.admin() as client:
        resumed = client.post(f"/v1/tenants/{fresh.tenant}/resume")
    assert resumed.json()["phase"] == "Active"
    time.sleep(0.1)
    assert call(fresh, ["GET", "kept"]).json() == {"result": "yes"}


def test_create_tenant_twice_is_idempotent(gateway: Gateway) -> None:
    with gateway.admin() as client:
        first = client.post("/v1/tenants", json={"id": "twice", "plan": "free"})
        second = client.post("/v1/tenants", json={"id": "twice", "plan": "free"})
        changed = client.post("/v1/tenants", json={"id": "twice", "plan": "pro"})
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["created_at"] == first.json()["created_at"]
    assert changed.status_code == 409


def test_create_instance_twice_is_idempotent(gateway: Gateway) -> None:
    with gateway.admin() as client:
        client.post("/v1/tenants", json={"id": "instwice"})
        first = client.post(
            "/v1/tenants/instwice/instances", json={"id": "a", "memory": "8Mi"}
        )
        second = client.post(
            "/v1/tenants/instwice/instances", json={"id": "a", "memory": "8Mi"}
        )
    assert first.status_code == 201
    assert second.status_code == 200


def test_delete_removes_everything(gateway: Gateway) -> None:
    target = gateway.create_instance("doomed", "db", memory="8Mi")
    assert call(target, ["SET", "k", "v"]).status_code == 200
    data = gateway.data_dir / "instances" / "doomed"
    assert data.is_dir()
    time.sleep(1.5)  # let the usage counters reach the shared valkey
    with gateway.admin() as client:
        assert "doomed" in client.get("/metrics").text
        assert client.delete("/v1/tenants/doomed").status_code == 204
        assert client.get("/v1/tenants/doomed").status_code == 404
        assert client.delete("/v1/tenants/doomed").status_code == 204
        metrics = client.get("/metrics").text
    assert not data.exists()
    assert 'tenant="doomed"' not in metrics
    assert call(target, ["GET", "k"]).status_code == 401
    assert valkey_processes(data) == []


def test_deleted_tenant_can_be_created_again_empty(gateway: Gateway) -> None:
    first = gateway.create_instance("reborn", "db", memory="8Mi")
    call(first, ["SET", "old", "data"])
    with gateway.admin() as client:
        assert client.delete("/v1/tenants/reborn").status_code == 204
    second = gateway.create_instance("reborn", "db", memory="8Mi")
    assert call(second, ["GET", "old"]).json() == {"result": None}


def test_instance_delete_is_idempotent(gateway: Gateway) -> None:
    gateway.create_instance("instdel", "db", memory="8Mi")
    with gateway.admin() as client:
        assert client.delete("/v1/tenants/instdel/instances/db").status_code == 204
        assert client.delete("/v1/tenants/instdel/instances/db").status_code == 204
        assert client.get("/v1/tenants/instdel/tokens").json() == []


@pytest.fixture
def faulty_gateway(tmp_path: Path) -> Gateway:
    server = Gateway(
        tmp_path / "data", env={"KUBEGATEWAY_INJECT_FAULTS": "instance-start"}
    )
    server.start()
    yield server  # type: ignore[misc]
    server.stop()


def test_failed_instance_create_is_rolled_back(faulty_gateway: Gateway) -> None:
    with faulty_gateway.admin() as client:
        client.post("/v1/tenants", json={"id": "halfway"}).raise_for_status()
        response = client.post(
            "/v1/tenants/halfway/instances", json={"id": "db", "memory": "8Mi"}
        )
        assert response.status_code == 503
        assert "injected failure" in response.json()["error"]
        assert client.get("/v1/tenants/halfway/instances").json() == []
        audit = client.get("/v1/tenants/halfway/audit").json()
    assert not (faulty_gateway.data_dir / "instances" / "halfway" / "db").exists()
    assert audit[0]["action"] == "instance.create"
    assert audit[0]["result"] == "failed"


def test_retry_after_failure_succeeds(tmp_path: Path) -> None:
    first = Gateway(
        tmp_path / "data", env={"KUBEGATEWAY_INJECT_FAULTS": "instance-start"}
    )
    first.start()
    try:
        with first.admin() as client:
            client.post("/v1/tenants", json={"id": "retry"}).raise_for_status()
            failed = client.post("/v1/tenants/retry/instances", json={"id": "db"})
            assert failed.status_code == 503
    finally:
        first.stop()
    second = Gateway(tmp_path / "data", port=first.port)
    second.start()
    try:
        with second.admin() as client:
            done = client.post("/v1/tenants/retry/instances", json={"id": "db"})
            assert done.status_code == 201, done.text
            assert done.json()["phase"] == "Running"
    finally:
        second.stop()


def test_up_stops_every_valkey_on_sigterm(tmp_path: Path) -> None:
    server = Gateway(tmp_path / "data")
    server.start()
    try:
        server.create_instance("orphans", "a", memory="8Mi")
        server.create_instance("orphans", "b", memory="8Mi")
        # Two instances and the system valkey.
        assert len(valkey_processes(server.data_dir)) == 3
    finally:
        exit_code = server.stop()
    assert exit_code == 0
    assert valkey_processes(server.data_dir) == []


def test_admin_token_is_printed_once_and_never_logged(gateway: Gateway) -> None:
    with gateway.admin() as client:
        client.get("/v1/tenants").raise_for_status()
    assert gateway.stdout_path.read_text().count(gateway.admin_token) == 1
    assert gateway.admin_token not in gateway.log_path.read_text()
    secret = gateway.admin_token.split("_", 2)[2]
    assert secret not in gateway.log_path.read_text()


def test_admin_token_file_is_private(gateway: Gateway) -> None:
    mode = (gateway.data_dir / "admin.token").stat().st_mode & 0o777
    assert mode == 0o600


def _processes_with_environment(text: str) -> list[int]:
    """Return pids whose environment mentions ``text`` (gateway workers do)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if text.encode() in (proc / "environ").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_ctrl_c_stops_workers_and_valkey(tmp_path: Path) -> None:
    server = Gateway(tmp_path / "data", workers=2)
    server.start()
    try:
        server.create_instance("ctrlc", "a", memory="8Mi")
        assert len(_processes_with_environment(str(server.data_dir))) >= 2
    finally:
        assert server.process is not None
        # Ctrl-C in a terminal sends SIGINT to the whole foreground group.
        os.killpg(server.process.pid, signal.SIGINT)
        exit_code = server.process.wait(30)
    assert exit_code == 0
    deadline = time.monotonic() + 5
    while (
        _processes_with_environment(str(server.data_dir))
        and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    assert _processes_with_environment(str(server.data_dir)) == []
    assert valkey_processes(server.data_dir) == []


def test_second_up_on_same_data_dir_is_refused(gateway: Gateway) -> None:
    second = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubegateway",
            "up",
            "--data-dir",
            str(gateway.data_dir),
            "--port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1
    assert "another `kubegateway up` is using" in second.stderr
    assert "Traceback" not in second.stderr


def test_busy_port_is_refused_before_anything_is_made(
    gateway: Gateway, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubegateway",
            "up",
            "--data-dir",
            str(data_dir),
            "--port",
            str(gateway.port),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "cannot listen on" in result.stderr
    assert "kga_" not in result.stdout
    assert not (data_dir / "admin.token").exists()


def test_state_files_are_private(gateway: Gateway) -> None:
    assert gateway.data_dir.stat().st_mode & 0o777 == 0o700
    for name in ("state.db", "state.db-wal"):
        path = gateway.data_dir / name
        if path.exists():
            assert path.stat().st_mode & 0o077 == 0, name


def test_system_valkey_is_restarted(tmp_path: Path) -> None:
    server = Gateway(tmp_path / "data")
    server.start()
    try:
        target = server.create_instance("sysrestart", "db", memory="8Mi")
        system = [
            pid
            for pid in valkey_processes(server.data_dir)
            if os.readlink(f"/proc/{pid}/cwd").endswith("/system")
        ]
        assert len(system) == 1
        os.kill(system[0], signal.SIGKILL)
        deadline = time.monotonic() + 15
        while True:
            with server.admin() as client:
                status = client.get("/metrics").status_code
            if status == 200:
                break
            assert time.monotonic() < deadline, "the system valkey did not come back"
            time.sleep(0.3)
        assert call(target, ["PING"]).status_code == 200
    finally:
        server.stop()
