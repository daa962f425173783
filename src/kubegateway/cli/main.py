"""The ``kubegateway`` command line: run the gateway and manage tenants.

``up`` runs the embedded default in the foreground and ``serve`` runs the
gateway in Kubernetes mode. The ``tenant``, ``instance`` and ``token`` groups
call the admin API of a running gateway.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from kubegateway.cli.client import (
    DEFAULT_PORT,
    DEFAULT_URL,
    URL_ENV,
    AdminClient,
    CliError,
    default_data_dir,
    resolve_token,
)

app = typer.Typer(
    help="Multi-tenant Redis over HTTP (the Upstash REST protocol).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
tenant_app = typer.Typer(
    help="Create, inspect, suspend and delete tenants.", no_args_is_help=True
)
instance_app = typer.Typer(
    help="Manage a tenant's Redis instances.", no_args_is_help=True
)
token_app = typer.Typer(
    help="Manage data-path tokens of an instance.", no_args_is_help=True
)
app.add_typer(tenant_app, name="tenant")
app.add_typer(instance_app, name="instance")
app.add_typer(token_app, name="token")

console = Console()
errors = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])

UrlOption = Annotated[
    str, typer.Option("--url", envvar=URL_ENV, help="Base URL of the gateway.")
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        help="Admin API key or JWT (default: $KUBEGATEWAY_TOKEN, "
        "then <data-dir>/admin.token).",
        show_default=False,
    ),
]
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data directory of a local `up`, to find its admin token."
    ),
]
OutputOption = Annotated[
    str, typer.Option("--output", "-o", help="Output format: table or json.")
]


def _handle_errors(function: F) -> F:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except CliError as error:
            errors.print(f"[red]error:[/red] {error}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _client(url: str, token: str | None, data_dir: Path | None) -> AdminClient:
    return AdminClient(url, resolve_token(token, data_dir))


def _print(data: Any, output: str, columns: list[str]) -> None:
    if output == "json":
        console.print_json(json.dumps(data))
        return
    if output != "table":
        raise CliError(f"unknown output format {output!r}; use table or json")
    rows = data if isinstance(data, list) else [data]
    table = Table(*columns)
    for row in rows:
        table.add_row(*(_cell(row.get(column)) for column in columns))
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


@app.command()
def up(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Where state and instance data live "
            "(default: $KUBEGATEWAY_DATA_DIR or ~/.local/share/kubegateway).",
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port to bind.")] = DEFAULT_PORT,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="HTTP worker processes.")
    ] = 1,
    plans: Annotated[
        Path | None, typer.Option(help="YAML file of quota plans.")
    ] = None,
    appendfsync: Annotated[
        str, typer.Option(help="valkey AOF fsync policy: always, everysec or no.")
    ] = "everysec",
    log_format: Annotated[str, typer.Option(help="json or console.")] = "json",
    admin_token_file: Annotated[
        Path | None, typer.Option(help="File holding the bootstrap admin token to use.")
    ] = None,
    jwt_hs256_secret_file: Annotated[
        Path | None, typer.Option(help="File with the HS256 secret for admin JWTs.")
    ] = None,
    jwt_jwks_file: Annotated[
        Path | None,
        typer.Option(help="JWKS file with RS256/ES256 keys for admin JWTs."),
    ] = None,
    jwt_jwks_url: Annotated[
        str | None, typer.Option(help="JWKS URL with RS256/ES256 keys for admin JWTs.")
    ] = None,
    jwt_audience: Annotated[
        str, typer.Option(help="Required JWT 'aud'.")
    ] = "kubegateway",
    jwt_issuer: Annotated[
        str, typer.Option(help="Required JWT 'iss'.")
    ] = "kubegateway",
) -> None:
    """Run the gateway and its valkey servers on this machine until Ctrl-C."""
    from kubegateway.server.up import UpOptions, run

    if appendfsync not in ("always", "everysec", "no"):
        errors.print("[red]error:[/red] --appendfsync must be always, everysec or no")
        raise typer.Exit(2)
    if log_format not in ("json", "console"):
        errors.print("[red]error:[/red] --log-format must be json or console")
        raise typer.Exit(2)
    options = UpOptions(
        data_dir=(data_dir or default_data_dir()).resolve(),
        host=host,
        port=port,
        workers=workers,
        plans_file=plans,
        appendfsync=appendfsync,
        log_format=log_format,
        admin_token_file=admin_token_file,
        jwt_hs256_secret_file=jwt_hs256_secret_file,
        jwt_jwks_file=jwt_jwks_file,
        jwt_jwks_url=jwt_jwks_url,
        jwt_audience=jwt_audience,
        jwt_issuer=jwt_issuer,
    )
    raise typer.Exit(run(options))


@app.command()
def serve(
    backend: Annotated[
        str,
        typer.Option(
            help="State backend. Only `kubernetes` is served here; "
            "the embedded default runs with `kubegateway up`."
        ),
    ],
    system_redis: Annotated[
        str,
        typer.Option(
            envvar="KUBEGATEWAY_SYSTEM_REDIS",
            help="host:port of the system Redis for rate limits, usage "
            "counters and the audit log.",
        ),
    ],
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port to bind.")] = DEFAULT_PORT,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="HTTP worker processes.")
    ] = 1,
    kubeconfig: Annotated[
        Path | None,
        typer.Option(
            help="Kubeconfig of the cluster (default: the pod's service account, "
            "then $KUBECONFIG)."
        ),
    ] = None,
    system_redis_user: Annotated[
        str, typer.Option(help="ACL user of the system Redis.")
    ] = "default",
    system_redis_password_file: Annotated[
        Path | None,
        typer.Option(
            help="File with the system Redis password "
            "(default: $KUBEGATEWAY_SYSTEM_REDIS_PASSWORD)."
        ),
    ] = None,
    system_namespace: Annotated[
        str, typer.Option(help="Namespace of the admin API key Secrets.")
    ] = "redis-system",
    resolve: Annotated[
        list[str] | None,
        typer.Option(
            "--resolve",
            help="Connect to <service host>:<port> at <address>:<port> instead "
            "of resolving it, like curl --resolve; for environments without "
            "cluster DNS, e.g. cache.tenant-acme.svc:6379=127.0.0.1:7001. "
            "Repeatable.",
        ),
    ] = None,
    plans: Annotated[
        Path | None, typer.Option(help="YAML file of quota plans.")
    ] = None,
    log_format: Annotated[str, typer.Option(help="json or console.")] = "json",
    admin_token_file: Annotated[
        Path | None,
        typer.Option(
            help="File with the bootstrap admin token "
            "(default: $KUBEGATEWAY_ADMIN_TOKEN); only its hash is stored."
        ),
    ] = None,
    jwt_hs256_secret_file: Annotated[
        Path | None, typer.Option(help="File with the HS256 secret for admin JWTs.")
    ] = None,
    jwt_jwks_file: Annotated[
        Path | None,
        typer.Option(help="JWKS file with RS256/ES256 keys for admin JWTs."),
    ] = None,
    jwt_jwks_url: Annotated[
        str | None, typer.Option(help="JWKS URL with RS256/ES256 keys for admin JWTs.")
    ] = None,
    jwt_audience: Annotated[
        str, typer.Option(help="Required JWT 'aud'.")
    ] = "kubegateway",
    jwt_issuer: Annotated[
        str, typer.Option(help="Required JWT 'iss'.")
    ] = "kubegateway",
) -> None:
    """Run the gateway on a Kubernetes cluster's custom resources."""
    from kubegateway.server.serve import ServeOptions, run

    if backend != "kubernetes":
        errors.print(
            f"[red]error:[/red] --backend {backend!r} is not served by `serve`; "
            "use --backend kubernetes, or `kubegateway up` for the embedded default"
        )
        raise typer.Exit(2)
    if log_format not in ("json", "console"):
        errors.print("[red]error:[/red] --log-format must be json or console")
        raise typer.Exit(2)
    options = ServeOptions(
        host=host,
        port=port,
        workers=workers,
        kubeconfig=kubeconfig,
        system_redis=system_redis,
        system_redis_user=system_redis_user,
        system_redis_password_file=system_redis_password_file,
        system_namespace=system_namespace,
        resolve=tuple(resolve or ()),
        plans_file=plans,
        log_format=log_format,
        admin_token_file=admin_token_file,
        jwt_hs256_secret_file=jwt_hs256_secret_file,
        jwt_jwks_file=jwt_jwks_file,
        jwt_jwks_url=jwt_jwks_url,
        jwt_audience=jwt_audience,
        jwt_issuer=jwt_issuer,
    )
    raise typer.Exit(run(options))


