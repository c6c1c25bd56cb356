"""The aggregate quorum mode's two signing rounds, against real validator processes on loopback.

Four validators (powers 1 each, preset aggregate_test) on one anvil with a StateSender. Each test
builds requests from the honest header after the genesis and checks what the processes answer:
the partial signatures of one session sum to an EdDSA-Poseidon signature that the model counts
under the set with its proofs of possession; a session signs once; a validator restarted between
the rounds answers unknown_session and the relayer's collector finishes in a second session
without it; a validator whose partial is wrong is named and left out. The config tests need no
process.
"""

from __future__ import annotations

import http.server
import json
import signal
import threading
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner
from web3.types import RPCEndpoint

from bridge.chain.chains import run_anvil
from bridge.chain.deploy import deploy, transact
from bridge.chain.solc import compile_directory
from bridge.config import (
    ConfigError,
    NetworkConfig,
    RootchainConfig,
    build_aggregate_sets,
    build_proposal_rules,
    circuits_config,
    compute_configured_set_hash,
    load_network_config,
    parse_network_config,
    render_network_config,
)
from bridge.keystore import write_keystore
from bridge.relayer.aggregating import AggregateCollector
from bridge.relayer.signing import SigningError, ValidatorEndpoint
from bridge.validator.cli import app as validator_app
from bridge.validator.client import ValidatorClient, ValidatorRefused
from bridge.validator.local import LocalNetwork, make_local_network
from bridge.validator.process import ValidatorProcess, spawn_validator, stop_validator, wait_until_ready
from bridge.validator.slashing import DB_NAME, SlashingDB
from bridge.validator.wire import NonceResponse, PartialRequest
from statesync.aggregate import aggregate_partials, open_session, verify_partial
from statesync.babyjub import SUBORDER
from statesync.eddsa import verify_poseidon
from statesync.model import (
    AggregateCommit,
    AggregateSet,
    Header,
    SigningPurpose,
    StateSyncEvent,
    compute_header_hash,
    compute_signed_power,
    compute_signing_message,
)
from statesync.possession import verify_possession
from statesync.proposal import RootBlock, derive_header

pytestmark = pytest.mark.anvil

PRESET = "aggregate_test"
CONFIRMATIONS = 2
POWERS = (1, 1, 1, 1)  # a quorum is 3 of 4: one validator may be missing


@dataclass
class Scene:
    network: LocalNetwork
    processes: list[ValidatorProcess]
    genesis: Header
    honest: Header
    directory: Path

    @property
    def aggregate_set(self) -> AggregateSet:
        return build_aggregate_sets(self.network.config)[SigningPurpose.HEADER]

    def endpoints(self) -> tuple[ValidatorEndpoint, ...]:
        return tuple(
            ValidatorEndpoint(slot, v.name, v.url, power, v.public_key)
            for slot, (v, power) in enumerate(zip(self.network.validators, POWERS, strict=True))
        )

    def round_one(self, slots: range | list[int] = range(4)) -> dict[int, NonceResponse]:
        return {slot: self.processes[slot].client.nonces(self.honest, self.genesis) for slot in slots}

    def collector(self, endpoints: Sequence[ValidatorEndpoint] | None = None, **options: Any) -> AggregateCollector:
        """The relayer's collector for this network (options: AggregateCollector's, over these defaults)."""
        settings: dict[str, Any] = {"request_timeout": 10.0, "deadline": 60.0, "attempts": 3, **options}
        return AggregateCollector(
            self.endpoints() if endpoints is None else endpoints,
            build_aggregate_sets(self.network.config),
            stopping=threading.Event(),
            **settings,
        )

    def restart(self, slot: int) -> None:
        """kill -9 and start again: the process loses its sessions, not its slashing record."""
        me = self.network.validators[slot]
        self.processes[slot].process.send_signal(signal.SIGKILL)
        self.processes[slot].process.wait(timeout=30)
        self.processes[slot] = spawn_validator(me.config_path, me.url, self.directory / f"{me.name}.log", me.env)
        wait_until_ready(self.processes[slot])


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    directory = tmp_path_factory.mktemp("aggregate")
    with run_anvil() as root:
        sender = deploy(root, compile_directory().get("StateSender"))
        head = int(root.web3.eth.block_number)
        start = root.web3.eth.get_block(head)
        network = make_local_network(
            directory,
            rootchain=RootchainConfig(
                chain_id=int(root.web3.eth.chain_id),
                rpc=(str(root.web3.provider.endpoint_uri),),  # type: ignore[attr-defined]
                state_sender=sender.address,
                confirmations=CONFIRMATIONS,
                max_range=32,
            ),
            circuits=circuits_config(PRESET),
            genesis_block=RootBlock(head, int.from_bytes(bytes(start["hash"]), "big"), int(start["timestamp"])),
            powers=POWERS,
            seed=b"aggregate signing tests",
            work_factor=2**10,
        )
        genesis = network.config.genesis
        assert genesis is not None
        receipt = transact(root, sender, "syncState", root.accounts[1], b"payload")
        root.web3.provider.make_request(RPCEndpoint("anvil_mine"), [hex(6)])
        event = StateSyncEvent(1, int(root.accounts[0], 16), int(root.accounts[1], 16), b"payload")
        end_number = receipt.block_number + 1
        block = root.web3.eth.get_block(end_number)
        end = RootBlock(end_number, int.from_bytes(bytes(block["hash"]), "big"), int(block["timestamp"]))
        rules, set_hash = build_proposal_rules(network.config), compute_configured_set_hash(network.config)
        honest = derive_header(genesis, end, [event], rules, set_hash)
        processes = [
            spawn_validator(v.config_path, v.url, directory / f"{v.name}.log", v.env) for v in network.validators
        ]
        try:
            for process in processes:
                wait_until_ready(process)
            yield Scene(network, processes, genesis, honest, directory)
        finally:
            for process in processes:
                stop_validator(process)


