"""A multi-party Groth16 phase 2, in snarkjs's own zkey format and checked by snarkjs's own commands.

A ceremony directory holds its transcript, ``ceremony.json``, and every zkey in order:

    0000_initial.zkey   `start_ceremony`: ``groth16 setup`` of a manifest circuit on a ptau
    0001.zkey, ...      one contribution each: `contribute` (``snarkjs zkey contribute`` here, with
                        entropy from the OS CSPRNG) or `import_contribution` (a file a participant
                        made elsewhere, e.g. with plain ``snarkjs zkey contribute in.zkey out.zkey``)
    NNNN_beacon.zkey    `finish_ceremony`: ``zkey beacon`` with a public value the caller names,
                        then the keys are published for prover.setup.CircuitKeys.load

No zkey enters the transcript until snarkjs has checked it and listed the contributions in it:
``zkey verify init`` against the ceremony's initial key for each contribution, and the full
``zkey verify r1cs ptau zkey`` (which recomputes the initial key) for the final key and in
`verify_ceremony`. The listing must be the transcript's contributions, unchanged and in order,
plus exactly the new one. The transcript pins each file's sha256, so a file changed afterwards is
refused before snarkjs runs; `verify_ceremony` also re-checks every file with snarkjs.

The label of the keys comes from prover.setup.setup_trust: "multi-party ceremony" only with a
public phase 1, at least two contributors and the final beacon.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from statesync.circuits import load_manifest
from statesync.errors import ToolError, ZkStateSyncError
from statesync.storage import write_atomically

from .artifacts import Kind, artifact_path, file_sha256, staged_directory
from .build import CompiledCircuit, compile_circuit
from .ptau import PtauError, PtauSetup, ptau_blake2b
from .setup import CircuitKeys, SetupTrust, local_ptau, required_power, setup_trust
from .toolchain import installed_version, run_snarkjs
from .zkey import MAX_NAME, Beacon, Contribution, Tool, ZkeyInputError, new_zkey

TRANSCRIPT: Final = "ceremony.json"
TRANSCRIPT_VERSION: Final = 1
INITIAL: Final = "0000_initial.zkey"
DEFAULT_BEACON_NAME: Final = "final beacon"
_LOCK: Final = ".lock"

EntryKind = Literal["initial", "contribution", "beacon"]
Progress = Callable[[str], None] | None

_SHA256 = re.compile(r"[0-9a-f]{64}")
# snarkjs prints a hash as 16 groups of 8 hex digits over 4 indented lines (formatHash).
_HASH_GROUPS = r"((?:\s+[0-9a-f]{8}){16})"
_CIRCUIT_HASH = re.compile(r"Circuit Hash: *\n" + _HASH_GROUPS)
_LISTED = re.compile(
    r"contribution #(\d+) (.*):\n"
    + _HASH_GROUPS
    + r"(?:\n[^\n]*Beacon generator: ([0-9a-f]*)\n[^\n]*Beacon iterations Exp: (\d+))?"
)


class CeremonyError(ZkStateSyncError):
    """A ceremony step was refused: a bad argument, a broken transcript, or a zkey that does not verify."""


class CeremonyInputError(CeremonyError, ValueError):
    """An argument is unusable: a missing or non-empty directory, a bad name, beacon or file."""


class CeremonyVerificationError(CeremonyError):
    """A zkey is not what the transcript says: snarkjs refused it, or its contributions differ."""

    def __init__(self, message: str, output: str = "") -> None:
        self.output = output
        super().__init__(message)


@dataclass(frozen=True)
class ZkeyEntry:
    """One zkey of the transcript: its file, sha256, and the contribution it added (none for the first)."""

    file: str
    sha256: str
    kind: EntryKind
    name: str = ""
    hash: str = ""
    origin: str = ""
    seconds: float = 0.0
    beacon_value: str = ""
    beacon_iterations_exp: int = 0

    @property
    def contribution(self) -> Contribution | None:
        if self.kind == "initial":
            return None
        return Contribution("beacon" if self.kind == "beacon" else "contribution", self.name, self.hash)

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"file": self.file, "sha256": self.sha256, "kind": self.kind}
        if self.kind != "initial":
            data.update(name=self.name, hash=self.hash)
        if self.kind == "beacon":
            data.update(beacon={"value": self.beacon_value, "iterations_exp": self.beacon_iterations_exp})
        data.update(origin=self.origin, seconds=self.seconds)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ZkeyEntry:
        kind = data["kind"]
        if kind not in ("initial", "contribution", "beacon"):
            raise ValueError(f"unknown zkey kind {kind!r}")
        beacon = data.get("beacon", {})
        if not isinstance(beacon, Mapping):
            raise TypeError("beacon is not an object")
        seconds = data.get("seconds", 0.0)
        exp = beacon.get("iterations_exp", 0)
        if not isinstance(seconds, int | float) or not isinstance(exp, int):
            raise TypeError("seconds and iterations_exp must be numbers")
        entry = cls(
            file=_text(data, "file"),
            sha256=_text(data, "sha256"),
            kind="initial" if kind == "initial" else "beacon" if kind == "beacon" else "contribution",
            name=str(data.get("name", "")),
            hash=str(data.get("hash", "")),
            origin=str(data.get("origin", "")),
            seconds=float(seconds),
            beacon_value=str(beacon.get("value", "")),
            beacon_iterations_exp=exp,
        )
        if _SHA256.fullmatch(entry.sha256) is None or Path(entry.file).name != entry.file:
            raise ValueError(f"bad file entry {entry.file!r}")
        return entry


def _text(data: Mapping[str, object], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} is not a string")
    return value


@dataclass(frozen=True)
class Transcript:
    """ceremony.json: what the ceremony is for, and its zkeys in order."""

    circuit: str
    preset: str
    instance: str
    build_key: str
    r1cs_sha256: str
    circuit_hash: str | None
    ptau: PtauSetup
    ptau_path: str
    snarkjs: str
    zkeys: tuple[ZkeyEntry, ...]
    keys: str | None = None

    @property
    def latest(self) -> ZkeyEntry:
        return self.zkeys[-1]

    @property
    def contributions(self) -> tuple[Contribution, ...]:
        return tuple(c for c in (z.contribution for z in self.zkeys) if c is not None)

    @property
    def finished(self) -> bool:
        return self.latest.kind == "beacon"

    @property
    def trust(self) -> SetupTrust:
        """The label keys published from this transcript as it stands would carry."""
        return setup_trust(self.ptau, self.contributions)

    def to_dict(self) -> dict[str, object]:
        return {
            "version": TRANSCRIPT_VERSION,
            "circuit": self.circuit,
            "preset": self.preset,
            "instance": self.instance,
            "build_key": self.build_key,
            "r1cs_sha256": self.r1cs_sha256,
            "circuit_hash": self.circuit_hash,
            "ptau": {**self.ptau.to_dict(), "path": self.ptau_path},
            "snarkjs": self.snarkjs,
            "zkeys": [z.to_dict() for z in self.zkeys],
            "keys": self.keys,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Transcript:
        if data.get("version") != TRANSCRIPT_VERSION:
            raise ValueError(f"transcript version {data.get('version')!r}, this reads {TRANSCRIPT_VERSION}")
        ptau = data["ptau"]
        zkeys = data["zkeys"]
        circuit_hash, keys = data.get("circuit_hash"), data.get("keys")
        if not isinstance(ptau, Mapping) or not isinstance(zkeys, list) or not zkeys:
            raise TypeError("ptau must be an object and zkeys a non-empty list")
        if not (circuit_hash is None or isinstance(circuit_hash, str)) or not (keys is None or isinstance(keys, str)):
            raise TypeError("circuit_hash and keys must be strings or null")
        entries = tuple(ZkeyEntry.from_dict(z) for z in zkeys)
        if entries[0].kind != "initial" or any(z.kind == "initial" for z in entries[1:]):
            raise ValueError("the first zkey, and only it, is the initial one")
        if any(z.kind == "beacon" for z in entries[:-1]):
            raise ValueError("a beacon can only be the last zkey")
        return cls(
            circuit=_text(data, "circuit"),
            preset=_text(data, "preset"),
            instance=_text(data, "instance"),
            build_key=_text(data, "build_key"),
            r1cs_sha256=_text(data, "r1cs_sha256"),
            circuit_hash=circuit_hash,
            ptau=PtauSetup.from_dict(ptau),
            ptau_path=_text(ptau, "path"),
            snarkjs=_text(data, "snarkjs"),
            zkeys=entries,
            keys=keys,
        )


@dataclass(frozen=True)
class Listed:
    """One contribution as snarkjs's ``zkey verify`` lists it (with the beacon's parameters, for a beacon)."""

    contribution: Contribution
    beacon_value: str = ""
    beacon_iterations_exp: int = 0


@dataclass(frozen=True)
class Listing:
    """What a passing ``zkey verify`` printed: the circuit hash and the contributions, oldest first."""

    circuit_hash: str
    contributions: tuple[Listed, ...]


@dataclass(frozen=True)
class CeremonyReport:
    """`verify_ceremony`'s result: the transcript, as snarkjs confirmed it, and seconds per zkey."""

    transcript: Transcript
    circuit_hash: str
    seconds: Mapping[str, float]


