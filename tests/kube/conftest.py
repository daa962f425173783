"""Pytest fixtures for tests that need a real Kubernetes control plane.

One control plane (see ``tests/kube/controlplane.py``) serves the whole test
session, because starting it takes seconds and tests isolate themselves in
namespaces of their own. Its binaries come from ``hack/kube/build.sh``. When
they are missing the tests are skipped, unless KUBEGATEWAY_REQUIRE_KUBE is
set (CI sets it), in which case they fail.

Set KUBEGATEWAY_KEEP_KUBE_DIR=1 to keep the control plane's temporary
directory (logs, certificates, kubeconfigs) after the session.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from lightkube import Client, KubeConfig

from tests.kube.controlplane import (
    BUILD_SCRIPT,
    ControlPlane,
    cache_bin_dir,
    missing_binaries,
)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def _client(kubeconfig: KubeConfig) -> Client:
    # trust_env=False keeps proxy variables from routing loopback requests.
    return Client(config=kubeconfig, trust_env=False, field_manager="kubegateway-tests")


@pytest.fixture(scope="session")
def control_plane() -> Iterator[ControlPlane]:
    """Start etcd, kube-apiserver and kube-controller-manager for the session."""
    bin_dir = cache_bin_dir()
    missing = missing_binaries(bin_dir)
    if missing:
        message = (
            f"Kubernetes control plane binaries are missing: "
            f"{', '.join(str(path) for path in missing)}. "
            f"Build them with {BUILD_SCRIPT.relative_to(BUILD_SCRIPT.parents[2])}."
        )
        if _env_flag("KUBEGATEWAY_REQUIRE_KUBE"):
            pytest.fail(f"{message} KUBEGATEWAY_REQUIRE_KUBE is set.", pytrace=False)
        pytest.skip(message)
    plane = ControlPlane(bin_dir, keep_work_dir=_env_flag("KUBEGATEWAY_KEEP_KUBE_DIR"))
    with plane:
        yield plane


@pytest.fixture(scope="session")
def kube_client(control_plane: ControlPlane) -> Iterator[Client]:
    """Return a lightkube client authenticated as the cluster admin."""
    client = _client(KubeConfig.from_file(control_plane.kubeconfig_path))
    yield client
    client.close()


@pytest.fixture(scope="session")
def kube_client_for(control_plane: ControlPlane) -> Iterator[Callable[[str], Client]]:
    """Return a factory of lightkube clients for the static token users."""
    clients: list[Client] = []

    def make(user: str) -> Client:
        kubeconfig = KubeConfig.from_file(control_plane.kubeconfig_for(user))
        client = _client(kubeconfig)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture(scope="session")
def crds(kube_client: Client) -> None:
    """Install the CRDs from deploy/crds and wait until they are served."""
    from tests.kube.support import install_crds

    install_crds(kube_client)


@pytest.fixture(scope="session")
def operator(
    control_plane: ControlPlane, kube_client: Client, crds: None
) -> Iterator[object]:
    """Run the operator as a subprocess with the RBAC from deploy/kustomize.

    It authenticates as its own ServiceAccount, so a missing permission in
    the ClusterRole fails the tests that need it.
    """
    from tests.kube.support import (
        KUSTOMIZE_DIR,
        OperatorProcess,
        apply_manifests,
        load_documents,
        service_account_kubeconfig,
    )

    apply_manifests(kube_client, load_documents(KUSTOMIZE_DIR / "namespace.yaml"))
    apply_manifests(kube_client, load_documents(KUSTOMIZE_DIR / "operator-rbac.yaml"))
    kubeconfig = service_account_kubeconfig(
        control_plane,
        kube_client,
        "redis-system",
        "kubegateway-operator",
        control_plane.work_dir / "operator.kubeconfig",
    )
    process = OperatorProcess(kubeconfig, control_plane.log_dir / "operator.log")
    process.start()
    yield process
    process.stop()


# Fixtures that onboard tenants through the operator.
from tests.kube.tenants import make_tenant, tenant_pair  # noqa: E402, F401
