"""Turn an admin API bearer credential into a Principal.

Two kinds are accepted: opaque API keys (``kga_<id>_<secret>``, hashed in the
store) and JWTs (three dot-separated parts), the latter only when a JWT key
source is configured. Anything else is rejected with 401.
"""

from __future__ import annotations

from kubegateway.auth import secrets
from kubegateway.auth.jwt_tokens import JwtVerifier
from kubegateway.auth.principals import Principal, for_role
from kubegateway.backends.base import TenantStore
from kubegateway.errors import Unauthenticated


class Authenticator:
    def __init__(self, store: TenantStore, jwt: JwtVerifier | None) -> None:
        self._store = store
        self._jwt = jwt

    def authenticate(self, authorization: str | None) -> Principal:
        if not authorization:
            raise Unauthenticated(
                "missing credential: send 'Authorization: Bearer <API key or JWT>'"
            )
        scheme, _, credential = authorization.partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise Unauthenticated(
                "the Authorization header must be 'Bearer <credential>'"
            )
        if credential.count(".") == 2:
            if self._jwt is None:
                raise Unauthenticated("JWTs are not enabled on this server")
            return self._jwt.verify(credential)
        parts = secrets.split(credential)
        if parts is None or parts.prefix != secrets.ADMIN_PREFIX:
            raise Unauthenticated("the credential is not a valid API key or JWT")
        found = self._store.find_api_key(parts.id)
        if found is None or not secrets.verify(parts.secret, found[1]):
            raise Unauthenticated("the API key is invalid or revoked")
        key = found[0]
        return for_role(f"apikey:{key.id}", key.role, key.tenant)