def read_transcript(directory: Path) -> Transcript:
    """The transcript of a ceremony directory (CeremonyInputError if there is none)."""
    directory = Path(directory)
    path = directory / TRANSCRIPT
    if not directory.is_dir():
        raise CeremonyInputError(f"{directory} does not exist (start a ceremony there first)")
    if not path.is_file():
        raise CeremonyInputError(f"{directory} is not a ceremony directory: {TRANSCRIPT} is missing")
    try:
        return Transcript.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError, PtauError) as exc:
        raise CeremonyError(f"{path} is unreadable ({exc})") from exc


def _check_name(name: str, transcript: Transcript | None = None) -> str:
    if (
        not isinstance(name, str)
        or not 1 <= len(name) <= MAX_NAME
        or not name.isascii()
        or not name.isprintable()
        or name != name.strip()
    ):
        raise CeremonyInputError(
            f"a contribution's name must be 1..{MAX_NAME} printable ASCII characters without surrounding "
            f"spaces, got {name!r}"
        )
    if transcript is not None and name in {c.name for c in transcript.contributions}:
        # Contributors are counted by name (prover.setup.setup_trust): one name, one party.
        raise CeremonyInputError(f"the transcript already has a contribution named {name!r}; each party names itself")
    return name


def _beacon(value: str, iterations_exp: int, name: str) -> Beacon:
    cleaned = value.strip().lower().removeprefix("0x") if isinstance(value, str) else value
    try:
        return Beacon(cleaned, iterations_exp, name)
    except ZkeyInputError as exc:
        raise CeremonyInputError(str(exc)) from exc


