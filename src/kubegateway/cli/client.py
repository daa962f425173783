"""HTTP client the CLI uses to call a running gateway's admin API.

The CLI never touches the state directly, so the same commands work against
the embedded default and against a gateway on Kubernetes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

DEFAULT_PORT = 8080
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
URL_ENV = "KUBEGATEWAY_URL"
TOKEN_ENV = "KUBEGATEWAY_TOKEN"
DATA_DIR_ENV = "KUBEGATEWAY_DATA_DIR"


def default_data_dir() -> Path:
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "kubegateway"


class CliError(Exception):
    """An error to print as one line, without a traceback."""


def resolve_token(token: str | None, data_dir: Path | None) -> str:
    if token:
        return token
    from_env = os.environ.get(TOKEN_ENV)
    if from_env:
        return from_env
    path = (data_dir or default_data_dir()) / "admin.token"
    try:
        return path.read_text().strip()
    except OSError as error:
        raise CliError(
            f"no admin credential: pass --token, set {TOKEN_ENV}, or run "
            f"`kubegateway up` once so that {path} exists"
        ) from error


class AdminClient:
    def __init__(self, url: str, token: str, timeout: float = 60.0) -> None:
        self._client = httpx.Client(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )

    def request(self, method: str, path: str, json: Any = None, **params: Any) -> Any:
        try:
            response = self._client.request(
                method,
                path,
                json=json,
                params={k: v for k, v in params.items() if v is not None},
            )
        except httpx.HTTPError as error:
            raise CliError(
                f"cannot reach the gateway at {self._client.base_url}: {error}; "
                "is `kubegateway up` running?"
            ) from error
        if response.status_code == 204:
            return None
        try:
            body = response.json()
        except ValueError:
            body = {"error": response.text or response.reason_phrase}
        if response.status_code >= 400:
            message = body.get("error") if isinstance(body, dict) else body
            raise CliError(f"{message} (HTTP {response.status_code})")
        return body
