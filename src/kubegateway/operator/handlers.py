"""kopf handlers of the operator; each one calls into ``reconciling``.

Handlers are registered on a registry built by ``build_registry``, so the
operator can be started more than once in one process (tests) without
handlers registering twice. The lightkube client travels in kopf's memo.

Drift is corrected two ways: events of the child objects (NetworkPolicies,
quota, LimitRange, RBAC, Namespace, instance objects) re-apply the owner's
objects at once, and a timer re-applies every tenant periodically in case
an event was missed while the watch reconnected.
"""

from __future__ import annotations

from typing import Any

import kopf
from lightkube import Client

from kubegateway.backends.kubernetes.resources import (
    GROUP,
    INSTANCE_LABEL,
    INSTANCE_PLURAL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    TENANT_LABEL,
    VERSION,
    tenant_of_namespace,
)
from kubegateway.ids import TenantId
from kubegateway.operator.reconciling import (
    TenantGone,
    apply_tenant,
    delete_tenant_namespace,
    load_tenant,
    reconcile_instance,
    reconcile_instance_by_name,
    reconcile_tenant,
)

TENANT_RESOURCE = (GROUP, VERSION, "tenants")
INSTANCE_RESOURCE = (GROUP, VERSION, INSTANCE_PLURAL)
RESYNC_INTERVAL_SECONDS = 60.0
RETRY_BACKOFF_SECONDS = 2.0
NAMESPACE_GONE_POLL_SECONDS = 1.0
QUOTA_RETRY_SECONDS = 2.0

# Child kinds of a tenant whose changes trigger a re-apply of the tenant.
TENANT_CHILDREN = (
    ("v1", "namespaces"),
    ("v1", "resourcequotas"),
    ("v1", "limitranges"),
    ("v1", "serviceaccounts"),
    ("networking.k8s.io/v1", "networkpolicies"),
    ("rbac.authorization.k8s.io/v1", "roles"),
    ("rbac.authorization.k8s.io/v1", "rolebindings"),
)
INSTANCE_CHILDREN = (("apps/v1", "statefulsets"), ("v1", "services"))
MANAGED = {MANAGED_BY_LABEL: MANAGED_BY}


def _client(memo: Any) -> Client:
    client: Client = memo.client
    return client


