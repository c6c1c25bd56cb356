"""The `zkstatesync` command line (the Makefile's verbs call it).

Every command turns a ZkStateSyncError into one clear message on stderr and exit code 1;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from prover.build import compile_circuit
from prover.prove import load_prover
from prover.samples import build_sample_inputs
from prover.setup import LOCAL_SETUP_WARNING, export_solidity_verifier, public_ptau, setup_circuit
from prover.toolchain import install_node_modules
from prover.witness import encode_inputs, load_inputs
from statesync.circuits import load_manifest
from statesync.errors import ZkStateSyncError
from statesync.storage import write_atomically

from .proving import prove_checked, verify_proof_directory

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
        except OSError as exc:
            # A missing or unreadable file the user named: say which, without a traceback.
            err.print(f"[bold red]error:[/] {exc.strerror or exc}: {exc.filename}", highlight=False)
            sys.exit(1)

    return wrapper


@app.command("circuits")
@reports_errors
def list_circuits() -> None:
    """List the manifest's circuits and presets."""
    manifest = load_manifest()
    table = Table("circuit", "template", "parameters", "public signals", "what it proves")
    for entry in manifest.product_circuits():
        signals = ", ".join([*(f"{s} (out)" for s in entry.outputs), *entry.public])
        table.add_row(entry.name, entry.template, ", ".join(entry.params), signals, entry.description)
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


def _progress(message: str) -> None:
    err.print(f"[dim]-[/] {message}", highlight=False)


@app.command("setup")
@reports_errors
def setup_command(
    circuit: str = typer.Argument(..., help="a circuit of circuits/circuits.toml"),
    preset: str = typer.Option("test", help="parameter preset"),
    ptau: Path | None = typer.Option(None, help="a public ceremony's .ptau instead of a local one"),
    ptau_hash: str | None = typer.Option(None, help="the published blake2b-512 hash of --ptau"),
) -> None:
    """Make (or reuse) the circuit's Groth16 keys: powers of tau, then phase 2."""
    if (ptau is None) != (ptau_hash is None):
        raise ZkStateSyncError("--ptau and --ptau-hash go together")
    compiled = compile_circuit(load_manifest().spec(circuit, preset))
    chosen = public_ptau(ptau, ptau_hash) if ptau is not None and ptau_hash is not None else None
    keys = setup_circuit(compiled, ptau=chosen, progress=_progress)
    record = keys.record
    if keys.ptau.is_local_dev:
        err.print(f"[bold yellow]warning:[/] {LOCAL_SETUP_WARNING}")
    seconds = record["seconds"]
    made = sum(seconds.values()) if isinstance(seconds, dict) else 0.0
    state = "cached" if keys.cached else f"made in {made:.1f} s"
    out.print(f"{compiled.spec.name}: keys {state} ({record['setup_kind']}, ptau 2^{keys.ptau.power})")
    out.print(f"  zkey: {keys.zkey}\n  verification key: {keys.verification_key}")


@app.command("sample-inputs")
@reports_errors
def sample_inputs_command(
    circuit: str = typer.Argument(..., help="a circuit of circuits/circuits.toml"),
    preset: str = typer.Option("test", help="parameter preset"),
    out_file: Path = typer.Option(..., "--out", help="where to write the inputs JSON"),
) -> None:
    """Write circuit inputs for the deterministic sample rootchain (prover/samples.py)."""
    inputs = build_sample_inputs(circuit, preset)
    write_atomically(out_file, json.dumps(encode_inputs(inputs), indent=1) + "\n")
    out.print(f"wrote {out_file}")


@app.command("prove")
@reports_errors
def prove_command(
    circuit: str = typer.Argument(..., help="a circuit of circuits/circuits.toml"),
    preset: str = typer.Option("test", help="parameter preset"),
    input_file: Path | None = typer.Option(None, "--input", help="circuit inputs JSON (default: the sample rootchain)"),
    out_dir: Path | None = typer.Option(None, "--out", help="directory for proof.json, public.json, record.json"),
    replace: bool = typer.Option(False, help="replace a proof already in --out"),
) -> None:
    """Prove: witness, then snarkjs groth16 prove; the proof is checked before it is written."""
    inputs = load_inputs(input_file) if input_file else build_sample_inputs(circuit, preset)
    prover = load_prover(circuit, preset, progress=_progress)
    if prover.keys.ptau.is_local_dev:
        err.print(f"[bold yellow]warning:[/] {LOCAL_SETUP_WARNING}")
    _progress("witness and proof")
    checked = prove_checked(prover, inputs, out_dir, replace=replace)
    result = checked.result
    out.print(
        f"{result.circuit}: proof in {result.directory} (witness {result.seconds['witness']} s, "
        f"prove {result.seconds['prove']} s)",
        soft_wrap=True,
        highlight=False,
    )


