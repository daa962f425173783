"""Tokens made or revoked through the admin API take effect on the data path.

A worker's admin API and its data-path directory once shared one SQLite
connection, and ``PRAGMA data_version`` changes only when another connection
commits, so the data path missed token changes made by its own worker. These
tests pin that down: each makes a data-path request first, so the directory
is loaded before the change.
"""

from __future__ import annotations

import time

from tests.conftest import call
from tests.gateway_process import Gateway, Instance

# Longer than the directory's refresh interval (0.05 s) with a margin.
_SETTLE_SECONDS = 0.3


def _status_after_settle(instance: Instance) -> int:
    time.sleep(_SETTLE_SECONDS)
    return call(instance, ["PING"]).status_code


def test_revoked_token_is_401(gateway: Gateway, fresh: Instance) -> None:
    assert call(fresh, ["PING"]).status_code == 200
    with gateway.admin() as admin:
        response = admin.delete(f"/v1/tenants/{fresh.tenant}/tokens/{fresh.token_id}")
        assert response.status_code == 200, response.text
    assert _status_after_settle(fresh) == 401


def test_revoked_token_error_is_json(gateway: Gateway, fresh: Instance) -> None:
    call(fresh, ["PING"])
    with gateway.admin() as admin:
        admin.delete(f"/v1/tenants/{fresh.tenant}/tokens/{fresh.token_id}")
    time.sleep(_SETTLE_SECONDS)
    assert set(call(fresh, ["PING"]).json()) == {"error"}


def test_other_token_survives_revocation(gateway: Gateway, fresh: Instance) -> None:
    second = gateway.new_token(fresh.tenant, fresh.instance)
    with gateway.admin() as admin:
        admin.delete(f"/v1/tenants/{fresh.tenant}/tokens/{fresh.token_id}")
    assert _status_after_settle(second) == 200


def test_token_created_after_traffic_works(gateway: Gateway, fresh: Instance) -> None:
    assert call(fresh, ["PING"]).status_code == 200
    second = gateway.new_token(fresh.tenant, fresh.instance)
    assert _status_after_settle(second) == 200
