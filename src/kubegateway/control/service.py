"""Tenant operations shared by the admin API and the CLI: onboard, limit, remove.

Each operation checks the caller's permission on the tenant named in the
request first (deny by default), validates input, enforces quotas, writes the
desired state, and records an audit entry with the outcome. Creates and
deletes are idempotent: repeating one with the same input returns the same
result, and a create that fails part-way is rolled back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import structlog

from kubegateway.auth import secrets
from kubegateway.auth.principals import Principal
from kubegateway.backends.base import TenantStore
from kubegateway.backends.embedded.valkey import new_passwords
from kubegateway.errors import (
    BackendUnavailable,
    Conflict,
    InvalidInput,
    KubegatewayError,
    NotFound,
    QuotaExceeded,
)
from kubegateway.ids import InstanceId, TenantId, TokenId
from kubegateway.quantities import format_bytes
from kubegateway.tenancy.models import (
    Access,
    ApiKey,
    AuditEntry,
    Instance,
    InstancePhase,
    Quota,
    Role,
    Tenant,
    TenantPhase,
    Token,
)
from kubegateway.tenancy.plans import EffectiveValue, PlanCatalog

log = structlog.get_logger("kubegateway.admin")

READY_TIMEOUT_SECONDS = 30.0
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: Token
    secret: str


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    key: ApiKey
    secret: str


class TenantService:
    """Admin operations over a store; every public method takes the caller.

    ``wait_for_running`` makes instance creation block until the server runs
    (and roll back if it fails). Kubernetes mode turns it off: a pod may take
    minutes to schedule, so the API returns the instance in phase Pending.
    """

    def __init__(
        self,
        store: TenantStore,
        plans: PlanCatalog,
        data_dir: Path | None = None,
        wake: Callable[[], None] | None = None,
        wait_for_running: bool = True,
    ) -> None:
        self.store = store
        self.plans = plans
        self._data_dir = data_dir
        self._wake = wake or (lambda: None)
        self._wait_for_running = wait_for_running

    # Audit

    def _audited(
        self,
        caller: Principal,
        tenant: TenantId | None,
        action: str,
        target: str,
        operation: Callable[[], T],
    ) -> T:
        try:
            result = operation()
        except KubegatewayError as error:
            self.store.append_audit(
                caller.subject, tenant, action, target, "failed", error.message
            )
            log.info(
                "Admin action failed.",
                actor=caller.subject,
                tenant=tenant,
                action=action,
                target=target,
                error=error.message,
            )
            raise
        self.store.append_audit(caller.subject, tenant, action, target, "succeeded")
        log.info(
            "Admin action succeeded.",
            actor=caller.subject,
            tenant=tenant,
            action=action,
            target=target,
        )
        return result

    # Tenants

    def create_tenant(
        self,
        caller: Principal,
        tenant: TenantId,
        display_name: str,
        plan: str,
        overrides: dict[str, int],
    ) -> tuple[Tenant, bool]:
        caller.authorize("tenant:create")

        def create() -> tuple[Tenant, bool]:
            self.plans.check(plan)
            return self.store.create_tenant(tenant, display_name, plan, overrides)

        return self._audited(caller, tenant, "tenant.create", tenant, create)

    def list_tenants(self, caller: Principal) -> list[Tenant]:
        if caller.tenant is not None:
            caller.authorize("tenant:read", caller.tenant)
            return [self.store.get_tenant(caller.tenant)]
        caller.authorize("tenant:read")
        return self.store.list_tenants()

    def get_tenant(self, caller: Principal, tenant: TenantId) -> Tenant:
        caller.authorize("tenant:read", tenant)
        return self.store.get_tenant(tenant)

    def update_tenant(
        self,
        caller: Principal,
        tenant: TenantId,
        display_name: str | None,
        plan: str | None,
        overrides: dict[str, int] | None,
    ) -> Tenant:
        caller.authorize("tenant:update")

        def update() -> Tenant:
            current = self.store.get_tenant(tenant)
            if current.phase == TenantPhase.TERMINATING:
                raise Conflict(f"tenant {tenant!r} is being deleted")
            if plan is not None:
                self.plans.check(plan)
            return self.store.update_tenant(
                tenant, display_name=display_name, plan=plan, overrides=overrides
            )

        return self._audited(caller, tenant, "tenant.update", tenant, update)

    def set_suspended(
        self, caller: Principal, tenant: TenantId, suspended: bool, reason: str
    ) -> Tenant:
        caller.authorize("tenant:update")
        action = "tenant.suspend" if suspended else "tenant.resume"

        def change() -> Tenant:
            current = self.store.get_tenant(tenant)
            if current.phase == TenantPhase.TERMINATING:
                raise Conflict(f"tenant {tenant!r} is being deleted")
            phase = TenantPhase.SUSPENDED if suspended else TenantPhase.ACTIVE
            default_reason = "Suspended by an admin" if suspended else "Resumed"
            return self.store.update_tenant(
                tenant, phase=phase, reason=reason or default_reason
            )

        return self._audited(caller, tenant, action, tenant, change)

    def delete_tenant(self, caller: Principal, tenant: TenantId, wait: bool) -> bool:
        """Mark the tenant Terminating; return True once it is gone.

        Deleting a tenant that does not exist succeeds, so retries are safe.
        """
        caller.authorize("tenant:delete")

        def delete() -> bool:
            try:
                self.store.update_tenant(
                    tenant, phase=TenantPhase.TERMINATING, reason="Deleted by an admin"
                )
            except NotFound:
                return True
            self._wake()
            if not wait:
                return False
            return self._wait(lambda: not self._tenant_exists(tenant))

        return self._audited(caller, tenant, "tenant.delete", tenant, delete)

    def _tenant_exists(self, tenant: TenantId) -> bool:
        try:
            self.store.get_tenant(tenant)
        except NotFound:
            return False
        return True

    def effective_quota(self, tenant: Tenant) -> Quota:
        return self.plans.effective(tenant.plan, tenant.overrides)

    def explain_config(
        self, caller: Principal, tenant: TenantId
    ) -> tuple[Tenant, dict[str, EffectiveValue]]:
        caller.authorize("tenant:read", tenant)
        current = self.store.get_tenant(tenant)
        return current, self.plans.explain(current.plan, current.overrides)

    # Instances

    def create_instance(
        self,
        caller: Principal,
        tenant: TenantId,
        instance: InstanceId,
        memory: int,
        wait: bool = True,
    ) -> tuple[Instance, bool]:
        caller.authorize("instance:write", tenant)

        def create() -> tuple[Instance, bool]:
            current = self._active_tenant(tenant)
            self._check_instance_quota(current, instance, memory)
            created, new = self.store.create_instance(
                tenant, instance, memory, new_passwords()
            )
            self._wake()
            if (
                not wait
                or not self._wait_for_running
                or created.phase == InstancePhase.RUNNING
            ):
                return created, new
            return self._wait_running(tenant, instance, rollback=new), new

        return self._audited(caller, tenant, "instance.create", instance, create)

    def _active_tenant(self, tenant: TenantId) -> Tenant:
        current = self.store.get_tenant(tenant)
        if current.phase != TenantPhase.ACTIVE:
            raise Conflict(
                f"tenant {tenant!r} is {current.phase.lower()}; "
                "instances and tokens can only be created in an active tenant"
            )
        return current

    def _check_instance_quota(
        self, tenant: Tenant, instance: InstanceId, memory: int
    ) -> None:
        quota = self.effective_quota(tenant)
        others = [i for i in self.store.list_instances(tenant.id) if i.id != instance]
        if len(others) + 1 > quota.max_instances:
            raise QuotaExceeded(
                f"tenant {tenant.id!r} may have at most {quota.max_instances} "
                f"instances and has {len(others)}",
                limit="max_instances",
            )
        used = sum(i.memory for i in others)
        if used + memory > quota.memory:
            raise QuotaExceeded(
                f"tenant {tenant.id!r} may use {format_bytes(quota.memory)} of memory; "
                f"{format_bytes(used)} is in use and {format_bytes(memory)} more "
                "was requested",
                limit="memory",
            )

    def _wait_running(
        self, tenant: TenantId, instance: InstanceId, rollback: bool
    ) -> Instance:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while True:
            current = self.store.get_instance(tenant, instance)
            if current.phase == InstancePhase.RUNNING:
                return current
            if current.phase == InstancePhase.FAILED or time.monotonic() > deadline:
                reason = (
                    current.reason
                    if current.phase == InstancePhase.FAILED
                    else (f"not ready after {READY_TIMEOUT_SECONDS:g} seconds")
                )
                if rollback:
                    # Leave nothing half made: the supervisor removes the
                    # process and data of an instance marked Terminating.
                    self.store.set_instance_state(
                        tenant, instance, InstancePhase.TERMINATING, "Rolled back"
                    )
                    self._wake()
                    self._wait(lambda: not self._instance_exists(tenant, instance))
                raise BackendUnavailable(
                    f"instance {instance!r} failed to start: {reason}"
                )
            time.sleep(0.05)

    def _instance_exists(self, tenant: TenantId, instance: InstanceId) -> bool:
        try:
            self.store.get_instance(tenant, instance)
        except NotFound:
            return False
        return True

    def _wait(self, done: Callable[[], bool]) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not done():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def list_instances(self, caller: Principal, tenant: TenantId) -> list[Instance]:
        caller.authorize("instance:read", tenant)
        self.store.get_tenant(tenant)
        return self.store.list_instances(tenant)

    def get_instance(
        self, caller: Principal, tenant: TenantId, instance: InstanceId
    ) -> Instance:
        caller.authorize("instance:read", tenant)
        return self.store.get_instance(tenant, instance)

    def delete_instance(
        self, caller: Principal, tenant: TenantId, instance: InstanceId
    ) -> bool:
        caller.authorize("instance:write", tenant)

        def delete() -> bool:
            try:
                self.store.get_instance(tenant, instance)
            except NotFound:
                return True
            self.store.set_instance_state(
                tenant, instance, InstancePhase.TERMINATING, "Deleted by an admin"
            )
            self._wake()
            return self._wait(lambda: not self._instance_exists(tenant, instance))

        return self._audited(caller, tenant, "instance.delete", instance, delete)

    # Data-path tokens

    def create_token(
        self,
        caller: Principal,
        tenant: TenantId,
        instance: InstanceId,
        access: Access,
        name: str,
    ) -> IssuedToken:
        caller.authorize("token:write", tenant)

        def create() -> IssuedToken:
            self._active_tenant(tenant)
            self.store.get_instance(tenant, instance)
            new = secrets.generate(secrets.DATA_PREFIX)
            token = self.store.add_token(
                new.id, tenant, instance, access, name, new.secret_hash
            )
            return IssuedToken(token, new.token)

        return self._audited(caller, tenant, "token.create", instance, create)

    def list_tokens(
        self, caller: Principal, tenant: TenantId, instance: InstanceId | None
    ) -> list[Token]:
        caller.authorize("token:read", tenant)
        self.store.get_tenant(tenant)
        return self.store.list_tokens(tenant, instance)

    def revoke_token(
        self, caller: Principal, tenant: TenantId, token: TokenId
    ) -> Token:
        caller.authorize("token:write", tenant)
        return self._audited(
            caller,
            tenant,
            "token.revoke",
            token,
            lambda: self.store.revoke_token(tenant, token),
        )

    # Admin API keys

    def create_api_key(
        self, caller: Principal, tenant: TenantId | None, role: Role, name: str
    ) -> IssuedApiKey:
        if role == Role.PLATFORM_ADMIN or tenant is None:
            caller.authorize("tenant:create")
            if role != Role.PLATFORM_ADMIN:
                raise InvalidInput("a tenant role needs a tenant", field="tenant")
        else:
            caller.authorize("token:write", tenant)

        def create() -> IssuedApiKey:
            if tenant is not None:
                self.store.get_tenant(tenant)
            new = secrets.generate(secrets.ADMIN_PREFIX)
            key = self.store.add_api_key(
                new.id,
                role,
                None if role == Role.PLATFORM_ADMIN else tenant,
                name,
                new.secret_hash,
            )
            return IssuedApiKey(key, new.token)

        return self._audited(caller, tenant, "apikey.create", role.value, create)

    def list_api_keys(self, caller: Principal, tenant: TenantId | None) -> list[ApiKey]:
        """List API keys without secrets: a tenant's, or all for platform admins."""
        if tenant is None:
            caller.authorize("tenant:create")
            return self.store.list_api_keys(None)
        caller.authorize("token:read", tenant)
        self.store.get_tenant(tenant)
        return self.store.list_api_keys(tenant)

    def revoke_api_key(
        self, caller: Principal, tenant: TenantId | None, key_id: TokenId
    ) -> None:
        """Revoke an API key of ``tenant`` (None: a platform key)."""
        if tenant is None:
            caller.authorize("tenant:create")
        else:
            caller.authorize("token:write", tenant)

        def revoke() -> None:
            found = self.store.find_api_key(key_id)
            if found is None or found[0].tenant != tenant:
                where = f"tenant {tenant!r}" if tenant else "the platform"
                raise NotFound(f"API key {key_id!r} of {where} does not exist")
            self.store.revoke_api_key(key_id)

        self._audited(caller, tenant, "apikey.revoke", key_id, revoke)

    def audit(self, caller: Principal, tenant: TenantId) -> list[AuditEntry]:
        caller.authorize("audit:read", tenant)
        return self.store.list_audit(tenant)
