"""Reconcile one Tenant or one RedisHttpInstance with a lightkube client.

These functions hold the operator's logic without kopf, so the kopf
handlers stay thin and the same code serves create, update, resume, the
periodic timer and drift events of child objects. They are synchronous;
kopf runs sync handlers in a thread pool.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from lightkube import ApiError, Client
from lightkube.resources.apps_v1 import StatefulSet
from lightkube.resources.core_v1 import Namespace, ResourceQuota, Secret
from lightkube.types import PatchType

from kubegateway.backends.embedded.valkey import new_passwords
from kubegateway.backends.kubernetes.resources import (
    API_VERSION,
    INSTANCE_KIND,
    TENANT_KIND,
    RedisHttpInstance,
    Tenant,
    credentials_secret_name,
    service_host,
    tenant_of_namespace,
)
from kubegateway.backends.kubernetes.specs import (
    InstanceSpec,
    TenantSpec,
    parse_instance,
    parse_tenant,
)
from kubegateway.errors import InvalidInput
from kubegateway.ids import TenantId, namespace_for
from kubegateway.operator import instances as instance_objects
from kubegateway.operator.applying import apply, apply_all, is_not_found
from kubegateway.operator.conditions import Condition, merge_conditions
from kubegateway.operator.namespaces import build_namespace, build_service_account
from kubegateway.operator.network_policies import build_network_policies
from kubegateway.operator.quotas import (
    QUOTA_NAME,
    build_limit_range,
    build_resource_quota,
)
from kubegateway.operator.rbac import build_role, build_role_binding
from kubegateway.quantities import format_bytes

log = structlog.get_logger("kubegateway.operator")

# The quota controller took well under a second in the test control plane.
QUOTA_OBSERVED_TIMEOUT = 5.0


class TenantGone(Exception):
    """Raised when the Tenant of an object does not exist or is being deleted."""


def owner_reference(kind: str, name: str, uid: str) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "name": name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def tenant_manifests(tenant: TenantSpec, uid: str | None) -> list[dict[str, Any]]:
    """Return every per-tenant object, the Namespace first."""
    namespace = build_namespace(tenant)
    if uid is not None:
        # Garbage collection removes the namespace even if the finalizer of
        # the Tenant were removed by hand.
        namespace["metadata"]["ownerReferences"] = [
            owner_reference(TENANT_KIND, tenant.id, uid)
        ]
    return [
        namespace,
        build_service_account(tenant),
        build_role(tenant),
        build_role_binding(tenant),
        build_resource_quota(tenant),
        build_limit_range(tenant),
        *build_network_policies(tenant),
    ]


# Tenants


@dataclass(frozen=True, slots=True)
class TenantUsage:
    instances: int
    memory: int
    storage: int


def apply_tenant(client: Client, tenant: TenantSpec, uid: str | None) -> None:
    apply_all(client, tenant_manifests(tenant, uid))


def reconcile_tenant(
    client: Client,
    name: str,
    spec: Mapping[str, Any],
    uid: str,
    generation: int | None,
    previous_status: Mapping[str, Any],
) -> dict[str, Any]:
    """Apply the tenant's objects and its instances; return the new status."""
    tenant = parse_tenant(name, spec)
    apply_tenant(client, tenant, uid)
    usage = reconcile_tenant_instances(client, tenant)
    quota_observed = wait_quota_observed(client, tenant)
    if not quota_observed:
        phase = "Pending"
        ready = Condition(
            "Ready",
            False,
            "QuotaNotObserved",
            "the resource quota controller has not yet computed the quota's "
            "usage, so the API server rejects counted objects until it does",
        )
    else:
        phase = "Suspended" if tenant.suspended else "Active"
        ready = Condition(
            "Ready",
            True,
            "Reconciled",
            "namespace, RBAC, quota and network policies are applied",
        )
    conditions = [
        ready,
        Condition(
            "Suspended",
            tenant.suspended,
            "SuspendedBySpec" if tenant.suspended else "NotSuspended",
            "instances are scaled to zero" if tenant.suspended else "",
        ),
    ]
    return {
        "phase": phase,
        "namespace": namespace_for(tenant.id),
        "observedGeneration": generation,
        "usage": {
            "instances": usage.instances,
            "memory": format_bytes(usage.memory),
            "storage": format_bytes(usage.storage),
        },
        "conditions": merge_conditions(
            previous_status.get("conditions"), conditions, generation
        ),
    }