def _compiled(transcript: Transcript) -> CompiledCircuit:
    compiled = compile_circuit(load_manifest().spec(transcript.circuit, transcript.preset))
    actual = file_sha256(compiled.r1cs)
    if actual != transcript.r1cs_sha256:
        raise CeremonyError(
            f"{compiled.spec.name} now compiles to an r1cs with sha256 {actual[:16]}..., the ceremony's is "
            f"{transcript.r1cs_sha256[:16]}... (the circuit's sources or the compiler changed since it started)"
        )
    return compiled


def _ptau_file(transcript: Transcript) -> Path:
    path = Path(transcript.ptau_path)
    if not path.is_file():
        raise CeremonyInputError(f"the ceremony's ptau {path} is missing (blake2b {transcript.ptau.blake2b[:16]}...)")
    actual = ptau_blake2b(path)
    if actual != transcript.ptau.blake2b:
        raise CeremonyVerificationError(
            f"{path} has blake2b {actual[:16]}..., the ceremony's ptau has {transcript.ptau.blake2b[:16]}..."
        )
    return path


def _check_file(directory: Path, entry: ZkeyEntry) -> Path:
    path = directory / entry.file
    if not path.is_file():
        raise CeremonyVerificationError(f"{path} is missing from the ceremony")
    actual = file_sha256(path)
    if actual != entry.sha256:
        raise CeremonyVerificationError(
            f"{path} was changed after it entered the transcript (sha256 {actual[:16]}..., the transcript has "
            f"{entry.sha256[:16]}...)"
        )
    return path


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[Transcript]:
    """The transcript, read while this process alone may change the ceremony."""
    read_transcript(directory)  # first: no lock file appears in a directory that is no ceremony
    with (Path(directory) / _LOCK).open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise CeremonyError(f"another ceremony step is running in {directory}; try again when it ends") from exc
        try:
            yield read_transcript(directory)  # again: the step that held the lock may have changed it
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def _scratch(directory: Path) -> Iterator[Path]:
    # Beside the transcript, so a checked zkey enters the ceremony by a rename.
    work = Path(tempfile.mkdtemp(prefix=".work-", dir=directory))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _first_reason(output: str) -> str:
    for line in output.splitlines():
        text = re.sub(r"^\[\w+\]\s+snarkJS:\s*", "", line.strip())
        if "INVALID" in text or "does not match" in text or "not identical" in text or "Error" in text:
            return text
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[0] if lines else "no output"


