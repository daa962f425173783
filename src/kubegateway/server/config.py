"""Settings of one ``kubegateway up`` run, handed from the parent to each worker.

Workers are separate processes started by uvicorn, so the parent serializes
these settings into an environment variable that only its children see.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

WORKER_CONFIG_ENV = "KUBEGATEWAY_WORKER_CONFIG"


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
                f"{WORKER_CONFIG_ENV} is not set; start workers with `kubegateway up`"
            )
        return cls(**json.loads(raw))
