"""The tenant's ResourceQuota and LimitRange.

The ResourceQuota is enforced by the API server at admission, independently
of the operator's own quota check. The LimitRange gives containers that set
no requests or limits a default, because a quota on ``requests.*`` rejects
every pod that omits them.
"""

from __future__ import annotations

from typing import Any

from kubegateway.backends.kubernetes.resources import GROUP, INSTANCE_PLURAL
from kubegateway.backends.kubernetes.specs import TenantSpec
from kubegateway.operator.labelling import namespaced_metadata

QUOTA_NAME = "kubegateway-tenant"
LIMIT_RANGE_NAME = "kubegateway-defaults"
INSTANCE_COUNT_KEY = f"count/{INSTANCE_PLURAL}.{GROUP}"

DEFAULT_REQUEST = {"cpu": "50m", "memory": "64Mi"}
DEFAULT_LIMIT = {"cpu": "500m", "memory": "256Mi"}


def build_resource_quota(tenant: TenantSpec) -> dict[str, Any]:
    quota = tenant.quota
    hard = {
        "requests.cpu": f"{quota.cpu}m",
        "requests.memory": str(quota.memory),
        "requests.storage": str(quota.storage),
        "persistentvolumeclaims": str(quota.instances),
        # One valkey pod per instance. A StatefulSet's rolling update deletes
        # a pod before it creates its replacement, so no extra pod is needed.
        "pods": str(quota.instances),
        "services": str(quota.instances),
        "services.nodeports": "0",
        "services.loadbalancers": "0",
        INSTANCE_COUNT_KEY: str(quota.instances),
    }
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": namespaced_metadata(tenant.id, QUOTA_NAME),
        "spec": {"hard": hard},
    }


def build_limit_range(tenant: TenantSpec) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": namespaced_metadata(tenant.id, LIMIT_RANGE_NAME),
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "defaultRequest": dict(DEFAULT_REQUEST),
                    "default": dict(DEFAULT_LIMIT),
                }
            ]
        },
    }
