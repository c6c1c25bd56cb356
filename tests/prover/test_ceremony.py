"""A multi-party phase 2 (prover.ceremony) for event_inclusion at the test preset, checked by snarkjs.

One ceremony runs once for the module: started on the local ptau declared public (the label is
about what the user declares), two contributions through the API, a third made with plain
``snarkjs zkey contribute`` and imported, the whole transcript verified, then the beacon. Its
keys must prove a proof snarkjs accepts; tampered and foreign zkeys must be refused; the label
must say multi-party only when phase 1 is public, phase 2 has two contributors or more, and a
beacon ends it. The CLI runs a one-contributor ceremony in a child process, as a user would.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest

from prover.build import compile_circuit
from prover.ceremony import (
    INITIAL,
    TRANSCRIPT,
    CeremonyError,
    CeremonyInputError,
    CeremonyReport,
    CeremonyVerificationError,
    Transcript,
    contribute,
    finish_ceremony,
    import_contribution,
    read_transcript,
    start_ceremony,
    verify_ceremony,
)
from prover.prove import load_prover, read_proof_record
from prover.ptau import PtauSetup, describe_local_ptau, ptau_blake2b
from prover.samples import build_sample_inputs
from prover.setup import (
    DEVELOPMENT_ONLY,
    MULTI_PARTY,
    CircuitKeys,
    KeysMismatchError,
    SetupError,
    local_ptau,
    public_ptau,
    required_power,
    setup_circuit,
    setup_trust,
)
from prover.toolchain import run_snarkjs
from prover.zkey import Contribution, new_zkey
from statesync.circuits import load_manifest

CIRCUIT, PRESET = "event_inclusion", "test"
# A public beacon as a caller would give it: a value nobody knew while contributions were open.
BEACON = "0x" + hashlib.sha256(b"rootchain block 1000").hexdigest()
ITERATIONS = 10
_SNARKJS_HASH = re.compile(r"Contribution Hash: *\n((?:\s+[0-9a-f]{8}){16})")
T = TypeVar("T")


@dataclass
class Ceremony:
    directory: Path
    after_alice: Path  # a copy of the directory with alice's contribution only
    after_bob: Path  # a copy of the directory before carol's contribution
    carol_zkey: Path  # made outside the API, with plain snarkjs
    carol_hash: str  # the hash snarkjs printed to carol
    report: CeremonyReport
    keys: CircuitKeys
    seconds: dict[str, float] = field(default_factory=dict)


def _declared_public() -> tuple[Path, PtauSetup]:
    power = required_power(compile_circuit(load_manifest().spec(CIRCUIT, PRESET)))
    path, _ = local_ptau(power)
    return public_ptau(path, ptau_blake2b(path))


def _sections(path: Path) -> dict[int, tuple[int, int]]:
    """A zkey's sections: id -> (offset of the data, size)."""
    data = path.read_bytes()
    count = struct.unpack_from("<I", data, 8)[0]
    found, pos = {}, 12
    for _ in range(count):
        sid, size = struct.unpack_from("<IQ", data, pos)
        found[sid] = (pos + 12, size)
        pos += 12 + size
    return found


