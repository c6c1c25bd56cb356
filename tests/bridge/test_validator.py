"""The validator node: its config, keystore and slashing protection, then a real process on loopback.

The process tests run one module-wide scenario on two anvil nodes (a rootchain with StateSender,
a child chain with a ZkStateReceiver) in file order: refusals first, while nothing is signed,
then the honest header, conflicts (also across kill -9), a parent the receiver trusts, and a
clean SIGTERM stop.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from typer.testing import CliRunner
from web3.types import RPCEndpoint

from bridge.chain.chains import Chain, find_free_port, run_anvil
from bridge.chain.deploy import Deployed, deploy, transact
from bridge.chain.solc import compile_directory
from bridge.chain.stack import ReceiverRails
from bridge.config import (
    ChildConfig,
    CircuitsConfig,
    ConfigError,
    RootchainConfig,
    build_proposal_rules,
    compute_configured_set_hash,
    load_network_config,
    load_validator_config,
    parse_network_config,
    render_network_config,
    save_network_config,
)
from bridge.keystore import KeystoreError, generate_keystore, load_keystore, read_keystore_public_key, write_keystore
from bridge.procs import build_service_argv
from bridge.rpc import FailoverRpc, RpcError, RpcUnavailable
from bridge.validator.cli import app as cli_app
from bridge.validator.client import ValidatorClient, ValidatorRefused
from bridge.validator.local import LocalNetwork, LocalValidator, make_local_network
from bridge.validator.process import (
    ValidatorProcess,
    spawn_validator,
    stop_validator,
    wait_until_ready,
)
from bridge.validator.slashing import (
    DB_NAME,
    AlreadySignedOther,
    NotLastSigned,
    SignedHeader,
    SlashingDB,
    SlashingError,
    compute_header_signing_message,
    lock_data_dir,
)
from bridge.validator.wire import MalformedRequest, SignResponse, parse_sign_request
from statesync.circuits import load_manifest
from statesync.eddsa import derive_public_key, verify_poseidon
from statesync.model import Header, SigningPurpose, StateSyncEvent, compute_header_hash, compute_signing_message
from statesync.proposal import ProposalRules, RootBlock, derive_header

WORK_FACTOR = 2**10  # scrypt n for test keystores: fast, and the format is the production one
PRESET = "test"
CONFIRMATIONS = 4
CHILD_CHAIN_ID = 1002
RECEIVER_NAME = 0x5EC0  # the address StateSynced events are sent to (any non-zero one)


def circuits_config() -> CircuitsConfig:
    values = load_manifest().preset(PRESET)
    return CircuitsConfig(PRESET, validator_slots=values["V"], depth=values["D"], batch_size=values["B"])


# ---------------------------------------------------------------------------------------------
# Config


def sample_document() -> dict[str, object]:
    key = derive_public_key(bytes(32))
    return {
        "rootchain": {"chain_id": 31337, "rpc": ["http://127.0.0.1:8545"], "state_sender": "0x" + "11" * 20},
        "child": {"chain_id": CHILD_CHAIN_ID, "rpc": ["http://127.0.0.1:8546"]},
        "circuits": {"preset": PRESET},
        "validators": [
            {
                "name": "alice",
                "url": "http://127.0.0.1:9101",
                "power": 2**64 - 1,
                "public_key": [str(key[0]), str(key[1])],
            }
        ],
    }


def test_a_network_config_parses_with_defaults_and_round_trips(tmp_path: Path) -> None:
    config = parse_network_config(sample_document())
    assert config.rootchain.confirmations == 12 and config.rootchain.max_range == 64
    assert config.circuits.depth == load_manifest().preset(PRESET)["D"]
    assert build_proposal_rules(config).max_events == 2**config.circuits.depth
    assert config.child is not None and config.child.receiver is None and config.genesis is None
    assert config.validators[0].power == 2**64 - 1  # past TOML's integers: written as a string
    path = tmp_path / "network.toml"
    save_network_config(path, config)
    assert load_network_config(path) == config
    assert render_network_config(load_network_config(path)) == path.read_text()


def test_saving_keeps_other_programs_sections(tmp_path: Path) -> None:
    path = tmp_path / "network.toml"
    document = {**sample_document(), "validator": {"name": "alice"}}
    path.write_text(tomli_w.dumps(document))
    config = load_network_config(path)
    save_network_config(path, replace(config, rootchain=replace(config.rootchain, confirmations=3)))
    assert load_network_config(path).rootchain.confirmations == 3
    assert "[validator]" in path.read_text()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["rootchain"].update(confirmatoins=3), r"\[rootchain\] unknown key 'confirmatoins'"),
        (lambda d: d["rootchain"].update(chain_id="01"), r"\[rootchain\] chain_id must be an integer"),
        (lambda d: d["rootchain"].update(chain_id=0), r"\[rootchain\] chain_id must be in"),
        (lambda d: d["rootchain"].update(rpc=[]), r"\[rootchain\] rpc must be a non-empty list"),
        (lambda d: d["rootchain"].update(rpc=["ftp://x"]), r"\[rootchain\] rpc\[0\] must be an http"),
        (lambda d: d["rootchain"].update(state_sender="0x12"), r"state_sender must be a 0x-hex address"),
        (lambda d: d["circuits"].update(preset="nope"), r"\[circuits\] preset: unknown preset 'nope'"),
        (lambda d: d["circuits"].update(preset="aggregate_test"), r"aggregate quorum mode \(Q = 1\).*needs possession"),
        (lambda d: d.pop("circuits"), r"missing \[circuits\] section"),
        (lambda d: d["validators"][0].update(public_key=["1", "2"]), r"#0 \('alice'\).*not on Baby Jubjub"),
        (lambda d: d["validators"][0].update(power=0), r"#0 power must be in \[1,"),
        (lambda d: d["validators"].append(dict(d["validators"][0])), r"share a name"),
        (lambda d: d.update(extra={}), r"top level: unknown key 'extra'"),
    ],
)
def test_config_errors_name_the_bad_key(change: object, message: str) -> None:
    document = json.loads(json.dumps(sample_document()))
    change(document)  # type: ignore[operator]
    with pytest.raises(ConfigError, match=message):
        parse_network_config(document)


def test_a_validator_section_defaults_to_loopback_and_its_urls_port(tmp_path: Path) -> None:
    (tmp_path / "network.toml").write_text(tomli_w.dumps(sample_document()))
    node = {"network": "network.toml", "name": "alice", "keystore": "k.json", "password_env": "PW", "data_dir": "d"}
    (tmp_path / "alice.toml").write_text(tomli_w.dumps({"validator": node}))
    config = load_validator_config(tmp_path / "alice.toml")
    assert (config.node.host, config.node.port) == ("127.0.0.1", 9101)
    assert config.node.keystore == tmp_path / "k.json" and config.node.data_dir == tmp_path / "d"
    (tmp_path / "alice.toml").write_text(tomli_w.dumps({"validator": {**node, "host": "0.0.0.0"}}))
    with pytest.raises(ConfigError, match="not a loopback address"):
        load_validator_config(tmp_path / "alice.toml")
    (tmp_path / "alice.toml").write_text(tomli_w.dumps({"validator": {**node, "name": "bob"}}))
    with pytest.raises(ConfigError, match="no \\[\\[validators\\]\\] entry is named 'bob'"):
        load_validator_config(tmp_path / "alice.toml")


# ---------------------------------------------------------------------------------------------
# Keystore


def test_a_keystore_round_trips_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    public_key = generate_keystore(path, "correct horse", work_factor=WORK_FACTOR)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = json.loads(path.read_text())
    assert document["crypto"]["kdf"] == "scrypt" and "address" not in document
    assert read_keystore_public_key(path) == public_key
    assert derive_public_key(load_keystore(path, "correct horse")) == public_key
    with pytest.raises(KeystoreError, match="wrong password"):
        load_keystore(path, "wrong horse")
    with pytest.raises(KeystoreError, match="refusing to overwrite"):
        generate_keystore(path, "correct horse", work_factor=WORK_FACTOR)
    with pytest.raises(KeystoreError, match="non-empty password"):
        write_keystore(tmp_path / "other.json", bytes(32), "")


def test_a_tampered_keystore_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    generate_keystore(path, "pw", work_factor=WORK_FACTOR)
    document = json.loads(path.read_text())
    other = derive_public_key(b"\x01" * 32)
    document["zkstatesync"]["public_key"] = [str(other[0]), str(other[1])]
    path.write_text(json.dumps(document))
    with pytest.raises(KeystoreError, match="other than the public key it states"):
        load_keystore(path, "pw")


# ---------------------------------------------------------------------------------------------
# Slashing protection


def signed(chain_id: int, number: int, header_hash: int) -> SignedHeader:
    return SignedHeader(chain_id, number, header_hash, compute_header_signing_message(chain_id, header_hash))


def test_slashing_protection_refuses_a_second_header_at_a_number(tmp_path: Path) -> None:
    key = derive_public_key(bytes(32))
    db = SlashingDB(tmp_path / DB_NAME, key)
    assert db.record(signed(1, 10, 111)) is True
    assert db.record(signed(1, 10, 111)) is False  # the same header: idempotent
    with pytest.raises(AlreadySignedOther):
        db.record(signed(1, 10, 222))
    assert db.record(signed(2, 10, 222)) is True  # another chain
    with pytest.raises(NotLastSigned):
        db.record(signed(1, 20, 333), require_last=999)
    assert db.record(signed(1, 2**64 - 1, 333), require_last=111) is True
    assert db.last_signed(1) == signed(1, 2**64 - 1, 333)  # uint64 numbers order as numbers
    db.close()
    reopened = SlashingDB(tmp_path / DB_NAME, key)
    assert len(reopened.records()) == 3 and reopened.lookup(1, 10) == signed(1, 10, 111)
    reopened.close()
    with pytest.raises(SlashingError, match="protects another public key"):
        SlashingDB(tmp_path / DB_NAME, derive_public_key(b"\x02" * 32))


def test_the_interchange_merges_and_refuses_conflicts(tmp_path: Path) -> None:
    key = derive_public_key(bytes(32))
    one = SlashingDB(tmp_path / "one.sqlite", key)
    one.record(signed(1, 10, 111))
    one.record(signed(1, 11, 112))
    # A checkpoint the same key signed on the child chain travels with the headers.
    checkpoint = SignedHeader(1002, 64, 113, compute_header_signing_message(1002, 113, SigningPurpose.CHECKPOINT))
    one.record(checkpoint)
    exported = one.export_interchange()
    two = SlashingDB(tmp_path / "two.sqlite", key)
    two.record(signed(1, 10, 111))
    summary = two.import_interchange(exported)
    assert (summary.imported, summary.already_present, summary.other_keys) == (2, 1, 0)
    assert two.records() == one.records()
    three = SlashingDB(tmp_path / "three.sqlite", key)
    three.record(signed(1, 11, 999))
    with pytest.raises(SlashingError, match="conflicts at chain 1 number 11"):
        three.import_interchange(exported)
    assert three.records() == (signed(1, 11, 999),)  # all or nothing
    forged = json.loads(json.dumps(exported))
    forged["data"][0]["signed_headers"][0]["signing_message"] = "5"
    with pytest.raises(SlashingError, match="signing message is not that of the header hash"):
        SlashingDB(tmp_path / "four.sqlite", key).import_interchange(forged)
    foreign = json.loads(json.dumps(exported))
    foreign["data"][0]["public_key"] = ["1", "2"]
    assert SlashingDB(tmp_path / "five.sqlite", key).import_interchange(foreign).other_keys == 1


def test_a_data_directory_has_one_validator(tmp_path: Path) -> None:
    lock = lock_data_dir(tmp_path)
    with pytest.raises(SlashingError, match="another validator process holds"):
        lock_data_dir(tmp_path)
    lock.release()
    lock_data_dir(tmp_path).release()


def test_the_key_and_slashing_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    monkeypatch.setenv("PW", "a password")
    keystore = tmp_path / "alice.json"
    made = runner.invoke(
        cli_app, ["keygen", "--keystore", str(keystore), "--password-env", "PW", "--work-factor", "1024"]
    )
    assert made.exit_code == 0, made.output
    public_key = json.loads(made.stdout)["public_key"]
    document = sample_document()
    document["validators"][0]["public_key"] = public_key  # type: ignore[index]
    node = {"name": "alice", "keystore": "alice.json", "password_env": "PW", "data_dir": "data"}
    (tmp_path / "alice.toml").write_text(tomli_w.dumps({**document, "validator": node}))
    point = (int(public_key[0]), int(public_key[1]))
    db = SlashingDB(tmp_path / "data" / DB_NAME, point)
    db.record(signed(31337, 10, 111))
    db.close()
    exported = tmp_path / "out.json"
    result = runner.invoke(
        cli_app, ["export-slashing", "--config", str(tmp_path / "alice.toml"), "--out", str(exported)]
    )
    assert result.exit_code == 0 and json.loads(result.stdout)["exported"] == 1, result.output
    other = json.loads(exported.read_text())
    other["data"][0]["signed_headers"].append(
        {
            "chain_id": "31337",
            "number": "11",
            "header_hash": "5",
            "signing_message": str(compute_header_signing_message(31337, 5)),
        }
    )
    (tmp_path / "in.json").write_text(json.dumps(other))
    result = runner.invoke(
        cli_app, ["import-slashing", "--config", str(tmp_path / "alice.toml"), "--file", str(tmp_path / "in.json")]
    )
    assert result.exit_code == 0 and json.loads(result.stdout) == {"imported": 1, "already_present": 1, "other_keys": 0}
    again = runner.invoke(cli_app, ["keygen", "--keystore", str(keystore), "--password-env", "PW"])
    assert again.exit_code == 1 and "refusing to overwrite" in again.output


def test_the_wire_format_is_strict() -> None:
    header = {
        "chain_id": "1",
        "number": "2",
        "parent_hash": "0",
        "timestamp": "3",
        "event_root": "4",
        "validator_set_hash": "5",
        "next_validator_set_hash": "6",
        "block_hash": "0x" + "ab" * 32,
    }
    request = parse_sign_request(json.dumps({"proposal": header, "parent": header}).encode())
    assert request.proposal.block_hash == int("ab" * 32, 16)
    for bad in ({**header, "number": "02"}, {**header, "number": 2}, {**header, "extra": "1"}):
        with pytest.raises(MalformedRequest):
            parse_sign_request(json.dumps({"proposal": bad, "parent": header}).encode())
    with pytest.raises(MalformedRequest, match="twice"):
        parse_sign_request(b'{"proposal": {}, "proposal": {}}')


# ---------------------------------------------------------------------------------------------
# The running validator


@dataclass
class Ledger:
    """The rootchain as the test knows it, independent of the validator's reading of it."""

    root: Chain
    sender: Deployed
    events: list[tuple[StateSyncEvent, int]] = field(default_factory=list)

    def send(self, data: bytes) -> StateSyncEvent:
        receiver = "0x" + RECEIVER_NAME.to_bytes(20, "big").hex()
        receipt = transact(self.root, self.sender, "syncState", self.root.web3.to_checksum_address(receiver), data)
        event = StateSyncEvent(len(self.events) + 1, int(self.root.accounts[0], 16), RECEIVER_NAME, data)
        self.events.append((event, receipt.block_number))
        return event

    def mine(self, blocks: int) -> None:
        rpc(self.root, "anvil_mine", [hex(blocks)])

    def head(self) -> int:
        return int(self.root.web3.eth.block_number)

    def block(self, number: int) -> RootBlock:
        block = self.root.web3.eth.get_block(number)
        return RootBlock(number, int.from_bytes(bytes(block["hash"]), "big"), int(block["timestamp"]))

    def in_range(self, parent: Header, end: int) -> list[StateSyncEvent]:
        return [e for e, b in self.events if parent.number < b <= end]


