"""Labels that every operator-made object carries.

The labels let the operator watch its own children for drift, let network
policies and the gateway select tenant objects, and let ``kubectl get -l``
find everything of one tenant.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubegateway.backends.kubernetes.resources import (
    MANAGED_BY,
    MANAGED_BY_LABEL,
    TENANT_LABEL,
)
from kubegateway.ids import TenantId, namespace_for


def tenant_labels(
    tenant: TenantId, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    return {TENANT_LABEL: tenant, MANAGED_BY_LABEL: MANAGED_BY, **(extra or {})}


def namespaced_metadata(
    tenant: TenantId, name: str, labels: Mapping[str, str] | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace_for(tenant),
        "labels": tenant_labels(tenant, labels),
    }
