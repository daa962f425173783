"""Run a real Kubernetes control plane on loopback for tests.

The gateway's Kubernetes code has to be tested against RBAC, admission and
the controllers that finalize namespaces and account quota, which fakes do
not reproduce. This module starts etcd, kube-apiserver and
kube-controller-manager, built by ``hack/kube/build.sh``, in a temporary
directory with random loopback ports, in the way envtest does for Go
projects. No kubelet or scheduler runs, so pods are stored but never start.

Who can call the API server:

* the admin, by a client certificate in the ``system:masters`` group;
* static token users from ``--token-auth-file`` (see :data:`DEFAULT_TOKEN_USERS`),
  who have no RBAC bindings until a test creates them;
* service accounts, whose tokens the API server signs and verifies.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx
import yaml

from tests.kube.pki import PkiPaths, write_pki

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "hack" / "kube" / "build.sh"
BINARY_NAMES = ("etcd", "kube-apiserver", "kube-controller-manager")

ADMIN_USER = "kubernetes-admin"

# Admission plugins turned on in addition to the API server's default set.
ADMISSION_PLUGINS = (
    "NamespaceLifecycle",
    "LimitRanger",
    "ServiceAccount",
    "ResourceQuota",
    "PodSecurity",
)

CONTROLLERS = (
    "namespace",
    "resourcequota",
    "garbagecollector",
    "serviceaccount",
    "serviceaccount-token",
    # Fills the rules of the aggregated ClusterRoles admin, edit and view,
    # which are empty without it.
    "clusterrole-aggregation",
)

# Only used as an address range for Service objects: nothing routes to it.
SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/24"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
_PR_SET_PDEATHSIG = 1
_LOG_TAIL_LINES = 40


class ControlPlaneError(RuntimeError):
    """Raised when a component fails to start or does not become ready."""


@dataclass(frozen=True)
class TokenUser:
    """A user of the API server's static token file.

    The token is generated per control plane unless one is given.
    """

    name: str
    groups: tuple[str, ...] = ()
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    def __post_init__(self) -> None:
        if not self.name or "," in self.name:
            raise ValueError(f"invalid token user name {self.name!r}")
        for group in self.groups:
            if not group or "," in group:
                raise ValueError(
                    f"invalid group {group!r} of token user {self.name!r}: "
                    "a group name must be non-empty and contain no comma"
                )


# ``alice`` and ``bob`` own one tenant each. ``nobody`` is in no group, and tests
# must not bind it to any role, so that its requests stay forbidden.
DEFAULT_TOKEN_USERS = (
    TokenUser("alice", ("tenant-a-owners",)),
    TokenUser("bob", ("tenant-b-owners",)),
    TokenUser("nobody"),
)


def kube_version() -> str:
    """Return the Kubernetes version that ``hack/kube/build.sh`` builds."""
    match = re.search(r"^KUBE_VERSION=(\S+)$", BUILD_SCRIPT.read_text(), re.MULTILINE)
    if match is None:
        raise ControlPlaneError(f"KUBE_VERSION=... not found in {BUILD_SCRIPT}")
    return match.group(1)


def cache_bin_dir() -> Path:
    """Return the folder where ``hack/kube/build.sh`` caches the binaries."""
    cache_root = os.environ.get("KUBEGATEWAY_CACHE") or str(
        Path.home() / ".cache" / "kubegateway"
    )
    return Path(cache_root) / "kube" / kube_version()


def missing_binaries(bin_dir: Path) -> list[Path]:
    """Return the expected binaries that are absent or not executable."""
    paths = [bin_dir / name for name in BINARY_NAMES]
    return [path for path in paths if not os.access(path, os.X_OK)]


def _free_port() -> int:
    # NOTE: the port is released before the component binds it, so another
    # process can take it in between. start() then fails and its error shows
    # the bind error from the component's log.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _child_environment() -> dict[str, str]:
    # Proxy variables would send the components' loopback traffic (gRPC to
    # etcd honours them) through a proxy.
    env = {
        key: value
        for key, value in os.environ.items()
        if key.lower() not in _PROXY_VARIABLES
    }
    env["NO_PROXY"] = "127.0.0.1,localhost,::1"
    return env


def _make_preexec(parent_pid: int) -> Callable[[], None]:
    libc = ctypes.CDLL(None, use_errno=True)

    def preexec() -> None:
        # The kernel sends SIGKILL to the child when the thread that forked it
        # exits, so a crashed or killed test run leaves no components behind.
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:
            # The parent died before prctl took effect.
            os._exit(1)

    return preexec


def _write_token_file(path: Path, users: Iterable[TokenUser]) -> None:
    # Columns: token, user name, uid, groups joined by commas. The API server
    # splits an empty fourth column into one group named "", so it is left
    # out for users without groups.
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        for user in users:
            row = [user.token, user.name, user.name]
            if user.groups:
                row.append(",".join(user.groups))
            writer.writerow(row)
    path.chmod(0o600)


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log file at {path})"
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class _Component:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def failure(self, reason: str) -> ControlPlaneError:
        return ControlPlaneError(
            f"{self.name} {reason}. Last lines of {self.log_path}:\n"
            f"{_tail(self.log_path)}"
        )


class ControlPlane:
    """etcd, kube-apiserver and kube-controller-manager on loopback.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.
    :meth:`start` returns once ``/readyz`` is ok, the ``default`` namespace
    exists and the controller manager has created its ``default`` service
    account, which proves that the controllers run.
    """

    def __init__(
        self,
        bin_dir: Path,
        token_users: Sequence[TokenUser] = DEFAULT_TOKEN_USERS,
        work_dir: Path | None = None,
        start_timeout: float = 120.0,
        keep_work_dir: bool = False,
    ) -> None:
        names = [user.name for user in token_users]
        if len(set(names)) != len(names):
            raise ValueError(f"token user names must be unique, got {names}")
        if ADMIN_USER in names:
            raise ValueError(
                f"token user name {ADMIN_USER!r} is reserved for the admin"
            )
        self.bin_dir = bin_dir
        self.token_users = {user.name: user for user in token_users}
        self.start_timeout = start_timeout
        self.keep_work_dir = keep_work_dir
        self._own_work_dir = work_dir is None
        self.work_dir = work_dir or Path(tempfile.mkdtemp(prefix="kubegateway-kube-"))
        self._components: list[_Component] = []
        self._pki: PkiPaths | None = None
        self._apiserver_port: int | None = None
        self._failed = False

    # Connection details for clients.

    @property
    def server_url(self) -> str:
        """HTTPS URL of the API server."""
        if self._apiserver_port is None:
            raise ControlPlaneError("the control plane is not started")
        return f"https://127.0.0.1:{self._apiserver_port}"

    @property
    def pki(self) -> PkiPaths:
        """Certificates and keys of this control plane."""
        if self._pki is None:
            raise ControlPlaneError("the control plane is not started")
        return self._pki

    @property
    def ca_path(self) -> Path:
        """CA certificate that signed the API server's serving certificate."""
        return self.pki.ca_cert

    @property
    def kubeconfig_path(self) -> Path:
        """Kubeconfig of the admin (client certificate in ``system:masters``)."""
        return self.work_dir / "admin.kubeconfig"

    @property
    def log_dir(self) -> Path:
        """Folder with one log file (stdout and stderr) per component."""
        return self.work_dir / "logs"

    def token_for(self, user: str) -> str:
        """Return the bearer token of the static token user ``user``."""
        try:
            return self.token_users[user].token
        except KeyError:
            known = ", ".join(sorted(self.token_users))
            raise KeyError(f"no token user {user!r}; known users: {known}") from None

    def kubeconfig_for(self, user: str) -> Path:
        """Write a kubeconfig for the static token user ``user``; return its path."""
        path = self.work_dir / f"{user}.kubeconfig"
        self._write_kubeconfig(path, user, {"token": self.token_for(user)})
        return path

    # Lifecycle.

    def __enter__(self) -> ControlPlane:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start all components and wait until the cluster is usable.

        On failure, every started process is stopped, the work directory is
        kept for its logs and :class:`ControlPlaneError` names the component
        with the tail of its log.
        """
        missing = missing_binaries(self.bin_dir)
        if missing:
            raise ControlPlaneError(
                f"missing binaries {[str(p) for p in missing]}: run {BUILD_SCRIPT}"
            )
        if self._components:
            raise ControlPlaneError("the control plane is already started")
        deadline = time.monotonic() + self.start_timeout
        try:
            self._pki = write_pki(self.work_dir / "pki", ADMIN_USER)
            self.log_dir.mkdir(parents=True, exist_ok=True)
            etcd_url = self._start_etcd(deadline)
            self._start_apiserver(etcd_url, deadline)
            self._write_kubeconfig(
                self.kubeconfig_path,
                ADMIN_USER,
                {
                    "client-certificate": str(self.pki.admin_cert),
                    "client-key": str(self.pki.admin_key),
                },
            )
            self._start_controller_manager(deadline)
        except BaseException:
            self._failed = True
            self.stop()
            raise

    def stop(self) -> None:
        """Terminate every component and its process group, newest first.

        The work directory is removed unless it was passed in, ``keep_work_dir``
        is set or :meth:`start` failed.
        """
        while self._components:
            self._terminate(self._components.pop())
        remove = self._own_work_dir and not self.keep_work_dir and not self._failed
        if remove and self.work_dir.exists():
            shutil.rmtree(self.work_dir, ignore_errors=True)

    # Components.

    def _spawn(self, name: str, args: list[str]) -> _Component:
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.work_dir,
                env=_child_environment(),
                start_new_session=True,
                preexec_fn=_make_preexec(os.getpid()),
            )
        component = _Component(name, process, log_path)
        self._components.append(component)
        return component

    @staticmethod
    def _terminate(component: _Component, grace: float = 10.0) -> None:
        process = component.process
        # The component leads its own process group (start_new_session), so
        # signalling the group also reaches anything it started.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        # Reap any member of the group that outlived the leader.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    def _start_etcd(self, deadline: float) -> str:
        client_url = f"http://127.0.0.1:{_free_port()}"
        peer_url = f"http://127.0.0.1:{_free_port()}"
        etcd = self._spawn(
            "etcd",
            [
                str(self.bin_dir / "etcd"),
                "--name=default",
                f"--data-dir={self.work_dir / 'etcd'}",
                f"--listen-client-urls={client_url}",
                f"--advertise-client-urls={client_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=default={peer_url}",
                # Test data does not need to survive a power cut, and fsync
                # dominates etcd's latency on slow disks.
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )
        with httpx.Client(trust_env=False, timeout=2.0) as client:

            def healthy() -> bool:
                response = client.get(f"{client_url}/health")
                return response.status_code == 200 and '"true"' in response.text

            self._wait(etcd, "/health", healthy, deadline)
        return client_url

    def _start_apiserver(self, etcd_url: str, deadline: float) -> None:
        self._apiserver_port = _free_port()
        pki = self.pki
        token_file = self.work_dir / "tokens.csv"
        _write_token_file(token_file, self.token_users.values())
        apiserver = self._spawn(
            "kube-apiserver",
            [
                str(self.bin_dir / "kube-apiserver"),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={self._apiserver_port}",
                f"--cert-dir={self.work_dir / 'apiserver-certs'}",
                f"--tls-cert-file={pki.serving_cert}",
                f"--tls-private-key-file={pki.serving_key}",
                f"--client-ca-file={pki.ca_cert}",
                f"--token-auth-file={token_file}",
                "--authorization-mode=RBAC",
                f"--enable-admission-plugins={','.join(ADMISSION_PLUGINS)}",
                f"--service-account-key-file={pki.service_account_public_key}",
                f"--service-account-signing-key-file={pki.service_account_key}",
                f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
                f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
                # Privileged containers pass API validation, so that tests see
                # PodSecurity admission reject them.
                "--allow-privileged=true",
                # A loopback address is invalid in the Endpoints of the
                # "kubernetes" Service, and no pod could use it anyway.
                "--endpoint-reconciler-type=none",
                "--profiling=false",
            ],
        )
        with self._admin_http_client() as client:

            def ready() -> bool:
                return client.get("/readyz").status_code == 200

            def default_namespace() -> bool:
                return client.get("/api/v1/namespaces/default").status_code == 200

            self._wait(apiserver, "/readyz", ready, deadline)
            self._wait(apiserver, "namespace default", default_namespace, deadline)

    def _start_controller_manager(self, deadline: float) -> None:
        pki = self.pki
        controller_manager = self._spawn(
            "kube-controller-manager",
            [
                str(self.bin_dir / "kube-controller-manager"),
                f"--kubeconfig={self.kubeconfig_path}",
                f"--controllers={','.join(CONTROLLERS)}",
                "--secure-port=0",
                "--leader-elect=false",
                f"--service-account-private-key-file={pki.service_account_key}",
                f"--root-ca-file={pki.ca_cert}",
                "--profiling=false",
            ],
        )
        with self._admin_http_client() as client:

            def default_service_account() -> bool:
                path = "/api/v1/namespaces/default/serviceaccounts/default"
                return client.get(path).status_code == 200

            self._wait(
                controller_manager,
                "service account default/default",
                default_service_account,
                deadline,
            )

    def _wait(
        self,
        component: _Component,
        target: str,
        check: Callable[[], bool],
        deadline: float,
    ) -> None:
        while True:
            if component.process.poll() is not None:
                raise component.failure(
                    f"exited with code {component.process.returncode} "
                    f"before {target} was ready"
                )
            with contextlib.suppress(httpx.TransportError):
                if check():
                    return
            if time.monotonic() > deadline:
                raise component.failure(
                    f"was not ready ({target}) within {self.start_timeout:.0f} s"
                )
            time.sleep(0.2)

    # Client configuration.

    def admin_ssl_context(self) -> ssl.SSLContext:
        """Return a TLS context that trusts the CA and presents the admin cert."""
        context = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        context.load_cert_chain(str(self.pki.admin_cert), str(self.pki.admin_key))
        return context

    def _admin_http_client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.server_url,
            verify=self.admin_ssl_context(),
            trust_env=False,
            timeout=5.0,
        )

    def _write_kubeconfig(
        self, path: Path, user: str, credentials: dict[str, str]
    ) -> None:
        context = f"{user}@kubegateway-test"
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "kubegateway-test",
                    "cluster": {
                        "server": self.server_url,
                        "certificate-authority": str(self.pki.ca_cert),
                    },
                }
            ],
            "users": [{"name": user, "user": credentials}],
            "contexts": [
                {
                    "name": context,
                    "context": {
                        "cluster": "kubegateway-test",
                        "user": user,
                        "namespace": "default",
                    },
                }
            ],
            "current-context": context,
        }
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)