def wait_for_status(
    client: ValidatorClient, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20.0
) -> dict[str, Any]:
    """/status once `predicate` holds of it (the head poller runs beside the API)."""
    deadline = time.monotonic() + timeout
    while True:
        status = client.status()
        if predicate(status) or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def rpc(chain: Chain, method: str, params: Sequence[object]) -> object:
    response = chain.web3.provider.make_request(RPCEndpoint(method), list(params))
    assert "error" not in response, response
    return response.get("result")


@dataclass
class Scenario:
    ledger: Ledger
    network: LocalNetwork
    me: LocalValidator
    receiver: Deployed
    child: Chain
    rules: ProposalRules
    set_hash: int
    process: ValidatorProcess | None = None

    @property
    def genesis(self) -> Header:
        assert self.network.config.genesis is not None
        return self.network.config.genesis

    @property
    def client(self) -> ValidatorClient:
        assert self.process is not None
        return self.process.client

    def derive(self, parent: Header, end: int, events: list[StateSyncEvent] | None = None) -> Header:
        chosen = self.ledger.in_range(parent, end) if events is None else events
        return derive_header(parent, self.ledger.block(end), chosen, self.rules, self.set_hash)

    def start(self) -> None:
        self.process = spawn_validator(self.me.config_path, self.me.url, self.network.path.parent / "log", self.me.env)
        wait_until_ready(self.process)

    def rows(self) -> list[tuple[str, str, str]]:
        with sqlite3.connect(f"file:{self.me.data_dir / DB_NAME}?mode=ro", uri=True) as db:
            return db.execute("SELECT chain_id, number, header_hash FROM signed_headers ORDER BY number").fetchall()

    def refused(self, proposal: Header, parent: Header) -> ValidatorRefused:
        with pytest.raises(ValidatorRefused) as caught:
            self.client.sign(proposal, parent)
        return caught.value


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    directory = tmp_path_factory.mktemp("validator")
    with run_anvil() as root, run_anvil(extra_args=["--chain-id", str(CHILD_CHAIN_ID)]) as child:
        build = compile_directory()
        sender = deploy(root, build.get("StateSender"))
        # The receiver's verifiers only need code for its constructor: the validator reads
        # trustedHeaderHash and never submits a proof, so any contract stands in for them.
        placeholder = deploy(child, build.get("StateSender")).address
        ledger = Ledger(root, sender)
        dead = f"http://127.0.0.1:{find_free_port()}"  # nothing listens: the validator must fail over
        rootchain = RootchainConfig(
            chain_id=int(root.web3.eth.chain_id),
            rpc=(dead, str(root.web3.provider.endpoint_uri)),  # type: ignore[attr-defined]
            state_sender=sender.address,
            confirmations=CONFIRMATIONS,
            max_range=64,
        )
        network = make_local_network(
            directory,
            rootchain=rootchain,
            circuits=circuits_config(),
            genesis_block=ledger.block(ledger.head()),
            powers=[1, 1, 1],
            seed=b"validator tests",
            work_factor=WORK_FACTOR,
        )
        assert network.config.genesis is not None
        receiver = deploy(
            child,
            build.get("ZkStateReceiver"),
            placeholder,
            placeholder,
            placeholder,
            compute_header_hash(network.config.genesis),
            network.config.genesis.number,
            0,
            circuits_config().batch_size,
            500_000,
            ReceiverRails().argument(),
        )
        child_config = ChildConfig(
            chain_id=CHILD_CHAIN_ID,
            rpc=(str(child.web3.provider.endpoint_uri),),  # type: ignore[attr-defined]
            receiver=receiver.address,
        )
        config = replace(network.config, child=child_config)
        save_network_config(network.path, config)
        network = replace(network, config=config)
        state = Scenario(
            ledger=ledger,
            network=network,
            me=network.validators[0],
            receiver=receiver,
            child=child,
            rules=build_proposal_rules(config),
            set_hash=compute_configured_set_hash(config),
        )
        ledger.send(b"first")
        ledger.send(b"second")
        ledger.mine(10)
        state.start()
        try:
            yield state
        finally:
            if state.process is not None:
                stop_validator(state.process)


