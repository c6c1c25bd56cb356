"""Groth16 keys for a compiled circuit: powers of tau, then phase 2, cached by content hash.

Phase 1 is a local single-party ceremony (prover/js/ptau_fast.js), or a public ceremony file
the user names with its published hash. Phase 2 (prover.zkey) is snarkjs's: `groth16 setup`, one
contribution with fresh entropy, a random beacon, and `zkey verify` against the r1cs and the
ptau before the key is used, run by prover/js/zkey_fast.js (same files, several times faster)
or by snarkjs itself. Every key records which kind of setup it came from, which tool made each
step, and how long each took.

Whoever ran this setup knows the key's toxic waste, whatever the ptau: phase 2 has one party. A
multi-party phase 2 is prover.ceremony's. `setup_trust` is the one rule that labels keys of
either kind, and `CircuitKeys.load` reads keys published anywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from statesync.errors import ZkStateSyncError
from statesync.storage import write_atomically

from .artifacts import Kind, artifact_path, file_sha256, staged_directory
from .build import CompiledCircuit
from .formats import read_r1cs_header
from .ptau import (
    LOCAL_DEV,
    PUBLIC_CEREMONY,
    PtauError,
    PtauSetup,
    SetupKind,
    describe_local_ptau,
    describe_public_ptau,
    generate_local_ptau,
)
from .toolchain import installed_version, run_snarkjs
from .zkey import (
    Beacon,
    Contribution,
    ContributionKind,
    Tool,
    ZkeyStep,
    ZkeyVerificationError,
    contribute_zkey,
    new_zkey,
    verify_zkey,
)

# snarkjs needs 2^power > constraints + public signals; below 2^8 it gains nothing.
MIN_POWER = 8
BEACON_ITERATIONS_EXP = 10
LOCAL_SETUP_WARNING = (
    "local trusted setup: one process on this machine made and discarded the toxic waste; "
    "fine for development and test chains, never for value-bearing deployments"
)


DEVELOPMENT_ONLY = "development only: one party"
MULTI_PARTY = "multi-party ceremony"
#: Phase-2 contributors (told apart by name) a key needs before it is called multi-party.
MIN_CONTRIBUTORS = 2


class SetupError(ZkStateSyncError):
    """A key is missing, stale or failed verification."""


class KeysMismatchError(SetupError):
    """A keys directory is for another circuit, preset or r1cs than the one being proved."""


@dataclass(frozen=True)
class SetupTrust:
    """What a key's setup lets one assume: its label, and why it is development only (if it is)."""

    label: str
    warning: str

    @property
    def development_only(self) -> bool:
        return self.label != MULTI_PARTY

    @property
    def setup_kind(self) -> SetupKind:
        # The record's historical field: "public ceremony" only when both phases were one.
        return LOCAL_DEV if self.development_only else PUBLIC_CEREMONY


def setup_trust(ptau: PtauSetup, contributions: Sequence[Contribution]) -> SetupTrust:
    """The one labelling rule: multi-party only with a public phase 1, >= 2 contributors and a final beacon.

    Contributors are counted by distinct name: the names are what the participants declare, and
    independence is theirs to establish; the rule only refuses to call fewer than two a ceremony.
    A beacon must come last, since a contribution after it would again be one party's secret.
    """
    contributors = {c.name for c in contributions if c.kind == "contribution"}
    gaps: list[str] = []
    if ptau.is_local_dev:
        gaps.append("phase 1 (powers of tau) was made on one machine by one party")
    if len(contributors) < MIN_CONTRIBUTORS:
        gaps.append(
            f"phase 2 has {len(contributors)} contributor{'' if len(contributors) == 1 else 's'} "
            f"(a ceremony needs at least {MIN_CONTRIBUTORS} independent ones)"
        )
    if not contributions or contributions[-1].kind != "beacon":
        gaps.append("phase 2 does not end with a public beacon")
    if not gaps:
        return SetupTrust(MULTI_PARTY, "")
    return SetupTrust(
        DEVELOPMENT_ONLY,
        "development only: "
        + "; ".join(gaps)
        + "; whoever made it could forge proofs: fine for development and test chains, never for value-bearing "
        "deployments",
    )


def _record_contributions(record: dict[str, object]) -> tuple[Contribution, ...]:
    raw = record.get("contributions")
    out: list[Contribution] = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict) and item.get("kind") in ("contribution", "beacon"):
            kind: ContributionKind = "beacon" if item["kind"] == "beacon" else "contribution"
            out.append(Contribution(kind, str(item.get("name", "")), str(item.get("hash", ""))))
    return tuple(out)