def build_registry() -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()

    # A registry of one's own gets none of kopf's default login handlers.
    @kopf.on.login(id="login", registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        info: kopf.ConnectionInfo | None = kopf.login_with_service_account(**kwargs)
        return info or kopf.login_with_kubeconfig(**kwargs)

    _register_tenant_handlers(registry)
    _register_instance_handlers(registry)
    _register_drift_handlers(registry)
    return registry


def _register_tenant_handlers(registry: kopf.OperatorRegistry) -> None:
    options: dict[str, Any] = {"registry": registry, "backoff": RETRY_BACKOFF_SECONDS}

    @kopf.on.resume(*TENANT_RESOURCE, id="tenant", **options)
    @kopf.on.create(*TENANT_RESOURCE, id="tenant", **options)
    @kopf.on.update(*TENANT_RESOURCE, id="tenant", **options)
    def tenant_changed(
        name: str,
        spec: Any,
        meta: Any,
        status: Any,
        patch: kopf.Patch,
        memo: Any,
        logger: Any,
        **_: Any,
    ) -> None:
        new_status = reconcile_tenant(
            _client(memo), name, spec, meta["uid"], meta.get("generation"), status
        )
        patch.status.update(new_status)
        if new_status["phase"] == "Pending":
            # kopf still writes the status patch when a handler fails.
            raise kopf.TemporaryError(
                f"quota of tenant {name} is not observed yet", delay=QUOTA_RETRY_SECONDS
            )
        logger.info(f"Tenant {name} reconciled: phase {new_status['phase']}.")

    @kopf.timer(
        *TENANT_RESOURCE,
        id="tenant-resync",
        registry=registry,
        interval=RESYNC_INTERVAL_SECONDS,
        initial_delay=RESYNC_INTERVAL_SECONDS,
        backoff=RETRY_BACKOFF_SECONDS,
    )
    def tenant_resync(
        name: str,
        spec: Any,
        meta: Any,
        status: Any,
        patch: kopf.Patch,
        memo: Any,
        **_: Any,
    ) -> None:
        if meta.get("deletionTimestamp"):
            return
        patch.status.update(
            reconcile_tenant(
                _client(memo), name, spec, meta["uid"], meta.get("generation"), status
            )
        )

    @kopf.on.delete(*TENANT_RESOURCE, id="tenant-delete", **options)
    def tenant_deleted(
        name: str, patch: kopf.Patch, memo: Any, logger: Any, **_: Any
    ) -> None:
        patch.status["phase"] = "Terminating"
        if not delete_tenant_namespace(_client(memo), TenantId(name)):
            raise kopf.TemporaryError(
                f"namespace of tenant {name} is still terminating",
                delay=NAMESPACE_GONE_POLL_SECONDS,
            )
        logger.info(f"Tenant {name} removed with its namespace.")


def _register_instance_handlers(registry: kopf.OperatorRegistry) -> None:
    options: dict[str, Any] = {"registry": registry, "backoff": RETRY_BACKOFF_SECONDS}

    @kopf.on.resume(*INSTANCE_RESOURCE, id="instance", **options)
    @kopf.on.create(*INSTANCE_RESOURCE, id="instance", **options)
    @kopf.on.update(*INSTANCE_RESOURCE, id="instance", **options)
    @kopf.timer(
        *INSTANCE_RESOURCE,
        id="instance-resync",
        registry=registry,
        interval=RESYNC_INTERVAL_SECONDS,
        initial_delay=RESYNC_INTERVAL_SECONDS,
        backoff=RETRY_BACKOFF_SECONDS,
    )
    def instance_changed(
        namespace: str | None, body: Any, patch: kopf.Patch, memo: Any, **_: Any
    ) -> None:
        if body["metadata"].get("deletionTimestamp"):
            return
        tenant = tenant_of_namespace(namespace or "")
        if tenant is None:
            patch.status.update(
                {
                    "phase": "Failed",
                    "conditions": [
                        {
                            "type": "Ready",
                            "status": "False",
                            "reason": "NotInTenantNamespace",
                            "message": "RedisHttpInstances are only served in "
                            "tenant-<id> namespaces made by the operator",
                            "lastTransitionTime": body["metadata"]["creationTimestamp"],
                        }
                    ],
                }
            )
            return
        patch.status.update(reconcile_instance(_client(memo), tenant, dict(body)))


def _register_drift_handlers(registry: kopf.OperatorRegistry) -> None:
    for api_version, plural in TENANT_CHILDREN:
        group, _, version = api_version.rpartition("/")
        kopf.on.event(
            group,
            version,
            plural,
            id=f"drift-{plural}",
            registry=registry,
            labels=MANAGED,
        )(_tenant_child_changed)
    for api_version, plural in INSTANCE_CHILDREN:
        group, _, version = api_version.rpartition("/")
        kopf.on.event(
            group,
            version,
            plural,
            id=f"instance-drift-{plural}",
            registry=registry,
            labels={**MANAGED, INSTANCE_LABEL: kopf.PRESENT},
        )(_instance_child_changed)


def _tenant_child_changed(
    type: str | None, labels: Any, memo: Any, logger: Any, **_: Any
) -> None:
    # type None is the initial listing, which resume handlers already cover.
    if type not in ("MODIFIED", "DELETED"):
        return
    tenant_id = TenantId(str(labels.get(TENANT_LABEL, "")))
    if not tenant_id:
        return
    client = _client(memo)
    try:
        tenant, uid = load_tenant(client, tenant_id)
    except TenantGone:
        return
    apply_tenant(client, tenant, uid)
    if type == "DELETED":
        logger.info(f"Restored the objects of tenant {tenant_id} after a deletion.")


def _instance_child_changed(
    type: str | None, namespace: str | None, labels: Any, memo: Any, **_: Any
) -> None:
    if type not in ("MODIFIED", "DELETED") or namespace is None:
        return
    reconcile_instance_by_name(_client(memo), namespace, str(labels[INSTANCE_LABEL]))