def honest(s: Scenario) -> Header:
    """The first header: (genesis, genesis + 5], holding both events."""
    return s.derive(s.genesis, s.genesis.number + 5)


@pytest.mark.anvil
def test_the_validator_reports_its_identity_and_fails_over_to_a_live_node(scenario: Scenario) -> None:
    status = wait_for_status(scenario.client, lambda status: status["rootchain"]["head"] is not None)
    assert status["name"] == scenario.me.name
    assert status["public_key"] == [str(c) for c in scenario.me.public_key]
    assert status["rootchain"]["rpc"] == str(scenario.ledger.root.web3.provider.endpoint_uri)  # type: ignore[attr-defined]
    assert status["last_signed"] is None and status["child"]["receiver"] == scenario.receiver.address
    metrics = scenario.client.request("GET", "/metrics").body.decode()
    assert 'zkstatesync_validator_rpc_errors_total{chain="rootchain"' in metrics


@pytest.mark.anvil
def test_a_node_of_another_chain_is_never_used(scenario: Scenario) -> None:
    child_url = str(scenario.child.web3.provider.endpoint_uri)  # type: ignore[attr-defined]
    rpc = FailoverRpc("rootchain", [child_url], scenario.genesis.chain_id, timeout=5.0, sleep=lambda _seconds: None)
    with pytest.raises(RpcUnavailable, match=f"serves chain {CHILD_CHAIN_ID}, not the configured"):
        rpc.request("eth_blockNumber", [])


