"""Admin API JWTs: the algorithms, keys and claims that are accepted or rejected."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from tests.gateway_process import Gateway
from tests.jwt_keys import JwtKeys


def status(gateway: Gateway, token: str) -> int:
    response = httpx.get(
        f"{gateway.url}/v1/tenants", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.headers["content-type"] == "application/json"
    return response.status_code


def test_hs256_platform_admin_accepted(gateway: Gateway, jwt_keys: JwtKeys) -> None:
    assert status(gateway, jwt_keys.hs256(permissions=["tenant:read"])) == 200


def test_rs256_from_jwks_accepted(gateway: Gateway, jwt_keys: JwtKeys) -> None:
    assert status(gateway, jwt_keys.rs256(role="platform-admin")) == 200


def test_es256_from_jwks_accepted(gateway: Gateway, jwt_keys: JwtKeys) -> None:
    assert status(gateway, jwt_keys.es256(role="platform-admin")) == 200


def test_alg_none_rejected(gateway: Gateway, jwt_keys: JwtKeys) -> None:
    def part(value: object) -> str:
        raw = json.dumps(value).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    header = part({"alg": "none", "typ": "JWT"})
    token = f"{header}.{part(jwt_keys.claims(role='platform-admin'))}."
    assert status(gateway, token) == 401


def hmac_signed(header: dict[str, str], claims: dict[str, object], key: bytes) -> str:
    """Sign a JWT by hand with HMAC-SHA256, whatever the header claims."""

    def part(raw: bytes) -> bytes:
        return base64.urlsafe_b64encode(raw).rstrip(b"=")

    signing_input = (
        part(json.dumps(header).encode()) + b"." + part(json.dumps(claims).encode())
    )
    signature = hmac.new(key, signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + part(signature)).decode()


def test_hs256_signed_with_rsa_public_key_rejected(
    gateway: Gateway, jwt_keys: JwtKeys
) -> None:
    public_pem = jwt_keys.rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = hmac_signed(
        {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"},
        jwt_keys.claims(role="platform-admin"),
        public_pem,
    )
    assert status(gateway, token) == 401


def test_rs256_header_on_hmac_signature_rejected(
    gateway: Gateway, jwt_keys: JwtKeys
) -> None:
    token = hmac_signed(
        {"alg": "RS256", "typ": "JWT", "kid": "rsa-1"},
        jwt_keys.claims(role="platform-admin"),
        jwt_keys.hs256_secret.encode(),
    )
    assert status(gateway, token) == 401


def test_expired_token_rejected(gateway: Gateway, jwt_keys: JwtKeys) -> None:
    now = int(time.time())
    assert status(gateway, jwt_keys.hs256(role="platform-admin", exp=now - 120)) == 401


def test_not_yet_valid_token_rejected(gateway: Gateway, jwt_keys: JwtKeys) -> None:
    now = int(time.time())
    assert status(gateway, jwt_keys.hs256(role="platform-admin", nbf=now + 600)) == 401


def test_wrong_audience_rejected(gateway: Gateway, jwt_keys: JwtKeys) -> None:
    assert status(gateway, jwt_keys.hs256(role="platform-admin", aud="other")) == 401


def test_wrong_issuer_rejected(gateway: Gateway, jwt_keys: JwtKeys) -> None:
    assert status(gateway, jwt_keys.hs256(role="platform-admin", iss="evil")) == 401


def test_missing_exp_rejected(gateway: Gateway, jwt_keys: JwtKeys) -> None:
    claims = jwt_keys.claims(role="platform-admin", exp=None)
    token = jwt.encode(claims, jwt_keys.hs256_secret, algorithm="HS256")
    assert status(gateway, token) == 401


def test_unknown_kid_rejected(gateway: Gateway, jwt_keys: JwtKeys) -> None:
    token = jwt.encode(
        jwt_keys.claims(role="platform-admin"),
        jwt_keys.rsa_key,
        algorithm="RS256",
        headers={"kid": "missing"},
    )
    assert status(gateway, token) == 401


def test_token_without_grants_rejected(gateway: Gateway, jwt_keys: JwtKeys) -> None:
    assert status(gateway, jwt_keys.hs256()) == 401


def test_permission_claim_limits_platform_caller(
    gateway: Gateway, jwt_keys: JwtKeys
) -> None:
    token = jwt_keys.hs256(permissions=["tenant:read"])
    response = httpx.post(
        f"{gateway.url}/v1/tenants",
        json={"id": "by-reader"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403
    assert "tenant:create" in response.json()["error"]


@pytest.fixture
def jwks_server(jwt_keys: JwtKeys) -> Iterator[str]:
    """Serve the JWKS file over HTTP on a loopback port."""
    directory = jwt_keys.jwks_file.parent
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{jwt_keys.jwks_file.name}"
    server.shutdown()


def test_jwks_url_keys_accepted(
    tmp_path: Path, jwt_keys: JwtKeys, jwks_server: str
) -> None:
    server = Gateway(tmp_path / "data", extra_args=["--jwt-jwks-url", jwks_server])
    server.start()
    try:
        assert status(server, jwt_keys.rs256(role="platform-admin")) == 200
        assert status(server, jwt_keys.es256(role="platform-admin")) == 200
        assert status(server, jwt_keys.hs256(role="platform-admin")) == 401
    finally:
        server.stop()


def test_openapi_spec_lists_admin_routes(gateway: Gateway) -> None:
    spec = httpx.get(f"{gateway.url}/openapi.json").json()
    assert "/v1/tenants" in spec["paths"]
    assert "/v1/tenants/{tenant}/instances/{instance}/tokens" in spec["paths"]
    assert "post" in spec["paths"]["/v1/tenants"]
