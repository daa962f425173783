"""Measured usage of a tenant, read back for the admin API and ``/metrics``.

Request counts come from the shared counters the gateway workers flush (see
``kubegateway.observability.usage``); memory comes from each instance's own
``INFO memory``; storage is the bytes on disk the supervisor measures.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis

from kubegateway.backends.base import TenantStore
from kubegateway.backends.embedded.supervising import STORAGE_KEY
from kubegateway.backends.embedded.valkey import ADMIN_USER
from kubegateway.observability.usage import commands_key, usage_key
from kubegateway.tenancy.models import InstancePhase


@dataclass(frozen=True, slots=True)
class SystemValkey:
    """Address and login of the valkey or Redis that stores the shared counters."""

    port: int
    password: str
    host: str = "127.0.0.1"
    username: str = ADMIN_USER

    def client(self) -> redis.Redis:
        return redis.Redis(
            host=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            socket_timeout=2.0,
            socket_connect_timeout=2.0,
        )


class UsageReader:
    def __init__(self, store: TenantStore, system: SystemValkey) -> None:
        self._store = store
        self._client = system.client()

    def counters(self, tenant: str) -> dict[str, int]:
        raw = self._client.hgetall(usage_key(tenant))
        return {_text(k): int(v) for k, v in raw.items()}

    def all_counters(self) -> dict[str, dict[str, int]]:
        result: dict[str, dict[str, int]] = {}
        for key in self._client.scan_iter(match=b"usage:*", count=1000):
            tenant = _text(key).split(":", 1)[1]
            result[tenant] = self.counters(tenant)
        return result

    def commands_per_minute(self, tenant: str) -> int:
        """Return commands in the last 60 seconds, from two minute counters."""
        now = time.time()
        minute = int(now // 60)
        current, previous = self._client.mget(
            commands_key(tenant, minute), commands_key(tenant, minute - 1)
        )
        elapsed = (now % 60) / 60
        return int(int(current or 0) + int(previous or 0) * (1 - elapsed))

    def storage_bytes(self, tenant: str) -> int:
        value = self._client.hget(STORAGE_KEY, tenant)
        return int(value or 0)

    def memory_used(self, tenant: str) -> dict[str, int]:
        """Return ``used_memory`` of each running instance of the tenant.

        Only instances with a local port are measured. In Kubernetes mode the
        store reports port 0, so the map is empty there.
        """
        used: dict[str, int] = {}
        for instance in self._store.list_instances(tenant):  # type: ignore[arg-type]
            if instance.phase != InstancePhase.RUNNING or not instance.port:
                continue
            password = self._store.instance_passwords(instance.tenant, instance.id)
            client = redis.Redis(
                host="127.0.0.1",
                port=instance.port,
                username=ADMIN_USER,
                password=password[ADMIN_USER],
                socket_timeout=2.0,
                socket_connect_timeout=2.0,
            )
            try:
                used[instance.id] = int(client.info("memory")["used_memory"])
            except redis.RedisError:
                used[instance.id] = 0
            finally:
                client.close()
        return used

    def forget(self, tenant: str) -> None:
        """Delete every counter of a removed tenant, and so its metric series."""
        self._client.delete(usage_key(tenant))
        self._client.hdel(STORAGE_KEY, tenant)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
