"""Who is calling the admin API, and what they may do.

Deny by default: a principal holds an explicit set of permissions, global
ones for platform admins and tenant-scoped ones bound to exactly one tenant.
Every tenant route calls ``authorize`` with the tenant named in its path, so
a credential of one tenant can never act on another, whatever it holds.

Roles are named sets of permissions::

    platform-admin   tenant:create tenant:delete tenant:update tenant:read
                     and every tenant-scoped permission, on every tenant
    tenant-admin     instance:* token:* audit:read tenant:read, own tenant
    tenant-reader    instance:read token:read audit:read tenant:read, own tenant
"""

from __future__ import annotations

from dataclasses import dataclass

from kubegateway.errors import Forbidden
from kubegateway.ids import TenantId
from kubegateway.tenancy.models import Role

GLOBAL_PERMISSIONS = frozenset(
    {"tenant:create", "tenant:delete", "tenant:update", "tenant:read"}
)
TENANT_READ = frozenset({"tenant:read", "instance:read", "token:read", "audit:read"})
TENANT_WRITE = frozenset({"instance:write", "token:write"})
ROLE_PERMISSIONS = {
    Role.PLATFORM_ADMIN: GLOBAL_PERMISSIONS | TENANT_READ | TENANT_WRITE,
    Role.TENANT_ADMIN: TENANT_READ | TENANT_WRITE,
    Role.TENANT_READER: TENANT_READ,
}
KNOWN_PERMISSIONS = GLOBAL_PERMISSIONS | TENANT_READ | TENANT_WRITE


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller; ``tenant`` is None for platform-wide callers."""

    subject: str
    tenant: TenantId | None
    permissions: frozenset[str]

    @property
    def platform(self) -> bool:
        return self.tenant is None

    def authorize(self, permission: str, tenant: TenantId | None = None) -> None:
        """Raise Forbidden unless the caller has ``permission`` on ``tenant``."""
        if tenant is not None and self.tenant is not None and self.tenant != tenant:
            raise Forbidden(
                f"the credential belongs to tenant {self.tenant!r} and cannot act "
                f"on tenant {tenant!r}"
            )
        if (
            tenant is None
            and self.tenant is not None
            and permission in GLOBAL_PERMISSIONS
        ):
            raise Forbidden(f"the permission {permission!r} is for platform admins")
        if permission not in self.permissions:
            raise Forbidden(
                f"the credential lacks the permission {permission!r} for this request"
            )


def for_role(subject: str, role: Role, tenant: TenantId | None) -> Principal:
    permissions = ROLE_PERMISSIONS[role]
    if role == Role.PLATFORM_ADMIN:
        return Principal(subject, None, permissions)
    return Principal(subject, tenant, permissions)
