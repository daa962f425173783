"""Tenant, instance and token state in one SQLite file (the embedded default).

SQLite runs in WAL mode, so the gateway workers read while the admin API and
the supervisor write, each process with its own connection. Changes made by
another process are noticed through ``PRAGMA data_version``, which is how the
gateway's token cache stays fresh without a query per token.

This module stores only hashes of token secrets, never the secrets.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kubegateway.errors import Conflict, NotFound
from kubegateway.ids import InstanceId, TenantId, TokenId
from kubegateway.tenancy.models import (
    Access,
    ApiKey,
    AuditEntry,
    Instance,
    InstancePhase,
    Role,
    Tenant,
    TenantPhase,
    Token,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tenants (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    plan TEXT NOT NULL,
    overrides TEXT NOT NULL,
    phase TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS instances (
    tenant TEXT NOT NULL REFERENCES tenants(id),
    id TEXT NOT NULL,
    memory INTEGER NOT NULL,
    phase TEXT NOT NULL,
    reason TEXT NOT NULL,
    port INTEGER NOT NULL,
    passwords TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    instance TEXT NOT NULL,
    access TEXT NOT NULL,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at REAL NOT NULL,
    revoked_at REAL
);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    tenant TEXT,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at REAL NOT NULL,
    revoked_at REAL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    actor TEXT NOT NULL,
    tenant TEXT,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    result TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_tenant ON audit(tenant, id);
"""


