"""A fixture that onboards Tenants through the operator and removes them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from lightkube import Client

from kubegateway.backends.kubernetes.resources import Tenant
from tests.kube.support import (
    OperatorProcess,
    apply_manifests,
    is_not_found,
    wait_until,
)

TenantFactory = Callable[..., str]


def tenant_manifest(name: str, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "displayName": f"Test tenant {name}",
        "quota": {"instances": 2, "memory": "512Mi", "cpu": "1", "storage": "2Gi"},
    }
    body.update(spec)
    return {
        "apiVersion": "redis.kubegateway.io/v1alpha1",
        "kind": "Tenant",
        "metadata": {"name": name},
        "spec": body,
    }


def tenant_status(client: Client, name: str) -> dict[str, Any]:
    status: dict[str, Any] = client.get(Tenant, name).to_dict().get("status") or {}
    return status


def wait_ready(client: Client, operator: OperatorProcess, name: str) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        status = tenant_status(client, name)
        for condition in status.get("conditions") or []:
            if condition["type"] == "Ready" and condition["status"] == "True":
                return status
        return None

    try:
        result: dict[str, Any] = wait_until(ready, f"tenant {name} to be Ready")
    except AssertionError as error:
        raise AssertionError(f"{error}\noperator log:\n{operator.log_tail()}") from None
    return result


def delete_tenant(client: Client, name: str) -> None:
    if not is_not_found(lambda: client.get(Tenant, name)):
        client.delete(Tenant, name)
    wait_until(
        lambda: is_not_found(lambda: client.get(Tenant, name)),
        f"tenant {name} to be gone",
    )


@pytest.fixture
def make_tenant(
    kube_client: Client, operator: OperatorProcess
) -> Iterator[TenantFactory]:
    """Create a Tenant, wait until it is Ready and delete it after the test."""
    created: list[str] = []

    def make(prefix: str = "t", name: str | None = None, **spec: Any) -> str:
        name = name or f"{prefix}-{uuid.uuid4().hex[:6]}"
        apply_manifests(kube_client, [tenant_manifest(name, **spec)])
        created.append(name)
        wait_ready(kube_client, operator, name)
        return name

    yield make
    for name in created:
        delete_tenant(kube_client, name)


@pytest.fixture(scope="session")
def tenant_pair(
    kube_client: Client, operator: OperatorProcess
) -> Iterator[tuple[str, str]]:
    """Tenants ``a`` (owned by group tenant-a-owners) and ``b`` (tenant-b-owners)."""
    names = ("a", "b")
    for name in names:
        manifest = tenant_manifest(name, owners={"groups": [f"tenant-{name}-owners"]})
        apply_manifests(kube_client, [manifest])
    for name in names:
        wait_ready(kube_client, operator, name)
    yield names
    for name in names:
        delete_tenant(kube_client, name)