def test_rpc_failures_never_repeat_the_path_or_query_of_a_url(tmp_path: Path) -> None:
    """RPC URLs carry API keys in their path or query; errors, logs and /status show host:port only."""
    port = find_free_port()  # nothing listens: every attempt fails with the HTTP library's message
    secret_url = f"http://127.0.0.1:{port}/v3/SECRETPATH?apikey=SECRETQUERY"
    errors: list[RpcError] = []
    rpc = FailoverRpc("rootchain", [secret_url], 1, timeout=2.0, on_error=errors.append, sleep=lambda _s: None)
    with pytest.raises(RpcUnavailable) as raised:
        rpc.request("eth_blockNumber", [])
    shown = [str(raised.value), rpc.node_in_use, *(e.message for e in errors), *(e.node for e in errors)]
    assert errors and f"127.0.0.1:{port}" in str(raised.value)
    assert not any("SECRET" in text for text in shown), shown


@pytest.mark.anvil
def test_proposals_the_node_does_not_show_are_refused_and_nothing_is_recorded(scenario: Scenario) -> None:
    s, genesis = scenario, scenario.genesis
    good = honest(s)
    head = s.ledger.head()
    cases = {
        "insufficient_confirmations": (s.derive(genesis, head - CONFIRMATIONS + 1), genesis),
        "block_hash_mismatch": (replace(good, block_hash=good.block_hash ^ 1), genesis),
        "timestamp_mismatch": (replace(good, timestamp=good.timestamp + 1), genesis),
        "event_root_mismatch": (s.derive(genesis, good.number, s.ledger.in_range(genesis, good.number)[:1]), genesis),
        "validator_set_mismatch": (replace(good, next_validator_set_hash=5), genesis),
        "parent_hash_mismatch": (replace(good, parent_hash=1), genesis),
        "wrong_chain": (replace(good, chain_id=good.chain_id + 1), genesis),
    }
    stranger = replace(genesis, timestamp=genesis.timestamp + 1)  # neither signed nor trusted
    cases["unknown_parent"] = (s.derive(stranger, good.number), stranger)
    for code, (proposal, parent) in cases.items():
        refusal = s.refused(proposal, parent)
        assert (refusal.code, refusal.status) == (code, 422), refusal
    assert s.rows() == []