def _tenant(row: sqlite3.Row) -> Tenant:
    return Tenant(
        id=TenantId(row["id"]),
        display_name=row["display_name"],
        plan=row["plan"],
        overrides=json.loads(row["overrides"]),
        phase=TenantPhase(row["phase"]),
        reason=row["reason"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _instance(row: sqlite3.Row) -> Instance:
    return Instance(
        tenant=TenantId(row["tenant"]),
        id=InstanceId(row["id"]),
        memory=row["memory"],
        phase=InstancePhase(row["phase"]),
        reason=row["reason"],
        port=row["port"],
        created_at=row["created_at"],
    )


def _token(row: sqlite3.Row) -> Token:
    return Token(
        id=TokenId(row["id"]),
        tenant=TenantId(row["tenant"]),
        instance=InstanceId(row["instance"]),
        access=Access(row["access"]),
        name=row["name"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


def _api_key(row: sqlite3.Row) -> ApiKey:
    return ApiKey(
        id=TokenId(row["id"]),
        role=Role(row["role"]),
        tenant=TenantId(row["tenant"]) if row["tenant"] else None,
        name=row["name"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


class SqliteStore:
    """All durable state of the embedded default, behind one lock per process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            path, timeout=10.0, isolation_level=None, check_same_thread=False
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        with self._transaction():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, *args: object) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def data_version(self) -> int:
        """Return a number that changes whenever another connection commits."""
        with self._lock:
            row = self._db.execute("PRAGMA data_version").fetchone()
            return int(row[0])

    # Tenants

    def create_tenant(
        self, tenant: TenantId, display_name: str, plan: str, overrides: dict[str, int]
    ) -> tuple[Tenant, bool]:
        """Create a tenant, or return the existing one if it has the same spec.

        Returns the tenant and whether it was created now. A tenant with the
        same id but another spec raises Conflict, so a retried create is safe.
        """
        now = time.time()
        with self._transaction() as db:
            row = db.execute("SELECT * FROM tenants WHERE id=?", (tenant,)).fetchone()
            if row is not None:
                existing = _tenant(row)
                same = (
                    existing.display_name == display_name
                    and existing.plan == plan
                    and existing.overrides == overrides
                    and existing.phase != TenantPhase.TERMINATING
                )
                if not same:
                    raise Conflict(
                        f"tenant {tenant!r} already exists with another spec "
                        f"(phase {existing.phase})"
                    )
                return existing, False
            db.execute(
                "INSERT INTO tenants VALUES (?,?,?,?,?,?,?,?)",
                (
                    tenant,
                    display_name,
                    plan,
                    json.dumps(overrides),
                    TenantPhase.ACTIVE,
                    "Created",
                    now,
                    now,
                ),
            )
            created = db.execute(
                "SELECT * FROM tenants WHERE id=?", (tenant,)
            ).fetchone()
            return _tenant(created), True

    def get_tenant(self, tenant: TenantId) -> Tenant:
        rows = self._query("SELECT * FROM tenants WHERE id=?", tenant)
        if not rows:
            raise NotFound(f"tenant {tenant!r} does not exist")
        return _tenant(rows[0])

    def list_tenants(self) -> list[Tenant]:
        return [
            _tenant(row) for row in self._query("SELECT * FROM tenants ORDER BY id")
        ]

    def update_tenant(
        self,
        tenant: TenantId,
        *,
        display_name: str | None = None,
        plan: str | None = None,
        overrides: dict[str, int] | None = None,
        phase: TenantPhase | None = None,
        reason: str | None = None,
    ) -> Tenant:
        with self._transaction() as db:
            row = db.execute("SELECT * FROM tenants WHERE id=?", (tenant,)).fetchone()
            if row is None:
                raise NotFound(f"tenant {tenant!r} does not exist")
            current = _tenant(row)
            db.execute(
                "UPDATE tenants SET display_name=?, plan=?, overrides=?, phase=?, "
                "reason=?, updated_at=? WHERE id=?",
                (
                    display_name if display_name is not None else current.display_name,
                    plan if plan is not None else current.plan,
                    json.dumps(
                        overrides if overrides is not None else current.overrides
                    ),
                    phase if phase is not None else current.phase,
                    reason if reason is not None else current.reason,
                    time.time(),
                    tenant,
                ),
            )
            updated = db.execute(
                "SELECT * FROM tenants WHERE id=?", (tenant,)
            ).fetchone()
            return _tenant(updated)

    def purge_tenant(self, tenant: TenantId) -> None:
        """Delete the tenant row with its tokens and keys; instances must be gone."""
        with self._transaction() as db:
            left = db.execute(
                "SELECT COUNT(*) FROM instances WHERE tenant=?", (tenant,)
            ).fetchone()[0]
            if left:
                raise Conflict(f"tenant {tenant!r} still has {left} instances")
            db.execute("DELETE FROM tokens WHERE tenant=?", (tenant,))
            db.execute("DELETE FROM api_keys WHERE tenant=?", (tenant,))
            db.execute("DELETE FROM tenants WHERE id=?", (tenant,))

    # Instances

    def create_instance(
        self,
        tenant: TenantId,
        instance: InstanceId,
        memory: int,
        passwords: dict[str, str],
    ) -> tuple[Instance, bool]:
        """Insert an instance in phase Pending, or return the same existing one."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT * FROM instances WHERE tenant=? AND id=?", (tenant, instance)
            ).fetchone()
            if row is not None:
                existing = _instance(row)
                if (
                    existing.memory != memory
                    or existing.phase == InstancePhase.TERMINATING
                ):
                    raise Conflict(
                        f"instance {instance!r} already exists with another spec "
                        f"(phase {existing.phase})"
                    )
                return existing, False
            db.execute(
                "INSERT INTO instances VALUES (?,?,?,?,?,?,?,?)",
                (
                    tenant,
                    instance,
                    memory,
                    InstancePhase.PENDING,
                    "Created",
                    0,
                    json.dumps(passwords),
                    time.time(),
                ),
            )
            created = db.execute(
                "SELECT * FROM instances WHERE tenant=? AND id=?", (tenant, instance)
            ).fetchone()
            return _instance(created), True

    def get_instance(self, tenant: TenantId, instance: InstanceId) -> Instance:
        rows = self._query(
            "SELECT * FROM instances WHERE tenant=? AND id=?", tenant, instance
        )
        if not rows:
            raise NotFound(f"instance {instance!r} of tenant {tenant!r} does not exist")
        return _instance(rows[0])

    def list_instances(self, tenant: TenantId | None = None) -> list[Instance]:
        if tenant is None:
            rows = self._query("SELECT * FROM instances ORDER BY tenant, id")
        else:
            rows = self._query(
                "SELECT * FROM instances WHERE tenant=? ORDER BY id", tenant
            )
        return [_instance(row) for row in rows]

    def instance_passwords(
        self, tenant: TenantId, instance: InstanceId
    ) -> dict[str, str]:
        rows = self._query(
            "SELECT passwords FROM instances WHERE tenant=? AND id=?", tenant, instance
        )
        if not rows:
            raise NotFound(f"instance {instance!r} of tenant {tenant!r} does not exist")
        passwords: dict[str, str] = json.loads(rows[0][0])
        return passwords

    def set_instance_state(
        self,
        tenant: TenantId,
        instance: InstanceId,
        phase: InstancePhase,
        reason: str,
        port: int | None = None,
    ) -> None:
        with self._transaction() as db:
            if port is None:
                db.execute(
                    "UPDATE instances SET phase=?, reason=? WHERE tenant=? AND id=?",
                    (phase, reason, tenant, instance),
                )
            else:
                db.execute(
                    "UPDATE instances SET phase=?, reason=?, port=? "
                    "WHERE tenant=? AND id=?",
                    (phase, reason, port, tenant, instance),
                )

    def delete_instance_row(self, tenant: TenantId, instance: InstanceId) -> None:
        with self._transaction() as db:
            db.execute(
                "DELETE FROM tokens WHERE tenant=? AND instance=?", (tenant, instance)
            )
            db.execute(
                "DELETE FROM instances WHERE tenant=? AND id=?", (tenant, instance)
            )

    # Data-path tokens

    def add_token(
        self,
        token_id: TokenId,
        tenant: TenantId,
        instance: InstanceId,
        access: Access,
        name: str,
        secret_hash: str,
    ) -> Token:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO tokens VALUES (?,?,?,?,?,?,?,NULL)",
                (token_id, tenant, instance, access, name, secret_hash, time.time()),
            )
            row = db.execute("SELECT * FROM tokens WHERE id=?", (token_id,)).fetchone()
            return _token(row)

    def list_tokens(
        self, tenant: TenantId, instance: InstanceId | None = None
    ) -> list[Token]:
        if instance is None:
            rows = self._query(
                "SELECT * FROM tokens WHERE tenant=? ORDER BY created_at", tenant
            )
        else:
            rows = self._query(
                "SELECT * FROM tokens WHERE tenant=? AND instance=? "
                "ORDER BY created_at",
                tenant,
                instance,
            )
        return [_token(row) for row in rows]

    def revoke_token(self, tenant: TenantId, token_id: TokenId) -> Token:
        with self._transaction() as db:
            row = db.execute(
                "SELECT * FROM tokens WHERE id=? AND tenant=?", (token_id, tenant)
            ).fetchone()
            if row is None:
                raise NotFound(
                    f"token {token_id!r} of tenant {tenant!r} does not exist"
                )
            if row["revoked_at"] is None:
                db.execute(
                    "UPDATE tokens SET revoked_at=? WHERE id=?", (time.time(), token_id)
                )
            updated = db.execute(
                "SELECT * FROM tokens WHERE id=?", (token_id,)
            ).fetchone()
            return _token(updated)

    def active_token_hashes(self) -> dict[TokenId, tuple[Token, str]]:
        """Return every unrevoked data-path token with its secret hash."""
        rows = self._query("SELECT * FROM tokens WHERE revoked_at IS NULL")
        return {TokenId(row["id"]): (_token(row), row["secret_hash"]) for row in rows}

    # Admin API keys

    def add_api_key(
        self,
        key_id: TokenId,
        role: Role,
        tenant: TenantId | None,
        name: str,
        secret_hash: str,
    ) -> ApiKey:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO api_keys VALUES (?,?,?,?,?,?,NULL)",
                (key_id, role, tenant, name, secret_hash, time.time()),
            )
            row = db.execute("SELECT * FROM api_keys WHERE id=?", (key_id,)).fetchone()
            return _api_key(row)

    def find_api_key(self, key_id: TokenId) -> tuple[ApiKey, str] | None:
        rows = self._query(
            "SELECT * FROM api_keys WHERE id=? AND revoked_at IS NULL", key_id
        )
        if not rows:
            return None
        return _api_key(rows[0]), rows[0]["secret_hash"]

    def list_api_keys(self, tenant: TenantId | None) -> list[ApiKey]:
        if tenant is None:
            rows = self._query("SELECT * FROM api_keys ORDER BY created_at")
        else:
            rows = self._query(
                "SELECT * FROM api_keys WHERE tenant=? ORDER BY created_at", tenant
            )
        return [_api_key(row) for row in rows]

    def revoke_api_key(self, key_id: TokenId) -> None:
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE api_keys SET revoked_at=? WHERE id=? AND revoked_at IS NULL",
                (time.time(), key_id),
            )
            if cursor.rowcount == 0:
                raise NotFound(f"API key {key_id!r} does not exist or is revoked")

    def has_platform_admin(self) -> bool:
        rows = self._query(
            "SELECT 1 FROM api_keys WHERE role=? AND revoked_at IS NULL LIMIT 1",
            Role.PLATFORM_ADMIN,
        )
        return bool(rows)

    # Audit log

    def append_audit(
        self,
        actor: str,
        tenant: TenantId | None,
        action: str,
        target: str,
        result: str,
        detail: str = "",
    ) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO audit "
                "(time, actor, tenant, action, target, result, detail) "
                "VALUES (?,?,?,?,?,?,?)",
                (time.time(), actor, tenant, action, target, result, detail),
            )

    def list_audit(self, tenant: TenantId | None, limit: int = 500) -> list[AuditEntry]:
        if tenant is None:
            rows = self._query("SELECT * FROM audit ORDER BY id DESC LIMIT ?", limit)
        else:
            rows = self._query(
                "SELECT * FROM audit WHERE tenant=? ORDER BY id DESC LIMIT ?",
                tenant,
                limit,
            )
        return [
            AuditEntry(
                id=row["id"],
                time=row["time"],
                actor=row["actor"],
                tenant=TenantId(row["tenant"]) if row["tenant"] else None,
                action=row["action"],
                target=row["target"],
                result=row["result"],
                detail=row["detail"],
            )
            for row in rows
        ]
