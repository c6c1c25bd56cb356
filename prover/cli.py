"""The `zkstatesync` command line (the Makefile's verbs call it).

Every command turns a ZkStateSyncError into one clear message on stderr and exit code 1;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from statesync.errors import ZkStateSyncError

from .build import compile_circuit
from .manifest import load_manifest

app = typer.Typer(
    help="zkstatesync: zero-knowledge light client for cross-chain StateSync.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

P = ParamSpec("P")
T = TypeVar("T")


def reports_errors(command: Callable[P, T]) -> Callable[P, T]:
    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return command(*args, **kwargs)
        except ZkStateSyncError as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
            sys.exit(1)

    return wrapper


@app.command("circuits")
@reports_errors
def list_circuits() -> None:
    """List the manifest's circuits and presets."""
    manifest = load_manifest()
    table = Table("circuit", "template", "parameters", "public inputs", "what it proves")
    for entry in manifest.circuits.values():
        table.add_row(entry.name, entry.template, ", ".join(entry.params), ", ".join(entry.public), entry.description)
    out.print(table)
    for name, values in manifest.presets.items():
        out.print(f"preset [bold]{name}[/]: " + ", ".join(f"{k}={v}" for k, v in values.items()))


@app.command("compile")
@reports_errors
def compile_command(
    circuit: str = typer.Argument(..., help="a circuit of circuits/circuits.toml"),
    preset: str = typer.Option("test", help="parameter preset"),
    opt: int = typer.Option(2, help="circom optimisation level (0, 1 or 2)"),
) -> None:
    """Compile a circuit (cached by content hash under build/)."""
    spec = load_manifest().spec(circuit, preset)
    with err.status(f"compiling {spec.name} ({spec.template}{spec.params})"):
        compiled = compile_circuit(spec, opt=opt)
    info = compiled.info
    state = "cached" if compiled.cached else f"compiled in {info['compile_seconds']} s"
    out.print(
        f"{spec.name}: {info['non_linear_constraints']} non-linear + {info['linear_constraints']} linear "
        f"constraints ({state})\n  {compiled.directory}"
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
