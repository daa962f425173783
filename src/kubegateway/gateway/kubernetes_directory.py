"""The gateway's ``Directory`` on Kubernetes, fed by watches.

Background threads list and then watch Tenants, RedisHttpInstances and
the gateway's Secrets (instance credentials and token hashes, selected by
``redis.kubegateway.io/component``), and keep the latest objects in memory.
Requests only read that memory, so the gateway never calls the API server
per request and keeps serving from the last known state while the API
server is unreachable. A watch that fails is retried with a fresh list
after a backoff; the old state stays in place until the list succeeds.

Routing never leaves the tenant's namespace: a token Secret grants access
only to an instance of the namespace it is stored in, and the endpoint of
an instance is always ``<instance>.tenant-<tenant>.svc``. The optional
``resolve`` map replaces such a host and port with another address, like
``curl --resolve``, for clusters or tests without cluster DNS. It changes
where a name connects, never which name a request routes to.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from lightkube import Client
from lightkube.core.generic_client import ALL_NS
from lightkube.resources.core_v1 import Secret

from kubegateway.auth import secrets
from kubegateway.backends.embedded.valkey import READ_ONLY_USER, READ_WRITE_USER
from kubegateway.backends.kubernetes.resources import (
    ACCESS_LABEL,
    COMPONENT_LABEL,
    CREDENTIALS_COMPONENT,
    INSTANCE_LABEL,
    REDIS_PORT,
    TOKEN_COMPONENT,
    TOKEN_HASH_KEY,
    TOKEN_ID_LABEL,
    RedisHttpInstance,
    Tenant,
    service_host,
    tenant_of_namespace,
)
from kubegateway.backends.kubernetes.specs import parse_tenant
from kubegateway.gateway.connections import Endpoint
from kubegateway.gateway.directory import Grant, InstanceView, TenantView
from kubegateway.ids import InstanceId, TenantId, TokenId
from kubegateway.tenancy.models import Access, InstancePhase, Quota, TenantPhase

log = structlog.get_logger("kubegateway.directory")

RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 30.0
WATCH_SERVER_TIMEOUT_SECONDS = 290

_Key = tuple[str, str]


@dataclass
class _Cache:
    """Objects of one kind by (namespace, name), replaced whole on each list."""

    objects: dict[_Key, dict[str, Any]] = field(default_factory=dict)
    synced: threading.Event = field(default_factory=threading.Event)


def _key(body: dict[str, Any]) -> _Key:
    metadata = body["metadata"]
    return (str(metadata.get("namespace") or ""), str(metadata["name"]))


class KubernetesDirectory:
    """A ``Directory`` backed by watch-fed caches of custom resources and Secrets."""

    def __init__(
        self, client: Client, resolve: Mapping[str, tuple[str, int]] | None = None
    ) -> None:
        """``resolve`` maps ``<service host>:<port>`` to an address and port."""
        self._client = client
        self._resolve = dict(resolve or {})
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._tenants = _Cache()
        self._instances = _Cache()
        self._secrets = _Cache()
        self._threads: list[threading.Thread] = []

    # Lifecycle

    def start(self) -> None:
        kinds = (
            ("tenants", Tenant, self._tenants, None),
            ("instances", RedisHttpInstance, self._instances, None),
            ("secrets", Secret, self._secrets, COMPONENT_LABEL),
        )
        for name, resource, cache, label in kinds:
            thread = threading.Thread(
                target=self._run,
                args=(name, resource, cache, label),
                name=f"kubegateway-watch-{name}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def wait_synced(self, timeout: float) -> bool:
        """Wait until every cache has completed its first list."""
        return all(
            cache.synced.wait(timeout)
            for cache in (self._tenants, self._instances, self._secrets)
        )

    def stop(self) -> None:
        self._stop.set()

    # Watch loop

    def _run(self, name: str, resource: Any, cache: _Cache, label: str | None) -> None:
        delay = RETRY_SECONDS
        while not self._stop.is_set():
            try:
                for _ in self._list_and_watch(resource, cache, label):
                    delay = RETRY_SECONDS
                    if self._stop.is_set():
                        return
            # Any failure (HTTP status, transport, decoding) keeps the cache
            # and retries, because serving stale state beats serving nothing.
            except Exception as error:
                log.warning(
                    "Watch failed; serving from the cache and retrying.",
                    kind=name,
                    error=repr(error),
                    retry_seconds=delay,
                )
            self._stop.wait(delay)
            delay = min(delay * 2, MAX_RETRY_SECONDS)

    def _list_and_watch(
        self, resource: Any, cache: _Cache, label: str | None
    ) -> Iterator[None]:
        selector = {label: None} if label else None
        namespaced = resource is not Tenant
        options: dict[str, Any] = {"labels": selector}
        if namespaced:
            options["namespace"] = ALL_NS
        listing = self._client.list(resource, **options)
        fresh = {_key(item.to_dict()): item.to_dict() for item in listing}
        version = listing.resourceVersion
        with self._lock:
            cache.objects = fresh
        cache.synced.set()
        yield
        for event, item in self._client.watch(
            resource,
            resource_version=version,
            server_timeout=WATCH_SERVER_TIMEOUT_SECONDS,
            **options,
        ):
            body = item.to_dict()
            with self._lock:
                if event == "DELETED":
                    cache.objects.pop(_key(body), None)
                else:
                    cache.objects[_key(body)] = body
            yield

    # Directory protocol

    def authenticate(self, token: str) -> Grant | None:
        parts = secrets.split(token)
        if parts is None or parts.prefix != secrets.DATA_PREFIX:
            return None
        found = self._token_secret(parts.id)
        if found is None:
            return None
        namespace, body = found
        tenant = tenant_of_namespace(namespace)
        labels = body["metadata"].get("labels") or {}
        instance = labels.get(INSTANCE_LABEL)
        data = body.get("data") or {}
        if tenant is None or not instance or TOKEN_HASH_KEY not in data:
            return None
        secret_hash = base64.b64decode(data[TOKEN_HASH_KEY]).decode()
        if not secrets.verify(parts.secret, secret_hash):
            return None
        access = (
            Access.READ_ONLY
            if labels.get(ACCESS_LABEL) == Access.READ_ONLY.value
            else Access.READ_WRITE
        )
        return Grant(parts.id, tenant, InstanceId(instance), access)

    def _token_secret(self, token_id: TokenId) -> tuple[str, dict[str, Any]] | None:
        with self._lock:
            for (namespace, _), body in self._secrets.objects.items():
                labels = body["metadata"].get("labels") or {}
                if (
                    labels.get(COMPONENT_LABEL) == TOKEN_COMPONENT
                    and labels.get(TOKEN_ID_LABEL) == token_id
                ):
                    return namespace, body
        return None

    def tenant(self, tenant: TenantId) -> TenantView | None:
        with self._lock:
            body = self._tenants.objects.get(("", tenant))
        if body is None:
            return None
        spec = parse_tenant(tenant, body.get("spec") or {})
        if body["metadata"].get("deletionTimestamp"):
            phase = TenantPhase.TERMINATING
        elif spec.suspended:
            phase = TenantPhase.SUSPENDED
        else:
            phase = TenantPhase.ACTIVE
        quota = Quota(
            max_instances=spec.quota.instances,
            memory=spec.quota.memory,
            cpu=spec.quota.cpu,
            storage=spec.quota.storage,
            requests_per_minute=spec.quota.requests_per_minute,
            max_connections=spec.quota.max_connections,
            max_request_size=spec.quota.max_request_size,
        )
        reason = "Suspended by the Tenant's spec" if spec.suspended else ""
        return TenantView(phase, reason, quota)

    def instance(self, tenant: TenantId, instance: InstanceId) -> InstanceView | None:
        namespace = f"tenant-{tenant}"
        with self._lock:
            body = self._instances.objects.get((namespace, instance))
            credentials = self._secrets.objects.get(
                (namespace, f"{instance}-credentials")
            )
        if body is None or credentials is None:
            return None
        labels = credentials["metadata"].get("labels") or {}
        if labels.get(COMPONENT_LABEL) != CREDENTIALS_COMPONENT:
            return None
        data = credentials.get("data") or {}
        if READ_WRITE_USER not in data or READ_ONLY_USER not in data:
            return None
        phase_text = (body.get("status") or {}).get("phase", "Pending")
        try:
            phase = InstancePhase(phase_text)
        except ValueError:
            phase = InstancePhase.PENDING
        host = service_host(tenant, instance)
        host, port = self._resolve.get(f"{host}:{REDIS_PORT}", (host, REDIS_PORT))
        return InstanceView(
            phase,
            Endpoint(host, port, READ_WRITE_USER, _decode(data[READ_WRITE_USER])),
            Endpoint(host, port, READ_ONLY_USER, _decode(data[READ_ONLY_USER])),
        )


def _decode(value: str) -> str:
    return base64.b64decode(value).decode()