# ---------------------------------------------------------------------------------------------
# The network file: every key proves possession, or no set is formed


def aggregate_network(tmp_path: Path) -> NetworkConfig:
    rootchain = RootchainConfig(chain_id=31337, rpc=("http://127.0.0.1:8545",), state_sender="0x" + "11" * 20)  # type: ignore[arg-type]
    return make_local_network(
        tmp_path, rootchain=rootchain, circuits=circuits_config(PRESET), powers=POWERS, seed=b"cfg", work_factor=2**10
    ).config


def test_an_aggregate_network_file_round_trips_with_its_proofs_of_possession(tmp_path: Path) -> None:
    config = aggregate_network(tmp_path)
    assert config.circuits.aggregate and all(v.possession is not None for v in config.validators)
    assert load_network_config(tmp_path / "network.toml") == config
    sets = build_aggregate_sets(config)
    assert set(sets) == {SigningPurpose.HEADER}  # no [child]: no checkpoints to sign
    for validator, entry in zip(sets[SigningPurpose.HEADER].validator_set.validators, config.validators, strict=True):
        assert verify_possession(validator.public_key, 31337, int(SigningPurpose.HEADER), entry.possession)


def test_a_key_without_its_proof_or_with_another_chains_is_refused(tmp_path: Path) -> None:
    config = aggregate_network(tmp_path)
    document = _document(config)
    del document["validators"][2]["possession"]
    with pytest.raises(ConfigError, match="validator 'validator2' needs possession"):
        parse_network_config(document)
    # A proof made for another chain id (or purpose) does not verify here.
    other = replace(config, rootchain=replace(config.rootchain, chain_id=1))
    document = _document(config)
    document["validators"][1]["possession"] = _document(_reproved(tmp_path, other))["validators"][1]["possession"]
    with pytest.raises(ConfigError, match="slot 1: key .* proof of possession does not verify"):
        parse_network_config(document)
    # A rogue key with a copied proof: the proof is bound to the key.
    document = _document(config)
    document["validators"][3]["possession"] = document["validators"][0]["possession"]
    with pytest.raises(ConfigError, match="slot 3"):
        parse_network_config(document)


def _document(config: NetworkConfig) -> dict[str, Any]:
    return tomllib.loads(render_network_config(config))


def _reproved(tmp_path: Path, config: NetworkConfig) -> NetworkConfig:
    """The same seeded keys' proofs for another rootchain (make_local_network proves for its chain)."""
    return make_local_network(
        tmp_path / "other",
        rootchain=config.rootchain,
        circuits=config.circuits,
        powers=POWERS,
        seed=b"cfg",
        work_factor=2**10,
    ).config