@pytest.mark.anvil
def test_a_reorganised_block_is_refused(scenario: Scenario) -> None:
    s, genesis = scenario, scenario.genesis
    snapshot = s.ledger.root.snapshot()
    start = s.ledger.head()
    s.ledger.send(b"on a fork")
    s.ledger.mine(8)
    forked = s.derive(genesis, start + 3)
    s.ledger.root.revert_to(snapshot)
    s.ledger.events.pop()
    s.ledger.mine(12)  # the same numbers again, other blocks
    assert s.ledger.block(start + 3).hash != forked.block_hash
    refusal = s.refused(forked, genesis)
    assert (refusal.code, refusal.status) == ("block_hash_mismatch", 422)
    assert s.rows() == []


def check_signature(s: Scenario, header: Header, response: SignResponse) -> None:
    message = compute_signing_message(header)
    assert response.signing_message == message and response.header_hash == compute_header_hash(header)
    assert verify_poseidon(s.me.public_key, message, response.signature)


@pytest.mark.anvil
def test_an_honest_proposal_is_signed(scenario: Scenario) -> None:
    s = scenario
    header = honest(s)
    assert header.event_root != s.derive(s.genesis, header.number, []).event_root  # it carries the two events
    response = s.client.sign(header, s.genesis)
    check_signature(s, header, response)
    assert s.rows() == [(f"{header.chain_id:020d}", f"{header.number:020d}", str(compute_header_hash(header)))]
    status = s.client.status()
    assert status["last_signed"]["number"] == str(header.number) and status["signatures"] == 1