def _flip_in_l_section(path: Path) -> None:
    # Section 8 holds the L points, which every contribution rescales: snarkjs must notice.
    offset, size = _sections(path)[8]
    data = bytearray(path.read_bytes())
    data[offset + size // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _timed(seconds: dict[str, float], step: str, run: Callable[[], T]) -> T:
    started = time.perf_counter()
    result = run()
    seconds[step] = round(time.perf_counter() - started, 2)
    return result


@pytest.fixture(scope="module")
def ceremony(tmp_path_factory: pytest.TempPathFactory) -> Ceremony:
    root = tmp_path_factory.mktemp("ceremony")
    directory = root / "ceremony"
    seconds: dict[str, float] = {}

    def timed(step: str, run: Callable[[], T]) -> T:
        return _timed(seconds, step, run)

    timed("start", lambda: start_ceremony(directory, CIRCUIT, PRESET, ptau=_declared_public()))
    timed("contribute alice", lambda: contribute(directory, "alice"))
    after_alice = root / "after-alice"
    shutil.copytree(directory, after_alice)
    timed("contribute bob", lambda: contribute(directory, "bob"))
    after_bob = root / "after-bob"
    shutil.copytree(directory, after_bob)
    carol = root / "carol.zkey"
    # A participant on another machine: plain snarkjs on the latest zkey, the file handed back.
    made = timed(
        "snarkjs zkey contribute (outside)",
        lambda: run_snarkjs(["zkey", "contribute", directory / "0002.zkey", carol, "--name=carol", "-e=carol's dice"]),
    )
    printed = _SNARKJS_HASH.search(made.stdout)
    assert printed is not None
    timed("import carol", lambda: import_contribution(directory, carol, "carol"))
    report = timed("verify", lambda: verify_ceremony(directory))
    keys = timed("finish", lambda: finish_ceremony(directory, BEACON, ITERATIONS, out=root / "keys"))
    print(f"\nceremony steps (s): {seconds}")
    return Ceremony(directory, after_alice, after_bob, carol, "".join(printed.group(1).split()), report, keys, seconds)


@pytest.mark.slow  # a three-party ceremony at the test preset: about two minutes
def test_transcript_lists_the_three_contributions_in_order(ceremony: Ceremony) -> None:
    transcript = read_transcript(ceremony.directory)
    names = [(z.file, z.kind, z.name) for z in transcript.zkeys]
    assert names == [
        (INITIAL, "initial", ""),
        ("0001.zkey", "contribution", "alice"),
        ("0002.zkey", "contribution", "bob"),
        ("0003.zkey", "contribution", "carol"),
        ("0004_beacon.zkey", "beacon", "final beacon"),
    ]
    # carol finds in the transcript the hash snarkjs showed her when she contributed
    assert transcript.zkeys[3].hash == ceremony.carol_hash
    assert transcript.finished and transcript.keys == str(ceremony.keys.directory.resolve())
    assert [c.name for c in ceremony.report.transcript.contributions] == ["alice", "bob", "carol"]
    assert sorted(ceremony.report.seconds) == ["0001.zkey", "0002.zkey", "0003.zkey"]
    assert ceremony.report.circuit_hash == transcript.circuit_hash


@pytest.mark.slow  # a three-party ceremony at the test preset: about two minutes
def test_keys_record_names_every_contribution_and_the_beacon(ceremony: Ceremony) -> None:
    keys, transcript = ceremony.keys, read_transcript(ceremony.directory)
    record = keys.record
    assert (record["circuit"], record["preset"], keys.circuit, keys.preset) == (CIRCUIT, PRESET, CIRCUIT, PRESET)
    assert record["contributions"] == [{"kind": z.kind, "name": z.name, "hash": z.hash} for z in transcript.zkeys[1:]]
    beacon = transcript.latest
    assert record["beacon"] == {
        "value": BEACON.removeprefix("0x"),
        "iterations_exp": ITERATIONS,
        "name": "final beacon",
        "hash": beacon.hash,
    }
    assert record["ptau"] == _declared_public()[1].to_dict()
    # a public phase 1, three contributors, a beacon: the one case called a ceremony
    assert (keys.trust.label, keys.trust.warning) == (MULTI_PARTY, "")
    assert (record["label"], record["warning"], record["setup_kind"]) == (MULTI_PARTY, "", "public ceremony")
    assert hashlib.sha256((keys.directory / "circuit.zkey").read_bytes()).hexdigest() == beacon.sha256


@pytest.mark.slow  # a three-party ceremony at the test preset: about two minutes
def test_ceremony_keys_prove_a_proof_snarkjs_accepts(ceremony: Ceremony, tmp_path: Path) -> None:
    prover = load_prover(CIRCUIT, PRESET, keys=ceremony.keys.directory)
    assert prover.keys.directory == ceremony.keys.directory
    result = prover.prove(build_sample_inputs(CIRCUIT, PRESET), tmp_path / "proof")
    checked = run_snarkjs(["groth16", "verify", prover.keys.verification_key, result.public_path, result.proof_path])
    assert "OK!" in checked.stdout
    assert read_proof_record(result.directory).verification_key_sha256 == ceremony.keys.verification_key_sha256


@pytest.mark.slow  # a three-party ceremony at the test preset: about two minutes
def test_load_prover_refuses_keys_of_another_circuit_preset_or_r1cs(ceremony: Ceremony, tmp_path: Path) -> None:
    for field_name, value in [("r1cs_sha256", "00" * 32), ("preset", "default"), ("circuit", "header_update")]:
        copy = tmp_path / field_name
        shutil.copytree(ceremony.keys.directory, copy)
        record = json.loads((copy / "setup.json").read_text())
        record[field_name] = value
        (copy / "setup.json").write_text(json.dumps(record))
        with pytest.raises(KeysMismatchError, match=f"{field_name} '{value}'"):
            load_prover(CIRCUIT, PRESET, keys=copy)
    with pytest.raises(SetupError, match="not a keys directory"):
        load_prover(CIRCUIT, PRESET, keys=tmp_path / "absent")


@pytest.mark.slow  # a three-party ceremony at the test preset: about two minutes
def test_a_tampered_contribution_is_refused_on_import(ceremony: Ceremony, tmp_path: Path) -> None:
    directory = tmp_path / "c"
    shutil.copytree(ceremony.after_bob, directory)
    tampered = tmp_path / "carol-tampered.zkey"
    shutil.copyfile(ceremony.carol_zkey, tampered)
    _flip_in_l_section(tampered)
    before = (directory / TRANSCRIPT).read_text()
    with pytest.raises(CeremonyVerificationError, match="L section does not match"):
        import_contribution(directory, tampered, "carol")
    assert (directory / TRANSCRIPT).read_text() == before
    assert sorted(p.name for p in directory.iterdir() if p.suffix == ".zkey") == [INITIAL, "0001.zkey", "0002.zkey"]


@pytest.mark.slow  # a three-party ceremony at the test preset: about two minutes
def test_import_refuses_another_circuit_a_wrong_parent_and_a_wrong_name(ceremony: Ceremony, tmp_path: Path) -> None:
    directory = tmp_path / "c"
    shutil.copytree(ceremony.after_bob, directory)
    ptau_path, _ = _declared_public()
    tiny = compile_circuit(load_manifest().spec("tiny", "test"))
    new_zkey(tiny.r1cs, ptau_path, tmp_path / "tiny0.zkey")
    run_snarkjs(["zkey", "contribute", tmp_path / "tiny0.zkey", tmp_path / "tiny.zkey", "--name=mallory", "-e=x"])
    with pytest.raises(CeremonyVerificationError, match="Different circuit parameters"):
        import_contribution(directory, tmp_path / "tiny.zkey", "mallory")
    # alice's zkey again: it lists alice only, not bob, so it does not extend the latest zkey
    with pytest.raises(CeremonyVerificationError, match="does not extend the transcript's latest zkey 0002.zkey"):
        import_contribution(directory, ceremony.directory / "0001.zkey", "dave")
    with pytest.raises(CeremonyVerificationError, match="named 'carol' in the file, not 'dave'"):
        import_contribution(directory, ceremony.carol_zkey, "dave")
    with pytest.raises(CeremonyInputError, match="already has a contribution named 'bob'"):
        import_contribution(directory, ceremony.carol_zkey, "bob")
    assert read_transcript(directory) == read_transcript(ceremony.after_bob)


@pytest.mark.slow  # a three-party ceremony at the test preset: about two minutes
@pytest.mark.parametrize("file", ["0002.zkey", "0004_beacon.zkey"])
def test_verify_refuses_a_file_changed_after_it_entered_the_transcript(
    ceremony: Ceremony, tmp_path: Path, file: str
) -> None:
    directory = tmp_path / "c"
    shutil.copytree(ceremony.directory, directory)
    _flip_in_l_section(directory / file)
    with pytest.raises(CeremonyVerificationError, match=f"{file} was changed after it entered the transcript"):
        verify_ceremony(directory)


@pytest.mark.slow  # a three-party ceremony at the test preset: about two minutes
def test_verify_refuses_a_tampered_zkey_even_with_a_rewritten_transcript(ceremony: Ceremony, tmp_path: Path) -> None:
    # Whoever can rewrite ceremony.json too still faces snarkjs's own checks.
    directory = tmp_path / "c"
    shutil.copytree(ceremony.directory, directory)
    _flip_in_l_section(directory / "0001.zkey")
    raw = json.loads((directory / TRANSCRIPT).read_text())
    raw["zkeys"][1]["sha256"] = hashlib.sha256((directory / "0001.zkey").read_bytes()).hexdigest()
    (directory / TRANSCRIPT).write_text(json.dumps(raw))
    with pytest.raises(CeremonyVerificationError, match="refused 0001.zkey: L section does not match"):
        verify_ceremony(directory)


@pytest.mark.slow  # a three-party ceremony at the test preset: about two minutes
def test_a_finished_ceremony_takes_no_more_contributions_or_beacons(ceremony: Ceremony) -> None:
    with pytest.raises(CeremonyInputError, match="is finished"):
        contribute(ceremony.directory, "dave")
    with pytest.raises(CeremonyInputError, match="is finished"):
        finish_ceremony(ceremony.directory, BEACON, ITERATIONS)


@pytest.mark.slow  # a three-party ceremony at the test preset: about two minutes
def test_start_contribute_and_finish_refuse_bad_arguments(ceremony: Ceremony, tmp_path: Path) -> None:
    with pytest.raises(CeremonyInputError, match="exists and is not empty"):
        start_ceremony(ceremony.directory, CIRCUIT, PRESET)
    with pytest.raises(CeremonyInputError, match="does not exist"):
        contribute(tmp_path / "absent", "alice")
    directory = tmp_path / "c"
    shutil.copytree(ceremony.after_bob, directory)
    for name in ["", " alice", "x" * 65, "caf\u00e9", "new\nline"]:
        with pytest.raises(CeremonyInputError, match="printable ASCII"):
            contribute(directory, name)
    for beacon, exp, message in [("zz", 10, "hex"), ("abc", 10, "hex"), ("ab", 9, "10..63"), ("", 10, "hex")]:
        with pytest.raises(CeremonyInputError, match=message):
            finish_ceremony(directory, beacon, exp)
    with pytest.raises(CeremonyInputError, match="exists and is not empty"):
        finish_ceremony(directory, BEACON, ITERATIONS, out=ceremony.keys.directory)
    assert read_transcript(directory) == read_transcript(ceremony.after_bob)


def _contributions(*names: str, beacon: bool = True) -> list[Contribution]:
    made = [Contribution("contribution", n, f"{i:0128x}") for i, n in enumerate(names)]
    return made + ([Contribution("beacon", "final beacon", "f" * 128)] if beacon else [])


def test_the_label_rule() -> None:
    public = _declared_public()[1]
    local = describe_local_ptau(_declared_public()[0])
    assert setup_trust(public, _contributions("alice", "bob")).label == MULTI_PARTY
    cases = {
        "phase 1 (powers of tau) was made on one machine": (local, _contributions("alice", "bob", "carol")),
        "phase 2 has 1 contributor ": (public, _contributions("alice")),
        "phase 2 has 0 contributors": (public, _contributions()),
        "does not end with a public beacon": (public, _contributions("alice", "bob", beacon=False)),
    }
    for reason, (ptau, contributions) in cases.items():
        trust = setup_trust(ptau, contributions)
        assert trust.label == DEVELOPMENT_ONLY and trust.development_only and trust.setup_kind == "local-dev"
        assert reason in trust.warning and "never for value-bearing deployments" in trust.warning
    # contributors are told apart by name: the same name twice is one party
    assert setup_trust(public, _contributions("alice", "alice")).label == DEVELOPMENT_ONLY
    after = [*_contributions("alice", "bob"), Contribution("contribution", "carol", "e" * 128)]
    assert "does not end with a public beacon" in setup_trust(public, after).warning


def test_local_setup_keys_say_development_only_whatever_the_ptau() -> None:
    # setup_circuit's phase 2 has one party, even on a ptau declared public: never "public ceremony".
    prover = load_prover(CIRCUIT, PRESET)
    assert prover.keys.trust.label == DEVELOPMENT_ONLY and "phase 2 has 1 contributor" in prover.keys.trust.warning
    assert prover.keys.record["setup_kind"] == "local-dev"
    declared = setup_circuit(prover.circuit, ptau=_declared_public())
    assert declared.trust.label == DEVELOPMENT_ONLY and declared.record["setup_kind"] == "local-dev"


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", "ceremony", *map(str, args)], capture_output=True, text=True
    )