@app.command("admin-token")
def admin_token() -> None:
    """Print a new random admin token to pass to `up` via KUBEGATEWAY_ADMIN_TOKEN."""
    from kubegateway.auth import secrets

    print(secrets.generate(secrets.ADMIN_PREFIX).token)


TENANT_COLUMNS = ["id", "display_name", "plan", "phase", "reason", "quota"]


@tenant_app.command("create")
@_handle_errors
def tenant_create(
    tenant: Annotated[str, typer.Argument(help="Tenant id, a DNS-1123 label.")],
    display_name: Annotated[str, typer.Option(help="Human-readable name.")] = "",
    plan: Annotated[str, typer.Option(help="Quota plan.")] = "standard",
    quota: Annotated[
        list[str] | None,
        typer.Option("--quota", help="Override one quota field, e.g. memory=2Gi."),
    ] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    output: OutputOption = "table",
) -> None:
    """Create a tenant (repeating it with the same settings is a no-op)."""
    body = {
        "id": tenant,
        "display_name": display_name,
        "plan": plan,
        "quota": _overrides(quota),
    }
    result = _client(url, token, data_dir).request("POST", "/v1/tenants", json=body)
    _print(result, output, TENANT_COLUMNS)


def _overrides(pairs: list[str] | None) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name or not value:
            raise CliError(
                f"--quota {pair!r} must look like field=value, e.g. memory=2Gi"
            )
        overrides[name.strip()] = value.strip()
    return overrides


