"""The operator turns a Tenant into its namespace and guard rails, and keeps them.

Every test runs against the real API server with the operator as a
subprocess that authenticates as its own ServiceAccount.
"""

from __future__ import annotations

from typing import Any

import pytest
from lightkube import Client
from lightkube.resources.apps_v1 import StatefulSet
from lightkube.resources.core_v1 import (
    LimitRange,
    Namespace,
    ResourceQuota,
    Secret,
    Service,
    ServiceAccount,
)
from lightkube.resources.networking_v1 import NetworkPolicy
from lightkube.resources.rbac_authorization_v1 import Role, RoleBinding
from lightkube.types import PatchType

from kubegateway.backends.kubernetes.resources import RedisHttpInstance, Tenant
from kubegateway.operator.network_policies import POLICY_NAMES
from tests.kube.support import apply_manifests, is_not_found, wait_until
from tests.kube.tenants import TenantFactory, tenant_status

pytestmark = pytest.mark.kube

TENANT_LABEL = "redis.kubegateway.io/tenant"


def instance_manifest(namespace: str, name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "redis.kubegateway.io/v1alpha1",
        "kind": "RedisHttpInstance",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"memory": "128Mi", **spec},
    }


def instance_status(client: Client, namespace: str, name: str) -> dict[str, Any]:
    body = client.get(RedisHttpInstance, name, namespace=namespace).to_dict()
    status: dict[str, Any] = body.get("status") or {}
    return status


