"""Names, labels and lightkube resource classes of the Kubernetes mode.

The operator, the gateway's directory and the admin store must agree on
every label and object name, so they are defined once here. The CRDs
themselves are YAML files in ``deploy/crds``.
"""

from __future__ import annotations

from typing import Any

from lightkube.generic_resource import (
    create_global_resource,
    create_namespaced_resource,
)

from kubegateway.ids import InstanceId, TenantId, namespace_for

GROUP = "redis.kubegateway.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

TENANT_KIND = "Tenant"
INSTANCE_KIND = "RedisHttpInstance"
INSTANCE_PLURAL = "redishttpinstances"

Tenant: Any = create_global_resource(GROUP, VERSION, TENANT_KIND, "tenants")
RedisHttpInstance: Any = create_namespaced_resource(
    GROUP, VERSION, INSTANCE_KIND, INSTANCE_PLURAL
)

# Labels. The tenant label on a namespace is what network policies of other
# components may select on; only the operator writes it.
TENANT_LABEL = f"{GROUP}/tenant"
INSTANCE_LABEL = f"{GROUP}/instance"
COMPONENT_LABEL = f"{GROUP}/component"
TOKEN_ID_LABEL = f"{GROUP}/token-id"
ACCESS_LABEL = f"{GROUP}/access"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "kubegateway-operator"
NAME_LABEL = "app.kubernetes.io/name"
PSS_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
PSS_ENFORCE_VERSION_LABEL = "pod-security.kubernetes.io/enforce-version"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"

# Values of COMPONENT_LABEL on Secrets that the gateway reads.
CREDENTIALS_COMPONENT = "instance-credentials"
TOKEN_COMPONENT = "token"

# Keys of the token Secret.
TOKEN_HASH_KEY = "sha256"
TOKEN_NAME_KEY = "name"

SYSTEM_NAMESPACE = "redis-system"
GATEWAY_APP = "kubegateway-gateway"
OPERATOR_APP = "kubegateway-operator"
REDIS_PORT = 6379

# Server-side apply field managers.
OPERATOR_FIELD_MANAGER = "kubegateway-operator"
ADMIN_FIELD_MANAGER = "kubegateway-admin"


def tenant_namespace(tenant: TenantId) -> str:
    return namespace_for(tenant)


def tenant_of_namespace(namespace: str) -> TenantId | None:
    """Return the tenant id of a ``tenant-<id>`` namespace, or None."""
    prefix = namespace_for(TenantId(""))
    if not namespace.startswith(prefix) or len(namespace) == len(prefix):
        return None
    return TenantId(namespace[len(prefix) :])


def credentials_secret_name(instance: InstanceId) -> str:
    return f"{instance}-credentials"


def token_secret_name(token_id: str) -> str:
    return f"kubegateway-token-{token_id}"


def service_host(tenant: TenantId, instance: InstanceId) -> str:
    """Return the in-cluster DNS name of an instance's Service."""
    return f"{instance}.{namespace_for(tenant)}.svc"
