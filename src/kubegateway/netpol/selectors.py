"""Kubernetes label selectors (``metav1.LabelSelector``) and their matching.

NetworkPolicy selects pods and namespaces only through label selectors, so this
module follows the API rules exactly. ``matchLabels`` and every
``matchExpressions`` requirement are ANDed, and an empty selector matches every
object. ``NotIn`` and ``DoesNotExist`` match objects that lack the key.
``In``/``NotIn`` need at least one value, while ``Exists``/``DoesNotExist``
take none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from kubegateway.netpol.errors import InvalidManifest


class Operator(StrEnum):
    """Operator of one ``matchExpressions`` requirement."""

    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


@dataclass(frozen=True)
class Requirement:
    """One ``matchExpressions`` entry: ``key`` compared with ``values``."""

    key: str
    operator: Operator
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator is Operator.IN:
            return labels.get(self.key) in self.values
        if self.operator is Operator.NOT_IN:
            return labels.get(self.key) not in self.values
        if self.operator is Operator.EXISTS:
            return self.key in labels
        return self.key not in labels


@dataclass(frozen=True)
class LabelSelector:
    """A parsed ``metav1.LabelSelector``; the empty selector matches everything."""

    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        for key, value in self.match_labels:
            if labels.get(key) != value:
                return False
        return all(
            requirement.matches(labels) for requirement in self.match_expressions
        )

    def is_empty(self) -> bool:
        return not self.match_labels and not self.match_expressions

    def describe(self) -> str:
        """Return the selector in ``kubectl --selector`` syntax, ``{}`` if empty."""
        parts = [f"{key}={value}" for key, value in self.match_labels]
        for requirement in self.match_expressions:
            values = ",".join(sorted(requirement.values))
            if requirement.operator is Operator.IN:
                parts.append(f"{requirement.key} in ({values})")
            elif requirement.operator is Operator.NOT_IN:
                parts.append(f"{requirement.key} notin ({values})")
            elif requirement.operator is Operator.EXISTS:
                parts.append(requirement.key)
            else:
                parts.append(f"!{requirement.key}")
        return ",".join(parts) if parts else "{}"


def parse_label_selector(raw: object, where: str) -> LabelSelector:
    """Parse a ``LabelSelector`` mapping; ``None`` (YAML ``null``) is empty.

    ``where`` names the field in error messages, for example
    ``NetworkPolicy x/deny: spec.podSelector``.
    """
    if raw is None:
        return LabelSelector()
    if not isinstance(raw, Mapping):
        raise InvalidManifest(
            f"{where}: expected a label selector mapping, got {raw!r}"
        )
    unknown = set(raw) - {"matchLabels", "matchExpressions"}
    if unknown:
        raise InvalidManifest(
            f"{where}: unknown label selector field(s) {sorted(unknown)}; "
            "expected matchLabels and/or matchExpressions"
        )
    match_labels = _parse_match_labels(raw.get("matchLabels"), where)
    expressions = _parse_match_expressions(raw.get("matchExpressions"), where)
    return LabelSelector(match_labels=match_labels, match_expressions=expressions)


def parse_labels(raw: object, where: str) -> dict[str, str]:
    """Parse a ``metadata.labels`` mapping; ``None`` means no labels."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise InvalidManifest(f"{where}: expected a mapping of labels, got {raw!r}")
    labels: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidManifest(
                f"{where}: label {key!r}: {value!r} must be a string pair "
                "(quote values such as 'true' or '1' in YAML)"
            )
        labels[key] = value
    return labels


def _parse_match_labels(raw: object, where: str) -> tuple[tuple[str, str], ...]:
    labels = parse_labels(raw, f"{where}.matchLabels")
    return tuple(sorted(labels.items()))


def _parse_match_expressions(raw: object, where: str) -> tuple[Requirement, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidManifest(f"{where}.matchExpressions: expected a list, got {raw!r}")
    requirements = []
    for index, item in enumerate(raw):
        requirements.append(
            _parse_requirement(item, f"{where}.matchExpressions[{index}]")
        )
    return tuple(requirements)


def _parse_requirement(raw: object, where: str) -> Requirement:
    if not isinstance(raw, Mapping):
        raise InvalidManifest(f"{where}: expected a mapping, got {raw!r}")
    key = raw.get("key")
    if not isinstance(key, str) or not key:
        raise InvalidManifest(f"{where}: missing or invalid key {key!r}")
    operator_name = raw.get("operator")
    try:
        operator = Operator(str(operator_name))
    except ValueError:
        allowed = ", ".join(op.value for op in Operator)
        raise InvalidManifest(
            f"{where}: invalid operator {operator_name!r}; expected one of {allowed}"
        ) from None
    values_raw = raw.get("values")
    if values_raw is None:
        values_raw = []
    if not isinstance(values_raw, list) or not all(
        isinstance(v, str) for v in values_raw
    ):
        raise InvalidManifest(
            f"{where}: values must be a list of strings, got {values_raw!r}"
        )
    if operator in (Operator.IN, Operator.NOT_IN) and not values_raw:
        raise InvalidManifest(
            f"{where}: operator {operator.value} requires non-empty values"
        )
    if operator in (Operator.EXISTS, Operator.DOES_NOT_EXIST) and values_raw:
        raise InvalidManifest(
            f"{where}: operator {operator.value} must not have values"
        )
    return Requirement(key=key, operator=operator, values=frozenset(values_raw))