def wait_quota_observed(
    client: Client, tenant: TenantSpec, timeout: float = QUOTA_OBSERVED_TIMEOUT
) -> bool:
    """Wait until the quota controller has published usage for every resource.

    Until then the API server rejects objects that the quota counts
    ("status unknown for quota"), so the tenant is not Ready before it. The
    controller discovers a new custom resource only on its periodic
    discovery (about every 30 s), so the first tenant after the CRDs were
    installed can wait that long.
    """
    deadline = time.monotonic() + timeout
    while True:
        quota = client.get(
            ResourceQuota, QUOTA_NAME, namespace=namespace_for(tenant.id)
        )
        hard = quota.spec.hard if quota.spec else None
        used = quota.status.used if quota.status else None
        if hard and used and set(hard) <= set(used):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def reconcile_tenant_instances(client: Client, tenant: TenantSpec) -> TenantUsage:
    """Re-apply every instance of the tenant, so suspend and quota take effect."""
    count = memory = storage = 0
    for item in client.list(RedisHttpInstance, namespace=namespace_for(tenant.id)):
        body = item.to_dict()
        if body["metadata"].get("deletionTimestamp"):
            continue
        status = reconcile_instance(client, tenant.id, body, tenant)
        patch_instance_status(client, body, status)
        if status["phase"] == "Failed":
            continue
        spec = parse_instance(tenant.id, body["metadata"]["name"], body["spec"])
        count += 1
        memory += spec.memory
        storage += spec.storage if spec.persistence else 0
    return TenantUsage(count, memory, storage)


def delete_tenant_namespace(client: Client, tenant: TenantId) -> bool:
    """Delete the tenant's namespace; return True once it no longer exists."""
    name = namespace_for(tenant)
    try:
        client.delete(Namespace, name)
    except ApiError as error:
        if is_not_found(error):
            return True
        raise
    try:
        client.get(Namespace, name)
    except ApiError as error:
        if is_not_found(error):
            return True
        raise
    return False


def load_tenant(client: Client, tenant: TenantId) -> tuple[TenantSpec, str]:
    """Read and parse a Tenant; raise TenantGone when it is missing or deleted."""
    try:
        body = client.get(Tenant, tenant).to_dict()
    except ApiError as error:
        if is_not_found(error):
            raise TenantGone(f"tenant {tenant!r} does not exist") from error
        raise
    if body["metadata"].get("deletionTimestamp"):
        raise TenantGone(f"tenant {tenant!r} is being deleted")
    return parse_tenant(tenant, body.get("spec") or {}), body["metadata"]["uid"]


# Instances


def _instance_key(body: Mapping[str, Any]) -> tuple[str, str]:
    metadata = body["metadata"]
    return (str(metadata.get("creationTimestamp") or ""), str(metadata["name"]))


def check_instance_quota(
    tenant: TenantSpec,
    instance: InstanceSpec,
    body: Mapping[str, Any],
    siblings: list[Mapping[str, Any]],
) -> Condition:
    """Check count and memory against the instances created before this one.

    Ordering by creation time makes the result stable: instances that fit
    keep fitting when a later one would exceed the quota.
    """
    key = _instance_key(body)
    earlier = [
        parse_instance(tenant.id, item["metadata"]["name"], item["spec"])
        for item in siblings
        if _instance_key(item) < key and not item["metadata"].get("deletionTimestamp")
    ]
    if len(earlier) + 1 > tenant.quota.instances:
        return Condition(
            "QuotaSatisfied",
            False,
            "InstanceQuotaExceeded",
            f"tenant {tenant.id!r} may have at most {tenant.quota.instances} "
            f"instances and already has {len(earlier)}",
        )
    used = sum(item.memory for item in earlier)
    if used + instance.memory > tenant.quota.memory:
        return Condition(
            "QuotaSatisfied",
            False,
            "MemoryQuotaExceeded",
            f"tenant {tenant.id!r} may use {format_bytes(tenant.quota.memory)} of "
            f"memory; {format_bytes(used)} is in use by other instances and this "
            f"instance requests {format_bytes(instance.memory)}",
        )
    return Condition("QuotaSatisfied", True, "WithinQuota", "")


def read_passwords(client: Client, instance: InstanceSpec) -> dict[str, str]:
    """Return the instance's ACL passwords, generating them on first use."""
    try:
        secret = client.get(
            Secret,
            credentials_secret_name(instance.name),
            namespace=namespace_for(instance.tenant),
        )
    except ApiError as error:
        if is_not_found(error):
            return new_passwords()
        raise
    data = secret.data or {}
    passwords = new_passwords()
    for user in passwords:
        if user in data:
            passwords[user] = base64.b64decode(data[user]).decode()
    return passwords