@tenant_app.command("list")
@_handle_errors
def tenant_list(
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    output: OutputOption = "table",
) -> None:
    """List the tenants the credential may see."""
    _print(
        _client(url, token, data_dir).request("GET", "/v1/tenants"),
        output,
        TENANT_COLUMNS,
    )


@tenant_app.command("show")
@_handle_errors
def tenant_show(
    tenant: str,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    output: OutputOption = "json",
) -> None:
    """Show one tenant with its effective quota and resource summary."""
    client = _client(url, token, data_dir)
    result = client.request("GET", f"/v1/tenants/{tenant}")
    result["summary"] = client.request("GET", f"/v1/tenants/{tenant}/summary")
    result["config"] = client.request("GET", f"/v1/tenants/{tenant}/config")["quota"]
    _print(result, output, TENANT_COLUMNS)


@tenant_app.command("update")
@_handle_errors
def tenant_update(
    tenant: str,
    plan: Annotated[str | None, typer.Option(help="Move to this plan.")] = None,
    quota: Annotated[
        list[str] | None,
        typer.Option("--quota", help="Replace the overrides, e.g. memory=2Gi."),
    ] = None,
    clear_overrides: Annotated[
        bool, typer.Option(help="Remove all overrides.")
    ] = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    output: OutputOption = "table",
) -> None:
    """Change a tenant's plan or quota overrides."""
    body: dict[str, Any] = {}
    if plan is not None:
        body["plan"] = plan
    if quota or clear_overrides:
        body["quota"] = _overrides(quota)
    result = _client(url, token, data_dir).request(
        "PATCH", f"/v1/tenants/{tenant}", json=body
    )
    _print(result, output, TENANT_COLUMNS)


@tenant_app.command("suspend")
@_handle_errors
def tenant_suspend(
    tenant: str,
    reason: Annotated[str, typer.Option(help="Why.")] = "",
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    output: OutputOption = "table",
) -> None:
    """Suspend a tenant: its data is kept, its requests get 403."""
    result = _client(url, token, data_dir).request(
        "POST", f"/v1/tenants/{tenant}/suspend", json={"reason": reason}
    )
    _print(result, output, TENANT_COLUMNS)


@tenant_app.command("resume")
@_handle_errors
def tenant_resume(
    tenant: str,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    output: OutputOption = "table",
) -> None:
    """Resume a suspended tenant."""
    result = _client(url, token, data_dir).request(
        "POST", f"/v1/tenants/{tenant}/resume"
    )
    _print(result, output, TENANT_COLUMNS)


