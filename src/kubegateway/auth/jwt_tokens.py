"""JWT bearer tokens for the admin API, verified with PyJWT.

Keys come from an HS256 secret file, a JWKS (file or URL) for RS256/ES256,
or both. The token header only picks the key source; the accepted algorithm
then follows from the key's own type, so ``alg: none`` is rejected, and an
HS256 token signed with an RSA public key as its secret (algorithm
confusion) is checked against the HS256 secret and fails.
``exp`` is required; ``nbf``, ``aud`` and ``iss`` are checked by PyJWT.

Claims: ``sub`` (who), ``tenant`` (for tenant roles), ``role`` (a role name)
or ``permissions`` (a list such as ``["tenant:create"]``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import jwt

from kubegateway.auth.principals import (
    GLOBAL_PERMISSIONS,
    KNOWN_PERMISSIONS,
    ROLE_PERMISSIONS,
    Principal,
    for_role,
)
from kubegateway.errors import InvalidInput, Unauthenticated
from kubegateway.ids import parse_tenant_id
from kubegateway.tenancy.models import Role

LEEWAY_SECONDS = 30


@dataclass(frozen=True, slots=True)
class JwtSettings:
    audience: str
    issuer: str
    hs256_secret_file: Path | None = None
    jwks_file: Path | None = None
    jwks_url: str | None = None


class JwtVerifier:
    def __init__(self, settings: JwtSettings) -> None:
        self._settings = settings
        self._secret: bytes | None = None
        self._jwks: jwt.PyJWKSet | None = None
        self._client: jwt.PyJWKClient | None = None
        if settings.hs256_secret_file is not None:
            self._secret = settings.hs256_secret_file.read_bytes().strip()
            if len(self._secret) < 32:
                raise InvalidInput(
                    f"the HS256 secret in {settings.hs256_secret_file} is shorter "
                    "than 32 bytes; generate one with `openssl rand -hex 32`"
                )
        if settings.jwks_file is not None:
            document = json.loads(settings.jwks_file.read_text())
            self._jwks = jwt.PyJWKSet.from_dict(document)
        elif settings.jwks_url is not None:
            self._client = jwt.PyJWKClient(settings.jwks_url, cache_keys=True)
        if self._secret is None and self._jwks is None and self._client is None:
            raise InvalidInput(
                "JWT needs an HS256 secret file, a JWKS file or a JWKS URL"
            )

    def _key(self, token: str) -> tuple[object, list[str]]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise Unauthenticated(f"the JWT is malformed: {error}") from error
        if header.get("alg") == "HS256":
            if self._secret is None:
                raise Unauthenticated("HS256 JWTs are not enabled on this server")
            return self._secret, ["HS256"]
        if self._jwks is None and self._client is None:
            raise Unauthenticated("only HS256 JWTs are enabled on this server")
        kid = header.get("kid")
        if self._client is not None:
            try:
                signing = self._client.get_signing_key_from_jwt(token)
            except jwt.PyJWTError as error:
                raise Unauthenticated(
                    f"no JWKS key matches the JWT: {error}"
                ) from error
            return signing.key, _algorithms_for(signing.key_type or "")
        assert self._jwks is not None
        for key in self._jwks.keys:
            if kid is None or key.key_id == kid:
                return key.key, _algorithms_for(key.key_type or "")
        raise Unauthenticated(f"no JWKS key has the key id {kid!r}")

    def verify(self, token: str) -> Principal:
        key, algorithms = self._key(token)
        try:
            claims = jwt.decode(
                token,
                key=key,  # type: ignore[arg-type]
                algorithms=algorithms,
                audience=self._settings.audience,
                issuer=self._settings.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "sub"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise Unauthenticated("the JWT has expired") from error
        except jwt.PyJWTError as error:
            raise Unauthenticated(f"the JWT is invalid: {error}") from error
        return principal_from_claims(claims)


def _algorithms_for(key_type: str) -> list[str]:
    if key_type == "RSA":
        return ["RS256"]
    if key_type == "EC":
        return ["ES256"]
    raise Unauthenticated(f"JWKS keys of type {key_type!r} are not supported")


def principal_from_claims(claims: dict[str, object]) -> Principal:
    subject = str(claims["sub"])
    tenant_claim = claims.get("tenant")
    try:
        tenant = parse_tenant_id(tenant_claim) if tenant_claim is not None else None
    except InvalidInput as error:
        raise Unauthenticated(
            "the JWT's tenant claim is not a valid tenant id"
        ) from error
    role = claims.get("role")
    if role is not None:
        try:
            parsed = Role(str(role))
        except ValueError as error:
            raise Unauthenticated(f"the JWT's role {role!r} is unknown") from error
        if parsed != Role.PLATFORM_ADMIN and tenant is None:
            raise Unauthenticated("a tenant role in a JWT needs a tenant claim")
        return for_role(subject, parsed, tenant)
    permissions = claims.get("permissions", [])
    if not isinstance(permissions, list):
        raise Unauthenticated("the JWT's permissions claim must be a list")
    granted = frozenset(str(p) for p in permissions) & KNOWN_PERMISSIONS
    if tenant is not None:
        # Global permissions never come with a tenant binding.
        granted -= GLOBAL_PERMISSIONS - {"tenant:read"}
        return Principal(subject, tenant, granted)
    if granted & GLOBAL_PERMISSIONS:
        # A platform caller reads and manages inside tenants as an admin does.
        return Principal(subject, None, granted | ROLE_PERMISSIONS[Role.TENANT_READER])
    raise Unauthenticated("the JWT grants no permissions: add a tenant or a role claim")
