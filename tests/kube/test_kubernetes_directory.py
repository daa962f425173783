"""The gateway's KubernetesDirectory: routing from a watch-fed cache.

The directory talks to the API server through a loopback TCP proxy that the
test can stop, which cuts every watch the way an API server outage does.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest
import yaml
from lightkube import Client, KubeConfig

from kubegateway.auth import secrets
from kubegateway.backends.kubernetes.tokens import build_token_secret
from kubegateway.gateway.kubernetes_directory import KubernetesDirectory
from kubegateway.ids import InstanceId, TenantId
from kubegateway.tenancy.models import Access, TenantPhase
from tests.kube.controlplane import ControlPlane
from tests.kube.support import apply_manifests, wait_until
from tests.kube.tenants import TenantFactory

pytestmark = pytest.mark.kube


class TcpProxy:
    """Forward a loopback port to the API server until stopped."""

    def __init__(self, target_port: int, port: int = 0) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", port))
        self.port = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self.connections += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()

    def stop(self) -> None:
        # shutdown() wakes the thread blocked in accept(); close() alone
        # would leave the port listening until accept() returns.
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self._thread.join(5)
        for connection in self.connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def proxied_client(
    control_plane: ControlPlane, tmp_path: object
) -> Iterator[tuple[Client, TcpProxy]]:
    target = int(control_plane.server_url.rsplit(":", 1)[1])
    proxy = TcpProxy(target)
    config = yaml.safe_load(control_plane.kubeconfig_path.read_text())
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{proxy.port}"
    client = Client(config=KubeConfig.from_dict(config), trust_env=False)
    yield client, proxy
    proxy.stop()
    client.close()


def issue_token(kube_client: Client, tenant: str, instance: str, access: Access) -> str:
    new = secrets.generate(secrets.DATA_PREFIX)
    apply_manifests(
        kube_client,
        [
            build_token_secret(
                TenantId(tenant),
                InstanceId(instance),
                access,
                "t",
                new.id,
                new.secret_hash,
            )
        ],
    )
    return new.token


def test_directory_routes_and_survives_outage(
    kube_client: Client,
    make_tenant: TenantFactory,
    proxied_client: tuple[Client, TcpProxy],
) -> None:
    tenant = make_tenant("dir")
    other = make_tenant("dirb")
    namespace = f"tenant-{tenant}"
    apply_manifests(
        kube_client,
        [
            {
                "apiVersion": "redis.kubegateway.io/v1alpha1",
                "kind": "RedisHttpInstance",
                "metadata": {"name": "cache", "namespace": namespace},
                "spec": {"memory": "64Mi"},
            }
        ],
    )
    token = issue_token(kube_client, tenant, "cache", Access.READ_ONLY)
    client, proxy = proxied_client
    directory = KubernetesDirectory(client)
    directory.start()
    try:
        assert directory.wait_synced(30)
        grant = wait_until(lambda: directory.authenticate(token), "the token")
        assert grant.tenant == tenant
        assert grant.instance == "cache"
        assert grant.access == Access.READ_ONLY
        view = wait_until(
            lambda: directory.instance(TenantId(tenant), InstanceId("cache")),
            "the instance and its credentials",
        )
        assert view.read_only.host == f"cache.{namespace}.svc"
        assert view.read_only.port == 6379
        assert view.read_only.username == "kg-ro"
        assert view.read_write.username == "kg-rw"
        # Another tenant's path never resolves to this instance.
        assert directory.instance(TenantId(other), InstanceId("cache")) is None
        assert directory.authenticate(token[:-2] + "xx") is None
        tenant_view = directory.tenant(TenantId(tenant))
        assert tenant_view is not None and tenant_view.phase == TenantPhase.ACTIVE

        proxy.stop()
        # The API server is unreachable now, and the cache still returns the grant.
        late_token = issue_token(kube_client, tenant, "cache", Access.READ_WRITE)
        for _ in range(10):
            assert directory.authenticate(token) == grant
            assert directory.instance(TenantId(tenant), InstanceId("cache")) == view
        assert directory.authenticate(late_token) is None

        restarted = TcpProxy(proxy.target_port, proxy.port)
        try:
            late = wait_until(
                lambda: directory.authenticate(late_token),
                "the token issued during the outage",
                timeout=45,
            )
            assert late.access == Access.READ_WRITE
        finally:
            restarted.stop()
    finally:
        directory.stop()