def _snarkjs_verify(args: list[str | os.PathLike[str]], what: str, shown: str) -> Listing:
    try:
        proc = run_snarkjs(args)
    except ToolError as exc:
        if not isinstance(exc.__cause__, subprocess.CalledProcessError):
            raise  # timed out or could not start: no verdict on the file
        raise CeremonyVerificationError(
            f"snarkjs {what} refused {shown}: {_first_reason(exc.stderr)}", exc.stderr
        ) from exc
    if "ZKey Ok!" not in proc.stdout:
        raise CeremonyVerificationError(
            f"snarkjs {what} did not accept {shown}: {_first_reason(proc.stdout)}", proc.stdout
        )
    return parse_listing(proc.stdout, shown)


def parse_listing(output: str, shown: str = "the zkey") -> Listing:
    """The circuit hash and contributions of a passing ``snarkjs zkey verify``'s output (it prints newest first)."""
    circuit = _CIRCUIT_HASH.findall(output)
    if not circuit:
        raise CeremonyVerificationError(f"snarkjs's verification of {shown} printed no circuit hash", output)
    found: dict[int, Listed] = {}
    for number, name, groups, beacon_value, exp in _LISTED.findall(output):
        kind: Literal["contribution", "beacon"] = "beacon" if exp else "contribution"
        listed = Listed(Contribution(kind, name, "".join(groups.split())), beacon_value, int(exp) if exp else 0)
        found[int(number)] = listed
    if sorted(found) != list(range(1, len(found) + 1)):
        raise CeremonyVerificationError(f"cannot read the contributions snarkjs listed for {shown}", output)
    return Listing("".join(circuit[-1].split()), tuple(found[i] for i in sorted(found)))


def _verify_from_initial(directory: Path, transcript: Transcript, ptau: Path, zkey: Path, shown: str) -> Listing:
    # snarkjs's phase2verifyFromInit, what `zkey verify` runs after recomputing the initial key;
    # the initial key here is the transcript's, pinned by its sha256 since `start_ceremony` made it.
    initial = _check_file(directory, transcript.zkeys[0])
    return _snarkjs_verify(["zkvi", initial, ptau, zkey], "zkey verify init", shown)


def _verify_from_r1cs(compiled: CompiledCircuit, ptau: Path, zkey: Path, shown: str) -> Listing:
    return _snarkjs_verify(["zkey", "verify", compiled.r1cs, ptau, zkey], "zkey verify", shown)


def _describe(contributions: Sequence[Contribution]) -> str:
    # No square brackets: the CLI prints messages through rich, which would read them as markup.
    return ", ".join(f"{c.kind} {c.name!r} {c.hash[:8]}" for c in contributions) or "no contribution"


def _check_listing(listing: Listing, transcript: Transcript, shown: str, *, added: int) -> tuple[Listed, ...]:
    """The ``added`` contributions after the transcript's own, which must come first and unchanged."""
    listed = tuple(item.contribution for item in listing.contributions)
    known = transcript.contributions
    if len(listed) != len(known) + added or listed[: len(known)] != known:
        raise CeremonyVerificationError(
            f"{shown} does not extend the transcript's latest zkey {transcript.latest.file}: snarkjs lists "
            f"{_describe(listed)}; the transcript has {_describe(known)}"
            + (f", and {added} new one{'s' if added > 1 else ''} should follow" if added else "")
        )
    if transcript.circuit_hash is not None and listing.circuit_hash != transcript.circuit_hash:
        raise CeremonyVerificationError(
            f"{shown} is a key of another circuit (circuit hash {listing.circuit_hash[:16]}...)"
        )
    return listing.contributions[len(known) :]


def _write(directory: Path, transcript: Transcript) -> None:
    write_atomically(Path(directory) / TRANSCRIPT, transcript.to_json())


@dataclass(frozen=True)
class _Initial:
    directory: Path
    origin: str
    seconds: float
    circuit_hash: str | None