@pytest.mark.anvil
def test_a_second_header_at_a_signed_number_is_refused_also_after_kill_9(scenario: Scenario) -> None:
    s = scenario
    header = honest(s)
    other = replace(header, timestamp=header.timestamp + 1)
    first = s.client.sign(header, s.genesis)
    refusal = s.refused(other, s.genesis)
    assert (refusal.code, refusal.status) == ("already_signed_other", 409)
    assert s.client.sign(header, s.genesis) == first  # the same header: the same signature
    assert s.process is not None
    s.process.process.kill()  # SIGKILL: no chance to clean up
    s.process.process.wait(timeout=10)
    s.start()
    refusal = s.refused(other, s.genesis)
    assert (refusal.code, refusal.status) == ("already_signed_other", 409)
    assert s.client.sign(header, s.genesis) == first
    assert len(s.rows()) == 1


@pytest.mark.anvil
def test_the_parent_is_the_header_signed_last_or_the_one_the_receiver_trusts(scenario: Scenario) -> None:
    s, genesis = scenario, scenario.genesis
    first = honest(s)
    s.ledger.send(b"third")
    s.ledger.mine(CONFIRMATIONS + 2)
    second = s.derive(first, s.ledger.head() - CONFIRMATIONS)
    check_signature(s, second, s.client.sign(second, first))  # the parent is the header signed last
    # A header the receiver accepted without this validator (a quorum without it): storage slot 0
    # is trustedHeaderHash (ZkStateReceiver's layout comment).
    elsewhere = s.derive(genesis, genesis.number + 3)
    child_of_elsewhere = s.derive(elsewhere, genesis.number + 8)
    refusal = s.refused(child_of_elsewhere, elsewhere)
    assert refusal.code == "unknown_parent"
    slot_value = "0x" + compute_header_hash(elsewhere).to_bytes(32, "big").hex()
    rpc(s.child, "anvil_setStorageAt", [s.receiver.address, "0x0", slot_value])
    check_signature(s, child_of_elsewhere, s.client.sign(child_of_elsewhere, elsewhere))
    # Neither signed last nor the checkpoint, but a header the receiver accepted (its genesis):
    # evidence against a fork after it is built on just such a parent (PROTOCOL.md section 9).
    after_genesis = s.derive(genesis, genesis.number + 9)
    check_signature(s, after_genesis, s.client.sign(after_genesis, genesis))
    # A parent the receiver never accepted is still refused.
    stranger = replace(elsewhere, timestamp=elsewhere.timestamp + 1)
    assert s.refused(s.derive(stranger, genesis.number + 10), stranger).code == "unknown_parent"
    assert len(s.rows()) == 4


