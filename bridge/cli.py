"""The `zkstatesync` command line (the Makefile's verbs call it).

Every command turns a ZkStateSyncError into one clear message on stderr and exit code 1;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from prover import ceremony
from prover.build import compile_circuit
from prover.prove import load_prover, new_proof_directory
from prover.ptau import PtauSetup
from prover.samples import build_sample_inputs
from prover.setup import CircuitKeys, SetupTrust, export_solidity_verifier, public_ptau, setup_circuit
from prover.toolchain import install_node_modules
from prover.warm import check_backend
from prover.witness import encode_inputs, load_inputs
from statesync.circuits import load_manifest
from statesync.errors import ZkStateSyncError
from statesync.storage import write_atomically

from .proving import CheckedProof, check_proof, prove_checked, verify_proof_directory

if TYPE_CHECKING:  # the chain modules load web3: only the commands that use them import them
    from .chain.deploy import Deployed
    from .chain.stack import ChildStack, RootStack

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
            # soft_wrap: rich would otherwise fold a long message (a path) at 80 columns off a terminal.
            err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
            sys.exit(1)
        except OSError as exc:
            # A missing or unreadable file the user named: say which, without a traceback.
            err.print(f"[bold red]error:[/] {exc.strerror or exc}: {exc.filename}", highlight=False, soft_wrap=True)
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


_warned: set[str] = set()


def _report_trust(trust: SetupTrust) -> None:
    """Every command that hands out keys says what they may be trusted for (each warning once)."""
    if trust.warning and trust.warning not in _warned:
        _warned.add(trust.warning)
        err.print(f"[bold yellow]warning:[/] {trust.warning}", soft_wrap=True, highlight=False)
    out.print(f"  label: {trust.label}", soft_wrap=True, highlight=False)


def _chosen_ptau(ptau: Path | None, ptau_hash: str | None) -> tuple[Path, PtauSetup] | None:
    if (ptau is None) != (ptau_hash is None):
        raise ZkStateSyncError("--ptau and --ptau-hash go together")
    return public_ptau(ptau, ptau_hash) if ptau is not None and ptau_hash is not None else None


@app.command("setup")
@reports_errors
def setup_command(
    circuit: str = typer.Argument(..., help="a circuit of circuits/circuits.toml"),
    preset: str = typer.Option("test", help="parameter preset"),
    ptau: Path | None = typer.Option(None, help="a public ceremony's .ptau instead of a local one"),
    ptau_hash: str | None = typer.Option(None, help="the published blake2b-512 hash of --ptau"),
) -> None:
    """Make (or reuse) the circuit's Groth16 keys: powers of tau, then a one-party phase 2 (development only)."""
    chosen = _chosen_ptau(ptau, ptau_hash)
    compiled = compile_circuit(load_manifest().spec(circuit, preset))
    keys = setup_circuit(compiled, ptau=chosen, progress=_progress)
    record = keys.record
    seconds = record["seconds"]
    made = sum(seconds.values()) if isinstance(seconds, dict) else 0.0
    state = "cached" if keys.cached else f"made in {made:.1f} s"
    out.print(f"{compiled.spec.name}: keys {state} (ptau 2^{keys.ptau.power}, {keys.ptau.kind})")
    out.print(f"  zkey: {keys.zkey}\n  verification key: {keys.verification_key}", soft_wrap=True, highlight=False)
    _report_trust(keys.trust)


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
    input_files: list[Path] = typer.Option(
        [], "--input", help="circuit inputs JSON; repeat for a batch (default: the sample rootchain)"
    ),
    out_dir: Path | None = typer.Option(
        None, "--out", help="directory for proof.json, public.json, record.json (a batch: one subdirectory per input)"
    ),
    replace: bool = typer.Option(False, help="replace a proof already in --out"),
    keys: Path | None = typer.Option(
        None, "--keys", help="a keys directory (`ceremony finish`'s) instead of local keys"
    ),
    backend: str | None = typer.Option(
        None,
        help="the prover engine (snarkjs for now); default $ZKSTATESYNC_PROVER_BACKEND or snarkjs",
    ),
    workers: int = typer.Option(0, help="prove the batch on an embedded Dask LocalCluster of this many workers"),
    scheduler: str | None = typer.Option(None, help="prove the batch on an existing Dask cluster (tcp://HOST:PORT)"),
) -> None:
    """Prove: witness and proof in a warm prover (a batch: in turn, or on a Dask cluster); each proof is
    checked by the Python verifier before it is reported."""
    chosen = check_backend(backend) if backend else None
    if workers < 0 or (workers and scheduler):
        raise ZkStateSyncError("give --workers N (N >= 1) or --scheduler ADDRESS, not both")
    batch = [load_inputs(f) for f in input_files] or [build_sample_inputs(circuit, preset)]
    if len(batch) > 1 and len({f.stem for f in input_files}) != len(input_files):
        raise ZkStateSyncError("the inputs of a batch need distinct file names (each names its proof's directory)")
    prover = load_prover(circuit, preset, progress=_progress, keys=keys)
    _report_trust(prover.keys.trust)
    if len(batch) == 1:
        destinations: list[Path | None] = [out_dir]
    else:
        base = out_dir if out_dir is not None else new_proof_directory(prover.circuit.spec.name)
        destinations = [base / f.stem for f in input_files]
    if workers or scheduler:
        from prover.farm import ProofFarm

        _progress(f"witnesses and proofs on {'the Dask cluster ' + scheduler if scheduler else f'{workers} workers'}")
        jobs = [
            (inputs, d if d is not None else new_proof_directory(prover.circuit.spec.name))
            for inputs, d in zip(batch, destinations, strict=True)
        ]
        with ProofFarm(scheduler=scheduler, workers=workers or 1, backend=chosen) as farm:
            for result in farm.iter_results(prover, jobs, replace=replace):
                _report_proof(check_proof(prover, result))
        return
    _progress("witness and proof" if len(batch) == 1 else f"{len(batch)} witnesses and proofs")
    for inputs, destination in zip(batch, destinations, strict=True):
        _report_proof(prove_checked(prover, inputs, destination, replace=replace, backend=chosen))


