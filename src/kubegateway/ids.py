"""Identifiers of tenants, instances and tokens, and their validation.

Tenant and instance ids become Kubernetes names (namespace ``tenant-<id>``, a
Service named after the instance), so both must be DNS-1123 labels, and a
tenant id must leave room for the ``tenant-`` prefix within 63 characters.
"""

from __future__ import annotations

import re
from typing import NewType

from kubegateway.errors import InvalidInput

TenantId = NewType("TenantId", str)
InstanceId = NewType("InstanceId", str)
TokenId = NewType("TokenId", str)

NAMESPACE_PREFIX = "tenant-"
MAX_LABEL = 63
MAX_TENANT_ID = MAX_LABEL - len(NAMESPACE_PREFIX)

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _check_label(value: object, field: str, max_length: int) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string", field=field)
    if not value:
        raise InvalidInput(f"{field} must not be empty", field=field)
    if len(value) > max_length:
        raise InvalidInput(
            f"{field} {value!r} is {len(value)} characters long; "
            f"the maximum is {max_length}",
            field=field,
        )
    if not _DNS1123_LABEL.match(value):
        raise InvalidInput(
            f"{field} {value!r} is not a DNS-1123 label: use lowercase letters, "
            "digits and '-', starting and ending with a letter or digit",
            field=field,
        )
    return value


def parse_tenant_id(value: object, field: str = "tenant") -> TenantId:
    """Validate a tenant id; ``tenant-<id>`` must fit in 63 characters."""
    return TenantId(_check_label(value, field, MAX_TENANT_ID))


def parse_instance_id(value: object, field: str = "instance") -> InstanceId:
    return InstanceId(_check_label(value, field, MAX_LABEL))


def namespace_for(tenant: TenantId) -> str:
    return f"{NAMESPACE_PREFIX}{tenant}"
