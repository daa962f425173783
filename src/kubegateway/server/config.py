"""Settings of one ``up`` or ``serve`` run, handed from the parent to each worker.

Workers are separate processes started by uvicorn, so the parent serializes
these settings into an environment variable that only its children see.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kubegateway.backends.embedded.valkey import ADMIN_USER

WORKER_CONFIG_ENV = "KUBEGATEWAY_WORKER_CONFIG"
EMBEDDED = "embedded"
KUBERNETES = "kubernetes"


@dataclass(frozen=True, slots=True)
class RunConfig:
    data_dir: str
    host: str
    port: int
    workers: int
    system_port: int
    system_password: str
    plans_file: str | None = None
    jwt_audience: str = "kubegateway"
    jwt_issuer: str = "kubegateway"
    jwt_hs256_secret_file: str | None = None
    jwt_jwks_file: str | None = None
    jwt_jwks_url: str | None = None
    pool_size: int = 2
    request_timeout: float = 10.0
    log_format: str = "json"
    # Kubernetes mode (``serve --backend kubernetes``); ``up`` keeps the defaults.
    backend: str = EMBEDDED
    system_host: str = "127.0.0.1"
    system_user: str = ADMIN_USER
    kubeconfig: str | None = None
    system_namespace: str = "redis-system"
    # "<service host>:<port>" -> "<address>:<port>", for clusters without DNS.
    resolve: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def database(self) -> Path:
        return Path(self.data_dir) / "state.db"

    def export(self) -> None:
        os.environ[WORKER_CONFIG_ENV] = json.dumps(asdict(self))

    @classmethod
    def from_environment(cls) -> RunConfig:
        raw = os.environ.get(WORKER_CONFIG_ENV)
        if not raw:
            raise RuntimeError(
                f"{WORKER_CONFIG_ENV} is not set; start workers with "
                "`kubegateway up` or `kubegateway serve`"
            )
        return cls(**json.loads(raw))


def parse_address(value: str, option: str = "address") -> tuple[str, int]:
    """Split ``host:port`` (``[v6]:port`` for IPv6) into host and port."""
    host, sep, port = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{option} {value!r} is not host:port")
    return host, int(port)
