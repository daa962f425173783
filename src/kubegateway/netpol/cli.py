"""``kubegateway netpol check``: evaluate NetworkPolicies without a CNI plugin.

The command reads manifests from files or a cluster, prints the reachability
matrix for the requested ports and, with ``--expectations``, checks the
declared connections. Exit status: 0 when every expectation holds, 1 when one
fails, 2 when the input cannot be read or is invalid.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from kubegateway.errors import InvalidInput
from kubegateway.netpol.evaluating import Evaluator, ReachabilityMatrix
from kubegateway.netpol.expectations import (
    ExpectationResult,
    check_expectations,
    load_expectations,
    merge_inventory,
)
from kubegateway.netpol.loading import load_cluster_manifests, load_manifest_files
from kubegateway.netpol.model import Inventory, Protocol
from kubegateway.netpol.parsing import build_inventory
from kubegateway.netpol.reporting import json_report, print_report

EXIT_EXPECTATION_FAILED = 1
EXIT_INVALID_INPUT = 2

app = typer.Typer(
    help="Evaluate Kubernetes NetworkPolicies and check tenant isolation.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def netpol() -> None:
    """Evaluate Kubernetes NetworkPolicies without running a CNI plugin."""


@app.command("check")
def check(
    files: Annotated[
        list[Path] | None,
        typer.Option(
            "--file",
            "-f",
            help="Manifest file or directory (YAML or JSON, multi-document). "
            "Repeatable.",
        ),
    ] = None,
    from_cluster: Annotated[
        bool,
        typer.Option(
            "--from-cluster",
            help="Read NetworkPolicies, Namespaces and Pods from the current "
            "kubeconfig context.",
        ),
    ] = False,
    kubeconfig: Annotated[
        Path | None,
        typer.Option("--kubeconfig", help="Kubeconfig file to read the cluster from."),
    ] = None,
    expectations: Annotated[
        Path | None,
        typer.Option("--expectations", help="Expectation file to check (YAML)."),
    ] = None,
    ports: Annotated[
        list[str] | None,
        typer.Option(
            "--port",
            help="Port of a matrix to print, as PORT or PORT/PROTOCOL (TCP if "
            "omitted). Repeatable. Default: every container port the endpoints "
            "declare.",
        ),
    ] = None,
    output: Annotated[
        str, typer.Option("--output", "-o", help="Output format: table or json.")
    ] = "table",
    show_passed: Annotated[
        bool,
        typer.Option(
            "--show-passed", help="List passed expectations too (table output)."
        ),
    ] = False,
) -> None:
    """Print reachability matrices and check expectations."""
    console = Console()
    error_console = Console(stderr=True)
    try:
        if output not in ("table", "json"):
            raise InvalidInput(f"invalid --output {output!r}; expected table or json")
        inventory = _load_inventory(
            files or [], from_cluster or kubeconfig is not None, kubeconfig
        )
        expectation_set = load_expectations(expectations) if expectations else None
        merged = (
            merge_inventory(inventory, expectation_set)
            if expectation_set
            else inventory
        )
        probes = _parse_port_options(ports or []) or _declared_ports(merged)
        results = (
            check_expectations(inventory, expectation_set) if expectation_set else None
        )
    except InvalidInput as error:
        error_console.print(
            f"[bold red]error:[/bold red] {error.message}", highlight=False
        )
        raise typer.Exit(EXIT_INVALID_INPUT) from None

    evaluator = Evaluator(merged)
    matrices = [
        evaluator.matrix(list(merged.endpoints), port, protocol)
        for port, protocol in probes
    ]
    _emit(console, output, matrices, results, merged.warnings, show_passed)
    if results is not None and any(not result.passed for result in results):
        raise typer.Exit(EXIT_EXPECTATION_FAILED)


def _emit(
    console: Console,
    output: str,
    matrices: list[ReachabilityMatrix],
    results: tuple[ExpectationResult, ...] | None,
    warnings: tuple[str, ...],
    show_passed: bool,
) -> None:
    if output == "json":
        # print() instead of console.print so rich does not wrap or colour the JSON.
        print(json.dumps(json_report(matrices, results, warnings), indent=2))
    else:
        print_report(console, matrices, results, warnings, show_passed)


def _load_inventory(
    files: list[Path], from_cluster: bool, kubeconfig: Path | None
) -> Inventory:
    if not files and not from_cluster:
        raise InvalidInput("no input; pass -f FILE (repeatable) or --from-cluster")
    manifests: list[dict[str, Any]] = load_manifest_files(files)
    if from_cluster:
        manifests.extend(_read_cluster(kubeconfig))
    return build_inventory(manifests)


def _read_cluster(kubeconfig: Path | None) -> list[dict[str, Any]]:
    import httpx2
    from lightkube import ApiError, Client, ConfigError, KubeConfig

    if kubeconfig is not None and not kubeconfig.is_file():
        raise InvalidInput(f"{kubeconfig}: kubeconfig file not found")
    try:
        config = KubeConfig.from_file(kubeconfig) if kubeconfig else None
        with Client(config=config) as client:
            return load_cluster_manifests(client)
    except ConfigError as error:
        raise InvalidInput(f"invalid kubeconfig: {error}") from error
    except ApiError as error:
        raise InvalidInput(
            f"the API server rejected a list request: {error.status.message}; "
            "the command needs list access to pods, namespaces and networkpolicies"
        ) from error
    except (httpx2.HTTPError, OSError) as error:
        raise InvalidInput(f"cannot reach the API server: {error}") from error


def _parse_port_options(values: list[str]) -> list[tuple[int, Protocol]]:
    probes: list[tuple[int, Protocol]] = []
    for value in values:
        number, _, protocol_name = value.partition("/")
        try:
            port = int(number)
            protocol = Protocol(protocol_name.upper() or "TCP")
        except ValueError:
            raise InvalidInput(
                f"invalid --port {value!r}; expected PORT or PORT/PROTOCOL "
                "such as 53/UDP"
            ) from None
        if not 1 <= port <= 65535:
            raise InvalidInput(f"invalid --port {value!r}; the port must be 1-65535")
        probes.append((port, protocol))
    return list(dict.fromkeys(probes))


def _declared_ports(inventory: Inventory) -> list[tuple[int, Protocol]]:
    declared = {
        (container_port.port, container_port.protocol)
        for endpoint in inventory.endpoints
        for container_port in endpoint.ports
    }
    return sorted(declared, key=lambda probe: (probe[0], probe[1].value))