def _initial_zkey(
    compiled: CompiledCircuit, ptau_path: Path, ptau: PtauSetup, tool: Tool, progress: Progress
) -> _Initial:
    """The circuit's initial zkey on the ptau, cached under build/ceremony/ by what determines it.

    ``groth16 setup`` draws no randomness, so a ceremony restarted (or a second one) for the same
    r1cs and ptau reuses the key instead of paying for the setup again. A cache entry is trusted
    no more than a fresh key: `finish_ceremony` and `verify_ceremony` recompute it with snarkjs.
    """
    key = hashlib.sha256(
        "\n".join(
            [file_sha256(compiled.r1cs), ptau.blake2b, f"snarkjs {installed_version('snarkjs')}", f"tool {tool}"]
        ).encode()
    ).hexdigest()
    directory = artifact_path(Kind.CEREMONY, compiled.spec.name, key[:16])
    record = directory / "initial.json"
    if record.is_file() and (
        not (directory / INITIAL).is_file()
        or json.loads(record.read_text()).get("sha256") != file_sha256(directory / INITIAL)
    ):
        shutil.rmtree(directory)  # damaged since it was made: make it again
    if not record.is_file():
        if progress:
            progress(f"{compiled.spec.name}: groth16 setup ({tool})")
        with staged_directory(directory, record.name) as staging:
            step = new_zkey(compiled.r1cs, ptau_path, staging / INITIAL, tool=tool)
            made = {
                "tool": tool,
                "seconds": step.seconds,
                "circuit_hash": step.circuit_hash,
                "sha256": file_sha256(staging / INITIAL),
            }
            (staging / record.name).write_text(json.dumps(made, indent=2) + "\n")
    made = json.loads(record.read_text())
    origin = "groth16 setup (prover/js/zkey_fast.js, byte for byte snarkjs's)" if tool == "zkey_fast" else ""
    circuit_hash = made.get("circuit_hash")
    return _Initial(
        directory,
        origin or "snarkjs groth16 setup",
        float(made.get("seconds", 0.0)),
        circuit_hash if isinstance(circuit_hash, str) else None,
    )


def start_ceremony(
    directory: Path,
    circuit: str,
    preset: str,
    *,
    ptau: tuple[Path, PtauSetup] | None = None,
    tool: Tool = "zkey_fast",
    progress: Progress = None,
) -> Transcript:
    """Compile a manifest circuit, and write its initial zkey and the transcript into a new directory.

    ``ptau`` is prover.setup.public_ptau's (a public phase 1, checked against its published hash)
    or, by default, the local one (development only). ``tool`` makes the initial key:
    prover/js/zkey_fast.js writes byte for byte what ``snarkjs groth16 setup`` writes, faster;
    "snarkjs" runs snarkjs itself. Every later check recomputes or compares against it with snarkjs.
    """
    directory = Path(directory)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise CeremonyInputError(f"{directory} exists and is not empty; a ceremony starts in a new directory")
    compiled = compile_circuit(load_manifest().spec(circuit, preset))
    power = required_power(compiled)
    ptau_path, ptau_setup = ptau or local_ptau(power, progress)
    if ptau_setup.power < power:
        raise CeremonyInputError(
            f"{compiled.spec.name} needs powers of tau of at least 2^{power}, the ptau has 2^{ptau_setup.power}"
        )
    made = _initial_zkey(compiled, Path(ptau_path), ptau_setup, tool, progress)
    with staged_directory(directory, TRANSCRIPT) as staging:
        shutil.copyfile(made.directory / INITIAL, staging / INITIAL)
        initial = ZkeyEntry(
            INITIAL, file_sha256(staging / INITIAL), "initial", origin=made.origin, seconds=made.seconds
        )
        transcript = Transcript(
            circuit=compiled.spec.circuit,
            preset=compiled.spec.preset,
            instance=compiled.spec.name,
            build_key=compiled.key,
            r1cs_sha256=file_sha256(compiled.r1cs),
            circuit_hash=made.circuit_hash,
            ptau=ptau_setup,
            ptau_path=str(Path(ptau_path).resolve()),
            snarkjs=installed_version("snarkjs"),
            zkeys=(initial,),
        )
        (staging / TRANSCRIPT).write_text(transcript.to_json())
    return transcript


def _refuse_finished(transcript: Transcript, directory: Path) -> None:
    if transcript.finished:
        raise CeremonyInputError(
            f"the ceremony in {directory} is finished (its beacon is applied; keys in {transcript.keys}); "
            "a contribution after the beacon would undo it"
        )