@dataclass(frozen=True)
class CircuitKeys:
    """A circuit's proving and verification keys, and how they were made."""

    directory: Path
    ptau: PtauSetup
    cached: bool

    @classmethod
    def load(cls, directory: Path) -> CircuitKeys:
        """Keys published in a directory (circuit.zkey, verification_key.json, setup.json), e.g. a ceremony's."""
        directory = Path(directory)
        for name in ("circuit.zkey", "verification_key.json", "setup.json"):
            if not (directory / name).is_file():
                raise SetupError(f"{directory} is not a keys directory: {name} is missing")
        try:
            record = json.loads((directory / "setup.json").read_text())
            ptau = PtauSetup.from_dict(record["ptau"])
            for field in ("circuit", "preset", "r1cs_sha256"):
                if not isinstance(record[field], str):
                    raise TypeError(f"{field} is not a string")
        except (OSError, ValueError, KeyError, TypeError, PtauError) as exc:
            raise SetupError(f"{directory / 'setup.json'} is unreadable ({exc})") from exc
        return cls(directory, ptau, cached=True)

    @property
    def zkey(self) -> Path:
        return self.directory / "circuit.zkey"

    @property
    def verification_key(self) -> Path:
        return self.directory / "verification_key.json"

    @property
    def record(self) -> dict[str, object]:
        return dict(json.loads((self.directory / "setup.json").read_text()))

    @property
    def circuit(self) -> str:
        """The manifest circuit the keys are for."""
        return str(self.record["circuit"])

    @property
    def preset(self) -> str:
        return str(self.record["preset"])

    @property
    def verification_key_sha256(self) -> str:
        return file_sha256(self.verification_key)

    @property
    def trust(self) -> SetupTrust:
        """The label, derived from what the record says was done (so older records are labelled too)."""
        record = self.record
        made_from = record.get("ptau")
        try:
            ptau = PtauSetup.from_dict(made_from) if isinstance(made_from, dict) else self.ptau
        except PtauError:
            ptau = self.ptau
        return setup_trust(ptau, _record_contributions(record))

    def check_matches(self, circuit: CompiledCircuit) -> None:
        """Raise KeysMismatchError unless these keys were made for exactly this compiled circuit."""
        record = self.record
        spec = circuit.spec
        wanted = {"circuit": spec.circuit, "preset": spec.preset, "r1cs_sha256": file_sha256(circuit.r1cs)}
        for field, value in wanted.items():
            if record.get(field) != value:
                raise KeysMismatchError(
                    f"{self.directory} holds keys for {field} {record.get(field)!r}, not {value!r} "
                    f"({spec.name} as compiled here)"
                )


def required_power(circuit: CompiledCircuit) -> int:
    header = read_r1cs_header(circuit.r1cs)
    # snarkjs's domain must hold every constraint plus one per public signal and one more.
    needed = header.n_constraints + header.n_public + 1
    return max(MIN_POWER, (needed - 1).bit_length())


def local_ptau(power: int, progress: Callable[[str], None] | None = None) -> tuple[Path, PtauSetup]:
    """The cached local ptau of this power, generated on first use."""
    path = artifact_path(Kind.PTAU, f"local-{power}") / f"local-{power}.ptau"
    record = path.with_suffix(".json")
    if path.is_file() and record.is_file():
        return path, PtauSetup.from_dict(json.loads(record.read_text()))
    path.parent.mkdir(parents=True, exist_ok=True)
    if progress:
        progress(f"powers of tau 2^{power} (local, {LOCAL_SETUP_WARNING})")
    started = time.perf_counter()
    generate_local_ptau(power, path)
    seconds = round(time.perf_counter() - started, 3)
    setup = describe_local_ptau(path)
    write_atomically(record, json.dumps({**setup.to_dict(), "seconds": seconds}, indent=2) + "\n")
    return path, setup


def public_ptau(path: Path, blake2b_hex: str) -> tuple[Path, PtauSetup]:
    """A public ceremony's ptau, checked against its published blake2b-512 hash."""
    return Path(path), describe_public_ptau(Path(path), blake2b_hex)