def _report_proof(checked: CheckedProof) -> None:
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
    preset: str = typer.Option("test", help="parameter preset of the circuits"),
    in_process: bool = typer.Option(
        False, "--in-process", help="the one-process demo instead: a simulated committee, no services"
    ),
    chain: str = typer.Option("pyevm", help="with --in-process: pyevm or anvil"),
    directory: Path = typer.Option(Path("build/demo"), "--dir", help="the network's files (wiped on each run)"),
) -> None:
    """The bridge as a network of processes: deposits arrive, faults happen and are recovered from,
    attacks are refused (--in-process: the whole flow inside this process)."""
    # web3 and the chains load only for the commands that use a chain.
    from bridge.chain.chains import parse_chain_kind

    if in_process:
        from bridge.demo import run_demo

        run_demo(parse_chain_kind(chain), preset, out)
        return
    from bridge.demo_network import run_network_demo

    run_network_demo(preset, out, directory)


def _generated_verifiers(preset: str, keys: Sequence[Path] = (), *, report_all: bool = False) -> dict[str, Path]:
    """The snarkjs Solidity verifiers of the receiver's three circuits and the checkpoint manager's
    (compiled and set up if needed).

    Each keys directory in ``keys`` replaces the local keys of the circuit its record names.
    """
    from bridge.chain.stack import DEPLOYED_CIRCUITS as VERIFIER_CIRCUITS

    chosen: dict[str, Path] = {}
    for directory in keys:
        circuit = CircuitKeys.load(directory).circuit
        if circuit not in VERIFIER_CIRCUITS or circuit in chosen:
            raise ZkStateSyncError(
                f"--keys {directory} is for {circuit!r}: give at most one keys directory for each of "
                + ", ".join(VERIFIER_CIRCUITS)
            )
        chosen[circuit] = directory
    sources: dict[str, Path] = {}
    for c in VERIFIER_CIRCUITS:
        prover = load_prover(c, preset, progress=_progress, keys=chosen.get(c))
        if c in chosen or report_all:
            out.print(f"{c}: keys from {chosen.get(c, prover.keys.directory)}", soft_wrap=True, highlight=False)
            _report_trust(prover.keys.trust)
        sources[c] = export_solidity_verifier(prover.keys)
    return sources


