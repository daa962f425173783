"""Status conditions in the shape of ``metav1.Condition``.

``lastTransitionTime`` changes only when a condition's status changes, so
``kubectl describe`` shows how long a tenant has been Ready or not.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Condition:
    type: str
    status: bool
    reason: str
    message: str


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def merge_conditions(
    previous: Iterable[Mapping[str, Any]] | None,
    current: Iterable[Condition],
    generation: int | None,
) -> list[dict[str, Any]]:
    """Return the new condition list, keeping transition times that still hold."""
    before = {str(item.get("type")): item for item in previous or []}
    merged: list[dict[str, Any]] = []
    for condition in current:
        status = "True" if condition.status else "False"
        old = before.get(condition.type)
        changed = old is None or old.get("status") != status
        item: dict[str, Any] = {
            "type": condition.type,
            "status": status,
            "reason": condition.reason,
            "message": condition.message,
            "lastTransitionTime": _transition_time(old, changed),
        }
        if generation is not None:
            item["observedGeneration"] = generation
        merged.append(item)
    return merged


def _transition_time(old: Mapping[str, Any] | None, changed: bool) -> str:
    if changed or old is None:
        return _now()
    return str(old.get("lastTransitionTime") or _now())
