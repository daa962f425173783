"""Kubernetes resource quantities (``512Mi``, ``1Gi``, ``500m``), parsed to numbers.

Quotas are compared as numbers, never as strings, so ``1Gi`` is larger than
``900Mi``. The grammar follows the Kubernetes ``resource.Quantity`` type:
a decimal number followed by a binary suffix (Ki..Ei), a decimal suffix
(n, u, m, k, M, G, T, P, E) or a decimal exponent (``1e3``).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

from kubegateway.errors import InvalidInput

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}
# Kubernetes quantities fit in a signed 64-bit integer.
MAX_QUANTITY = Decimal(2**63 - 1)
_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(\d+\.?\d*|\.\d+))"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$"
)


def parse_quantity(value: object, field: str) -> Decimal:
    """Parse a quantity to an exact Decimal; reject negatives and junk."""
    if isinstance(value, bool):
        raise InvalidInput(f"{field} must be a quantity such as '256Mi'", field=field)
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a quantity such as '256Mi'", field=field)
    match = _QUANTITY.match(value.strip())
    if match is None:
        raise InvalidInput(
            f"{field} {value!r} is not a Kubernetes quantity; "
            "use a number with an optional suffix such as 256Mi, 1Gi or 500m",
            field=field,
        )
    try:
        number = Decimal(match["number"])
    except InvalidOperation as error:  # pragma: no cover - the regex already checks
        raise InvalidInput(f"{field} {value!r} is not a number", field=field) from error
    suffix = match["suffix"] or ""
    if suffix in _BINARY:
        result = number * _BINARY[suffix]
    elif suffix in _DECIMAL:
        result = number * _DECIMAL[suffix]
    else:
        result = number * (Decimal(10) ** int(suffix[1:]))
    if result < 0:
        raise InvalidInput(f"{field} {value!r} must not be negative", field=field)
    if result > MAX_QUANTITY:
        raise InvalidInput(
            f"{field} {value!r} is too large; the maximum is 8Ei", field=field
        )
    return result


def parse_bytes(value: object, field: str) -> int:
    """Parse a memory or storage quantity to whole bytes, rounding up."""
    return math.ceil(parse_quantity(value, field))


def parse_millicores(value: object, field: str) -> int:
    """Parse a CPU quantity (``500m``, ``2``) to millicores, rounding up."""
    return math.ceil(parse_quantity(value, field) * 1000)


def format_bytes(count: int) -> str:
    """Format bytes with the largest binary suffix that divides them exactly."""
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        unit = _BINARY[suffix]
        if count >= unit and count % unit == 0:
            return f"{count // unit}{suffix}"
    return str(count)