def _accept(
    directory: Path,
    transcript: Transcript,
    candidate: Path,
    name: str,
    origin: str,
    started: float,
    shown: str,
) -> ZkeyEntry:
    """Check a new zkey with snarkjs, move it into the ceremony and append it to the transcript."""
    ptau = _ptau_file(transcript)
    listing = _verify_from_initial(directory, transcript, ptau, candidate, shown)
    (new,) = _check_listing(listing, transcript, shown, added=1)
    if new.contribution.kind != "contribution":
        raise CeremonyVerificationError(f"{shown} adds a beacon; `finish` applies the ceremony's beacon")
    if new.contribution.name != name:
        raise CeremonyVerificationError(
            f"{shown}'s new contribution is named {new.contribution.name!r} in the file, not {name!r} "
            "(name it with `snarkjs zkey contribute --name=...`)"
        )
    file = f"{len(transcript.zkeys):04d}.zkey"
    os.replace(candidate, directory / file)
    entry = ZkeyEntry(
        file,
        file_sha256(directory / file),
        "contribution",
        name,
        new.contribution.hash,
        origin,
        round(time.perf_counter() - started, 3),
    )
    updated = dataclasses.replace(
        transcript,
        circuit_hash=transcript.circuit_hash or listing.circuit_hash,
        zkeys=(*transcript.zkeys, entry),
    )
    _write(directory, updated)
    return entry


def contribute(directory: Path, name: str, *, progress: Progress = None) -> ZkeyEntry:
    """Add one contribution (``snarkjs zkey contribute``) to the latest zkey; return its transcript entry.

    The entropy is drawn here from the OS CSPRNG and never stored. It reaches snarkjs as ``-e=``,
    which other local users may see in the process list while it runs; snarkjs mixes 64 bytes of
    its own CSPRNG output into it, so that value alone does not give away the contribution.
    """
    directory = Path(directory)
    with _locked(directory) as transcript:
        _check_name(name, transcript)
        _refuse_finished(transcript, directory)
        latest = _check_file(directory, transcript.latest)
        started = time.perf_counter()
        if progress:
            progress(f"{transcript.instance}: zkey contribute {name!r}")
        with _scratch(directory) as work:
            candidate = work / "contribution.zkey"
            entropy = secrets.token_hex(32)
            run_snarkjs(["zkey", "contribute", latest, candidate, f"--name={name}", f"-e={entropy}"])
            if progress:
                progress(f"{transcript.instance}: zkey verify init (the new contribution)")
            return _accept(directory, transcript, candidate, name, "zkey contribute", started, f"{name!r}'s zkey")


def import_contribution(directory: Path, zkey: Path, name: str, *, progress: Progress = None) -> ZkeyEntry:
    """Accept a contribution made elsewhere to the transcript's latest zkey; return its transcript entry.

    The file is refused unless snarkjs verifies it against the ceremony's initial key and lists
    every contribution of the transcript, unchanged, then one new one named ``name``.
    """
    directory, zkey = Path(directory), Path(zkey)
    with _locked(directory) as transcript:
        _check_name(name, transcript)
        _refuse_finished(transcript, directory)
        if not zkey.is_file():
            raise CeremonyInputError(f"zkey {zkey} does not exist")
        _check_file(directory, transcript.latest)
        started = time.perf_counter()
        if progress:
            progress(f"{transcript.instance}: zkey verify init {zkey}")
        with _scratch(directory) as work:
            # The copy is what snarkjs checks and what enters the ceremony: the file cannot change in between.
            candidate = work / "import.zkey"
            shutil.copyfile(zkey, candidate)
            return _accept(directory, transcript, candidate, name, f"imported from {zkey.name}", started, str(zkey))