@tenant_app.command("delete")
@_handle_errors
def tenant_delete(
    tenant: str,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Delete a tenant with all its instances, data and tokens."""
    _client(url, token, data_dir).request("DELETE", f"/v1/tenants/{tenant}")
    console.print(f"tenant {tenant} deleted")


INSTANCE_COLUMNS = ["id", "memory", "phase", "reason", "url"]


@instance_app.command("create")
@_handle_errors
def instance_create(
    instance: Annotated[str, typer.Argument(help="Instance id, a DNS-1123 label.")],
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="Owning tenant.")],
    memory: Annotated[str, typer.Option(help="Memory limit, e.g. 64Mi.")] = "64Mi",
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    output: OutputOption = "table",
) -> None:
    """Create an instance and wait until its server runs."""
    result = _client(url, token, data_dir).request(
        "POST",
        f"/v1/tenants/{tenant}/instances",
        json={"id": instance, "memory": memory},
    )
    _print(result, output, INSTANCE_COLUMNS)


@instance_app.command("list")
@_handle_errors
def instance_list(
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="Owning tenant.")],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    output: OutputOption = "table",
) -> None:
    """List a tenant's instances."""
    result = _client(url, token, data_dir).request(
        "GET", f"/v1/tenants/{tenant}/instances"
    )
    _print(result, output, INSTANCE_COLUMNS)


@instance_app.command("delete")
@_handle_errors
def instance_delete(
    instance: str,
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="Owning tenant.")],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Delete an instance, its data and its tokens."""
    _client(url, token, data_dir).request(
        "DELETE", f"/v1/tenants/{tenant}/instances/{instance}"
    )
    console.print(f"instance {tenant}/{instance} deleted")


TOKEN_COLUMNS = ["id", "instance", "access", "name", "created_at", "revoked_at"]


@token_app.command("create")
@_handle_errors
def token_create(
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="Owning tenant.")],
    instance: Annotated[str, typer.Option("--instance", "-i", help="Instance.")],
    read_only: Annotated[
        bool, typer.Option("--read-only", help="Allow reads only.")
    ] = False,
    name: Annotated[str, typer.Option(help="A label for the token.")] = "",
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    output: OutputOption = "table",
) -> None:
    """Create a token; its secret is printed once and cannot be shown again."""
    access = "read-only" if read_only else "read-write"
    result = _client(url, token, data_dir).request(
        "POST",
        f"/v1/tenants/{tenant}/instances/{instance}/tokens",
        json={"access": access, "name": name},
    )
    if output == "json":
        console.print_json(json.dumps(result))
        return
    base = url.rstrip("/")
    console.print(f"token id: {result['id']} ({access})")
    console.print("token (shown once; only its hash is stored, so save it now):")
    print(result["token"])
    console.print(
        f"UPSTASH_REDIS_REST_URL={base}/v1/redis/{tenant}/{instance}", highlight=False
    )


@token_app.command("list")
@_handle_errors
def token_list(
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="Owning tenant.")],
    instance: Annotated[str | None, typer.Option("--instance", "-i")] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    output: OutputOption = "table",
) -> None:
    """List tokens without their secrets."""
    result = _client(url, token, data_dir).request(
        "GET", f"/v1/tenants/{tenant}/tokens", instance=instance
    )
    _print(result, output, TOKEN_COLUMNS)


@token_app.command("revoke")
@_handle_errors
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="Token id from `token list`.")],
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="Owning tenant.")],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Revoke a token; requests with it get 401 from then on."""
    _client(url, token, data_dir).request(
        "DELETE", f"/v1/tenants/{tenant}/tokens/{token_id}"
    )
    console.print(f"token {token_id} revoked")


@app.command()
def operator(
    kubeconfig: Annotated[
        Path | None,
        typer.Option(
            "--kubeconfig",
            help="Kubeconfig of the cluster (default: the pod's service account, "
            "then $KUBECONFIG).",
        ),
    ] = None,
    liveness: Annotated[
        str | None,
        typer.Option(
            "--liveness",
            help="URL to serve kopf's liveness probe on, e.g. http://0.0.0.0:8080/healthz.",
        ),
    ] = None,
) -> None:
    """Run the Kubernetes operator that reconciles Tenants and RedisHttpInstances."""
    from kubegateway.operator.running import run

    run(kubeconfig, liveness_endpoint=liveness)


def _mount_optional() -> None:
    try:
        from kubegateway.netpol.cli import app as netpol_app
    except ImportError:  # pragma: no cover - the package ships it
        return
    app.add_typer(
        netpol_app, name="netpol", help="Prove network isolation from policies."
    )


_mount_optional()


if __name__ == "__main__":
    app()