def _failed(body: Mapping[str, Any], condition: Condition) -> dict[str, Any]:
    previous = (body.get("status") or {}).get("conditions")
    generation = body["metadata"].get("generation")
    return {
        "phase": "Failed",
        "observedGeneration": generation,
        "conditions": merge_conditions(previous, [condition], generation),
    }


def reconcile_instance(
    client: Client,
    tenant_id: TenantId,
    body: Mapping[str, Any],
    tenant: TenantSpec | None = None,
) -> dict[str, Any]:
    """Apply an instance's Secret, Service and StatefulSet; return its status."""
    metadata = body["metadata"]
    if tenant is None:
        try:
            tenant, _ = load_tenant(client, tenant_id)
        except TenantGone as error:
            return _failed(
                body, Condition("Ready", False, "TenantNotFound", str(error))
            )
    try:
        instance = parse_instance(tenant_id, metadata["name"], body.get("spec") or {})
    except InvalidInput as error:
        return _failed(body, Condition("Ready", False, "InvalidSpec", error.message))

    siblings = [
        item.to_dict()
        for item in client.list(RedisHttpInstance, namespace=metadata["namespace"])
    ]
    quota = check_instance_quota(tenant, instance, body, siblings)
    if not quota.status:
        # NOTE: an instance that stops fitting after the quota was lowered
        # keeps its StatefulSet; only new instances are held back.
        return _failed(body, quota)

    owner = owner_reference(INSTANCE_KIND, instance.name, metadata["uid"])
    passwords = read_passwords(client, instance)
    secret = instance_objects.build_credentials_secret(instance, passwords, owner)
    config_sha256 = instance_objects.config_hash(
        secret["stringData"][instance_objects.CONFIG_KEY]
    )
    replicas = 0 if tenant.suspended else 1

    apply(client, secret)
    apply(client, instance_objects.build_service(instance, owner))
    statefulset = apply(
        client,
        instance_objects.build_statefulset(instance, config_sha256, replicas, owner),
    )
    return _instance_status(body, instance, tenant, statefulset, quota)


def _instance_status(
    body: Mapping[str, Any],
    instance: InstanceSpec,
    tenant: TenantSpec,
    statefulset: StatefulSet,
    quota: Condition,
) -> dict[str, Any]:
    ready = (statefulset.status.readyReplicas or 0) if statefulset.status else 0
    if tenant.suspended:
        phase, ready_condition = (
            "Suspended",
            Condition("Ready", False, "TenantSuspended", "the tenant is suspended"),
        )
    elif ready >= 1:
        phase, ready_condition = (
            "Running",
            Condition("Ready", True, "PodReady", "the valkey pod is ready"),
        )
    else:
        # NOTE: on a control plane without a kubelet (the test harness) no
        # pod ever runs, so instances stay Pending there.
        phase, ready_condition = (
            "Pending",
            Condition(
                "Ready", False, "PodNotReady", "waiting for the valkey pod to be ready"
            ),
        )
    generation = body["metadata"].get("generation")
    previous = (body.get("status") or {}).get("conditions")
    return {
        "phase": phase,
        "endpoint": f"{service_host(instance.tenant, instance.name)}:{instance.port}",
        "observedGeneration": generation,
        "conditions": merge_conditions(previous, [ready_condition, quota], generation),
    }


def patch_instance_status(
    client: Client, body: Mapping[str, Any], status: Mapping[str, Any]
) -> None:
    client.patch(
        RedisHttpInstance.Status,
        body["metadata"]["name"],
        {"status": dict(status)},
        namespace=body["metadata"]["namespace"],
        patch_type=PatchType.MERGE,
    )


def reconcile_instance_by_name(client: Client, namespace: str, name: str) -> None:
    """Reconcile one instance after drift of one of its child objects."""
    tenant_id = tenant_of_namespace(namespace)
    if tenant_id is None:
        return
    try:
        body = client.get(RedisHttpInstance, name, namespace=namespace).to_dict()
    except ApiError as error:
        if is_not_found(error):
            return
        raise
    if body["metadata"].get("deletionTimestamp"):
        return
    patch_instance_status(client, body, reconcile_instance(client, tenant_id, body))
