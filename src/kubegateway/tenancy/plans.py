"""Plans: named quota presets, and each tenant's effective quota.

A tenant names a plan and may carry overrides for single quota fields. The
effective quota is the plan's values with the overrides on top, so a change to
a plan reaches every tenant on it. ``PlanCatalog`` reloads its YAML file when
the file's modification time changes, so edits apply without a restart.

The file maps plan names to quota fields in Kubernetes quantities::

    plans:
      free:
        max_instances: 1
        memory: 64Mi
        ...
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from kubegateway.errors import InvalidInput, NotFound
from kubegateway.quantities import parse_bytes, parse_millicores, parse_quantity
from kubegateway.tenancy.models import Quota

# The unit of each quota field, which decides how its written form is parsed.
_BYTE_FIELDS = frozenset({"memory", "storage", "max_request_size"})
_CPU_FIELDS = frozenset({"cpu"})
_COUNT_FIELDS = frozenset({"max_instances", "requests_per_minute", "max_connections"})

BUILTIN_PLANS: dict[str, dict[str, object]] = {
    "free": {
        "max_instances": 1,
        "memory": "64Mi",
        "cpu": "250m",
        "storage": "256Mi",
        "requests_per_minute": 6000,
        "max_connections": 20,
        "max_request_size": "1Mi",
    },
    "standard": {
        "max_instances": 5,
        "memory": "1Gi",
        "cpu": "2",
        "storage": "4Gi",
        "requests_per_minute": 60000,
        "max_connections": 200,
        "max_request_size": "10Mi",
    },
    "pro": {
        "max_instances": 20,
        "memory": "8Gi",
        "cpu": "8",
        "storage": "32Gi",
        "requests_per_minute": 0,
        "max_connections": 1000,
        "max_request_size": "50Mi",
    },
}
DEFAULT_PLAN = "standard"
RELOAD_INTERVAL_SECONDS = 1.0


def parse_quota_field(name: str, value: object) -> int:
    """Parse one quota field from its written form (``256Mi``, ``500m``, ``10``)."""
    field = f"quota.{name}"
    if name in _BYTE_FIELDS:
        return parse_bytes(value, field)
    if name in _CPU_FIELDS:
        return parse_millicores(value, field)
    if name in _COUNT_FIELDS:
        if isinstance(value, bool):
            raise InvalidInput(f"{field} must be a whole number", field=field)
        number = parse_quantity(value, field)
        if number != int(number):
            raise InvalidInput(f"{field} must be a whole number", field=field)
        return int(number)
    known = ", ".join(Quota.field_names())
    raise InvalidInput(
        f"unknown quota field {name!r}; known fields: {known}", field=field
    )


def parse_quota_fields(values: dict[str, object]) -> dict[str, int]:
    return {name: parse_quota_field(name, value) for name, value in values.items()}


def _parse_plan(name: str, values: object) -> Quota:
    if not isinstance(values, dict):
        raise InvalidInput(f"plan {name!r} must be a mapping of quota fields")
    parsed = parse_quota_fields(values)
    missing = [f for f in Quota.field_names() if f not in parsed]
    if missing:
        raise InvalidInput(f"plan {name!r} misses quota fields: {', '.join(missing)}")
    return Quota(**parsed)


@dataclass(frozen=True, slots=True)
class EffectiveValue:
    value: int
    source: str


class PlanCatalog:
    """Plans from the built-in presets, replaced by a YAML file when given."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._checked = 0.0
        self._plans = {name: _parse_plan(name, v) for name, v in BUILTIN_PLANS.items()}
        self._reload(force=True)

    def _reload(self, force: bool = False) -> None:
        if self._path is None:
            return
        now = time.monotonic()
        if not force and now - self._checked < RELOAD_INTERVAL_SECONDS:
            return
        self._checked = now
        try:
            mtime = os.stat(self._path).st_mtime
        except FileNotFoundError as error:
            raise InvalidInput(f"plans file {self._path} does not exist") from error
        if mtime == self._mtime:
            return
        document = yaml.safe_load(self._path.read_text()) or {}
        plans = document.get("plans") if isinstance(document, dict) else None
        if not isinstance(plans, dict) or not plans:
            raise InvalidInput(
                f"plans file {self._path} must hold a non-empty 'plans' mapping"
            )
        self._plans = {
            str(name): _parse_plan(str(name), v) for name, v in plans.items()
        }
        self._mtime = mtime

    def version(self) -> float | None:
        """Return the modification time of the loaded plans file, if any."""
        with self._lock:
            self._reload()
            return self._mtime

    def names(self) -> list[str]:
        with self._lock:
            self._reload()
            return sorted(self._plans)

    def get(self, name: str) -> Quota:
        with self._lock:
            self._reload()
            plan = self._plans.get(name)
        if plan is None:
            raise NotFound(
                f"plan {name!r} does not exist; known plans: {', '.join(self.names())}"
            )
        return plan

    def check(self, name: str) -> None:
        """Raise InvalidInput naming the field when ``name`` is not a plan."""
        if name not in self.names():
            raise InvalidInput(
                f"plan {name!r} does not exist; known plans: {', '.join(self.names())}",
                field="plan",
            )

    def effective(self, plan: str, overrides: dict[str, int]) -> Quota:
        base = self.get(plan)
        values = {name: getattr(base, name) for name in Quota.field_names()}
        values.update(overrides)
        return Quota(**values)

    def explain(
        self, plan: str, overrides: dict[str, int]
    ) -> dict[str, EffectiveValue]:
        """Return each effective quota field with where it comes from."""
        base = self.get(plan)
        result: dict[str, EffectiveValue] = {}
        for name in Quota.field_names():
            if name in overrides:
                result[name] = EffectiveValue(overrides[name], "override")
            else:
                result[name] = EffectiveValue(getattr(base, name), f"plan:{plan}")
        return result
