"""The one exception tree of kubegateway.

Every error that crosses a layer boundary is one of these, so the HTTP edges map
each class to exactly one status code and the CLI prints one clear message::

    KubegatewayError                    500  unexpected internal failure
    ├── InvalidInput                    422  a field failed validation
    ├── RequestError                    400  a data-path request could not be parsed
    ├── Unauthenticated                 401  missing, unknown, revoked or expired token
    ├── Forbidden                       403  authenticated but not allowed
    │   └── TenantSuspended             403  the tenant is suspended
    ├── NotFound                        404  tenant, instance or token does not exist
    ├── Conflict                        409  already exists with other settings
    ├── QuotaExceeded                   403  a tenant quota would be exceeded
    ├── PayloadTooLarge                 413  body over the size limit
    ├── RateLimited                     429  requests per minute over the limit
    ├── BackendUnavailable              503  the instance's server cannot be reached
    └── BackendTimeout                  504  the instance's server did not reply in time

Third-party errors are caught at the boundary and re-raised as one of these
with ``from``.
"""

from __future__ import annotations


class KubegatewayError(Exception):
    """Base class; ``status`` is the HTTP status the error maps to."""

    status = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_body(self) -> dict[str, object]:
        body: dict[str, object] = {"error": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


class InvalidInput(KubegatewayError):
    status = 422


class RequestError(KubegatewayError):
    status = 400


class Unauthenticated(KubegatewayError):
    status = 401


class Forbidden(KubegatewayError):
    status = 403


class TenantSuspended(Forbidden):
    pass


class NotFound(KubegatewayError):
    status = 404


class Conflict(KubegatewayError):
    status = 409


class QuotaExceeded(KubegatewayError):
    """A quota would be exceeded; ``limit`` names the quota field."""

    status = 403

    def __init__(self, message: str, *, limit: str) -> None:
        super().__init__(message)
        self.limit = limit

    def to_body(self) -> dict[str, object]:
        return {"error": self.message, "limit": self.limit}


class PayloadTooLarge(KubegatewayError):
    status = 413


class RateLimited(KubegatewayError):
    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BackendUnavailable(KubegatewayError):
    status = 503


class BackendTimeout(KubegatewayError):
    status = 504
