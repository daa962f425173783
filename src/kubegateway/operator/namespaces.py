"""The tenant's Namespace and ServiceAccount.

The namespace enforces the ``restricted`` Pod Security Standard, so the
API server itself rejects privileged pods, host namespaces, hostPath volumes,
added capabilities and containers that may run as root.
"""

from __future__ import annotations

from typing import Any

from kubegateway.backends.kubernetes.resources import (
    PSS_ENFORCE_LABEL,
    PSS_ENFORCE_VERSION_LABEL,
)
from kubegateway.backends.kubernetes.specs import TenantSpec
from kubegateway.ids import namespace_for
from kubegateway.operator.labelling import namespaced_metadata, tenant_labels

SERVICE_ACCOUNT_NAME = "tenant"


def build_namespace(tenant: TenantSpec) -> dict[str, Any]:
    labels = tenant_labels(
        tenant.id,
        {PSS_ENFORCE_LABEL: "restricted", PSS_ENFORCE_VERSION_LABEL: "latest"},
    )
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": namespace_for(tenant.id),
            "labels": labels,
            "annotations": {"redis.kubegateway.io/display-name": tenant.display_name},
        },
    }


def build_service_account(tenant: TenantSpec) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": namespaced_metadata(tenant.id, SERVICE_ACCOUNT_NAME),
        # The tenant's workloads call the gateway over HTTP, not the API server.
        "automountServiceAccountToken": False,
    }