def setup_circuit(
    circuit: CompiledCircuit,
    *,
    ptau: tuple[Path, PtauSetup] | None = None,
    progress: Callable[[str], None] | None = None,
    tool: Tool = "zkey_fast",
) -> CircuitKeys:
    """Phase 2 for circuit (cached): setup, one contribution, a beacon, then zkey verify.

    ``tool`` picks who runs the phase-2 steps: prover/js/zkey_fast.js (default; its setup is
    byte-identical to snarkjs's, the contribution and the beacon are applied in one pass, and
    its verification recomputes the initial key before running snarkjs's own checks) or snarkjs.
    """
    power = required_power(circuit)
    ptau_path, ptau_setup = ptau or local_ptau(power, progress)
    if ptau_setup.power < power:
        raise SetupError(
            f"{circuit.spec.name} needs powers of tau of at least 2^{power}, the ptau has 2^{ptau_setup.power}"
        )
    snarkjs = installed_version("snarkjs")
    key = hashlib.sha256(
        "\n".join(
            [
                file_sha256(circuit.r1cs),
                ptau_setup.blake2b,
                f"snarkjs {snarkjs}",
                "contribute+beacon+verify",
                f"phase2 tool {tool}",
                "record 2",  # setup.json names circuit and preset
            ]
        ).encode()
    ).hexdigest()
    directory = artifact_path(Kind.KEYS, circuit.spec.name, key[:16])
    if (directory / "setup.json").is_file():
        return CircuitKeys(directory, ptau_setup, cached=True)
    with staged_directory(directory, "setup.json") as staging:
        _run_phase2(circuit, ptau_path, ptau_setup, staging, tool, progress)
    return CircuitKeys(directory, ptau_setup, cached=False)


def _run_phase2(
    circuit: CompiledCircuit,
    ptau_path: Path,
    ptau_setup: PtauSetup,
    staging: Path,
    tool: Tool,
    progress: Callable[[str], None] | None,
) -> None:
    timings: dict[str, float] = {}
    tools: dict[str, str] = {}
    steps: dict[str, ZkeyStep] = {}

    def step(name: str, run: Callable[[], ZkeyStep | None], made_by: str) -> None:
        if progress:
            progress(f"{circuit.spec.name}: {name}")
        started = time.perf_counter()
        result = run()
        timings[name] = round(time.perf_counter() - started, 3)
        tools[name] = made_by
        if result is not None:
            steps[name] = result

    initial, final = staging / "0000.zkey", staging / "circuit.zkey"
    # Entropy and beacon come from the OS CSPRNG and are never stored.
    beacon = Beacon(secrets.token_hex(32), BEACON_ITERATIONS_EXP, "final beacon")
    try:
        step("groth16 setup", lambda: new_zkey(circuit.r1cs, ptau_path, initial, tool=tool), tool)
        step(
            "contribution + beacon",
            lambda: contribute_zkey(
                initial, final, name="zkstatesync local", entropy=secrets.token_hex(32), beacon=beacon, tool=tool
            ),
            tool,
        )
        step("zkey verify", lambda: verify_zkey(circuit.r1cs, ptau_path, final, tool=tool), tool)
        step(
            "export verification key",
            lambda: _export_verification_key(final, staging / "verification_key.json"),
            "snarkjs",
        )
    except ZkeyVerificationError as exc:
        raise SetupError(f"{circuit.spec.name}: the new key failed verification: {exc}") from exc
    initial.unlink()
    contributions = steps["contribution + beacon"].added if "contribution + beacon" in steps else ()
    # One contribution and a secret beacon: one party, whichever ptau phase 1 came from.
    trust = setup_trust(ptau_setup, contributions)
    record = {
        "circuit": circuit.spec.circuit,
        "preset": circuit.spec.preset,
        "instance": circuit.spec.name,
        "build_key": circuit.key,
        "r1cs_sha256": file_sha256(circuit.r1cs),
        "ptau": ptau_setup.to_dict(),
        "setup_kind": trust.setup_kind,
        "label": trust.label,
        "warning": trust.warning,
        "phase2": [
            "groth16 setup",
            "1 contribution (OS entropy)",
            f"random beacon, 2^{BEACON_ITERATIONS_EXP} iterations",
            "zkey verify: ok",
        ],
        "circuit_hash": steps["groth16 setup"].circuit_hash if "groth16 setup" in steps else None,
        "contributions": [{"kind": c.kind, "name": c.name, "hash": c.hash} for c in contributions],
        "snarkjs": installed_version("snarkjs"),
        "tools": tools,
        "seconds": timings,
    }
    (staging / "setup.json").write_text(json.dumps(record, indent=2) + "\n")


def _export_verification_key(zkey: Path, out: Path) -> None:
    run_snarkjs(["zkey", "export", "verificationkey", zkey, out])


def export_solidity_verifier(keys: CircuitKeys) -> Path:
    """snarkjs's Solidity verifier for the keys, generated once and kept byte for byte."""
    path = keys.directory / "Groth16Verifier.sol"
    if not path.is_file():
        staging = keys.directory / f".Groth16Verifier.sol.tmp-{os.getpid()}"
        run_snarkjs(["zkey", "export", "solidityverifier", keys.zkey, staging])
        os.replace(staging, path)
    return path