def verify_ceremony(directory: Path, *, progress: Progress = None) -> CeremonyReport:
    """Check the whole transcript with snarkjs; raise CeremonyVerificationError at the first discrepancy.

    The r1cs (recompiled) and the ptau must be the ones the ceremony started from and every file
    must have its recorded sha256; then snarkjs checks every zkey (``zkey verify init`` for the
    intermediate ones, the full ``zkey verify r1cs ptau zkey`` for the latest) and each listing
    must be the transcript's contributions up to that zkey, with the recorded beacon. A finished
    ceremony's published circuit.zkey, if still where the transcript says, must be its final key.
    """
    directory = Path(directory)
    transcript = read_transcript(directory)
    compiled = _compiled(transcript)
    ptau = _ptau_file(transcript)
    for entry in transcript.zkeys:
        _check_file(directory, entry)
    seconds: dict[str, float] = {}
    circuit_hash = transcript.circuit_hash
    for index, entry in enumerate(transcript.zkeys[1:], start=1):
        prefix = dataclasses.replace(transcript, zkeys=transcript.zkeys[:index])
        path = directory / entry.file
        started = time.perf_counter()
        if index == len(transcript.zkeys) - 1:
            if progress:
                progress(f"{transcript.instance}: zkey verify r1cs ptau {entry.file}")
            listing = _verify_from_r1cs(compiled, ptau, path, entry.file)
        else:
            if progress:
                progress(f"{transcript.instance}: zkey verify init {entry.file}")
            listing = _verify_from_initial(directory, transcript, ptau, path, entry.file)
        seconds[entry.file] = round(time.perf_counter() - started, 3)
        (new,) = _check_listing(listing, prefix, entry.file, added=1)
        if new.contribution != entry.contribution or (new.beacon_value, new.beacon_iterations_exp) != (
            entry.beacon_value,
            entry.beacon_iterations_exp,
        ):
            raise CeremonyVerificationError(
                f"{entry.file}: snarkjs lists {_describe([new.contribution])}, the transcript records "
                f"{_describe([entry.contribution] if entry.contribution else [])}"
            )
        circuit_hash = circuit_hash or listing.circuit_hash
    if len(transcript.zkeys) == 1:
        # No contribution yet: the initial key alone, against the r1cs and the ptau.
        started = time.perf_counter()
        listing = _verify_from_r1cs(compiled, ptau, directory / INITIAL, INITIAL)
        seconds[INITIAL] = round(time.perf_counter() - started, 3)
        _check_listing(listing, transcript, INITIAL, added=0)
        circuit_hash = circuit_hash or listing.circuit_hash
    if transcript.keys is not None and (Path(transcript.keys) / "circuit.zkey").is_file():
        published = file_sha256(Path(transcript.keys) / "circuit.zkey")
        if published != transcript.latest.sha256:
            raise CeremonyVerificationError(
                f"{transcript.keys}/circuit.zkey is not the ceremony's final key {transcript.latest.file} "
                f"(sha256 {published[:16]}..., the transcript has {transcript.latest.sha256[:16]}...)"
            )
    return CeremonyReport(transcript, circuit_hash or "", seconds)


def default_keys_directory(transcript: Transcript, final_sha256: str) -> Path:
    """Where `finish_ceremony` publishes by default: beside the local keys, so `zkstatesync verify` finds them."""
    return artifact_path(Kind.KEYS, transcript.instance, f"ceremony-{final_sha256[:16]}")


