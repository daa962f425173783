"""Every admin route against every kind of caller that must be turned away."""

from __future__ import annotations

import itertools
import time

import httpx
import jwt
import pytest

from tests.gateway_process import Gateway
from tests.jwt_keys import JwtKeys

_count = itertools.count()

# (method, path, body): {t} is the target tenant, {i} an instance, {k} a token id.
TENANT_ROUTES = [
    ("GET", "/v1/tenants/{t}", None),
    ("PATCH", "/v1/tenants/{t}", {"plan": "pro"}),
    ("POST", "/v1/tenants/{t}/suspend", {"reason": "x"}),
    ("POST", "/v1/tenants/{t}/resume", None),
    ("DELETE", "/v1/tenants/{t}", None),
    ("GET", "/v1/tenants/{t}/config", None),
    ("GET", "/v1/tenants/{t}/summary", None),
    ("GET", "/v1/tenants/{t}/usage", None),
    ("GET", "/v1/tenants/{t}/audit", None),
    ("POST", "/v1/tenants/{t}/instances", {"id": "extra", "memory": "8Mi"}),
    ("GET", "/v1/tenants/{t}/instances", None),
    ("GET", "/v1/tenants/{t}/instances/{i}", None),
    ("DELETE", "/v1/tenants/{t}/instances/{i}", None),
    ("POST", "/v1/tenants/{t}/instances/{i}/tokens", {"access": "read-write"}),
    ("GET", "/v1/tenants/{t}/tokens", None),
    ("DELETE", "/v1/tenants/{t}/tokens/{k}", None),
    ("POST", "/v1/tenants/{t}/api-keys", {"role": "tenant-admin"}),
    ("GET", "/v1/tenants/{t}/api-keys", None),
    ("DELETE", "/v1/tenants/{t}/api-keys/{a}", None),
]
PLATFORM_ROUTES = [
    ("POST", "/v1/tenants", {"id": "never-made"}),
    ("POST", "/v1/api-keys", {"role": "platform-admin"}),
    ("GET", "/v1/api-keys", None),
    ("DELETE", "/v1/api-keys/{a}", None),
]
READ_ROUTES = {
    "/v1/tenants/{t}",
    "/v1/tenants/{t}/config",
    "/v1/tenants/{t}/summary",
    "/v1/tenants/{t}/usage",
    "/v1/tenants/{t}/audit",
    "/v1/tenants/{t}/instances",
    "/v1/tenants/{t}/instances/{i}",
    "/v1/tenants/{t}/tokens",
    "/v1/tenants/{t}/api-keys",
}


@pytest.fixture(scope="module")
def victim(gateway: Gateway) -> dict[str, str]:
    tenant = f"victim{next(_count)}"
    target = gateway.create_instance(tenant, "db", memory="8Mi")
    with gateway.admin() as client:
        key = client.post(
            f"/v1/tenants/{tenant}/api-keys", json={"role": "tenant-reader"}
        ).json()
    return {"t": tenant, "i": "db", "k": target.token_id, "a": key["id"]}


@pytest.fixture(scope="module")
def outsider(gateway: Gateway) -> str:
    """An admin API key of a different tenant."""
    tenant = f"outsider{next(_count)}"
    gateway.create_instance(tenant, "db", memory="8Mi")
    with gateway.admin() as client:
        body = client.post(
            f"/v1/tenants/{tenant}/api-keys", json={"role": "tenant-admin"}
        ).json()
    return str(body["key"])


@pytest.fixture(scope="module")
def reader(gateway: Gateway, victim: dict[str, str]) -> str:
    with gateway.admin() as client:
        body = client.post(
            f"/v1/tenants/{victim['t']}/api-keys", json={"role": "tenant-reader"}
        ).json()
    return str(body["key"])


def snapshot(gateway: Gateway, tenant: str) -> tuple[object, ...]:
    """Everything a forbidden request might change, read as the platform admin."""
    with gateway.admin() as client:
        found = client.get(f"/v1/tenants/{tenant}").json()
        instances = client.get(f"/v1/tenants/{tenant}/instances").json()
        tokens = client.get(f"/v1/tenants/{tenant}/tokens").json()
        tenants = [t["id"] for t in client.get("/v1/tenants").json()]
        keys = client.get("/v1/api-keys").json()
    return (
        found["phase"],
        found["plan"],
        [i["id"] for i in instances],
        [(t["id"], t["revoked_at"]) for t in tokens],
        sorted(tenants),
        sorted((k["id"], k["revoked_at"]) for k in keys),
    )


def caller_tokens(
    jwt_keys: JwtKeys, outsider: str, reader: str, victim: dict[str, str]
) -> dict[str, tuple[str | None, set[int]]]:
    expired = jwt_keys.hs256(
        role="tenant-admin",
        tenant=victim["t"],
        exp=int(time.time()) - 3600,
        iat=int(time.time()) - 7200,
    )
    forged = jwt.encode(
        jwt_keys.claims(role="platform-admin"),
        "a-guessed-secret-of-32-bytes!!!!",
        algorithm="HS256",
    )
    return {
        "other tenant": (outsider, {403}),
        "reader": (reader, {403}),
        "expired": (expired, {401}),
        "forged": (forged, {401}),
        "none": (None, {401}),
    }