@app.command("solidity")
@reports_errors
def solidity_command(
    preset: str = typer.Option("test", help="parameter preset of the circuits"),
    keys: list[Path] = typer.Option(
        [], "--keys", help="a keys directory (`ceremony finish`'s) for its circuit; repeat"
    ),
) -> None:
    """Export the circuits' generated Solidity verifiers and compile every contract (cached)."""
    from bridge.chain.solc import compile_directory, contracts_dir
    from bridge.chain.stack import build_generated_verifier

    for circuit, source in _generated_verifiers(preset, keys).items():
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
    config: Path | None = typer.Option(
        None, "--config", help="a network file: deploy to its chains' RPC URLs and record the addresses in it"
    ),
    chain: str | None = typer.Option(None, help="without --config: pyevm or anvil, two fresh local chains [pyevm]"),
    preset: str | None = typer.Option(None, help="without --config: parameter preset of the circuits [test]"),
    key_env: str | None = typer.Option(
        None,
        "--key-env",
        help="with --config: the variable with the deployer key (0x-hex) [ZKSTATESYNC_DEPLOYER_KEY]",
    ),
    keystore: Path | None = typer.Option(None, "--keystore", help="with --config: the deployer's Ethereum keystore"),
    password_env: str | None = typer.Option(
        None, "--password-env", help="with --keystore: the variable holding its password"
    ),
    keys: list[Path] = typer.Option(
        [], "--keys", help="a keys directory (`ceremony finish`'s) for its circuit's verifier; repeat"
    ),
    redeploy: bool = typer.Option(False, "--redeploy", help="replace a deployment the network file records"),
) -> None:
    """Deploy both sides of the bridge: to the chains a network file names (--config), or to two fresh
    local chains that are gone when the command ends; print addresses and gas."""
    if config is not None:
        if chain is not None or preset is not None:
            raise ZkStateSyncError("--chain and --preset are for fresh local chains; with --config the file names both")
        if key_env is not None and keystore is not None:
            raise ZkStateSyncError("give the deployer key one way: --key-env or --keystore")
        _deploy_to_network(config, key_env, keystore, password_env, keys, redeploy)
        return
    if key_env is not None or keystore is not None or password_env is not None or redeploy:
        raise ZkStateSyncError("--key-env, --keystore, --password-env and --redeploy go with --config")
    chain = chain or "pyevm"
    preset = preset or "test"
    from bridge.chain.chains import open_chain, parse_chain_kind
    from bridge.chain.deploy import deploy
    from bridge.chain.stack import EXIT_CIRCUIT, ExitPath, compile_generated_verifier, deploy_bridge
    from prover.samples import build_sample_chain, build_sample_checkpoint
    from statesync.model import compute_header_hash

    kind = parse_chain_kind(chain)
    sources = _generated_verifiers(preset, keys)  # first: an unknown preset fails here, with the manifest's message
    # The sample rootchain's checkpoint (prover/samples.py), so `make prove`'s sample header links to it.
    sample = build_sample_chain(preset)
    genesis_hash = compute_header_hash(sample.checkpoint)
    with open_chain(kind) as root, open_chain(kind) as child:
        # The sample checkpoint genesis (prover/samples.py), so `make prove`'s sample checkpoint links to it.
        checkpoint_verifier = deploy(root, compile_generated_verifier(EXIT_CIRCUIT, sources[EXIT_CIRCUIT]))
        root_stack, child_stack = deploy_bridge(
            root,
            child,
            sources,
            genesis=sample.checkpoint,
            batch_size=sample.batch_size,
            exit_path=ExitPath(checkpoint_verifier.address, build_sample_checkpoint(preset)[0]),
        )
        _print_deployed(root_stack, child_stack, checkpoint_verifier)
    out.print(
        f"two {kind} chains (gone now that the command has ended); receiver batch size {sample.batch_size}, "
        f"genesis: the sample checkpoint, header {sample.checkpoint.number} with hash {genesis_hash}",
        soft_wrap=True,
        highlight=False,
    )


