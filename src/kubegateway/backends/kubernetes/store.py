"""The admin API's state in Kubernetes mode: custom resources and Secrets.

``KubernetesStore`` implements ``TenantStore`` on the API server, so the
admin API and the CLI work the same as on the embedded default:

- a tenant is a cluster-scoped ``Tenant``. The plan name goes to
  ``spec.plan`` and the effective quota (plan plus overrides) to
  ``spec.quota``, which the operator and the gateway enforce. Reading a
  Tenant back, every quota field that differs from the plan is an override,
  so a Tenant edited with kubectl shows its real quota.
- an instance is a ``RedisHttpInstance`` in ``tenant-<id>``. The operator
  makes its StatefulSet, Service and credentials Secret.
- a data-path token is a Secret in the tenant's namespace holding the
  SHA-256 of its secret part, owned by the instance, so deleting the
  instance or the namespace deletes its tokens.
- an admin API key is a Secret in ``redis-system`` holding the SHA-256 of
  its secret part. A tenant's keys are owned by the Tenant, so the garbage
  collector deletes them with it.
- the audit log is in the system Redis (see ``audit``).

Writes use server-side apply with the field manager ``kubegateway-admin``.
Creates are not forced: a field that another manager owns with another
value is a conflict. Updates through the admin API are forced, because an
admin's explicit request should win over an earlier ``kubectl apply``.
Revoking a token or an API key deletes its Secret.

Marking a tenant or instance ``Terminating`` deletes its custom resource.
Other phases are the operator's to set, in the status.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import structlog
from lightkube import ApiError, Client, KubeConfig, codecs
from lightkube.core.generic_client import ALL_NS
from lightkube.resources.core_v1 import Secret

from kubegateway.backends.kubernetes.audit import RedisAuditLog
from kubegateway.backends.kubernetes.resources import (
    ACCESS_LABEL,
    ADMIN_FIELD_MANAGER,
    API_VERSION,
    COMPONENT_LABEL,
    INSTANCE_KIND,
    INSTANCE_LABEL,
    SYSTEM_NAMESPACE,
    TENANT_KIND,
    TENANT_LABEL,
    TOKEN_COMPONENT,
    TOKEN_HASH_KEY,
    TOKEN_ID_LABEL,
    TOKEN_NAME_KEY,
    RedisHttpInstance,
    credentials_secret_name,
    tenant_of_namespace,
    token_secret_name,
)
from kubegateway.backends.kubernetes.resources import (
    Tenant as TenantResource,
)
from kubegateway.backends.kubernetes.specs import parse_tenant
from kubegateway.backends.kubernetes.tokens import build_token_secret
from kubegateway.errors import (
    BackendUnavailable,
    Conflict,
    InvalidInput,
    NotFound,
    QuotaExceeded,
)
from kubegateway.ids import InstanceId, TenantId, TokenId, namespace_for
from kubegateway.quantities import format_bytes, parse_bytes
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
from kubegateway.tenancy.plans import DEFAULT_PLAN, PlanCatalog

log = structlog.get_logger("kubegateway.store")

API_KEY_COMPONENT = "api-key"
ROLE_LABEL = "redis.kubegateway.io/role"
SUSPEND_REASON_ANNOTATION = "redis.kubegateway.io/suspend-reason"


def connect(kubeconfig: Path | None) -> Client:
    """Return a client from a kubeconfig file, else the pod's service account.

    Without a pod's account, lightkube falls back to ``$KUBECONFIG`` and
    ``~/.kube/config``. Proxy variables are ignored, as in the operator.
    """
    config = KubeConfig.from_file(kubeconfig) if kubeconfig else KubeConfig.from_env()
    return Client(config=config, field_manager=ADMIN_FIELD_MANAGER, trust_env=False)


def api_key_secret_name(key_id: str) -> str:
    return f"kubegateway-apikey-{key_id}"


def format_millicores(millicores: int) -> str:
    if millicores % 1000 == 0:
        return str(millicores // 1000)
    return f"{millicores}m"


def quota_spec(quota: Quota) -> dict[str, Any]:
    """Return ``spec.quota`` of a Tenant in the CRD's names and quantities."""
    return {
        "instances": quota.max_instances,
        "memory": format_bytes(quota.memory),
        "cpu": format_millicores(quota.cpu),
        "storage": format_bytes(quota.storage),
        "requestsPerMinute": quota.requests_per_minute,
        "maxConnections": quota.max_connections,
        "maxRequestSize": format_bytes(quota.max_request_size),
    }


