"""Rendering of reachability matrices and expectation results.

The CLI prints either rich tables (coloured when stdout is a terminal, plain
otherwise) or one JSON document. Both come from the same data, so the JSON
contains exactly what the tables show.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from kubegateway.netpol.evaluating import ReachabilityMatrix
from kubegateway.netpol.expectations import ExpectationResult

ALLOWED_MARK = "✓"
BLOCKED_MARK = "✗"
SELF_MARK = "-"


def matrix_table(matrix: ReachabilityMatrix) -> Table:
    """Build a table with sources as rows and destinations as columns."""
    table = Table(
        title=f"Reachability on {matrix.port}/{matrix.protocol.value}",
        caption=(
            f"{ALLOWED_MARK} allowed   {BLOCKED_MARK} blocked   rows: from, columns: to"
        ),
    )
    table.add_column("from \\ to", style="bold")
    for endpoint in matrix.endpoints:
        table.add_column(endpoint.name, justify="center")
    for row_index, source in enumerate(matrix.endpoints):
        cells = []
        for column_index, verdict in enumerate(matrix.verdicts[row_index]):
            if column_index == row_index:
                cells.append(f"[dim]{SELF_MARK}[/dim]")
            elif verdict.allowed:
                cells.append(f"[green]{ALLOWED_MARK}[/green]")
            else:
                cells.append(f"[red]{BLOCKED_MARK}[/red]")
        table.add_row(source.name, *cells)
    return table


def results_table(results: Sequence[ExpectationResult], show_passed: bool) -> Table:
    """Build a table of expectation results; passed rows only if ``show_passed``."""
    table = Table(title="Expectations" if show_passed else "Failed expectations")
    for column in (
        "result",
        "from",
        "to",
        "port",
        "expected",
        "actual",
        "source",
        "reason",
    ):
        table.add_column(column)
    for result in results:
        if result.passed and not show_passed:
            continue
        expectation = result.expectation
        table.add_row(
            "[green]PASS[/green]" if result.passed else "[bold red]FAIL[/bold red]",
            expectation.source,
            expectation.destination,
            f"{expectation.port}/{expectation.protocol.value}",
            _outcome(expectation.allowed),
            _outcome(result.verdict.allowed),
            expectation.origin,
            result.verdict.explain(),
        )
    return table


def print_report(
    console: Console,
    matrices: Sequence[ReachabilityMatrix],
    results: Sequence[ExpectationResult] | None,
    warnings: Sequence[str],
    show_passed: bool = False,
) -> None:
    """Print warnings, matrices and expectation results as tables."""
    for warning in warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    for matrix in matrices:
        console.print(matrix_table(matrix))
    if results is None:
        return
    failed = [result for result in results if not result.passed]
    if failed or show_passed:
        console.print(results_table(results, show_passed))
    style = "bold red" if failed else "bold green"
    console.print(
        f"[{style}]{len(results) - len(failed)} of {len(results)} expectations passed, "
        f"{len(failed)} failed[/{style}]"
    )


def json_report(
    matrices: Sequence[ReachabilityMatrix],
    results: Sequence[ExpectationResult] | None,
    warnings: Sequence[str],
) -> dict[str, Any]:
    """Return the whole report as JSON-serialisable data."""
    report: dict[str, Any] = {
        "warnings": list(warnings),
        "matrices": [_matrix_json(matrix) for matrix in matrices],
    }
    if results is not None:
        failed = sum(1 for result in results if not result.passed)
        report["expectations"] = {
            "total": len(results),
            "failed": failed,
            "passed": len(results) - failed,
            "results": [_result_json(result) for result in results],
        }
    return report


def _matrix_json(matrix: ReachabilityMatrix) -> dict[str, Any]:
    names = [endpoint.name for endpoint in matrix.endpoints]
    return {
        "port": matrix.port,
        "protocol": matrix.protocol.value,
        "endpoints": names,
        "allowed": {
            source: {
                destination: matrix.verdicts[row][column].allowed
                for column, destination in enumerate(names)
            }
            for row, source in enumerate(names)
        },
    }


def _result_json(result: ExpectationResult) -> dict[str, Any]:
    expectation = result.expectation
    return {
        "from": expectation.source,
        "to": expectation.destination,
        "port": expectation.port,
        "protocol": expectation.protocol.value,
        "expected_allowed": expectation.allowed,
        "allowed": result.verdict.allowed,
        "passed": result.passed,
        "source": expectation.origin,
        "reason": result.verdict.explain(),
    }


def _outcome(allowed: bool) -> str:
    return "allowed" if allowed else "blocked"