def test_forbidden_callers_change_nothing(
    gateway: Gateway,
    jwt_keys: JwtKeys,
    victim: dict[str, str],
    outsider: str,
    reader: str,
) -> None:
    before = snapshot(gateway, victim["t"])
    callers = caller_tokens(jwt_keys, outsider, reader, victim)
    failures = []
    for (method, template, body), (name, (token, statuses)) in itertools.product(
        TENANT_ROUTES + PLATFORM_ROUTES, callers.items()
    ):
        path = template.format(**victim)
        if name == "reader" and template in READ_ROUTES:
            continue
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.request(
            method, gateway.url + path, json=body, headers=headers, timeout=30
        )
        if response.status_code not in statuses:
            failures.append((name, method, path, response.status_code, response.text))
        elif "error" not in response.json():
            failures.append((name, method, path, "no error field", response.text))
    assert failures == []
    assert snapshot(gateway, victim["t"]) == before


def test_reader_can_read_every_read_route(
    gateway: Gateway, victim: dict[str, str], reader: str
) -> None:
    for template in sorted(READ_ROUTES):
        response = httpx.get(
            gateway.url + template.format(**victim),
            headers={"Authorization": f"Bearer {reader}"},
        )
        assert response.status_code == 200, (template, response.text)


def test_tenant_admin_lists_only_own_tenant(gateway: Gateway, outsider: str) -> None:
    response = httpx.get(
        gateway.url + "/v1/tenants", headers={"Authorization": f"Bearer {outsider}"}
    )
    assert response.status_code == 200
    listed = [t["id"] for t in response.json()]
    assert len(listed) == 1
    assert listed[0].startswith("outsider")


def test_tenant_admin_manages_own_instances(gateway: Gateway) -> None:
    tenant = f"selfserve{next(_count)}"
    gateway.create_instance(tenant, "db", memory="8Mi")
    with gateway.admin() as client:
        key = client.post(
            f"/v1/tenants/{tenant}/api-keys", json={"role": "tenant-admin"}
        ).json()["key"]
    with gateway.admin(key) as client:
        created = client.post(
            f"/v1/tenants/{tenant}/instances", json={"id": "second", "memory": "8Mi"}
        )
        assert created.status_code == 201, created.text
        token = client.post(
            f"/v1/tenants/{tenant}/instances/second/tokens",
            json={"access": "read-only"},
        )
        assert token.status_code == 201
        assert (
            client.delete(f"/v1/tenants/{tenant}/instances/second").status_code == 204
        )
        assert (
            client.patch(f"/v1/tenants/{tenant}", json={"plan": "pro"}).status_code
            == 403
        )


def test_tenant_role_jwt_is_bound_to_its_tenant(
    gateway: Gateway, jwt_keys: JwtKeys, victim: dict[str, str]
) -> None:
    own = jwt_keys.rs256(role="tenant-admin", tenant=victim["t"])
    other = jwt_keys.rs256(role="tenant-admin", tenant="someone-else")
    path = f"{gateway.url}/v1/tenants/{victim['t']}/instances"
    assert (
        httpx.get(path, headers={"Authorization": f"Bearer {own}"}).status_code == 200
    )
    assert (
        httpx.get(path, headers={"Authorization": f"Bearer {other}"}).status_code == 403
    )


def test_api_keys_listed_and_revoked(gateway: Gateway) -> None:
    tenant = f"keyed{next(_count)}"
    gateway.create_instance(tenant, "db", memory="8Mi")
    with gateway.admin() as client:
        issued = client.post(
            f"/v1/tenants/{tenant}/api-keys", json={"role": "tenant-admin"}
        ).json()
        listed = client.get(f"/v1/tenants/{tenant}/api-keys").json()
    assert [k["id"] for k in listed] == [issued["id"]]
    assert "key" not in listed[0]
    with gateway.admin(issued["key"]) as client:
        assert client.get(f"/v1/tenants/{tenant}").status_code == 200
        revoked = client.delete(f"/v1/tenants/{tenant}/api-keys/{issued['id']}")
        assert revoked.status_code == 204
        assert client.get(f"/v1/tenants/{tenant}").status_code == 401


def test_tenant_admin_cannot_revoke_platform_key(
    gateway: Gateway, outsider: str
) -> None:
    with gateway.admin() as client:
        platform_keys = client.get("/v1/api-keys").json()
    bootstrap = next(k for k in platform_keys if k["role"] == "platform-admin")
    tenant = next(k for k in platform_keys if k["tenant"])["tenant"]
    with gateway.admin(outsider) as client:
        response = client.delete(f"/v1/tenants/{tenant}/api-keys/{bootstrap['id']}")
    assert response.status_code in (403, 404)
    with gateway.admin() as client:
        assert client.get("/v1/tenants").status_code == 200
