"""What a tenant's owners and ServiceAccount can and cannot do, and admission.

Owners (alice, in group tenant-a-owners, owns tenant a) and the tenant's
ServiceAccount are checked twice: with SubjectAccessReview, and by acting
as them with their own tokens. Pod Security, quota and LimitRange checks
create objects with server-side dry-run, which runs every admission plugin
without storing anything.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lightkube import ApiError, Client, KubeConfig, codecs
from lightkube.models.authorization_v1 import (
    ResourceAttributes,
    SubjectAccessReviewSpec,
)
from lightkube.resources.authorization_v1 import SubjectAccessReview

from tests.kube.controlplane import ControlPlane
from tests.kube.support import apply_manifests, service_account_kubeconfig, wait_until

pytestmark = pytest.mark.kube

GROUP = "redis.kubegateway.io"
ALICE = ("alice", ["tenant-a-owners"])
TENANT_A_ACCOUNT = (
    "system:serviceaccount:tenant-a:tenant",
    ["system:serviceaccounts", "system:serviceaccounts:tenant-a"],
)

# (api group, resource, verb, namespace or "" for cluster scope, allowed)
ACCESS_TABLE = [
    (GROUP, "redishttpinstances", "create", "tenant-a", True),
    (GROUP, "redishttpinstances", "delete", "tenant-a", True),
    (GROUP, "redishttpinstances", "list", "tenant-a", True),
    ("", "services", "get", "tenant-a", True),
    ("", "secrets", "list", "tenant-a", True),
    ("", "secrets", "create", "tenant-a", False),
    ("", "pods", "create", "tenant-a", False),
    ("", "resourcequotas", "update", "tenant-a", False),
    ("", "resourcequotas", "delete", "tenant-a", False),
    ("", "limitranges", "patch", "tenant-a", False),
    ("networking.k8s.io", "networkpolicies", "delete", "tenant-a", False),
    ("networking.k8s.io", "networkpolicies", "create", "tenant-a", False),
    ("rbac.authorization.k8s.io", "roles", "update", "tenant-a", False),
    ("rbac.authorization.k8s.io", "rolebindings", "create", "tenant-a", False),
    (GROUP, "redishttpinstances", "create", "tenant-b", False),
    (GROUP, "redishttpinstances", "list", "tenant-b", False),
    ("", "secrets", "get", "tenant-b", False),
    ("", "services", "list", "tenant-b", False),
    ("", "namespaces", "list", "", False),
    ("", "namespaces", "delete", "", False),
    ("", "nodes", "list", "", False),
    ("rbac.authorization.k8s.io", "clusterroles", "create", "", False),
    (GROUP, "tenants", "list", "", False),
    (GROUP, "tenants", "update", "", False),
]


def access_review(
    client: Client, user: str, groups: list[str], row: tuple[str, str, str, str, bool]
) -> bool:
    group, resource, verb, namespace, _ = row
    review = client.create(
        SubjectAccessReview(
            spec=SubjectAccessReviewSpec(
                user=user,
                groups=groups,
                resourceAttributes=ResourceAttributes(
                    group=group,
                    resource=resource,
                    verb=verb,
                    namespace=namespace or None,
                ),
            )
        )
    )
    return bool(review.status and review.status.allowed)


@pytest.mark.parametrize("subject", [ALICE, TENANT_A_ACCOUNT], ids=["owner", "sa"])
def test_access_reviews_match_table(
    kube_client: Client, tenant_pair: tuple[str, str], subject: tuple[str, list[str]]
) -> None:
    user, groups = subject
    wrong = [
        row
        for row in ACCESS_TABLE
        if access_review(kube_client, user, groups, row) != row[4]
    ]
    assert wrong == []


@pytest.fixture(scope="module")
def acting_clients(
    control_plane: ControlPlane,
    kube_client: Client,
    kube_client_for: Callable[[str], Client],
    tenant_pair: tuple[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Client]:
    """Clients with alice's static token and the tenant-a ServiceAccount's token."""
    path = tmp_path_factory.mktemp("sa") / "tenant-a.kubeconfig"
    kubeconfig: Path = service_account_kubeconfig(
        control_plane, kube_client, "tenant-a", "tenant", path
    )
    account = Client(
        config=KubeConfig.from_file(kubeconfig),
        trust_env=False,
        field_manager="kubegateway-tests",
    )
    return {"owner": kube_client_for("alice"), "sa": account}


def instance(namespace: str, name: str) -> Any:
    return codecs.from_dict(
        {
            "apiVersion": f"{GROUP}/v1alpha1",
            "kind": "RedisHttpInstance",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"memory": "64Mi"},
        }
    )


def status_of(call: Callable[[], object]) -> int:
    try:
        call()
    except ApiError as error:
        return int(error.status.code or 0)
    return 200


@pytest.mark.parametrize("who", ["owner", "sa"])
def test_acting_tenant_allowed_in_own_namespace(
    acting_clients: dict[str, Client], who: str
) -> None:
    from lightkube.resources.core_v1 import Secret, Service

    client = acting_clients[who]
    assert (
        status_of(lambda: client.create(instance("tenant-a", "x"), dry_run=True)) == 200
    )
    assert status_of(lambda: list(client.list(Service, namespace="tenant-a"))) == 200
    assert status_of(lambda: list(client.list(Secret, namespace="tenant-a"))) == 200


@pytest.mark.parametrize("who", ["owner", "sa"])
def test_acting_tenant_denied_elsewhere(
    acting_clients: dict[str, Client], who: str
) -> None:
    from lightkube.resources.core_v1 import (
        LimitRange,
        Namespace,
        Node,
        ResourceQuota,
        Secret,
    )
    from lightkube.resources.networking_v1 import NetworkPolicy
    from lightkube.resources.rbac_authorization_v1 import ClusterRole, Role, RoleBinding
    from lightkube.types import PatchType

    from kubegateway.backends.kubernetes.resources import Tenant

    client = acting_clients[who]
    merge = PatchType.MERGE
    label = {"metadata": {"labels": {"tampered": "yes"}}}
    calls: dict[str, Callable[[], object]] = {
        "other tenant instance": lambda: client.create(
            instance("tenant-b", "x"), dry_run=True
        ),
        "other tenant secrets": lambda: list(client.list(Secret, namespace="tenant-b")),
        "quota": lambda: client.patch(
            ResourceQuota,
            "kubegateway-tenant",
            label,
            namespace="tenant-a",
            patch_type=merge,
        ),
        "limitrange": lambda: client.delete(
            LimitRange, "kubegateway-defaults", namespace="tenant-a"
        ),
        "networkpolicy": lambda: client.delete(
            NetworkPolicy, "default-deny", namespace="tenant-a"
        ),
        "role": lambda: client.patch(
            Role, "kubegateway-tenant", label, namespace="tenant-a", patch_type=merge
        ),
        "rolebinding": lambda: client.delete(
            RoleBinding, "kubegateway-tenant", namespace="tenant-a"
        ),
        "namespaces": lambda: list(client.list(Namespace)),
        "own namespace": lambda: client.patch(
            Namespace, "tenant-a", label, patch_type=merge
        ),
        "nodes": lambda: list(client.list(Node)),
        "clusterroles": lambda: list(client.list(ClusterRole)),
        "tenants": lambda: list(client.list(Tenant)),
        "own tenant": lambda: client.patch(Tenant, "a", label, patch_type=merge),
    }
    statuses = {name: status_of(call) for name, call in calls.items()}
    assert statuses == {name: 403 for name in calls}


def pod(name: str, container: dict[str, Any] | None = None, **spec: Any) -> Any:
    """A pod that meets the restricted standard unless overridden."""
    base_container: dict[str, Any] = {
        "name": "app",
        "image": "valkey/valkey:9.0",
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 999,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    base_container.update(container or {})
    return codecs.from_dict(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "tenant-a"},
            "spec": {"containers": [base_container], **spec},
        }
    )


def restricted_context(**changes: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "runAsNonRoot": True,
        "runAsUser": 999,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    context.update(changes)
    return context


VIOLATIONS = {
    "privileged": pod(
        "p",
        {
            "securityContext": restricted_context(
                privileged=True, allowPrivilegeEscalation=True
            )
        },
    ),
    "host-path": pod(
        "p",
        {"volumeMounts": [{"name": "host", "mountPath": "/host"}]},
        volumes=[{"name": "host", "hostPath": {"path": "/"}}],
    ),
    "host-network": pod("p", hostNetwork=True),
    "host-pid": pod("p", hostPID=True),
    "host-ipc": pod("p", hostIPC=True),
    "added-capability": pod(
        "p",
        {
            "securityContext": restricted_context(
                capabilities={"drop": ["ALL"], "add": ["NET_ADMIN"]}
            )
        },
    ),
    "run-as-root": pod(
        "p", {"securityContext": restricted_context(runAsNonRoot=False, runAsUser=0)}
    ),
    "privilege-escalation": pod(
        "p", {"securityContext": restricted_context(allowPrivilegeEscalation=True)}
    ),
}


def test_compliant_pod_admitted_with_limitrange_defaults(
    kube_client: Client, tenant_pair: tuple[str, str]
) -> None:
    created = kube_client.create(pod("compliant"), dry_run=True)
    resources = created.spec.containers[0].resources
    assert resources.requests == {"cpu": "50m", "memory": "64Mi"}
    assert resources.limits == {"cpu": "500m", "memory": "256Mi"}


@pytest.mark.parametrize("violation", sorted(VIOLATIONS))
def test_restricted_pod_security_rejects(
    kube_client: Client, tenant_pair: tuple[str, str], violation: str
) -> None:
    with pytest.raises(ApiError) as raised:
        kube_client.create(VIOLATIONS[violation], dry_run=True)
    assert raised.value.status.code == 403
    assert 'violates PodSecurity "restricted' in str(raised.value.status.message)


@pytest.mark.parametrize("service_type", ["NodePort", "LoadBalancer"])
def test_exposing_service_types_rejected(
    kube_client: Client, tenant_pair: tuple[str, str], service_type: str
) -> None:
    service = codecs.from_dict(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "exposed", "namespace": "tenant-a"},
            "spec": {"type": service_type, "ports": [{"port": 6379}]},
        }
    )
    with pytest.raises(ApiError) as raised:
        kube_client.create(service, dry_run=True)
    assert raised.value.status.code == 403
    assert "exceeded quota" in str(raised.value.status.message)


def test_instance_count_quota_enforced_at_admission(
    kube_client: Client, tenant_pair: tuple[str, str]
) -> None:
    apply_manifests(
        kube_client,
        [
            {
                "apiVersion": f"{GROUP}/v1alpha1",
                "kind": "RedisHttpInstance",
                "metadata": {"name": name, "namespace": "tenant-b"},
                "spec": {"memory": "64Mi"},
            }
            for name in ("first", "second")
        ],
    )
    from lightkube.resources.core_v1 import ResourceQuota

    def counted() -> bool:
        quota = kube_client.get(
            ResourceQuota, "kubegateway-tenant", namespace="tenant-b"
        )
        used = (quota.status.used or {}) if quota.status else {}
        return used.get(f"count/redishttpinstances.{GROUP}") == "2"

    wait_until(counted, "the quota to count two instances")
    with pytest.raises(ApiError) as raised:
        kube_client.create(instance("tenant-b", "third"), dry_run=True)
    assert raised.value.status.code == 403
    assert "exceeded quota: kubegateway-tenant" in str(raised.value.status.message)
