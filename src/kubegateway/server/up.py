"""``kubegateway up``: the embedded default on one machine, in the foreground.

The parent process owns the state store, the bootstrap admin credential and
the supervisor thread that runs every valkey-server; uvicorn runs the HTTP
workers. On Ctrl-C or SIGTERM uvicorn stops the workers first, then the
supervisor stops every valkey with SIGTERM so each flushes its AOF, and no
process is left behind.
"""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TextIO

import structlog
import uvicorn
from uvicorn.supervisors import Multiprocess

from kubegateway.auth import secrets
from kubegateway.backends.base import TenantStore
from kubegateway.backends.embedded.supervising import FAULTS_ENV, Supervisor
from kubegateway.backends.sqlite_store import SqliteStore
from kubegateway.observability.logging import configure_logging
from kubegateway.server.config import RunConfig
from kubegateway.tenancy.models import Role

log = structlog.get_logger("kubegateway.up")

ADMIN_TOKEN_ENV = "KUBEGATEWAY_ADMIN_TOKEN"
ADMIN_TOKEN_FILE = "admin.token"


@dataclass(frozen=True, slots=True)
class UpOptions:
    data_dir: Path
    host: str
    port: int
    workers: int
    plans_file: Path | None
    appendfsync: str
    log_format: str
    admin_token_file: Path | None
    jwt_hs256_secret_file: Path | None
    jwt_jwks_file: Path | None
    jwt_jwks_url: str | None
    jwt_audience: str
    jwt_issuer: str


def _given_admin_token(options: UpOptions) -> str | None:
    if options.admin_token_file is not None:
        return options.admin_token_file.read_text().strip()
    return os.environ.get(ADMIN_TOKEN_ENV) or None


def register_admin_token(store: TenantStore, token: str) -> None:
    """Store the hash of a given platform admin token unless it is stored."""
    parts = secrets.split(token)
    if parts is None or parts.prefix != secrets.ADMIN_PREFIX:
        raise SystemExit(
            "the bootstrap admin token must look like "
            "kga_<16 hex digits>_<secret>; "
            "generate one with `kubegateway admin-token`"
        )
    if store.find_api_key(parts.id) is None:
        store.add_api_key(
            parts.id,
            Role.PLATFORM_ADMIN,
            None,
            "bootstrap",
            secrets.hash_secret(parts.secret),
        )


def bootstrap_admin(store: SqliteStore, options: UpOptions) -> str | None:
    """Make sure a platform admin credential exists; return it if new.

    A token given through the environment or a file is registered (its hash
    only). Otherwise, on first start, a new one is generated and written to
    ``<data-dir>/admin.token`` with mode 0600 for the CLI on this machine.
    """
    given = _given_admin_token(options)
    if given is not None:
        register_admin_token(store, given)
        return None
    if store.has_platform_admin():
        return None
    new = secrets.generate(secrets.ADMIN_PREFIX)
    store.add_api_key(new.id, Role.PLATFORM_ADMIN, None, "bootstrap", new.secret_hash)
    path = options.data_dir / ADMIN_TOKEN_FILE
    path.touch(mode=0o600)
    path.write_text(new.token + "\n")
    return new.token


def run(options: UpOptions) -> int:
    configure_logging(options.log_format)
    # Everything under the data directory contains secrets (valkey passwords in
    # the state, AOF data), so no other user may read any of it.
    os.umask(0o077)
    options.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    options.data_dir.chmod(0o700)
    lock = _lock_data_dir(options.data_dir)
    if lock is None:
        print(
            f"error: another `kubegateway up` is using {options.data_dir}; "
            "stop it or pass another --data-dir",
            file=sys.stderr,
        )
        return 1
    try:
        sock = listen_socket(options.host, options.port)
    except OSError as error:
        print(
            f"error: cannot listen on {options.host}:{options.port}: "
            f"{error.strerror}; pass another --port or --host",
            file=sys.stderr,
        )
        return 1
    store = SqliteStore(options.data_dir / "state.db")
    new_token = bootstrap_admin(store, options)
    faults = frozenset(filter(None, os.environ.get(FAULTS_ENV, "").split(",")))
    supervisor = Supervisor(store, options.data_dir, options.appendfsync, faults)
    supervisor.start()
    supervisor.system_ready.wait()
    if supervisor.system_error is not None or supervisor.system is None:
        print(
            f"error: the system valkey failed to start: {supervisor.system_error}",
            file=sys.stderr,
        )
        supervisor.stop()
        return 1
    config = RunConfig(
        data_dir=str(options.data_dir),
        host=options.host,
        port=options.port,
        workers=options.workers,
        system_port=supervisor.system.spec.port,
        system_password=supervisor.system.spec.passwords["kg-admin"],
        plans_file=str(options.plans_file) if options.plans_file else None,
        jwt_audience=options.jwt_audience,
        jwt_issuer=options.jwt_issuer,
        jwt_hs256_secret_file=_optional(options.jwt_hs256_secret_file),
        jwt_jwks_file=_optional(options.jwt_jwks_file),
        jwt_jwks_url=options.jwt_jwks_url,
        log_format=options.log_format,
    )
    config.export()
    _announce(config, options, new_token)
    try:
        serve_workers(config, sock)
    finally:
        supervisor.stop()
        store.close()
        lock.close()
        log.info("kubegateway stopped.")
    return 0


def _lock_data_dir(data_dir: Path) -> TextIO | None:
    """Take an exclusive lock on the data directory, or return None if held.

    Two supervisors on one directory would start two valkey servers on the
    same AOF files. The lock is released when the process exits, however it
    exits.
    """
    handle = (data_dir / "lock").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def listen_socket(host: str, port: int) -> socket.socket:
    """Bind the listening socket before anything announces the address."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _ignore_signal(signum: int, frame: FrameType | None) -> None:
    log.info("Stopping.", signal=signal.Signals(signum).name)


def _optional(path: Path | None) -> str | None:
    return str(path) if path is not None else None


def _announce(config: RunConfig, options: UpOptions, new_token: str | None) -> None:
    # The banner goes to stdout, the logs to stderr, so the token never
    # reaches a log collector that reads stderr.
    print(f"kubegateway is listening on {config.base_url}", flush=True)
    print(f"  data directory: {options.data_dir}", flush=True)
    print(f"  workers: {config.workers}", flush=True)
    if new_token is not None:
        print(
            "  bootstrap admin token (shown once; also saved with mode 0600 to "
            f"{options.data_dir / ADMIN_TOKEN_FILE}):",
            flush=True,
        )
        print(f"    {new_token}", flush=True)
    log.info("kubegateway started.", url=config.base_url, workers=config.workers)


def serve_workers(config: RunConfig, sock: socket.socket | None = None) -> None:
    """Run uvicorn with the worker app until SIGINT or SIGTERM."""
    uvicorn_config = uvicorn.Config(
        "kubegateway.server.worker:create_app",
        factory=True,
        host=config.host,
        port=config.port,
        workers=config.workers,
        loop="uvloop",
        http="kubegateway.server.http_protocol:GatewayProtocol",
        proxy_headers=False,
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(uvicorn_config)
    # uvicorn re-raises the signal that stopped it once it has shut down. With
    # the default handlers that would kill this process before the supervisor
    # stops valkey, so these handlers absorb that second delivery.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _ignore_signal)
    if sock is None:
        sock = listen_socket(config.host, config.port)
    if config.workers <= 1:
        server.run(sockets=[sock])
        return
    Multiprocess(uvicorn_config, sockets=[sock]).run()