def finish_ceremony(
    directory: Path,
    beacon_value: str,
    iterations_exp: int,
    *,
    out: Path | None = None,
    beacon_name: str = DEFAULT_BEACON_NAME,
    progress: Progress = None,
) -> CircuitKeys:
    """Apply the public beacon (``zkey beacon``), verify the key fully, and publish the keys.

    ``beacon_value`` is hex (1..255 bytes) that nobody could know while contributions were
    accepted, e.g. a block hash announced in advance; 2^``iterations_exp`` sha256 rounds
    (10..63) delay it. The keys directory (``out``, by default under build/keys/) gets
    circuit.zkey, verification_key.json and setup.json, atomically; prover.prove.load_prover
    takes it as ``keys=``.
    """
    directory = Path(directory)
    beacon = _beacon(beacon_value, iterations_exp, beacon_name)
    with _locked(directory) as transcript:
        _refuse_finished(transcript, directory)
        if not transcript.contributions:
            raise CeremonyInputError(
                "the ceremony has no contribution yet: a key made from the initial one and a public beacon alone "
                "has no secret at all"
            )
        if out is not None and Path(out).exists() and (not Path(out).is_dir() or any(Path(out).iterdir())):
            raise CeremonyInputError(f"{out} exists and is not empty; keys are published into a new directory")
        compiled = _compiled(transcript)
        ptau = _ptau_file(transcript)
        latest = _check_file(directory, transcript.latest)
        seconds: dict[str, float] = {}
        with _scratch(directory) as work:
            candidate = work / "beacon.zkey"
            if progress:
                progress(f"{transcript.instance}: zkey beacon (2^{beacon.iterations_exp} iterations)")
            started = time.perf_counter()
            beacon_args: list[str | os.PathLike[str]] = ["zkey", "beacon", latest, candidate, beacon.hash_hex]
            run_snarkjs([*beacon_args, str(beacon.iterations_exp), f"-n={beacon.name}"])
            if not candidate.is_file():
                # snarkjs reports a beacon it cannot parse and exits 0 without writing anything.
                raise CeremonyError(f"snarkjs zkey beacon wrote no key for beacon {beacon.hash_hex!r}")
            seconds["zkey beacon"] = round(time.perf_counter() - started, 3)
            if progress:
                progress(f"{transcript.instance}: zkey verify r1cs ptau (the final key)")
            started = time.perf_counter()
            listing = _verify_from_r1cs(compiled, ptau, candidate, "the final key")
            seconds["zkey verify"] = round(time.perf_counter() - started, 3)
            (new,) = _check_listing(listing, transcript, "the final key", added=1)
            expected = (
                Contribution("beacon", beacon.name, new.contribution.hash),
                beacon.hash_hex,
                beacon.iterations_exp,
            )
            if (new.contribution, new.beacon_value, new.beacon_iterations_exp) != expected:
                raise CeremonyVerificationError(
                    f"snarkjs lists the final contribution as {_describe([new.contribution])} with beacon "
                    f"{new.beacon_value!r} 2^{new.beacon_iterations_exp}, not the beacon given"
                )
            file = f"{len(transcript.zkeys):04d}_beacon.zkey"
            os.replace(candidate, directory / file)
        final = directory / file
        entry = ZkeyEntry(
            file,
            file_sha256(final),
            "beacon",
            beacon.name,
            new.contribution.hash,
            "zkey beacon",
            round(seconds["zkey beacon"] + seconds["zkey verify"], 3),
            beacon.hash_hex,
            beacon.iterations_exp,
        )
        target = Path(out) if out is not None else default_keys_directory(transcript, entry.sha256)
        finished = dataclasses.replace(
            transcript,
            circuit_hash=transcript.circuit_hash or listing.circuit_hash,
            zkeys=(*transcript.zkeys, entry),
            keys=str(target.resolve()),
        )
        with staged_directory(target, "setup.json") as staging:
            shutil.copyfile(final, staging / "circuit.zkey")
            started = time.perf_counter()
            run_snarkjs(
                ["zkey", "export", "verificationkey", staging / "circuit.zkey", staging / "verification_key.json"]
            )
            seconds["export verification key"] = round(time.perf_counter() - started, 3)
            record = _keys_record(finished, compiled, listing.circuit_hash, seconds, directory)
            (staging / "setup.json").write_text(json.dumps(record, indent=2) + "\n")
        # Published first: a transcript that names keys always names keys that exist.
        _write(directory, finished)
    return CircuitKeys.load(target)


def _keys_record(
    transcript: Transcript,
    compiled: CompiledCircuit,
    circuit_hash: str,
    seconds: Mapping[str, float],
    directory: Path,
) -> dict[str, object]:
    trust = transcript.trust
    beacon = transcript.latest
    names = [c.name for c in transcript.contributions if c.kind == "contribution"]
    return {
        "circuit": transcript.circuit,
        "preset": transcript.preset,
        "instance": transcript.instance,
        "build_key": compiled.key,
        "r1cs_sha256": transcript.r1cs_sha256,
        "ptau": transcript.ptau.to_dict(),
        "setup_kind": trust.setup_kind,
        "label": trust.label,
        "warning": trust.warning,
        "phase2": [
            "groth16 setup",
            f"{len(names)} contribution{'' if len(names) == 1 else 's'}: " + ", ".join(names),
            f"public beacon {beacon.beacon_value}, 2^{beacon.beacon_iterations_exp} iterations",
            "snarkjs zkey verify: ok",
        ],
        "circuit_hash": circuit_hash,
        "contributions": [{"kind": c.kind, "name": c.name, "hash": c.hash} for c in transcript.contributions],
        "beacon": {
            "value": beacon.beacon_value,
            "iterations_exp": beacon.beacon_iterations_exp,
            "name": beacon.name,
            "hash": beacon.hash,
        },
        "ceremony": {
            "directory": str(directory.resolve()),
            "transcript_sha256": hashlib.sha256(transcript.to_json().encode()).hexdigest(),
            "zkeys": [{"file": z.file, "sha256": z.sha256} for z in transcript.zkeys],
        },
        "snarkjs": installed_version("snarkjs"),
        "tools": {name: "snarkjs" for name in seconds},
        "seconds": dict(seconds),
    }
