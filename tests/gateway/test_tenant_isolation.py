"""A token works only on the instance it was made for."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import call
from tests.gateway_process import Gateway, Instance


def _on(owner: Instance, target: Instance) -> Instance:
    """``owner``'s token aimed at ``target``'s URL."""
    return Instance(
        target.tenant, target.instance, target.url, owner.token, owner.token_id
    )


@pytest.fixture
def tenant_b(fresh: Instance) -> Instance:
    call(fresh, ["SET", "secret", "b-data"])
    return fresh


def test_other_tenant_token_cannot_read(shared: Instance, tenant_b: Instance) -> None:
    response = call(_on(shared, tenant_b), ["GET", "secret"])
    assert response.status_code in (401, 403)
    assert set(response.json()) == {"error"}


def test_other_tenant_token_reads_nothing(shared: Instance, tenant_b: Instance) -> None:
    response = call(_on(shared, tenant_b), ["GET", "secret"])
    assert "b-data" not in response.text


def test_other_tenant_token_cannot_write(shared: Instance, tenant_b: Instance) -> None:
    response = call(_on(shared, tenant_b), ["SET", "secret", "overwritten"])
    assert response.status_code in (401, 403)
    assert call(tenant_b, ["GET", "secret"]).json() == {"result": "b-data"}


def test_other_tenant_pipeline_is_denied(shared: Instance, tenant_b: Instance) -> None:
    body = [["SET", "secret", "x"], ["FLUSHALL"]]
    response = call(_on(shared, tenant_b), body, path="/pipeline")
    assert response.status_code in (401, 403)
    assert call(tenant_b, ["GET", "secret"]).json() == {"result": "b-data"}


def test_other_tenant_path_style_is_denied(
    shared: Instance, tenant_b: Instance
) -> None:
    response = httpx.get(f"{tenant_b.url}/set/secret/x?_token={shared.token}")
    assert response.status_code in (401, 403)
    assert call(tenant_b, ["GET", "secret"]).json() == {"result": "b-data"}


def test_same_tenant_other_instance_is_denied(
    gateway: Gateway, fresh: Instance
) -> None:
    other = gateway.create_instance(fresh.tenant, "second")
    call(other, ["SET", "secret", "second-data"])
    response = call(_on(fresh, other), ["SET", "secret", "x"])
    assert response.status_code in (401, 403)
    assert call(other, ["GET", "secret"]).json() == {"result": "second-data"}


def test_instances_do_not_share_keys(gateway: Gateway, fresh: Instance) -> None:
    other = gateway.create_instance(fresh.tenant, "second")
    call(fresh, ["SET", "same-name", "first"])
    assert call(other, ["GET", "same-name"]).json() == {"result": None}


def test_unknown_tenant_path_is_denied(shared: Instance) -> None:
    url = shared.url.replace(f"/{shared.tenant}/", "/no-such-tenant/")
    response = httpx.post(
        url, json=["PING"], headers={"Authorization": f"Bearer {shared.token}"}
    )
    assert response.status_code in (401, 403, 404)
    assert set(response.json()) == {"error"}
