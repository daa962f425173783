"""The tenant's Role and RoleBinding.

Tenants manage their RedisHttpInstances and read the Services and Secrets
of their own namespace. The Role grants nothing on ResourceQuotas,
LimitRanges, NetworkPolicies, Roles or RoleBindings, and a Role cannot
grant anything cluster-scoped, so a tenant cannot widen its own boundary.
"""

from __future__ import annotations

from typing import Any

from kubegateway.backends.kubernetes.resources import GROUP, INSTANCE_PLURAL
from kubegateway.backends.kubernetes.specs import TenantSpec
from kubegateway.ids import namespace_for
from kubegateway.operator.labelling import namespaced_metadata
from kubegateway.operator.namespaces import SERVICE_ACCOUNT_NAME

ROLE_NAME = "kubegateway-tenant"
RBAC_API_GROUP = "rbac.authorization.k8s.io"
READ_VERBS = ["get", "list", "watch"]
WRITE_VERBS = ["create", "update", "patch", "delete", "deletecollection"]


def build_role(tenant: TenantSpec) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": namespaced_metadata(tenant.id, ROLE_NAME),
        "rules": [
            {
                "apiGroups": [GROUP],
                "resources": [INSTANCE_PLURAL],
                "verbs": READ_VERBS + WRITE_VERBS,
            },
            {
                "apiGroups": [GROUP],
                "resources": [f"{INSTANCE_PLURAL}/status"],
                "verbs": READ_VERBS,
            },
            {
                "apiGroups": [""],
                "resources": ["services", "secrets"],
                "verbs": READ_VERBS,
            },
        ],
    }


def build_subjects(tenant: TenantSpec) -> list[dict[str, str]]:
    """Return the tenant ServiceAccount followed by the Tenant's owners."""
    subjects = [
        {
            "kind": "ServiceAccount",
            "name": SERVICE_ACCOUNT_NAME,
            "namespace": namespace_for(tenant.id),
        }
    ]
    for user in tenant.owners.users:
        subjects.append({"kind": "User", "apiGroup": RBAC_API_GROUP, "name": user})
    for group in tenant.owners.groups:
        subjects.append({"kind": "Group", "apiGroup": RBAC_API_GROUP, "name": group})
    for account in tenant.owners.service_accounts:
        subjects.append(
            {
                "kind": "ServiceAccount",
                "name": account.name,
                "namespace": account.namespace,
            }
        )
    return subjects


def build_role_binding(tenant: TenantSpec) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": namespaced_metadata(tenant.id, ROLE_NAME),
        "roleRef": {"apiGroup": RBAC_API_GROUP, "kind": "Role", "name": ROLE_NAME},
        "subjects": build_subjects(tenant),
    }
