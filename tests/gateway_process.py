"""Run a real ``kubegateway up`` in a subprocess for tests.

The gateway binds a free loopback port and keeps its state in a temporary data
directory; helpers create tenants, instances and tokens through the admin API
exactly as a user would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def valkey_processes(directory: Path) -> list[int]:
    """Return pids of valkey-server processes working inside ``directory``.

    valkey rewrites its command line to ``valkey-server host:port`` and changes
    into its data directory, so the working directory identifies it.
    """
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            name = (proc / "comm").read_text().strip()
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if name.startswith("valkey-server") and cwd.startswith(str(directory)):
            found.append(int(proc.name))
    return found


@dataclass
class Instance:
    tenant: str
    instance: str
    url: str
    token: str
    token_id: str


@dataclass
class Gateway:
    data_dir: Path
    port: int = field(default_factory=free_port)
    workers: int = 1
    extra_args: list[str] = field(default_factory=list)
    env: Mapping[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    admin_token: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}-gateway.log"

    @property
    def stdout_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}-gateway.out"

    def start(self, timeout: float = 30.0) -> None:
        command = [
            sys.executable,
            "-m",
            "kubegateway",
            "up",
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            *self.extra_args,
        ]
        log = self.log_path.open("ab")
        out = self.stdout_path.open("ab")
        self.process = subprocess.Popen(
            command,
            stdout=out,
            stderr=log,
            env={**os.environ, **self.env},
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gateway exited early:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError(f"gateway did not start:\n{self.log_tail()}")
        token_file = self.data_dir / "admin.token"
        if token_file.exists():
            self.admin_token = token_file.read_text().strip()
        else:
            self.admin_token = self.env.get("KUBEGATEWAY_ADMIN_TOKEN", "")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def admin(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token or self.admin_token}"},
            timeout=60.0,
        )

    def create_instance(
        self,
        tenant: str,
        instance: str = "main",
        *,
        memory: str = "32Mi",
        access: str = "read-write",
        plan: str = "standard",
        quota: dict[str, object] | None = None,
    ) -> Instance:
        """Create (or reuse) a tenant and instance, and a new token for it."""
        with self.admin() as client:
            response = client.post(
                "/v1/tenants",
                json={"id": tenant, "plan": plan, "quota": quota or {}},
            )
            assert response.status_code in (200, 201), response.text
            response = client.post(
                f"/v1/tenants/{tenant}/instances",
                json={"id": instance, "memory": memory},
            )
            assert response.status_code in (200, 201), response.text
            return self.new_token(tenant, instance, access)

    def new_token(
        self, tenant: str, instance: str, access: str = "read-write"
    ) -> Instance:
        with self.admin() as client:
            response = client.post(
                f"/v1/tenants/{tenant}/instances/{instance}/tokens",
                json={"access": access},
            )
            assert response.status_code == 201, response.text
            body = response.json()
        return Instance(
            tenant,
            instance,
            f"{self.url}/v1/redis/{tenant}/{instance}",
            body["token"],
            body["id"],
        )
