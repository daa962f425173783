"""Admin API input validation: ids, quantities and unknown fields are 422s."""

from __future__ import annotations

import pytest

from tests.gateway_process import Gateway


@pytest.mark.parametrize(
    ("tenant_id", "reason"),
    [
        ("Upper", "DNS-1123"),
        ("-dash", "DNS-1123"),
        ("dash-", "DNS-1123"),
        ("has_underscore", "DNS-1123"),
        ("a" * 57, "maximum is 56"),
        ("", "empty"),
    ],
)
def test_bad_tenant_id_names_field(
    gateway: Gateway, tenant_id: str, reason: str
) -> None:
    with gateway.admin() as client:
        response = client.post("/v1/tenants", json={"id": tenant_id})
    assert response.status_code == 422
    assert response.json()["field"] == "id"
    assert reason in response.json()["error"]


def test_longest_tenant_id_accepted(gateway: Gateway) -> None:
    with gateway.admin() as client:
        response = client.post("/v1/tenants", json={"id": "a" * 56})
    assert response.status_code in (200, 201)
    assert len("tenant-" + "a" * 56) == 63


def test_unknown_field_rejected(gateway: Gateway) -> None:
    with gateway.admin() as client:
        response = client.post(
            "/v1/tenants", json={"id": "unknownfield", "colour": "red"}
        )
    assert response.status_code == 422
    assert response.json()["field"] == "colour"
    assert "unknown field" in response.json()["error"]


def test_unknown_quota_field_rejected(gateway: Gateway) -> None:
    with gateway.admin() as client:
        response = client.post(
            "/v1/tenants", json={"id": "unknownquota", "quota": {"disk": "1Gi"}}
        )
    assert response.status_code == 422
    assert response.json()["field"] == "quota.disk"


@pytest.mark.parametrize("memory", ["lots", "1GB", "-5Mi", "1.5.5Gi", ""])
def test_bad_quantity_rejected(gateway: Gateway, memory: str) -> None:
    with gateway.admin() as client:
        response = client.post(
            "/v1/tenants", json={"id": "badquantity", "quota": {"memory": memory}}
        )
    assert response.status_code == 422
    assert response.json()["field"] == "quota.memory"


def test_quantities_compare_as_numbers(gateway: Gateway) -> None:
    """1Gi is more than 900Mi, although the string "1Gi" sorts before "900Mi"."""
    with gateway.admin() as client:
        client.post(
            "/v1/tenants", json={"id": "numeric", "quota": {"memory": "1Gi"}}
        ).raise_for_status()
        fits = client.post(
            "/v1/tenants/numeric/instances", json={"id": "big", "memory": "900Mi"}
        )
        assert fits.status_code == 201, fits.text
        too_much = client.post(
            "/v1/tenants/numeric/instances", json={"id": "more", "memory": "200Mi"}
        )
    assert too_much.status_code == 403
    assert too_much.json()["limit"] == "memory"


def test_bad_instance_id_names_field(gateway: Gateway) -> None:
    with gateway.admin() as client:
        client.post("/v1/tenants", json={"id": "instids"}).raise_for_status()
        response = client.post("/v1/tenants/instids/instances", json={"id": "Bad.Name"})
    assert response.status_code == 422
    assert response.json()["field"] == "id"


def test_bad_tenant_in_path_is_422(gateway: Gateway) -> None:
    with gateway.admin() as client:
        response = client.get("/v1/tenants/NOT_A_LABEL")
    assert response.status_code == 422
    assert response.json()["field"] == "tenant"


def test_malformed_json_is_422(gateway: Gateway) -> None:
    with gateway.admin() as client:
        response = client.post(
            "/v1/tenants",
            content=b"{not json",
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 422
    assert "error" in response.json()


def test_unknown_plan_rejected(gateway: Gateway) -> None:
    with gateway.admin() as client:
        response = client.post("/v1/tenants", json={"id": "noplan", "plan": "gold"})
    assert response.status_code == 422
    assert response.json()["field"] == "plan"


def test_unknown_route_is_json_404(gateway: Gateway) -> None:
    with gateway.admin() as client:
        response = client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert "error" in response.json()


def test_metrics_need_a_platform_credential(gateway: Gateway) -> None:
    import httpx

    assert httpx.get(f"{gateway.url}/metrics").status_code == 401
    target = gateway.create_instance("scraper", "db", memory="8Mi")
    with gateway.admin() as client:
        key = client.post(
            f"/v1/tenants/{target.tenant}/api-keys", json={"role": "tenant-admin"}
        ).json()["key"]
    with gateway.admin(key) as client:
        assert client.get("/metrics").status_code == 403
    with gateway.admin() as client:
        assert client.get("/metrics").status_code == 200


def test_admin_responses_carry_request_id(gateway: Gateway) -> None:
    with gateway.admin() as client:
        given = client.get("/v1/tenants", headers={"x-request-id": "trace-42"})
        made = client.get("/v1/tenants")
    assert given.headers["x-request-id"] == "trace-42"
    assert len(made.headers["x-request-id"]) == 32
