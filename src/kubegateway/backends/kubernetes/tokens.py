"""Token Secrets: where data-path token hashes live in Kubernetes mode.

One Secret per token in the tenant's namespace, labelled so that the
gateway's watch selects it. Only the SHA-256 of the token's secret part is
stored. The token itself is returned once, to the caller that created it.
"""

from __future__ import annotations

from typing import Any

from kubegateway.backends.kubernetes.resources import (
    ACCESS_LABEL,
    COMPONENT_LABEL,
    INSTANCE_LABEL,
    TENANT_LABEL,
    TOKEN_COMPONENT,
    TOKEN_HASH_KEY,
    TOKEN_ID_LABEL,
    TOKEN_NAME_KEY,
    token_secret_name,
)
from kubegateway.ids import InstanceId, TenantId, TokenId, namespace_for
from kubegateway.tenancy.models import Access


def build_token_secret(
    tenant: TenantId,
    instance: InstanceId,
    access: Access,
    name: str,
    token_id: TokenId,
    secret_hash: str,
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": token_secret_name(token_id),
            "namespace": namespace_for(tenant),
            "labels": {
                TENANT_LABEL: tenant,
                INSTANCE_LABEL: instance,
                COMPONENT_LABEL: TOKEN_COMPONENT,
                TOKEN_ID_LABEL: token_id,
                ACCESS_LABEL: access.value,
            },
        },
        "type": "Opaque",
        "stringData": {TOKEN_HASH_KEY: secret_hash, TOKEN_NAME_KEY: name},
    }