def condition(status: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for item in status.get("conditions") or []:
        if item["type"] == kind:
            return dict(item)
    return None


def test_onboarding_creates_every_object(
    kube_client: Client, make_tenant: TenantFactory
) -> None:
    name = make_tenant("onb")
    namespace = f"tenant-{name}"

    ns = kube_client.get(Namespace, namespace)
    labels = ns.metadata.labels or {}
    assert labels[TENANT_LABEL] == name
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["app.kubernetes.io/managed-by"] == "kubegateway-operator"

    namespaced = [
        (ServiceAccount, "tenant"),
        (Role, "kubegateway-tenant"),
        (RoleBinding, "kubegateway-tenant"),
        (ResourceQuota, "kubegateway-tenant"),
        (LimitRange, "kubegateway-defaults"),
        *((NetworkPolicy, policy) for policy in POLICY_NAMES),
    ]
    for kind, object_name in namespaced:
        obj = kube_client.get(kind, object_name, namespace=namespace)
        assert (obj.metadata.labels or {}).get(TENANT_LABEL) == name, (
            kind,
            object_name,
        )

    hard = kube_client.get(ResourceQuota, "kubegateway-tenant", namespace=namespace)
    assert hard.spec is not None and hard.spec.hard is not None
    assert hard.spec.hard["services.nodeports"] == "0"
    assert hard.spec.hard["services.loadbalancers"] == "0"
    assert hard.spec.hard["count/redishttpinstances.redis.kubegateway.io"] == "2"
    assert hard.spec.hard["requests.memory"] == str(512 * 2**20)

    status = tenant_status(kube_client, name)
    assert status["phase"] == "Active"
    assert status["namespace"] == namespace
    ready = condition(status, "Ready")
    assert ready is not None and ready["status"] == "True"
    assert ready["reason"] == "Reconciled"


def test_tenant_name_too_long_rejected(kube_client: Client, crds: None) -> None:
    from lightkube import ApiError

    from tests.kube.tenants import tenant_manifest

    with pytest.raises(ApiError) as raised:
        apply_manifests(kube_client, [tenant_manifest("x" * 57)])
    assert raised.value.status.code == 422
    assert "at most 56 characters" in str(raised.value.status.message)


def test_deleted_network_policy_restored(
    kube_client: Client, make_tenant: TenantFactory
) -> None:
    name = make_tenant("drift")
    namespace = f"tenant-{name}"
    before = kube_client.get(NetworkPolicy, "default-deny", namespace=namespace)

    kube_client.delete(NetworkPolicy, "default-deny", namespace=namespace)

    def restored() -> bool:
        if is_not_found(
            lambda: kube_client.get(NetworkPolicy, "default-deny", namespace=namespace)
        ):
            return False
        after = kube_client.get(NetworkPolicy, "default-deny", namespace=namespace)
        return after.metadata.uid != before.metadata.uid

    wait_until(restored, "the deleted default-deny policy to be recreated", 20)


def test_edited_quota_restored(kube_client: Client, make_tenant: TenantFactory) -> None:
    name = make_tenant("quota")
    namespace = f"tenant-{name}"

    kube_client.patch(
        ResourceQuota,
        "kubegateway-tenant",
        {"spec": {"hard": {"services.nodeports": "5", "pods": "100"}}},
        namespace=namespace,
        patch_type=PatchType.MERGE,
    )

    def restored() -> bool:
        quota = kube_client.get(
            ResourceQuota, "kubegateway-tenant", namespace=namespace
        )
        hard = quota.spec.hard if quota.spec else None
        return bool(hard) and hard["services.nodeports"] == "0" and hard["pods"] == "2"

    wait_until(restored, "the edited quota to be restored", 20)


def test_instance_gets_statefulset_service_secret(
    kube_client: Client, make_tenant: TenantFactory
) -> None:
    name = make_tenant("inst")
    namespace = f"tenant-{name}"
    apply_manifests(
        kube_client,
        [instance_manifest(namespace, "cache", memory="256Mi", persistence=True)],
    )

    statefulset = wait_until(
        lambda: (
            None
            if is_not_found(
                lambda: kube_client.get(StatefulSet, "cache", namespace=namespace)
            )
            else kube_client.get(StatefulSet, "cache", namespace=namespace)
        ),
        "the instance's StatefulSet",
    )
    owner = (statefulset.metadata.ownerReferences or [])[0]
    assert owner.kind == "RedisHttpInstance"
    assert owner.name == "cache"
    spec = statefulset.spec
    assert spec.replicas == 1
    pod = spec.template.spec
    assert pod.securityContext.runAsNonRoot is True
    assert pod.securityContext.seccompProfile.type == "RuntimeDefault"
    container = pod.containers[0]
    assert container.image == "valkey/valkey:9.0"
    assert container.securityContext.readOnlyRootFilesystem is True
    assert container.securityContext.allowPrivilegeEscalation is False
    assert container.securityContext.capabilities.drop == ["ALL"]
    assert container.resources.requests["memory"] == str(256 * 2**20)
    assert container.resources.limits["memory"] == str(256 * 2**20)
    claims = spec.volumeClaimTemplates or []
    assert [claim.metadata.name for claim in claims] == ["data"]

    service = kube_client.get(Service, "cache", namespace=namespace)
    assert service.spec.ports[0].port == 6379
    assert service.spec.type == "ClusterIP"

    secret = kube_client.get(Secret, "cache-credentials", namespace=namespace)
    assert set(secret.data or {}) >= {"kg-admin", "kg-rw", "kg-ro", "valkey.conf"}
    import base64

    config = base64.b64decode(secret.data["valkey.conf"]).decode()
    assert f"maxmemory {256 * 2**20 * 3 // 4}" in config
    assert "user default off" in config
    assert "user kg-ro on" in config

    status = wait_until(
        lambda: instance_status(kube_client, namespace, "cache").get("phase"),
        "the instance status",
    )
    # NOTE: without a kubelet the pod never runs, so the phase stays Pending.
    assert status == "Pending"
    full = instance_status(kube_client, namespace, "cache")
    assert full["endpoint"] == f"cache.{namespace}.svc:6379"
    ready = condition(full, "Ready")
    assert ready is not None and ready["reason"] == "PodNotReady"


def test_instance_over_memory_quota_flagged(
    kube_client: Client, make_tenant: TenantFactory
) -> None:
    name = make_tenant("mem")
    namespace = f"tenant-{name}"
    apply_manifests(kube_client, [instance_manifest(namespace, "big", memory="1Gi")])

    def flagged() -> dict[str, Any] | None:
        status = instance_status(kube_client, namespace, "big")
        return condition(status, "QuotaSatisfied")

    quota = wait_until(flagged, "the QuotaSatisfied condition")
    assert quota["status"] == "False"
    assert quota["reason"] == "MemoryQuotaExceeded"
    assert "512Mi" in quota["message"]
    assert instance_status(kube_client, namespace, "big")["phase"] == "Failed"
    assert is_not_found(
        lambda: kube_client.get(StatefulSet, "big", namespace=namespace)
    )


def test_suspend_scales_to_zero_and_resume(
    kube_client: Client, make_tenant: TenantFactory
) -> None:
    name = make_tenant("susp")
    namespace = f"tenant-{name}"
    apply_manifests(kube_client, [instance_manifest(namespace, "db")])
    wait_until(
        lambda: (
            not is_not_found(
                lambda: kube_client.get(StatefulSet, "db", namespace=namespace)
            )
        ),
        "the StatefulSet",
    )

    def set_suspended(value: bool) -> None:
        kube_client.patch(
            Tenant, name, {"spec": {"suspended": value}}, patch_type=PatchType.MERGE
        )

    def replicas() -> int:
        statefulset = kube_client.get(StatefulSet, "db", namespace=namespace)
        return int(statefulset.spec.replicas)

    set_suspended(True)
    wait_until(lambda: replicas() == 0, "the StatefulSet to scale to 0")
    wait_until(
        lambda: tenant_status(kube_client, name).get("phase") == "Suspended",
        "phase Suspended",
    )
    assert instance_status(kube_client, namespace, "db")["phase"] == "Suspended"

    set_suspended(False)
    wait_until(lambda: replicas() == 1, "the StatefulSet to scale back to 1")
    wait_until(
        lambda: tenant_status(kube_client, name).get("phase") == "Active",
        "phase Active",
    )


def test_deleting_tenant_removes_namespace(
    kube_client: Client, make_tenant: TenantFactory
) -> None:
    name = make_tenant("del")
    namespace = f"tenant-{name}"
    apply_manifests(kube_client, [instance_manifest(namespace, "gone")])
    wait_until(
        lambda: (
            not is_not_found(
                lambda: kube_client.get(StatefulSet, "gone", namespace=namespace)
            )
        ),
        "the StatefulSet",
    )
    finalizers = kube_client.get(Tenant, name).metadata.finalizers or []
    assert "redis.kubegateway.io/finalizer" in finalizers

    kube_client.delete(Tenant, name)

    wait_until(
        lambda: is_not_found(lambda: kube_client.get(Tenant, name)),
        "the Tenant to be gone",
    )
    # The finalizer releases the Tenant only after the namespace is gone.
    assert is_not_found(lambda: kube_client.get(Namespace, namespace))
    assert is_not_found(
        lambda: kube_client.get(StatefulSet, "gone", namespace=namespace)
    )
