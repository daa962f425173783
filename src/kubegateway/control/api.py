"""The admin REST API: tenants, instances, tokens, usage and audit.

It is off the hot path, so it uses FastAPI for validation and the OpenAPI
spec at ``/openapi.json``. Every route authenticates the bearer credential
and passes the caller to ``TenantService``, which checks the permission on
the tenant named in the path. Every error is a JSON body with ``error`` and,
for validation errors, the ``field``.
"""

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

import structlog
from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from kubegateway import __version__
from kubegateway.auth.authenticating import Authenticator
from kubegateway.auth.principals import Principal
from kubegateway.control import schemas
from kubegateway.control.service import TenantService
from kubegateway.errors import KubegatewayError
from kubegateway.ids import (
    InstanceId,
    TenantId,
    TokenId,
    parse_instance_id,
    parse_tenant_id,
)
from kubegateway.observability.metrics import TenantCollector, render
from kubegateway.observability.usage_reading import UsageReader
from kubegateway.tenancy.models import Access, Role

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def create_admin_app(
    service: TenantService,
    authenticator: Authenticator,
    usage: UsageReader,
    base_url: str,
) -> FastAPI:
    app = FastAPI(
        title="kubegateway admin API",
        version=__version__,
        description="Onboard tenants, manage their Redis instances and tokens.",
    )
    collector = TenantCollector(service.store, service.plans, usage)

    def caller(
        authorization: Annotated[str | None, Header()] = None,
    ) -> Principal:
        return authenticator.authenticate(authorization)

    Caller = Annotated[Principal, Depends(caller)]

    def tenant_id(tenant: str) -> TenantId:
        return parse_tenant_id(tenant)

    def instance_id(instance: str) -> InstanceId:
        return parse_instance_id(instance)

    @app.middleware("http")
    async def _request_id(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        # Every admin log line carries the request id, which is also returned
        # so that a caller can quote it.
        given = request.headers.get("x-request-id", "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            response = await call_next(request)
        response.headers["x-request-id"] = request_id
        return response

    @app.exception_handler(KubegatewayError)
    async def _error(request: Request, error: KubegatewayError) -> JSONResponse:
        return JSONResponse(error.to_body(), status_code=error.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        location = [str(part) for part in first.get("loc", ()) if part != "body"]
        field = ".".join(location)
        message = str(first.get("msg", "invalid request"))
        if first.get("type") == "extra_forbidden":
            message = f"unknown field {field!r}"
        elif first.get("type") == "json_invalid":
            message = "the request body is not valid JSON"
        return JSONResponse(
            {"error": f"{field}: {message}" if field else message, "field": field},
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(error.detail)}, status_code=error.status_code)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    def metrics(principal: Caller) -> Response:
        # Series name every tenant, so only platform-wide readers may scrape.
        principal.authorize("tenant:read")
        return Response(render(collector), media_type="text/plain; version=0.0.4")

    @app.get("/v1/plans")
    def list_plans(principal: Caller) -> dict[str, object]:
        principal.authorize("tenant:read", principal.tenant)
        return {
            name: schemas.quota_body(service.plans.get(name))
            for name in service.plans.names()
        }

    # Tenants

    @app.post("/v1/tenants", status_code=201)
    def create_tenant(
        body: schemas.TenantCreate, principal: Caller, response: Response
    ) -> dict[str, object]:
        tenant, created = service.create_tenant(
            principal,
            TenantId(body.id),
            body.display_name,
            body.plan,
            body.quota.parsed(),
        )
        if not created:
            response.status_code = 200
        return schemas.tenant_body(tenant, service.effective_quota(tenant))

    @app.get("/v1/tenants")
    def list_tenants(principal: Caller) -> list[dict[str, object]]:
        return [
            schemas.tenant_body(t, service.effective_quota(t))
            for t in service.list_tenants(principal)
        ]

    @app.get("/v1/tenants/{tenant}")
    def get_tenant(tenant: str, principal: Caller) -> dict[str, object]:
        found = service.get_tenant(principal, tenant_id(tenant))
        return schemas.tenant_body(found, service.effective_quota(found))

    @app.patch("/v1/tenants/{tenant}")
    def patch_tenant(
        tenant: str, body: schemas.TenantPatch, principal: Caller
    ) -> dict[str, object]:
        updated = service.update_tenant(
            principal,
            tenant_id(tenant),
            body.display_name,
            body.plan,
            body.quota.parsed() if body.quota is not None else None,
        )
        return schemas.tenant_body(updated, service.effective_quota(updated))

    @app.post("/v1/tenants/{tenant}/suspend")
    def suspend(
        tenant: str, principal: Caller, body: schemas.SuspendRequest | None = None
    ) -> dict[str, object]:
        reason = body.reason if body else ""
        updated = service.set_suspended(principal, tenant_id(tenant), True, reason)
        return schemas.tenant_body(updated, service.effective_quota(updated))

    @app.post("/v1/tenants/{tenant}/resume")
    def resume(tenant: str, principal: Caller) -> dict[str, object]:
        updated = service.set_suspended(principal, tenant_id(tenant), False, "")
        return schemas.tenant_body(updated, service.effective_quota(updated))

    @app.delete("/v1/tenants/{tenant}", status_code=204)
    def delete_tenant(tenant: str, principal: Caller, response: Response) -> None:
        gone = service.delete_tenant(principal, tenant_id(tenant), wait=True)
        if gone:
            usage.forget(tenant)
        else:
            response.status_code = 202

    @app.get("/v1/tenants/{tenant}/config")
    def tenant_config(tenant: str, principal: Caller) -> dict[str, object]:
        found, explained = service.explain_config(principal, tenant_id(tenant))
        return {
            "tenant": found.id,
            "plan": found.plan,
            "quota": {
                name: {"value": value.value, "source": value.source}
                for name, value in explained.items()
            },
        }

    @app.get("/v1/tenants/{tenant}/summary")
    def summary(tenant: str, principal: Caller) -> dict[str, object]:
        found = service.get_tenant(principal, tenant_id(tenant))
        quota = service.effective_quota(found)
        instances = service.list_instances(principal, found.id)
        memory_used = usage.memory_used(found.id)
        return {
            "tenant": found.id,
            "phase": found.phase.value,
            "instances": {"used": len(instances), "limit": quota.max_instances},
            "memory": {
                "allocated_bytes": sum(i.memory for i in instances),
                "used_bytes": sum(memory_used.values()),
                "limit_bytes": quota.memory,
                "by_instance": memory_used,
            },
            "storage": {
                "used_bytes": usage.storage_bytes(found.id),
                "limit_bytes": quota.storage,
            },
            "requests": {
                "commands_last_minute": usage.commands_per_minute(found.id),
                "limit_per_minute": quota.requests_per_minute,
            },
        }

    @app.get("/v1/tenants/{tenant}/usage")
    def usage_counters(tenant: str, principal: Caller) -> dict[str, object]:
        found = service.get_tenant(principal, tenant_id(tenant))
        return {"tenant": found.id, "counters": usage.counters(found.id)}

    @app.get("/v1/tenants/{tenant}/audit")
    def audit(tenant: str, principal: Caller) -> list[dict[str, object]]:
        return [
            schemas.audit_body(e) for e in service.audit(principal, tenant_id(tenant))
        ]

    # Instances

    @app.post("/v1/tenants/{tenant}/instances", status_code=201)
    def create_instance(
        tenant: str, body: schemas.InstanceCreate, principal: Caller, response: Response
    ) -> dict[str, object]:
        instance, created = service.create_instance(
            principal, tenant_id(tenant), InstanceId(body.id), body.memory_bytes()
        )
        if not created:
            response.status_code = 200
        return schemas.instance_body(instance, base_url)

    @app.get("/v1/tenants/{tenant}/instances")
    def list_instances(tenant: str, principal: Caller) -> list[dict[str, object]]:
        return [
            schemas.instance_body(i, base_url)
            for i in service.list_instances(principal, tenant_id(tenant))
        ]

    @app.get("/v1/tenants/{tenant}/instances/{instance}")
    def get_instance(
        tenant: str, instance: str, principal: Caller
    ) -> dict[str, object]:
        found = service.get_instance(
            principal, tenant_id(tenant), instance_id(instance)
        )
        return schemas.instance_body(found, base_url)

    @app.delete("/v1/tenants/{tenant}/instances/{instance}", status_code=204)
    def delete_instance(
        tenant: str, instance: str, principal: Caller, response: Response
    ) -> None:
        if not service.delete_instance(
            principal, tenant_id(tenant), instance_id(instance)
        ):
            response.status_code = 202

    # Tokens

    @app.post("/v1/tenants/{tenant}/instances/{instance}/tokens", status_code=201)
    def create_token(
        tenant: str, instance: str, body: schemas.TokenCreate, principal: Caller
    ) -> dict[str, object]:
        issued = service.create_token(
            principal,
            tenant_id(tenant),
            instance_id(instance),
            Access(body.access),
            body.name,
        )
        return {**schemas.token_body(issued.token), "token": issued.secret}

    @app.get("/v1/tenants/{tenant}/tokens")
    def list_tokens(
        tenant: str, principal: Caller, instance: str | None = None
    ) -> list[dict[str, object]]:
        tokens = service.list_tokens(
            principal, tenant_id(tenant), instance_id(instance) if instance else None
        )
        return [schemas.token_body(t) for t in tokens]

    @app.delete("/v1/tenants/{tenant}/tokens/{token}")
    def revoke_token(tenant: str, token: str, principal: Caller) -> dict[str, object]:
        revoked = service.revoke_token(principal, tenant_id(tenant), TokenId(token))
        return schemas.token_body(revoked)

    # Admin API keys

    @app.post("/v1/tenants/{tenant}/api-keys", status_code=201)
    def create_tenant_key(
        tenant: str, body: schemas.ApiKeyCreate, principal: Caller
    ) -> dict[str, object]:
        issued = service.create_api_key(
            principal, tenant_id(tenant), Role(body.role), body.name
        )
        return {**schemas.api_key_body(issued.key), "key": issued.secret}

    @app.get("/v1/tenants/{tenant}/api-keys")
    def list_tenant_keys(tenant: str, principal: Caller) -> list[dict[str, object]]:
        keys = service.list_api_keys(principal, tenant_id(tenant))
        return [schemas.api_key_body(key) for key in keys]

    @app.delete("/v1/tenants/{tenant}/api-keys/{key}", status_code=204)
    def revoke_tenant_key(tenant: str, key: str, principal: Caller) -> None:
        service.revoke_api_key(principal, tenant_id(tenant), TokenId(key))

    @app.get("/v1/api-keys")
    def list_all_keys(principal: Caller) -> list[dict[str, object]]:
        return [schemas.api_key_body(k) for k in service.list_api_keys(principal, None)]

    @app.delete("/v1/api-keys/{key}", status_code=204)
    def revoke_platform_key(key: str, principal: Caller) -> None:
        service.revoke_api_key(principal, None, TokenId(key))

    @app.post("/v1/api-keys", status_code=201)
    def create_platform_key(
        body: schemas.ApiKeyCreate, principal: Caller
    ) -> dict[str, object]:
        issued = service.create_api_key(principal, None, Role(body.role), body.name)
        return {**schemas.api_key_body(issued.key), "key": issued.secret}

    return app
