"""Errors raised while reading policies, workloads and expectation files.

Both classes derive from the project's ``InvalidInput`` so the CLI can catch
one base class, print the message and exit with status 2 instead of a
traceback.
"""

from __future__ import annotations

from kubegateway.errors import InvalidInput


class InvalidManifest(InvalidInput):
    """A Kubernetes manifest is malformed or uses a value the API rejects."""


class InvalidExpectations(InvalidInput):
    """An expectation file is malformed or names an unknown endpoint."""
