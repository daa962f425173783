"""``kubegateway serve --backend kubernetes``: the gateway as a cluster workload.

The same worker app as ``up`` runs here, with ``KubernetesStore`` for the
admin API and ``KubernetesDirectory`` for routing. Nothing is supervised:
the operator runs the instances, and the system Redis (rate limits, usage
counters, audit log) is a separate server given by ``--system-redis``.

Before the workers start, this process checks that the API server and the
system Redis respond, and registers the hash of the bootstrap admin token
given through ``$KUBEGATEWAY_ADMIN_TOKEN`` or ``--admin-token-file``. The
token itself is never logged or printed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import redis
import structlog

from kubegateway.backends.kubernetes.audit import RedisAuditLog
from kubegateway.backends.kubernetes.store import KubernetesStore, connect
from kubegateway.errors import KubegatewayError
from kubegateway.observability.logging import configure_logging
from kubegateway.observability.usage_reading import SystemValkey
from kubegateway.server.config import KUBERNETES, RunConfig, parse_address
from kubegateway.server.up import (
    ADMIN_TOKEN_ENV,
    register_admin_token,
    serve_workers,
)
from kubegateway.tenancy.plans import PlanCatalog

log = structlog.get_logger("kubegateway.serve")

SYSTEM_REDIS_PASSWORD_ENV = "KUBEGATEWAY_SYSTEM_REDIS_PASSWORD"


@dataclass(frozen=True, slots=True)
class ServeOptions:
    host: str
    port: int
    workers: int
    kubeconfig: Path | None
    system_redis: str
    system_redis_user: str
    system_redis_password_file: Path | None
    system_namespace: str
    resolve: tuple[str, ...]
    plans_file: Path | None
    log_format: str
    admin_token_file: Path | None
    jwt_hs256_secret_file: Path | None
    jwt_jwks_file: Path | None
    jwt_jwks_url: str | None
    jwt_audience: str
    jwt_issuer: str


def parse_resolve(entries: tuple[str, ...]) -> dict[str, str]:
    """Parse ``--resolve <host>:<port>=<address>:<port>`` entries.

    Raises ValueError naming the entry when one is malformed.
    """
    result: dict[str, str] = {}
    for entry in entries:
        name, sep, target = entry.partition("=")
        if not sep:
            raise ValueError(
                f"--resolve {entry!r} must be <host>:<port>=<address>:<port>"
            )
        host, port = parse_address(name, "--resolve name")
        parse_address(target, "--resolve target")
        result[f"{host}:{port}"] = target
    return result


def _read_secret(path: Path | None, env: str) -> str:
    if path is not None:
        return path.read_text().strip()
    return os.environ.get(env, "")


def _optional(path: Path | None) -> str | None:
    return str(path) if path is not None else None


def build_config(options: ServeOptions) -> RunConfig:
    """Validate the options into the settings the workers read."""
    system_host, system_port = parse_address(options.system_redis, "--system-redis")
    return RunConfig(
        data_dir="",
        host=options.host,
        port=options.port,
        workers=options.workers,
        system_port=system_port,
        system_password=_read_secret(
            options.system_redis_password_file, SYSTEM_REDIS_PASSWORD_ENV
        ),
        plans_file=_optional(options.plans_file),
        jwt_audience=options.jwt_audience,
        jwt_issuer=options.jwt_issuer,
        jwt_hs256_secret_file=_optional(options.jwt_hs256_secret_file),
        jwt_jwks_file=_optional(options.jwt_jwks_file),
        jwt_jwks_url=options.jwt_jwks_url,
        log_format=options.log_format,
        backend=KUBERNETES,
        system_host=system_host,
        system_user=options.system_redis_user,
        kubeconfig=_optional(options.kubeconfig),
        system_namespace=options.system_namespace,
        resolve=parse_resolve(options.resolve),
    )


def _check_system_redis(system: SystemValkey) -> str | None:
    client = system.client()
    try:
        client.ping()
    except redis.RedisError as error:
        return str(error)
    finally:
        client.close()
    return None


def run(options: ServeOptions) -> int:
    configure_logging(options.log_format)
    try:
        config = build_config(options)
    except (ValueError, OSError) as error:
        log.error("Invalid option.", error=str(error))
        return 2

    system = SystemValkey(
        config.system_port,
        config.system_password,
        config.system_host,
        config.system_user,
    )
    failure = _check_system_redis(system)
    if failure is not None:
        log.error(
            "The system Redis is unreachable or rejected the login.",
            address=options.system_redis,
            user=config.system_user,
            error=failure,
        )
        return 1

    plans = PlanCatalog(options.plans_file)
    store = KubernetesStore(
        connect(options.kubeconfig),
        plans,
        RedisAuditLog(system.client()),
        options.system_namespace,
    )
    try:
        admin_token = _read_secret(options.admin_token_file, ADMIN_TOKEN_ENV)
        if admin_token:
            register_admin_token(store, admin_token)
        elif not store.has_platform_admin():
            log.warning(
                "No platform admin API key exists; set $KUBEGATEWAY_ADMIN_TOKEN "
                "or --admin-token-file to register one, or use JWTs.",
            )
    except OSError as error:
        log.error("Failed to read the admin token file.", error=str(error))
        return 2
    except KubegatewayError as error:
        log.error("The Kubernetes API request failed.", error=error.message)
        return 1

    config.export()
    log.info(
        "kubegateway started.",
        backend=KUBERNETES,
        url=config.base_url,
        workers=config.workers,
        system_redis=options.system_redis,
        resolve=sorted(config.resolve),
    )
    serve_workers(config)
    log.info("kubegateway stopped.")
    return 0