def _one_line_error(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr


def test_cli_starts_a_ceremony_on_the_local_ptau_labelled_development_only(tmp_path: Path) -> None:
    # The initial key is cached by then (build/ceremony/), so this costs a copy, not a setup.
    started = _cli("start", CIRCUIT, "--preset", PRESET, "--dir", tmp_path / "c")
    assert started.returncode == 0, started.stderr
    assert "0000_initial.zkey  groth16 setup" in started.stdout and f"label: {DEVELOPMENT_ONLY}" in started.stdout
    assert "warning: development only: phase 1 (powers of tau) was made on one machine" in started.stderr
    assert read_transcript(tmp_path / "c").ptau.is_local_dev


@pytest.mark.slow  # a three-party ceremony at the test preset: about two minutes
def test_cli_one_contributor_ceremony_finished_with_a_beacon_is_development_only(
    ceremony: Ceremony, tmp_path: Path
) -> None:
    directory = tmp_path / "c"
    shutil.copytree(ceremony.after_alice, directory)  # public phase 1, alice alone
    _one_line_error(_cli("contribute", directory, "--name", "alice"), "already has a contribution named 'alice'")
    status = _cli("status", directory)
    assert status.returncode == 0 and "0001.zkey  contribution 'alice'" in status.stdout
    finished = _cli("finish", directory, "--beacon", BEACON, "--iterations", str(ITERATIONS), "--out", tmp_path / "k")
    assert finished.returncode == 0, finished.stderr
    assert f"label: {DEVELOPMENT_ONLY}" in finished.stdout
    # public phase 1 and a beacon: the single contributor alone keeps it development only
    warning = [line for line in finished.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "phase 2 has 1 contributor" in warning[0] and "phase 1" not in warning[0]
    keys = CircuitKeys.load(tmp_path / "k")
    assert keys.trust.label == DEVELOPMENT_ONLY == keys.record["label"]
    record = json.loads((tmp_path / "k" / "setup.json").read_text())
    assert [c["name"] for c in record["contributions"]] == ["alice", "final beacon"]
    assert read_transcript(directory).latest.file == "0002_beacon.zkey"


def test_cli_reports_bad_input_in_one_line(tmp_path: Path) -> None:
    absent = tmp_path / "absent"
    _one_line_error(_cli("verify", absent), f"{absent} does not exist")
    _one_line_error(_cli("finish", tmp_path, "--beacon", "0xzz", "--iterations", "10"), "beacon hash must be")
    proved = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "prove", CIRCUIT, "--keys", str(absent)], capture_output=True, text=True
    )
    _one_line_error(proved, "is not a keys directory")


@pytest.mark.slow  # a three-party ceremony at the test preset: about two minutes
def test_transcript_round_trips(ceremony: Ceremony) -> None:
    transcript = read_transcript(ceremony.directory)
    assert Transcript.from_dict(json.loads(transcript.to_json())) == transcript
    broken = ceremony.directory.parent / "broken"
    broken.mkdir()
    (broken / TRANSCRIPT).write_text('{"version": 1}')
    with pytest.raises(CeremonyError, match="is unreadable"):
        read_transcript(broken)