def _print_deployed(root_stack: RootStack, child_stack: ChildStack, checkpoint_verifier: Deployed | None) -> None:
    deployed = [
        ("rootchain", "StateSender", root_stack.sender),
        ("rootchain", "RootBridge", root_stack.bridge),
        *(("child", f"{c} verifier", v) for c, v in child_stack.verifiers.items()),
        ("child", "ZkStateReceiver", child_stack.receiver),
        ("child", "ChildToken", child_stack.token),
    ]
    if checkpoint_verifier is not None and root_stack.exits is not None and child_stack.l2_sender is not None:
        deployed += [
            ("rootchain", "checkpoint_update verifier", checkpoint_verifier),
            ("rootchain", "ZkCheckpointManager", root_stack.exits.checkpoint_manager),
            ("rootchain", "ZkExitHelper", root_stack.exits.exit_helper),
            ("child", "L2StateSender", child_stack.l2_sender),
        ]
    for side, name, contract in deployed:
        line = f"{side:<10} {name:<26} {contract.address}  gas {contract.receipt.gas_used:>9,}"
        out.print(line, soft_wrap=True, highlight=False)


def _deploy_to_network(
    config: Path,
    key_env: str | None,
    keystore: Path | None,
    password_env: str | None,
    keys: Sequence[Path],
    redeploy: bool,
) -> None:
    from bridge.config import load_network_config
    from bridge.deployment import DeploymentRefused, deploy_network, load_deployer_account, refuse_recorded_deployment
    from statesync.model import compute_header_hash

    network = load_network_config(config)  # a bad file fails before any key is read or setup is run
    if not redeploy:
        refuse_recorded_deployment(network, config)
    account = load_deployer_account(key_env=key_env, keystore=keystore, password_env=password_env)
    sources = _generated_verifiers(network.circuits.preset, keys, report_all=True)
    result = deploy_network(config, account, sources, redeploy=redeploy, progress=_progress)
    _print_deployed(result.root, result.child, result.checkpoint_verifier)
    genesis = result.config.genesis
    if genesis is None:  # deploy_network always records one
        raise DeploymentRefused("the deployment recorded no genesis")
    out.print(
        f"recorded in {config}: genesis header {genesis.number} (hash {compute_header_hash(genesis)}), "
        f"deployer {account.address}",
        soft_wrap=True,
        highlight=False,
    )


ceremony_app = typer.Typer(
    help="A multi-party phase 2 in snarkjs's zkey format: start, contribute or import, verify, finish.",
    no_args_is_help=True,
)
app.add_typer(ceremony_app, name="ceremony")


def _print_transcript(directory: Path, transcript: ceremony.Transcript) -> None:
    ptau = transcript.ptau
    out.print(
        f"{transcript.instance} ceremony in {directory}\n  ptau: 2^{ptau.power} {ptau.kind} ({ptau.source}), "
        f"blake2b {ptau.blake2b[:16]}...",
        soft_wrap=True,
        highlight=False,
    )
    for entry in transcript.zkeys:
        what = "groth16 setup" if entry.kind == "initial" else f"{entry.kind} {entry.name!r} {entry.hash[:16]}..."
        if entry.kind == "beacon":
            what += f" (beacon {entry.beacon_value}, 2^{entry.beacon_iterations_exp} iterations)"
        out.print(f"  {entry.file}  {what}", soft_wrap=True, highlight=False)
    if transcript.keys:
        out.print(f"  keys: {transcript.keys}", soft_wrap=True, highlight=False)