def test_prove_possession_prints_what_the_validators_entry_carries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = bytes(range(32))
    write_keystore(tmp_path / "k.json", key, "pw", work_factor=2**10)
    monkeypatch.setenv("KEY_PASSWORD", "pw")
    runner = CliRunner()
    argv = ["prove-possession", "--keystore", str(tmp_path / "k.json"), "--password-env", "KEY_PASSWORD"]
    result = runner.invoke(validator_app, [*argv, "--chain-id", "31337", "--child-chain-id", "1002"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    entry = {
        "name": "alice",
        "url": "http://127.0.0.1:9101",
        "power": 1,
        "public_key": printed["public_key"],
        "possession": printed["possession"],
        "checkpoint_possession": printed["checkpoint_possession"],
    }
    document = {
        "rootchain": {"chain_id": 31337, "rpc": ["http://127.0.0.1:8545"]},
        "child": {"chain_id": 1002, "rpc": ["http://127.0.0.1:8546"]},
        "circuits": {"preset": PRESET},
        "validators": [entry],
    }
    assert set(build_aggregate_sets(parse_network_config(document))) == set(SigningPurpose)
    # The two proofs are not interchangeable: each is bound to its chain and purpose.
    swapped = {**entry, "possession": entry["checkpoint_possession"]}
    with pytest.raises(ConfigError, match="does not verify"):
        parse_network_config({**document, "validators": [swapped]})
    monkeypatch.delenv("KEY_PASSWORD")
    result = runner.invoke(validator_app, [*argv, "--chain-id", "31337"])
    assert result.exit_code != 0 and "KEY_PASSWORD" in result.output and "Traceback" not in result.output


# ---------------------------------------------------------------------------------------------
# The two rounds over HTTP


def test_one_session_of_partial_signatures_is_an_aggregate_the_model_counts(scene: Scene) -> None:
    nonces = scene.round_one()
    message = compute_signing_message(scene.honest)
    assert {n.signing_message for n in nonces.values()} == {message}
    assert {n.header_hash for n in nonces.values()} == {compute_header_hash(scene.honest)}
    commitments = {slot: n.commitment for slot, n in nonces.items()}
    session = open_session(message, scene.aggregate_set, commitments)
    partials = {
        slot: scene.processes[slot].client.partial(PartialRequest(n.session, commitments)) for slot, n in nonces.items()
    }
    assert all(verify_partial(session, slot, p) for slot, p in partials.items())
    signature = aggregate_partials(session, partials)
    assert verify_poseidon(session.aggregate_key, message, signature)
    commit = AggregateCommit(scene.honest, (True, True, True, True), signature)
    assert compute_signed_power(scene.aggregate_set, commit) == 4
    # Under another subset's bitmap the same signature counts nothing.
    assert compute_signed_power(scene.aggregate_set, replace(commit, signers=(True, True, True, False))) == 0


def test_a_session_signs_once_and_the_per_validator_path_is_closed(scene: Scene) -> None:
    nonces = scene.round_one([0, 1, 2])
    commitments = {slot: n.commitment for slot, n in nonces.items()}
    client = scene.processes[0].client
    client.partial(PartialRequest(nonces[0].session, commitments))
    with pytest.raises(ValidatorRefused) as again:
        client.partial(PartialRequest(nonces[0].session, commitments))
    assert (again.value.status, again.value.code) == (410, "unknown_session")
    # Another participant set for the spent nonce is just as refused: the nonce signed once.
    with pytest.raises(ValidatorRefused, match="unknown_session"):
        client.partial(PartialRequest(nonces[0].session, {0: commitments[0], 1: commitments[1]}))
    with pytest.raises(ValidatorRefused) as sign:
        client.sign(scene.honest, scene.genesis)
    assert (sign.value.status, sign.value.code) == (409, "wrong_quorum_mode")


def test_round_two_without_this_validators_nonce_spends_the_session(scene: Scene) -> None:
    nonces = scene.round_one([0, 1, 2])
    client = scene.processes[1].client
    others = {slot: nonces[slot].commitment for slot in (0, 2)}
    swapped = {**others, 1: nonces[0].commitment}
    for commitments, code in ((others, "malformed_request"), (swapped, "unknown_session")):
        with pytest.raises(ValidatorRefused) as refused:
            client.partial(PartialRequest(nonces[1].session, commitments))
        assert refused.value.code == code, refused.value


@pytest.mark.parametrize(
    "body",
    [
        b"{}",
        b'{"session": "00", "commitments": {"0": ["1", "2", "3", "4"]}}',
        b'{"session": "' + b"a" * 32 + b'", "commitments": {}}',
        b'{"session": "' + b"a" * 32 + b'", "commitments": {"4": ["1", "2", "3", "4"]}}',  # slot past V
        b'{"session": "' + b"a" * 32 + b'", "commitments": {"0": ["1", "2", "3"]}}',
        b'{"session": "' + b"a" * 32 + b'", "commitments": {"0": [1, 2, 3, 4]}}',  # JSON numbers
    ],
)
def test_malformed_round_two_bodies_are_400(scene: Scene, body: bytes) -> None:
    answer = scene.processes[2].client.post_json("/partial", body)
    assert answer.status == 400 and answer.json()["error"]["code"] == "malformed_request", answer


def test_a_commitment_off_the_curve_is_refused(scene: Scene) -> None:
    nonces = scene.round_one([0, 1, 2])
    commitments = {slot: n.commitment for slot, n in nonces.items()}
    bad = replace(commitments[2], r1=(1, 2))
    with pytest.raises(ValidatorRefused, match="malformed_request.*not on"):
        scene.processes[0].client.partial(PartialRequest(nonces[0].session, {**commitments, 2: bad}))


def test_a_restart_between_the_rounds_costs_the_collector_one_session(scene: Scene) -> None:
    restarted: list[Mapping[int, NonceResponse]] = []

    def restart_once(nonces: Mapping[int, NonceResponse]) -> None:
        if not restarted:
            restarted.append(nonces)
            scene.restart(0)

    signed = scene.collector(on_round_one=restart_once).collect(scene.honest, scene.genesis)
    assert set(restarted[0]) == {0, 1, 2, 3}
    assert signed.sessions == 2 and set(signed.signers) == {1, 2, 3}, signed
    assert "unknown_session" in signed.refusals.get(scene.network.validators[0].name, ""), signed.refusals
    assert compute_signed_power(scene.aggregate_set, signed.commit) == 3
    # The restarted validator kept its record of the header (written before its nonce existed).
    me = scene.network.validators[0]
    db = SlashingDB(me.data_dir / DB_NAME, me.public_key)
    try:
        recorded = db.lookup(scene.honest.chain_id, scene.honest.number)
    finally:
        db.close()
    assert recorded is not None and recorded.header_hash == compute_header_hash(scene.honest)
    # And it signs again in the next session, with a fresh nonce.
    again = scene.collector(attempts=1, grace=5.0).collect(scene.honest, scene.genesis)
    assert set(again.signers) == {0, 1, 2, 3} and again.sessions == 1


def test_without_a_quorum_of_nonces_the_collector_fails_and_says_who(scene: Scene) -> None:
    endpoints = scene.endpoints()
    down = [replace(e, url="http://127.0.0.1:9") if e.slot in (2, 3) else e for e in endpoints]
    with pytest.raises(SigningError) as failed:
        scene.collector(down, request_timeout=2.0, deadline=3.0, attempts=2).collect(scene.honest, scene.genesis)
    names = [v.name for v in scene.network.validators]
    assert {names[2], names[3]} <= set(failed.value.refusals) and not failed.value.final


class LyingValidator:
    """A real validator's answers, forwarded, with one lie: round two's partial off by one, or
    (`lie="nonce"`) round one's R1 off the curve: the adversaries the collector must name."""

    def __init__(self, honest_url: str, lie: str = "partial") -> None:
        self.honest = ValidatorClient(honest_url, timeout=10.0)
        self.lie = lie
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        honest, lie = self.honest, self.lie

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                answer = honest.post_json(self.path, body)
                payload = answer.body
                if self.path == "/partial" and answer.status == 200 and lie == "partial":
                    partial = int(json.loads(answer.body)["partial"])
                    payload = json.dumps({"partial": str((partial + 1) % SUBORDER)}).encode()
                if self.path == "/nonces" and answer.status == 200 and lie == "nonce":
                    payload = json.dumps({**json.loads(answer.body), "r1": ["1", "2"]}).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args: object) -> None:
                pass

        return Handler

    def __enter__(self) -> LyingValidator:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_validator_whose_partial_is_wrong_is_named_and_left_out(scene: Scene) -> None:
    with LyingValidator(scene.network.validators[3].url) as liar:
        endpoints = [replace(e, url=liar.url) if e.slot == 3 else e for e in scene.endpoints()]
        signed = scene.collector(endpoints, grace=5.0).collect(scene.honest, scene.genesis)
    liar_name = scene.network.validators[3].name
    assert signed.sessions == 2 and set(signed.signers) == {0, 1, 2}, signed
    assert "bad partial signature" in signed.refusals[liar_name] and "slot 3" in signed.refusals[liar_name]
    assert compute_signed_power(scene.aggregate_set, signed.commit) == 3


def test_a_validator_whose_nonce_is_off_the_curve_is_named_in_round_one(scene: Scene) -> None:
    with LyingValidator(scene.network.validators[3].url, lie="nonce") as liar:
        endpoints = [replace(e, url=liar.url) if e.slot == 3 else e for e in scene.endpoints()]
        signed = scene.collector(endpoints, grace=5.0).collect(scene.honest, scene.genesis)
    liar_name = scene.network.validators[3].name
    assert signed.sessions == 1 and set(signed.signers) == {0, 1, 2}, signed
    assert "R1 is not on Baby Jubjub" in signed.refusals[liar_name], signed.refusals
