"""The admin audit log in Kubernetes mode: capped streams in the system Redis.

Every admin action appends one entry, so the log is append-heavy and
written by every gateway replica at once. A Redis stream fits that: XADD
is atomic across replicas, ``MAXLEN ~`` caps the size, and XREVRANGE reads
the newest entries first. Kubernetes objects fit worse: a ConfigMap or
Secret is limited to about 1 MiB, so a log in one would need rotation, and
concurrent appends would need read-modify-write retries on conflicts.
Events expire after an hour by default.

The entries are as durable as the system Redis: run it with AOF
persistence on a persistent volume. Each action is also logged as a JSON
line by ``TenantService``, so a log collector keeps a second copy.
"""

from __future__ import annotations

from typing import Any

import redis
import structlog

from kubegateway.errors import BackendUnavailable
from kubegateway.ids import TenantId
from kubegateway.tenancy.models import AuditEntry

log = structlog.get_logger("kubegateway.audit")

# Entries kept per stream; ``MAXLEN ~`` trims in whole stream nodes, so a
# stream may hold somewhat more.
DEFAULT_MAX_ENTRIES = 10_000
ALL_KEY = "audit:all"


def tenant_key(tenant: TenantId) -> str:
    return f"audit:tenant:{tenant}"


def _entry_id(stream_id: str) -> int:
    """Turn a stream id ``<ms>-<seq>`` into one increasing integer."""
    milliseconds, _, sequence = stream_id.partition("-")
    return int(milliseconds) * 1000 + int(sequence or 0)


class RedisAuditLog:
    """Audit entries in one stream per tenant plus one stream of all entries."""

    def __init__(
        self, client: redis.Redis, max_entries: int = DEFAULT_MAX_ENTRIES
    ) -> None:
        self._client = client
        self._max_entries = max_entries

    def append(
        self,
        time: float,
        actor: str,
        tenant: TenantId | None,
        action: str,
        target: str,
        result: str,
        detail: str,
    ) -> None:
        """Append an entry; log it as an error instead when Redis fails.

        The admin action has already happened when this runs, so failing the
        request would not undo it.
        """
        fields: dict[Any, Any] = {
            "time": repr(time),
            "actor": actor,
            "tenant": tenant or "",
            "action": action,
            "target": target,
            "result": result,
            "detail": detail,
        }
        keys = [ALL_KEY] + ([tenant_key(tenant)] if tenant else [])
        try:
            with self._client.pipeline(transaction=False) as pipeline:
                for key in keys:
                    pipeline.xadd(
                        key, fields, maxlen=self._max_entries, approximate=True
                    )
                pipeline.execute()
        except redis.RedisError as error:
            log.error(
                "Failed to store an audit entry in the system Redis.",
                error=str(error),
                actor=actor,
                tenant=tenant,
                action=action,
                target=target,
                result=result,
            )

    def entries(self, tenant: TenantId | None, limit: int) -> list[AuditEntry]:
        """Return up to ``limit`` entries, newest first."""
        key = tenant_key(tenant) if tenant else ALL_KEY
        try:
            rows = self._client.xrevrange(key, count=limit) or []
        except redis.RedisError as error:
            raise BackendUnavailable(
                f"the audit log in the system Redis is unavailable: {error}"
            ) from error
        entries: list[AuditEntry] = []
        for stream_id, raw in rows:
            values = {_text(k): _text(v) for k, v in (raw or {}).items()}
            entries.append(
                AuditEntry(
                    id=_entry_id(_text(stream_id)),
                    time=float(values.get("time", "0")),
                    actor=values.get("actor", ""),
                    tenant=TenantId(values["tenant"]) if values.get("tenant") else None,
                    action=values.get("action", ""),
                    target=values.get("target", ""),
                    result=values.get("result", ""),
                    detail=values.get("detail", ""),
                )
            )
        return entries


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value