@ceremony_app.command("start")
@reports_errors
def ceremony_start_command(
    circuit: str = typer.Argument(..., help="a circuit of circuits/circuits.toml"),
    preset: str = typer.Option("test", help="parameter preset"),
    directory: Path = typer.Option(..., "--dir", help="a new (or empty) directory for the transcript and its zkeys"),
    ptau: Path | None = typer.Option(None, help="a public ceremony's .ptau (phase 1) instead of a local one"),
    ptau_hash: str | None = typer.Option(None, help="the published blake2b-512 hash of --ptau"),
) -> None:
    """Compile the circuit and write its initial zkey (groth16 setup) and ceremony.json into --dir."""
    chosen = _chosen_ptau(ptau, ptau_hash)
    transcript = ceremony.start_ceremony(directory, circuit, preset, ptau=chosen, progress=_progress)
    _print_transcript(directory, transcript)
    _report_trust(transcript.trust)
    out.print(f"next: zkstatesync ceremony contribute {directory} --name NAME", soft_wrap=True, highlight=False)


@ceremony_app.command("contribute")
@reports_errors
def ceremony_contribute_command(
    directory: Path = typer.Argument(..., help="the ceremony directory"),
    name: str = typer.Option(..., help="who contributes (recorded in the zkey and the transcript)"),
) -> None:
    """Add a contribution with fresh entropy from the OS (snarkjs zkey contribute), checked by snarkjs."""
    entry = ceremony.contribute(directory, name, progress=_progress)
    out.print(f"{entry.file}: contribution {entry.name!r} in {entry.seconds} s", highlight=False)
    out.print(f"  contribution hash: {entry.hash}", soft_wrap=True, highlight=False)


@ceremony_app.command("import")
@reports_errors
def ceremony_import_command(
    directory: Path = typer.Argument(..., help="the ceremony directory"),
    zkey: Path = typer.Argument(..., help="a zkey contributed elsewhere to the ceremony's latest zkey"),
    name: str = typer.Option(..., help="the name the contribution carries in the zkey"),
) -> None:
    """Accept a contribution made elsewhere (snarkjs zkey contribute LATEST OUT --name=NAME), if snarkjs verifies it."""
    entry = ceremony.import_contribution(directory, zkey, name, progress=_progress)
    out.print(f"{entry.file}: contribution {entry.name!r} imported, verified in {entry.seconds} s", highlight=False)
    out.print(f"  contribution hash: {entry.hash}", soft_wrap=True, highlight=False)


@ceremony_app.command("verify")
@reports_errors
def ceremony_verify_command(directory: Path = typer.Argument(..., help="the ceremony directory")) -> None:
    """Check every zkey of the transcript with snarkjs (zkey verify); exit code 1 at the first discrepancy."""
    report = ceremony.verify_ceremony(directory, progress=_progress)
    _print_transcript(directory, report.transcript)
    total = sum(report.seconds.values())
    out.print(f"[bold green]valid:[/] every zkey verified by snarkjs in {total:.1f} s", highlight=False)
    _report_trust(report.transcript.trust)


@ceremony_app.command("finish")
@reports_errors
def ceremony_finish_command(
    directory: Path = typer.Argument(..., help="the ceremony directory"),
    beacon: str = typer.Option(..., help="the public beacon, hex (e.g. a block hash announced in advance)"),
    iterations: int = typer.Option(..., help="beacon iterations exponent (2^N sha256 rounds, 10..63)"),
    keys_out: Path | None = typer.Option(None, "--out", help="the keys directory (default: under build/keys/)"),
) -> None:
    """Apply the beacon (snarkjs zkey beacon), verify the final key, and publish the keys directory."""
    keys = ceremony.finish_ceremony(directory, beacon, iterations, out=keys_out, progress=_progress)
    out.print(f"{keys.record['instance']}: keys in {keys.directory}", soft_wrap=True, highlight=False)
    out.print(f"  zkey: {keys.zkey}\n  verification key: {keys.verification_key}", soft_wrap=True, highlight=False)
    _report_trust(keys.trust)