@app.command("verify")
@reports_errors
def verify_command(
    proof_dir: Path = typer.Argument(..., help="a directory with proof.json, public.json and record.json"),
    vkey: Path | None = typer.Option(None, help="verification_key.json (default: the cached key the record names)"),
) -> None:
    """Verify a proof with the strict Python verifier; exit code 1 if it does not verify. Never runs a setup."""
    verdict = verify_proof_directory(proof_dir, vkey)
    what = f"{verdict.record.circuit} ({verdict.record.preset}) against {verdict.key_path}"
    if not verdict.valid:
        err.print(f"[bold red]invalid:[/] {proof_dir}: {what}", soft_wrap=True, highlight=False)
        sys.exit(1)
    out.print(f"[bold green]valid:[/] {proof_dir}: {what}", soft_wrap=True, highlight=False)


@app.command("install-tools")
@reports_errors
def install_tools_command() -> None:
    """Install the pinned circom, snarkjs and solc (npm ci) for a zkstatesync installed outside a checkout."""
    path = install_node_modules()
    out.print(f"pinned npm packages installed in {path}", soft_wrap=True, highlight=False)


@app.command("demo")
@reports_errors
def demo_command(
    chain: str = typer.Option("pyevm", help="pyevm (in process) or anvil (two local nodes, started and stopped here)"),
    preset: str = typer.Option("default", help="parameter preset of the circuits"),
) -> None:
    """Sync state between two chains through proofs, then show the attacks failing."""
    # web3 and the chains load only for the commands that use a chain.
    from bridge.chain.chains import parse_chain_kind
    from bridge.demo import run_demo

    run_demo(parse_chain_kind(chain), preset, out)


def _generated_verifiers(preset: str) -> dict[str, Path]:
    """The snarkjs Solidity verifiers of the receiver's three circuits (compiled and set up if needed)."""
    from bridge.chain.stack import VERIFIER_CIRCUITS

    return {c: export_solidity_verifier(load_prover(c, preset, progress=_progress).keys) for c in VERIFIER_CIRCUITS}


@app.command("solidity")
@reports_errors
def solidity_command(preset: str = typer.Option("test", help="parameter preset of the circuits")) -> None:
    """Export the circuits' generated Solidity verifiers and compile every contract (cached)."""
    from bridge.chain.solc import compile_directory, contracts_dir
    from bridge.chain.stack import build_generated_verifier

    for circuit, source in _generated_verifiers(preset).items():
        build = build_generated_verifier(circuit, source)
        runtime = len(build.get("Groth16Verifier").deployed_bytecode)
        out.print(f"{circuit} verifier ({runtime:,} bytes of runtime code)", highlight=False)
        out.print(f"  source:   {source}\n  compiled: {build.artefact}", soft_wrap=True, highlight=False)
    build = compile_directory()
    out.print(f"contracts of {contracts_dir()} (solc {build.compiler})", soft_wrap=True, highlight=False)
    for contract in build.contracts:
        if contract.deployed_bytecode:  # interfaces have none
            size = len(contract.deployed_bytecode)
            out.print(f"  {contract.source}:{contract.name} ({size:,} bytes)", soft_wrap=True, highlight=False)
    out.print(f"  compiled: {build.artefact}", soft_wrap=True, highlight=False)


@app.command("deploy")
@reports_errors
def deploy_command(
    chain: str = typer.Option("pyevm", help="pyevm (in process) or anvil (two local nodes, started and stopped here)"),
    preset: str = typer.Option("test", help="parameter preset of the circuits"),
) -> None:
    """Deploy the rootchain and child-chain contracts on two fresh local chains; print addresses and gas."""
    from bridge.chain.chains import open_chain, parse_chain_kind
    from bridge.chain.stack import deploy_bridge
    from prover.samples import build_sample_chain
    from statesync.model import compute_header_hash

    kind = parse_chain_kind(chain)
    sources = _generated_verifiers(preset)  # first: an unknown preset fails here, with the manifest's message
    # The sample rootchain's checkpoint (prover/samples.py), so `make prove`'s sample header links to it.
    sample = build_sample_chain(preset)
    genesis_hash = compute_header_hash(sample.checkpoint)
    with open_chain(kind) as root, open_chain(kind) as child:
        root_stack, child_stack = deploy_bridge(
            root,
            child,
            sources,
            genesis=sample.checkpoint,
            batch_size=sample.batch_size,
        )
        deployed = [
            ("rootchain", "StateSender", root_stack.sender),
            ("rootchain", "RootBridge", root_stack.bridge),
            *(("child", f"{c} verifier", v) for c, v in child_stack.verifiers.items()),
            ("child", "ZkStateReceiver", child_stack.receiver),
            ("child", "ChildToken", child_stack.token),
        ]
        for side, name, contract in deployed:
            line = f"{side:<10} {name:<26} {contract.address}  gas {contract.receipt.gas_used:>9,}"
            out.print(line, soft_wrap=True, highlight=False)
    out.print(
        f"two {kind} chains (gone now that the command has ended); receiver batch size {sample.batch_size}, "
        f"genesis: the sample checkpoint, header {sample.checkpoint.number} with hash {genesis_hash}",
        soft_wrap=True,
        highlight=False,
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