@pytest.mark.anvil
def test_metrics_count_signatures_and_refusals(scenario: Scenario) -> None:
    text = scenario.client.request("GET", "/metrics").body.decode()
    lines = {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines() if line and line[0] != "#"}
    assert lines["zkstatesync_validator_signatures_total"] >= 2  # since the last restart
    assert lines['zkstatesync_validator_refusals_total{code="unknown_parent"}'] >= 1
    assert lines["zkstatesync_validator_rootchain_head"] >= scenario.genesis.number
    assert lines["zkstatesync_validator_last_signed_number"] > scenario.genesis.number + 5


@pytest.mark.anvil
def test_a_header_accepted_where_this_validator_signed_another_is_reported(
    scenario: Scenario,
) -> None:
    # docs/PROTOCOL.md section 9, "Who watches". The receiver's storage is set to what a coalition's
    # header would leave: slot 0 trustedHeaderHash, slot 1's low 64 bits lastNumber (the layout comment).
    s, genesis = scenario, scenario.genesis
    assert s.client.status()["conflict"] is None
    _, number, signed_hash = s.rows()[-1]
    other = s.derive(genesis, int(number), events=[])  # another header at a number this validator signed
    assert compute_header_hash(other) != int(signed_hash)
    slot1 = int(str(rpc(s.child, "eth_getStorageAt", [s.receiver.address, "0x1", "latest"])), 16)
    slot1 = (slot1 >> 64 << 64) | other.number
    rpc(
        s.child,
        "anvil_setStorageAt",
        [s.receiver.address, "0x0", "0x" + compute_header_hash(other).to_bytes(32, "big").hex()],
    )
    rpc(s.child, "anvil_setStorageAt", [s.receiver.address, "0x1", "0x" + slot1.to_bytes(32, "big").hex()])
    status = wait_for_status(s.client, lambda status: status["conflict"] is not None)
    assert status["conflict"]["number"] == str(other.number)
    assert status["conflict"]["accepted_hash"] == str(compute_header_hash(other))
    assert status["conflict"]["signed_hash"] == str(signed_hash)
    text = s.client.request("GET", "/metrics").body.decode()
    assert "zkstatesync_validator_receiver_conflict 1.0" in text


@pytest.mark.anvil
def test_a_second_process_on_the_same_data_does_not_start(scenario: Scenario) -> None:
    result = subprocess.run(
        build_service_argv("bridge.validator", scenario.me.config_path),
        env={**os.environ, **scenario.me.env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    # One JSON line that says why (a wrong password says so the same way: see the keystore tests).
    assert "another validator process holds" in json.loads(result.stderr.strip().splitlines()[-1])["message"]


@pytest.mark.anvil
def test_sigterm_stops_the_validator_cleanly(scenario: Scenario) -> None:
    assert scenario.process is not None
    assert stop_validator(scenario.process) == 0
    records = [json.loads(line) for line in scenario.process.read_log().splitlines() if line.startswith("{")]
    assert records and all({"ts", "level", "event"} <= set(r) for r in records)
    assert records[-1]["event"] == "validator.stopped"
    scenario.process = None