@ceremony_app.command("status")
@reports_errors
def ceremony_status_command(directory: Path = typer.Argument(..., help="the ceremony directory")) -> None:
    """Show the transcript and the label its keys would carry now (runs no check: see `ceremony verify`)."""
    transcript = ceremony.read_transcript(directory)
    _print_transcript(directory, transcript)
    _report_trust(transcript.trust)


# The validator node (bridge/validator). Thin wrappers: aiohttp and web3 load only when one runs.


@app.command("validator")
def validator_run(config: Path = typer.Option(..., "--config", help="the validator's TOML")) -> None:
    """Run one validator: HTTP API on loopback (/status, /sign, /metrics), slashing protection on disk."""
    from .validator.cli import validator_command

    validator_command(config)


@app.command("validator-keygen")
def validator_keygen(
    keystore: Path = typer.Option(..., "--keystore", help="the keystore file to create (never overwritten)"),
    password_env: str = typer.Option(..., "--password-env", help="the environment variable holding the password"),
) -> None:
    """Create a validator key in an encrypted (scrypt) keystore and print its public key."""
    from .keystore import DEFAULT_WORK_FACTOR
    from .validator.cli import keygen_command

    keygen_command(keystore, password_env, DEFAULT_WORK_FACTOR)


@app.command("validator-prove-possession")
def validator_prove_possession(
    keystore: Path = typer.Option(..., "--keystore", help="the validator's keystore"),
    password_env: str = typer.Option(..., "--password-env", help="the environment variable holding the password"),
    chain_id: int = typer.Option(..., "--chain-id", help="the rootchain's chain id (headers)"),
    child_chain_id: int | None = typer.Option(None, "--child-chain-id", help="the child chain's (checkpoints)"),
) -> None:
    """Print a key's proofs of possession, which the aggregate quorum mode's [[validators]] carry."""
    from .validator.cli import prove_possession_command

    prove_possession_command(keystore, password_env, chain_id, child_chain_id)


@app.command("validator-export-slashing")
def validator_export(
    config: Path = typer.Option(..., "--config", help="the validator's TOML"),
    out: Path = typer.Option(..., "--out", help="where to write the interchange JSON"),
) -> None:
    """Export the slashing-protection records (EIP-3076-style interchange JSON)."""
    from .validator.cli import export_slashing_command

    export_slashing_command(config, out)


@app.command("validator-import-slashing")
def validator_import(
    config: Path = typer.Option(..., "--config", help="the validator's TOML"),
    source: Path = typer.Option(..., "--file", help="interchange JSON to merge (conflicts are refused)"),
) -> None:
    """Merge slashing-protection records from another node; a conflict refuses the whole file."""
    from .validator.cli import import_slashing_command

    import_slashing_command(config, source)


@app.command("relay")
def relay_run(
    config: Path = typer.Option(..., "--config", help="the relayer's TOML ([relayer], and the network)"),
) -> None:
    """Run a relayer: propose headers, collect signatures, prove, submit; resumes from the chains after a crash."""
    from .relayer.cli import relay_command

    relay_command(config)


@app.command("relay-status")
def relay_status(config: Path = typer.Option(..., "--config", help="the relayer's TOML")) -> None:
    """Print a running relayer's /status as JSON."""
    from .relayer.cli import relay_status_command

    relay_status_command(config)


@app.command("status")
@reports_errors
def status_command(
    config: Path = typer.Option(..., "--config", help="the network file (deployed: it names the contracts)"),
    relayer: Path | None = typer.Option(None, "--relayer", help="a relayer's TOML: its /status is added"),
    as_json: bool = typer.Option(False, "--json", help="one JSON document instead of tables"),
) -> None:
    """The bridge's state: the rootchain's head and events, the receiver's checkpoint and executed events,
    which validators answer (and whether they hold a quorum), what the relayer is doing."""
    from .config import load_network_config
    from .relayer.settings import load_relayer_config
    from .status import read_bridge_status, render_bridge_status

    network = load_network_config(config)
    relayer_url = None
    if relayer is not None:
        relayer_config = load_relayer_config(relayer)
        node = relayer_config.node
        if node.port is None:
            raise ZkStateSyncError(f"{relayer}: [relayer] port is not set, so the relayer serves no /status")
        if relayer_config.child.receiver != (network.child.receiver if network.child else None):
            raise ZkStateSyncError(f"{relayer} relays to another receiver than {config} names")
        host = f"[{node.host}]" if ":" in node.host else node.host
        relayer_url = f"http://{host}:{node.port}"
    status = read_bridge_status(network, relayer_url)
    if as_json:
        print(json.dumps(status.to_json(), indent=1))
    else:
        out.print(render_bridge_status(status, f"bridge of {config}"))


