"""Helpers for tests of the operator, the deploy manifests and the gateway.

They load manifests from deploy/, apply them with server-side apply and
wait for controllers. The operator runs as a subprocess with a token of its
own ServiceAccount, so the tests also prove that its ClusterRole in deploy/
is enough.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml
from lightkube import ApiError, Client, codecs
from lightkube.models.authentication_v1 import TokenRequestSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.core_v1 import Namespace, ResourceQuota, ServiceAccount

from tests.kube.controlplane import REPO_ROOT, ControlPlane

DEPLOY_DIR = REPO_ROOT / "deploy"
CRD_DIR = DEPLOY_DIR / "crds"
KUSTOMIZE_DIR = DEPLOY_DIR / "kustomize"
HELM_CHART_DIR = DEPLOY_DIR / "helm" / "kubegateway"
FIELD_MANAGER = "kubegateway-tests"

# Maximum time for the operator or a controller to act. On this 2-core
# machine the operator reconciled a tenant in about a second.
RECONCILE_TIMEOUT = 60.0


def wait_until(
    condition: Callable[[], object],
    description: str,
    timeout: float = RECONCILE_TIMEOUT,
) -> Any:
    """Poll ``condition`` until it returns a truthy value, and return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f} s waiting for {description}"
            )
        time.sleep(0.2)


def load_documents(path: Path) -> list[dict[str, Any]]:
    """Load every YAML document of a file or of the *.yaml files of a folder."""
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    documents: list[dict[str, Any]] = []
    for file in files:
        documents.extend(doc for doc in yaml.safe_load_all(file.read_text()) if doc)
    return [doc for doc in documents if doc.get("kind") != "Kustomization"]


def apply_manifests(client: Client, manifests: Iterable[dict[str, Any]]) -> None:
    for manifest in manifests:
        client.apply(
            codecs.from_dict(manifest), field_manager=FIELD_MANAGER, force=True
        )


def install_crds(client: Client) -> None:
    crds = load_documents(CRD_DIR)
    apply_manifests(client, crds)
    for crd in crds:
        name = crd["metadata"]["name"]

        def established(name: str = name) -> bool:
            status = client.get(CustomResourceDefinition, name).status
            conditions = (status.conditions if status else None) or []
            return any(
                c.type == "Established" and c.status == "True" for c in conditions
            )

        wait_until(established, f"CRD {name} to be established")
    wait_quota_controller_knows_instances(client)


def wait_quota_controller_knows_instances(client: Client) -> None:
    """Wait until the quota controller counts RedisHttpInstances.

    kube-controller-manager discovers new resources about every 30 s, and a
    quota computed before that lacks the count until the next full resync
    (5 min by default). Tests therefore wait once, after installing the
    CRDs, with a probe quota that is recreated until its usage has the key.
    """
    key = "count/redishttpinstances.redis.kubegateway.io"
    namespace = "kubegateway-quota-probe"
    apply_manifests(
        client,
        [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}],
    )
    quota = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "probe", "namespace": namespace},
        "spec": {"hard": {key: "1"}},
    }
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            apply_manifests(client, [quota])
            for _ in range(15):
                current = client.get(ResourceQuota, "probe", namespace=namespace)
                if current.status and key in (current.status.used or {}):
                    return
                time.sleep(0.2)
            client.delete(ResourceQuota, "probe", namespace=namespace)
        raise AssertionError(f"the quota controller did not count {key} within 90 s")
    finally:
        client.delete(Namespace, namespace)


def is_not_found(get: Callable[[], object]) -> bool:
    try:
        get()
    except ApiError as error:
        if error.status.code == 404:
            return True
        raise
    return False


def service_account_kubeconfig(
    plane: ControlPlane, client: Client, namespace: str, name: str, path: Path
) -> Path:
    """Write a kubeconfig that authenticates with a TokenRequest token."""
    request = ServiceAccount.Token(
        metadata=ObjectMeta(),
        spec=TokenRequestSpec(audiences=[], expirationSeconds=7200),
    )
    token = client.create(request, name, namespace=namespace).status.token
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "test",
                "cluster": {
                    "server": plane.server_url,
                    "certificate-authority": str(plane.ca_path),
                },
            }
        ],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": "test", "user": name}}],
        "current-context": name,
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


class OperatorProcess:
    """``python -m kubegateway operator`` running against the test control plane."""

    def __init__(self, kubeconfig: Path, log_path: Path) -> None:
        self.kubeconfig = kubeconfig
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "kubegateway",
                    "operator",
                    "--kubeconfig",
                    str(self.kubeconfig),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=REPO_ROOT,
            )

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(
            self.log_path.read_text(errors="replace").splitlines()[-lines:]
        )