def tenant_manifest(
    tenant: TenantId,
    display_name: str,
    plan: str,
    quota: Quota,
    suspended: bool,
    suspend_reason: str = "",
) -> dict[str, Any]:
    """Return the Tenant as the admin API applies it, every owned field included.

    Server-side apply removes a field that a manager applied before and
    leaves out now, so each apply carries the whole set.
    """
    metadata: dict[str, Any] = {"name": tenant}
    if suspended and suspend_reason:
        metadata["annotations"] = {SUSPEND_REASON_ANNOTATION: suspend_reason}
    return {
        "apiVersion": API_VERSION,
        "kind": TENANT_KIND,
        "metadata": metadata,
        "spec": {
            "displayName": display_name,
            "plan": plan,
            "suspended": suspended,
            "quota": quota_spec(quota),
        },
    }


def _timestamp(value: object) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value).timestamp()
    return 0.0


def _updated_at(metadata: Mapping[str, Any]) -> float:
    times = [_timestamp(m.get("time")) for m in metadata.get("managedFields") or []]
    return max([_timestamp(metadata.get("creationTimestamp")), *times])


def _ready_message(status: Mapping[str, Any]) -> str:
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Ready":
            return str(condition.get("message") or condition.get("reason") or "")
    return ""


def _decode(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return base64.b64decode(value).decode() if value else ""


def _owner(kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    metadata = body["metadata"]
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "name": metadata["name"],
        "uid": metadata["uid"],
    }


@contextmanager
def _api_errors(operation: str) -> Iterator[None]:
    """Translate API server errors into the admin API's error classes."""
    try:
        yield
    except ApiError as error:
        code = error.status.code
        message = error.status.message or str(error)
        if code == 404:
            raise NotFound(f"{operation}: {message}") from error
        if code == 409:
            raise Conflict(f"{operation}: {message}") from error
        if code == 403 and "exceeded quota" in message:
            raise QuotaExceeded(
                f"{operation}: {message}", limit="max_instances"
            ) from error
        if code == 422:
            raise InvalidInput(f"{operation}: {message}") from error
        log.error(
            "Kubernetes API request failed.",
            operation=operation,
            code=code,
            error=message,
        )
        raise BackendUnavailable(
            f"{operation}: the Kubernetes API server returned {code}: {message}"
        ) from error
    except httpx.HTTPError as error:
        log.error(
            "Kubernetes API server unreachable.", operation=operation, error=str(error)
        )
        raise BackendUnavailable(
            f"{operation}: the Kubernetes API server is unreachable ({error})"
        ) from error


class KubernetesStore:
    """``TenantStore`` on custom resources, Secrets and a Redis audit log."""

    def __init__(
        self,
        client: Client,
        plans: PlanCatalog,
        audit: RedisAuditLog,
        system_namespace: str = SYSTEM_NAMESPACE,
    ) -> None:
        self._client = client
        self._plans = plans
        self._audit = audit
        self._system_namespace = system_namespace

    # Low-level access

    def _apply(self, manifest: dict[str, Any], operation: str, force: bool) -> Any:
        stored: Any
        with _api_errors(operation):
            stored = self._client.apply(
                codecs.from_dict(manifest),
                field_manager=ADMIN_FIELD_MANAGER,
                force=force,
            )
        return stored.to_dict()

    def _get(
        self, resource: Any, name: str, namespace: str | None, operation: str
    ) -> dict[str, Any] | None:
        """Return the object as a dict, or None when it does not exist."""
        found: Any
        try:
            with _api_errors(operation):
                found = self._client.get(resource, name, namespace=namespace)
        except NotFound:
            return None
        body: dict[str, Any] = found.to_dict()
        return body

    def _delete(self, resource: Any, name: str, namespace: str | None) -> None:
        try:
            with _api_errors(f"delete {name}"):
                self._client.delete(resource, name, namespace=namespace)
        except NotFound:
            pass

    def _list(
        self,
        resource: Any,
        namespace: str | None,
        labels: dict[str, Any] | None,
        operation: str,
    ) -> list[dict[str, Any]]:
        with _api_errors(operation):
            return [
                item.to_dict()
                for item in self._client.list(
                    resource, namespace=namespace, labels=labels
                )
            ]

    # Tenants

    def _tenant(self, body: Mapping[str, Any]) -> Tenant:
        metadata = body["metadata"]
        spec = body.get("spec") or {}
        status = body.get("status") or {}
        parsed = parse_tenant(metadata["name"], spec).quota
        quota = Quota(
            max_instances=parsed.instances,
            memory=parsed.memory,
            cpu=parsed.cpu,
            storage=parsed.storage,
            requests_per_minute=parsed.requests_per_minute,
            max_connections=parsed.max_connections,
            max_request_size=parsed.max_request_size,
        )
        plan = str(spec.get("plan") or "")
        values = {name: getattr(quota, name) for name in Quota.field_names()}
        if plan in self._plans.names():
            base = self._plans.get(plan)
            overrides = {
                name: value
                for name, value in values.items()
                if value != getattr(base, name)
            }
        else:
            # NOTE: a Tenant applied without a known spec.plan is shown on the
            # default plan with every quota field as an override, so the
            # effective quota still equals spec.quota.
            plan = DEFAULT_PLAN if DEFAULT_PLAN in self._plans.names() else ""
            plan = plan or self._plans.names()[0]
            overrides = values
        suspended = bool(spec.get("suspended", False))
        if metadata.get("deletionTimestamp"):
            phase, reason = TenantPhase.TERMINATING, "Deleted"
        elif suspended:
            annotations = metadata.get("annotations") or {}
            phase = TenantPhase.SUSPENDED
            reason = annotations.get(SUSPEND_REASON_ANNOTATION) or "Suspended"
        elif status.get("phase") in ("Active", "Suspended"):
            phase, reason = TenantPhase.ACTIVE, _ready_message(status)
        else:
            # The operator has not yet made the namespace, RBAC and quota.
            phase = TenantPhase.PENDING
            reason = _ready_message(status) or "Waiting for the operator"
        return Tenant(
            id=TenantId(metadata["name"]),
            display_name=str(spec.get("displayName") or ""),
            plan=plan,
            overrides=overrides,
            phase=phase,
            reason=reason,
            created_at=_timestamp(metadata.get("creationTimestamp")),
            updated_at=_updated_at(metadata),
        )

    def _tenant_body(self, tenant: TenantId) -> dict[str, Any] | None:
        return self._get(TenantResource, tenant, None, f"get tenant {tenant!r}")

    def create_tenant(
        self, tenant: TenantId, display_name: str, plan: str, overrides: dict[str, int]
    ) -> tuple[Tenant, bool]:
        quota = self._plans.effective(plan, overrides)
        body = self._tenant_body(tenant)
        if body is not None:
            existing = self._tenant(body)
            same = (
                existing.display_name == display_name
                and existing.plan == plan
                and self._plans.effective(existing.plan, existing.overrides) == quota
                and existing.phase != TenantPhase.TERMINATING
            )
            if not same:
                raise Conflict(
                    f"tenant {tenant!r} already exists with another spec "
                    f"(phase {existing.phase})"
                )
            return existing, False
        manifest = tenant_manifest(tenant, display_name, plan, quota, suspended=False)
        stored = self._apply(manifest, f"create tenant {tenant!r}", force=False)
        return self._tenant(stored), True

    def get_tenant(self, tenant: TenantId) -> Tenant:
        body = self._tenant_body(tenant)
        if body is None:
            raise NotFound(f"tenant {tenant!r} does not exist")
        return self._tenant(body)

    def list_tenants(self) -> list[Tenant]:
        bodies = self._list(TenantResource, None, None, "list tenants")
        tenants = [self._tenant(body) for body in bodies]
        return sorted(tenants, key=lambda t: t.id)

    def update_tenant(
        self,
        tenant: TenantId,
        *,
        display_name: str | None = None,
        plan: str | None = None,
        overrides: dict[str, int] | None = None,
        phase: TenantPhase | None = None,
        reason: str | None = None,
    ) -> Tenant:
        body = self._tenant_body(tenant)
        if body is None:
            raise NotFound(f"tenant {tenant!r} does not exist")
        current = self._tenant(body)
        if phase == TenantPhase.TERMINATING:
            return self._delete_tenant(current)
        spec = body.get("spec") or {}
        suspended = bool(spec.get("suspended", False))
        if phase == TenantPhase.SUSPENDED:
            suspended = True
        elif phase == TenantPhase.ACTIVE:
            suspended = False
        new_plan = plan if plan is not None else current.plan
        new_overrides = overrides if overrides is not None else current.overrides
        manifest = tenant_manifest(
            tenant,
            display_name if display_name is not None else current.display_name,
            new_plan,
            self._plans.effective(new_plan, new_overrides),
            suspended,
            (reason or "") if suspended else "",
        )
        stored = self._apply(manifest, f"update tenant {tenant!r}", force=True)
        return self._tenant(stored)

    def _delete_tenant(self, current: Tenant) -> Tenant:
        # The operator's finalizer keeps the Tenant until its namespace is
        # gone; the garbage collector deletes the tenant's API key Secrets.
        self._delete(TenantResource, current.id, None)
        body = self._tenant_body(current.id)
        if body is None:
            return Tenant(
                id=current.id,
                display_name=current.display_name,
                plan=current.plan,
                overrides=current.overrides,
                phase=TenantPhase.TERMINATING,
                reason="Deleted",
                created_at=current.created_at,
                updated_at=time.time(),
            )
        return self._tenant(body)

    # Instances

    def _instance(self, body: Mapping[str, Any]) -> Instance:
        metadata = body["metadata"]
        tenant = tenant_of_namespace(str(metadata.get("namespace") or ""))
        status = body.get("status") or {}
        status_phase = str(status.get("phase") or "Pending")
        if metadata.get("deletionTimestamp"):
            phase = InstancePhase.TERMINATING
        elif status_phase in (InstancePhase.RUNNING, InstancePhase.FAILED):
            phase = InstancePhase(status_phase)
        else:
            # Pending and Suspended (the operator scaled it to zero).
            phase = InstancePhase.PENDING
        return Instance(
            tenant=tenant or TenantId(""),
            id=InstanceId(metadata["name"]),
            memory=parse_bytes((body.get("spec") or {}).get("memory"), "spec.memory"),
            phase=phase,
            reason=_ready_message(status) or status_phase,
            # Instances are reached by their Service name, not a local port.
            port=0,
            created_at=_timestamp(metadata.get("creationTimestamp")),
        )

    def _instance_body(
        self, tenant: TenantId, instance: InstanceId
    ) -> dict[str, Any] | None:
        return self._get(
            RedisHttpInstance,
            instance,
            namespace_for(tenant),
            f"get instance {instance!r} of tenant {tenant!r}",
        )

    def create_instance(
        self,
        tenant: TenantId,
        instance: InstanceId,
        memory: int,
        passwords: dict[str, str],
    ) -> tuple[Instance, bool]:
        del passwords  # the operator generates the instance's credentials
        body = self._instance_body(tenant, instance)
        if body is not None:
            existing = self._instance(body)
            if existing.memory != memory or existing.phase == InstancePhase.TERMINATING:
                raise Conflict(
                    f"instance {instance!r} already exists with another spec "
                    f"(phase {existing.phase})"
                )
            return existing, False
        manifest = {
            "apiVersion": API_VERSION,
            "kind": INSTANCE_KIND,
            "metadata": {"name": instance, "namespace": namespace_for(tenant)},
            "spec": {"memory": format_bytes(memory)},
        }
        stored = self._apply(
            manifest, f"create instance {instance!r} of tenant {tenant!r}", force=False
        )
        return self._instance(stored), True

    def get_instance(self, tenant: TenantId, instance: InstanceId) -> Instance:
        body = self._instance_body(tenant, instance)
        if body is None:
            raise NotFound(f"instance {instance!r} of tenant {tenant!r} does not exist")
        return self._instance(body)

    def list_instances(self, tenant: TenantId | None = None) -> list[Instance]:
        namespace = ALL_NS if tenant is None else namespace_for(tenant)
        instances = [
            self._instance(body)
            for body in self._list(RedisHttpInstance, namespace, None, "list instances")
        ]
        # Instances outside tenant namespaces are never served.
        served = [i for i in instances if i.tenant]
        return sorted(served, key=lambda i: (i.tenant, i.id))

    def instance_passwords(
        self, tenant: TenantId, instance: InstanceId
    ) -> dict[str, str]:
        body = self._get(
            Secret,
            credentials_secret_name(instance),
            namespace_for(tenant),
            f"get credentials of instance {instance!r}",
        )
        if body is None:
            raise NotFound(
                f"credentials of instance {instance!r} of tenant {tenant!r} "
                "do not exist yet"
            )
        data = body.get("data") or {}
        return {user: _decode(data, user) for user in data}

    def set_instance_state(
        self,
        tenant: TenantId,
        instance: InstanceId,
        phase: InstancePhase,
        reason: str,
        port: int | None = None,
    ) -> None:
        if phase == InstancePhase.TERMINATING:
            self._delete(RedisHttpInstance, instance, namespace_for(tenant))
            return
        log.warning(
            "Ignored an instance phase change; the operator sets the status.",
            tenant=tenant,
            instance=instance,
            phase=phase.value,
        )

    # Data-path tokens

    def _token(self, body: Mapping[str, Any]) -> Token | None:
        metadata = body["metadata"]
        labels = metadata.get("labels") or {}
        tenant = tenant_of_namespace(str(metadata.get("namespace") or ""))
        if tenant is None or labels.get(COMPONENT_LABEL) != TOKEN_COMPONENT:
            return None
        access = (
            Access.READ_ONLY
            if labels.get(ACCESS_LABEL) == Access.READ_ONLY.value
            else Access.READ_WRITE
        )
        return Token(
            id=TokenId(labels.get(TOKEN_ID_LABEL, "")),
            tenant=tenant,
            instance=InstanceId(labels.get(INSTANCE_LABEL, "")),
            access=access,
            name=_decode(body.get("data") or {}, TOKEN_NAME_KEY),
            created_at=_timestamp(metadata.get("creationTimestamp")),
            revoked_at=None,
        )

    def add_token(
        self,
        token_id: TokenId,
        tenant: TenantId,
        instance: InstanceId,
        access: Access,
        name: str,
        secret_hash: str,
    ) -> Token:
        owner = self._instance_body(tenant, instance)
        if owner is None:
            raise NotFound(f"instance {instance!r} of tenant {tenant!r} does not exist")
        manifest = build_token_secret(
            tenant, instance, access, name, token_id, secret_hash
        )
        manifest["metadata"]["ownerReferences"] = [_owner(INSTANCE_KIND, owner)]
        stored = self._apply(
            manifest, f"create token of instance {instance!r}", force=False
        )
        token = self._token(stored)
        if token is None:
            raise BackendUnavailable(f"the token Secret of {instance!r} is malformed")
        return token

    def list_tokens(
        self, tenant: TenantId, instance: InstanceId | None = None
    ) -> list[Token]:
        labels: dict[str, Any] = {COMPONENT_LABEL: TOKEN_COMPONENT}
        if instance is not None:
            labels[INSTANCE_LABEL] = instance
        bodies = self._list(Secret, namespace_for(tenant), labels, "list tokens")
        tokens = [token for body in bodies if (token := self._token(body))]
        return sorted(tokens, key=lambda t: (t.created_at, t.id))

    def revoke_token(self, tenant: TenantId, token_id: TokenId) -> Token:
        namespace = namespace_for(tenant)
        name = token_secret_name(token_id)
        body = self._get(Secret, name, namespace, f"get token {token_id!r}")
        token = self._token(body) if body is not None else None
        if token is None:
            raise NotFound(f"token {token_id!r} of tenant {tenant!r} does not exist")
        # The gateways' watches drop the hash with the Secret.
        self._delete(Secret, name, namespace)
        return Token(
            id=token.id,
            tenant=token.tenant,
            instance=token.instance,
            access=token.access,
            name=token.name,
            created_at=token.created_at,
            revoked_at=time.time(),
        )

    # Admin API keys

    def _api_key(self, body: Mapping[str, Any]) -> tuple[ApiKey, str] | None:
        metadata = body["metadata"]
        labels = metadata.get("labels") or {}
        data = body.get("data") or {}
        if labels.get(COMPONENT_LABEL) != API_KEY_COMPONENT:
            return None
        try:
            role = Role(labels.get(ROLE_LABEL, ""))
        except ValueError:
            return None
        tenant = labels.get(TENANT_LABEL)
        key = ApiKey(
            id=TokenId(labels.get(TOKEN_ID_LABEL, "")),
            role=role,
            tenant=TenantId(tenant) if tenant else None,
            name=_decode(data, TOKEN_NAME_KEY),
            created_at=_timestamp(metadata.get("creationTimestamp")),
            revoked_at=None,
        )
        return key, _decode(data, TOKEN_HASH_KEY)

    def add_api_key(
        self,
        key_id: TokenId,
        role: Role,
        tenant: TenantId | None,
        name: str,
        secret_hash: str,
    ) -> ApiKey:
        labels = {
            COMPONENT_LABEL: API_KEY_COMPONENT,
            TOKEN_ID_LABEL: key_id,
            ROLE_LABEL: role.value,
        }
        metadata: dict[str, Any] = {
            "name": api_key_secret_name(key_id),
            "namespace": self._system_namespace,
            "labels": labels,
        }
        if tenant is not None:
            labels[TENANT_LABEL] = tenant
            owner = self._tenant_body(tenant)
            if owner is None:
                raise NotFound(f"tenant {tenant!r} does not exist")
            metadata["ownerReferences"] = [_owner(TENANT_KIND, owner)]
        manifest = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": metadata,
            "type": "Opaque",
            "stringData": {TOKEN_HASH_KEY: secret_hash, TOKEN_NAME_KEY: name},
        }
        stored = self._apply(manifest, f"create API key {key_id!r}", force=False)
        found = self._api_key(stored)
        if found is None:
            raise BackendUnavailable(f"the Secret of API key {key_id!r} is malformed")
        return found[0]

    def find_api_key(self, key_id: TokenId) -> tuple[ApiKey, str] | None:
        # One GET per admin request: the admin API is off the hot path, and
        # a deleted (revoked) key stops working at once on every replica.
        body = self._get(
            Secret,
            api_key_secret_name(key_id),
            self._system_namespace,
            "look up an API key",
        )
        if body is None:
            return None
        return self._api_key(body)

    def list_api_keys(self, tenant: TenantId | None) -> list[ApiKey]:
        labels: dict[str, Any] = {COMPONENT_LABEL: API_KEY_COMPONENT}
        if tenant is not None:
            labels[TENANT_LABEL] = tenant
        bodies = self._list(Secret, self._system_namespace, labels, "list API keys")
        keys = [found[0] for body in bodies if (found := self._api_key(body))]
        return sorted(keys, key=lambda key: key.created_at)

    def revoke_api_key(self, key_id: TokenId) -> None:
        # Revoking deletes the Secret, so a revoked key is simply gone.
        if self.find_api_key(key_id) is None:
            raise NotFound(f"API key {key_id!r} does not exist or is revoked")
        self._delete(Secret, api_key_secret_name(key_id), self._system_namespace)

    def has_platform_admin(self) -> bool:
        labels = {COMPONENT_LABEL: API_KEY_COMPONENT, ROLE_LABEL: Role.PLATFORM_ADMIN}
        return bool(self._list(Secret, self._system_namespace, labels, "list API keys"))

    # Audit log

    def append_audit(
        self,
        actor: str,
        tenant: TenantId | None,
        action: str,
        target: str,
        result: str,
        detail: str = "",
    ) -> None:
        self._audit.append(time.time(), actor, tenant, action, target, result, detail)

    def list_audit(self, tenant: TenantId | None, limit: int = 500) -> list[AuditEntry]:
        return self._audit.entries(tenant, limit)