@app.command("exit")
@reports_errors
def exit_command(
    config: Path = typer.Option(..., "--config", help="the network file (deployed: it names the contracts)"),
    exit_id: int = typer.Option(..., "--id", min=1, help="the exit's id (its L2StateSynced event on the child chain)"),
    key_env: str = typer.Option(
        "ZKSTATESYNC_EXIT_KEY", "--key-env", help="the variable with the rootchain account's key (0x-hex) that sends it"
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="print the exit's arguments as JSON; send nothing"),
) -> None:
    """Execute one exit on the rootchain: its proof is built from the child chain's logs (no prover), checked
    against the checkpoint the rootchain accepted, and sent to ZkExitHelper.exit by anyone's account."""
    from .chain.deploy import decode_events
    from .config import load_network_config
    from .deployment import load_deployer_account
    from .exits import connect_rootchain, describe_exit, exit_helper_at, prepare_exit_from_network, send_exit

    network = load_network_config(config)
    prepared = prepare_exit_from_network(network, exit_id)
    if dry_run:
        print(json.dumps(describe_exit(prepared), indent=1))
        return
    helper_address = network.rootchain.exit_helper
    if helper_address is None:
        raise ZkStateSyncError(f"{config}: [rootchain] exit_helper is not set")
    account = load_deployer_account(key_env=key_env)
    chain = connect_rootchain(network, account)
    helper = exit_helper_at(helper_address)
    receipt = send_exit(chain, helper, prepared)
    outcome = [e.args for e in decode_events(helper, receipt, "ExitProcessed")]
    succeeded = bool(outcome) and bool(outcome[0]["success"])
    out.print(
        f"exit {exit_id} (checkpoint {prepared.checkpoint_number}, leaf {prepared.proof.leaf_index}): "
        f"{'executed' if succeeded else 'sent, but its receiver failed (retryable: run this again)'} "
        f"in 0x{receipt.transaction_hash.hex()}, gas {receipt.gas_used:,}",
        soft_wrap=True,
        highlight=False,
    )
    if not succeeded:
        sys.exit(1)


@app.command("devnet")
@reports_errors
def devnet_command(
    directory: Path = typer.Option(Path("build/devnet"), "--dir", help="its files (wiped if an earlier devnet's)"),
    preset: str = typer.Option("test", help="parameter preset of the circuits"),
    deposits: int = typer.Option(20, min=0, max=100_000, help="deposits to send through the bridge"),
    interval: float = typer.Option(1.0, min=0.0, max=3600.0, help="seconds between deposits"),
    confirmations: int = typer.Option(4, min=0, max=1000, help="rootchain blocks before a range is signed"),
    block_time: int = typer.Option(1, min=1, max=60, help="seconds per rootchain block"),
    until_executed: bool = typer.Option(False, "--until-executed", help="exit once every deposit is executed"),
    timeout: float | None = typer.Option(None, min=1.0, help="exit after this many seconds"),
) -> None:
    """Two anvil chains, the contracts, 4 validators (powers 4, 3, 2, 1) and a relayer, each its own
    process; deposits go through and the bridge's state is shown live. Ctrl-C stops everything."""
    from .devnet import DevnetOptions, run_devnet

    options = DevnetOptions(
        directory=directory,
        preset=preset,
        confirmations=confirmations,
        block_time=block_time,
        deposits=deposits,
        deposit_interval=interval,
        until_executed=until_executed,
        timeout=timeout,
    )
    code = run_devnet(options, out)
    if code:
        sys.exit(code)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
