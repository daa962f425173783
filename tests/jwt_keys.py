"""Signing keys for admin API JWT tests, written to files the gateway reads."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

AUDIENCE = "kubegateway"
ISSUER = "kubegateway"


@dataclass(frozen=True)
class JwtKeys:
    hs256_secret: str
    secret_file: Path
    jwks_file: Path
    rsa_key: rsa.RSAPrivateKey
    ec_key: ec.EllipticCurvePrivateKey

    @classmethod
    def generate(cls, directory: Path) -> JwtKeys:
        secret = secrets.token_hex(32)
        secret_file = directory / "hs256.secret"
        secret_file.write_text(secret)
        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ec_key = ec.generate_private_key(ec.SECP256R1())
        rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
        ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key()))
        rsa_jwk.update(kid="rsa-1", use="sig", alg="RS256")
        ec_jwk.update(kid="ec-1", use="sig", alg="ES256")
        jwks_file = directory / "jwks.json"
        jwks_file.write_text(json.dumps({"keys": [rsa_jwk, ec_jwk]}))
        return cls(secret, secret_file, jwks_file, rsa_key, ec_key)

    def gateway_args(self) -> list[str]:
        return [
            "--jwt-hs256-secret-file",
            str(self.secret_file),
            "--jwt-jwks-file",
            str(self.jwks_file),
        ]

    def claims(self, **overrides: object) -> dict[str, object]:
        now = int(time.time())
        claims: dict[str, object] = {
            "sub": "tester",
            "aud": AUDIENCE,
            "iss": ISSUER,
            "iat": now,
            "exp": now + 300,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def hs256(self, **claims: object) -> str:
        return jwt.encode(self.claims(**claims), self.hs256_secret, algorithm="HS256")

    def rs256(self, **claims: object) -> str:
        return jwt.encode(
            self.claims(**claims),
            self.rsa_key,
            algorithm="RS256",
            headers={"kid": "rsa-1"},
        )

    def es256(self, **claims: object) -> str:
        return jwt.encode(
            self.claims(**claims),
            self.ec_key,
            algorithm="ES256",
            headers={"kid": "ec-1"},
        )
