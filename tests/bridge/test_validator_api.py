"""Hostile requests against one running validator: every answer is a refusal with a reason.

One validator process (no child chain configured: the genesis stands in for the receiver's
checkpoint) on one anvil serves every case; it signs one honest header in the fixture. Each
property sends requests built from that header or from nothing, and checks the answer: a 4xx
with {"error": {"code", "message"}} whose status fits the code, or 200 only for the honest
header, with its one signature. The last test checks that the process is still up and that the
slashing database holds the honest header's row and nothing else. 1,340 cases in all.
"""

from __future__ import annotations

import json
import signal
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3.types import RPCEndpoint

from bridge.chain.chains import run_anvil
from bridge.chain.deploy import deploy, transact
from bridge.chain.solc import compile_directory
from bridge.config import (
    CircuitsConfig,
    RootchainConfig,
    build_proposal_rules,
    compute_configured_set_hash,
)
from bridge.validator.checks import RefusalCode, http_status
from bridge.validator.client import HttpAnswer, ValidatorClient
from bridge.validator.local import LocalValidator, make_local_network
from bridge.validator.process import ValidatorProcess, spawn_validator, stop_validator, wait_until_ready
from bridge.validator.slashing import DB_NAME
from bridge.validator.wire import ELEMENT_FIELDS, MAX_BODY_BYTES, UINT64_FIELDS, encode_header, parse_sign_response
from statesync.circuits import load_manifest
from statesync.field import R
from statesync.model import Header, StateSyncEvent, compute_header_hash
from statesync.proposal import RootBlock, derive_header

CONFIRMATIONS = 3
CODES = {code.value for code in RefusalCode}
HEADER_KEYS = (*UINT64_FIELDS, *ELEMENT_FIELDS, "block_hash")
# deadline=None: a request waits on a process and its node; database=None: no .hypothesis folder.
SETTINGS: dict[str, Any] = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


@dataclass(frozen=True)
class Target:
    process: ValidatorProcess
    me: LocalValidator
    genesis: Header
    honest: Header
    signature: dict[str, Any]
    others: tuple[Header, ...]  # the honest headers at the other confirmed numbers: never sent unbroken

    @property
    def client(self) -> ValidatorClient:
        return self.process.client

    def request_body(self, proposal: Any, parent: Any) -> bytes:
        return json.dumps({"proposal": proposal, "parent": parent}).encode()


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    directory = tmp_path_factory.mktemp("validator_api")
    with run_anvil() as root:
        sender = deploy(root, compile_directory().get("StateSender"))
        values = load_manifest().preset("test")
        circuits = CircuitsConfig("test", validator_slots=values["V"], depth=values["D"], batch_size=values["B"])
        rootchain = RootchainConfig(
            chain_id=int(root.web3.eth.chain_id),
            rpc=(str(root.web3.provider.endpoint_uri),),  # type: ignore[attr-defined]
            state_sender=sender.address,
            confirmations=CONFIRMATIONS,
            max_range=32,
        )
        head = int(root.web3.eth.block_number)
        start = root.web3.eth.get_block(head)
        network = make_local_network(
            directory,
            rootchain=rootchain,
            circuits=circuits,
            genesis_block=RootBlock(head, int.from_bytes(bytes(start["hash"]), "big"), int(start["timestamp"])),
            powers=[3, 1],
            seed=b"validator api tests",
            work_factor=2**10,
        )
        genesis = network.config.genesis
        assert genesis is not None
        receipt = transact(root, sender, "syncState", root.accounts[1], b"payload")
        root.web3.provider.make_request(RPCEndpoint("anvil_mine"), [hex(10)])
        event = StateSyncEvent(1, int(root.accounts[0], 16), int(root.accounts[1], 16), b"payload")
        assert genesis.number < receipt.block_number <= genesis.number + 4
        rules, set_hash = build_proposal_rules(network.config), compute_configured_set_hash(network.config)

        def derive(number: int) -> Header:
            block = root.web3.eth.get_block(number)
            end = RootBlock(number, int.from_bytes(bytes(block["hash"]), "big"), int(block["timestamp"]))
            return derive_header(genesis, end, [event] if receipt.block_number <= number else [], rules, set_hash)

        honest = derive(genesis.number + 4)
        confirmed = range(genesis.number + 1, int(root.web3.eth.block_number) - CONFIRMATIONS + 1)
        others = tuple(derive(n) for n in confirmed if n != honest.number)
        me = network.validators[0]
        process = spawn_validator(me.config_path, me.url, directory / "log", me.env)
        try:
            wait_until_ready(process)
            answer = process.client.post_json(
                "/sign", json.dumps({"proposal": encode_header(honest), "parent": encode_header(genesis)}).encode()
            )
            assert answer.status == 200, answer
            yield Target(process, me, genesis, honest, answer.json(), others)
        finally:
            stop_validator(process)


def check_answer(target: Target, answer: HttpAnswer, *, honest: bool = False) -> str:
    """The answer's code ("ok" for a signature); fails unless it is a well-formed refusal or the honest signature."""
    if answer.status == 200:
        assert honest, f"signed something that is not the honest header: {answer.body[:300]!r}"
        assert answer.json() == target.signature
        parse_sign_response(answer.body)
        return "ok"
    assert 400 <= answer.status < 500, answer
    assert answer.content_type.startswith("application/json"), answer
    document = answer.json()
    assert set(document) == {"error"} and set(document["error"]) == {"code", "message"}, document
    code = document["error"]["code"]
    assert code in CODES and http_status(RefusalCode(code)) == answer.status, document
    assert isinstance(document["error"]["message"], str) and document["error"]["message"]
    return str(code)


# --- strategies -------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)
hostile_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
    st.sampled_from(["", " 1", "1 ", "01", "00", "+1", "-1", "1.0", "1e3", "0x1", "0b1", "١", "1_000", "NaN"]),
    st.integers(min_value=0, max_value=2**300).map(lambda n: "0" + str(n)),  # a leading zero
    st.integers(min_value=2**64, max_value=2**300).map(str),  # past uint64 (and, mostly, past r)
    st.integers(min_value=R, max_value=2**256).map(str),  # past the field
    st.text(max_size=40),
    st.binary(min_size=1, max_size=33).map(lambda b: "0x" + b.hex()),  # a block hash of the wrong size
    st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex().upper()),  # not lowercase
)


def is_canonical(value: Any, key: str) -> bool:
    """Whether `value` is a well-formed `key` (hostile_values sometimes draws one)."""
    if not isinstance(value, str):
        return False
    if key == "block_hash":
        return len(value) == 66 and value.startswith("0x") and all(c in "0123456789abcdef" for c in value[2:])
    if not value.isascii() or not value.isdigit() or (len(value) > 1 and value[0] == "0"):
        return False
    return int(value) < (2**64 if key in UINT64_FIELDS else R)


# --- properties -------------------------------------------------------------------------------


@settings(max_examples=200, **SETTINGS)
@given(document=json_values)
def test_random_json_is_refused(target: Target, document: Any) -> None:
    answer = target.client.post_json("/sign", json.dumps(document).encode())
    assert check_answer(target, answer) == "malformed_request"


@settings(max_examples=150, **SETTINGS)
@given(body=st.binary(max_size=2000))
def test_random_bytes_are_refused(target: Target, body: bytes) -> None:
    assert check_answer(target, target.client.post_json("/sign", body)) == "malformed_request"


@settings(max_examples=300, **SETTINGS)
@given(which=st.sampled_from(["proposal", "parent"]), key=st.sampled_from(HEADER_KEYS), value=hostile_values)
def test_a_field_of_the_wrong_type_or_spelling_is_refused(target: Target, which: str, key: str, value: Any) -> None:
    headers = {"proposal": encode_header(target.honest), "parent": encode_header(target.genesis)}
    unchanged = headers[which][key] == value  # hostile_values can draw the honest spelling itself
    headers[which] = {**headers[which], key: value}
    body = json.dumps(headers).encode()  # NaN and Infinity are written as such: JSON extensions to refuse
    code = check_answer(target, target.client.post_json("/sign", body), honest=unchanged)
    if not is_canonical(value, key):
        assert code == "malformed_request", (which, key, value)


@settings(max_examples=100, **SETTINGS)
@given(
    which=st.sampled_from(["proposal", "parent", "request"]),
    drop=st.lists(st.sampled_from([*HEADER_KEYS, "proposal", "parent"]), max_size=3, unique=True),
    extra=st.dictionaries(
        st.text(min_size=1, max_size=12).filter(lambda k: k not in {*HEADER_KEYS, "proposal", "parent"}),
        st.text(max_size=5),
        max_size=2,
    ),
)
def test_missing_or_extra_keys_are_refused(target: Target, which: str, drop: list[str], extra: dict[str, str]) -> None:
    request: dict[str, Any] = {"proposal": encode_header(target.honest), "parent": encode_header(target.genesis)}
    part: dict[str, Any] = request if which == "request" else request[which]
    expected = {"proposal", "parent"} if which == "request" else set(HEADER_KEYS)
    for key in drop:
        part.pop(key, None)
    part.update(extra)
    answer = target.client.post_json("/sign", json.dumps(request).encode())
    changed = set(part) != expected
    code = check_answer(target, answer, honest=not changed)
    if changed:
        assert code == "malformed_request"


def field_values(key: str) -> st.SearchStrategy[int]:
    bound = 2**256 if key == "block_hash" else 2**64 if key in UINT64_FIELDS else R
    return st.integers(min_value=0, max_value=bound - 1)


@dataclass(frozen=True)
class Edit:
    """One field of the honest proposal replaced: by a value near it (numbers) or any in range."""

    key: str
    near: bool
    offset: int
    value: int

    def apply(self, header: Header) -> Header:
        near = self.near and self.key in ("number", "timestamp", "chain_id")
        return replace(header, **{self.key: max(getattr(header, self.key) + self.offset, 0) if near else self.value})


edits = st.sampled_from(HEADER_KEYS).flatmap(
    lambda key: st.builds(Edit, st.just(key), st.booleans(), st.integers(min_value=-3, max_value=40), field_values(key))
)


@settings(max_examples=250, **SETTINGS)
@given(
    changes=st.lists(edits, min_size=1, max_size=2, unique_by=lambda e: e.key),
    stranger=st.one_of(
        st.none(), st.none(), st.none(), st.tuples(st.integers(min_value=1, max_value=5), st.booleans())
    ),
)
def test_changed_or_conflicting_proposals_are_refused(
    target: Target, changes: list[Edit], stranger: tuple[int, bool] | None
) -> None:
    """Well-formed requests near the honest one: a field or two changed, or a parent nobody accepted."""
    proposal, parent = target.honest, target.genesis
    for change in changes:
        proposal = change.apply(proposal)
    if stranger is not None:
        parent = replace(parent, timestamp=parent.timestamp + stranger[0])
        if stranger[1]:
            proposal = replace(proposal, parent_hash=compute_header_hash(parent))
    body = target.request_body(encode_header(proposal), encode_header(parent))
    honest = (proposal, parent) == (target.honest, target.genesis)
    code = check_answer(target, target.client.post_json("/sign", body), honest=honest)
    if not honest:
        assert code not in ("ok", "malformed_request"), (proposal, parent)


@settings(max_examples=120, **SETTINGS)
@given(
    index=st.integers(min_value=0, max_value=2**16),
    broken=st.sampled_from(["block_hash", "timestamp", "event_root"]),
    delta=st.integers(min_value=1, max_value=2**128),
)
def test_near_misses_at_other_numbers_are_refused(target: Target, index: int, broken: str, delta: int) -> None:
    """An honest header at another confirmed number with one rootchain fact wrong: the node's checks refuse it.

    Each change is non-zero modulo its field's range (a timestamp moved by 2^64 would be the honest one).
    """
    header = target.others[index % len(target.others)]
    if broken == "block_hash":
        header = replace(header, block_hash=header.block_hash ^ delta)
    elif broken == "timestamp":
        header = replace(header, timestamp=(header.timestamp + delta % (2**64 - 1) + 1) % 2**64)
    else:
        header = replace(header, event_root=(header.event_root + delta % (R - 1) + 1) % R)
    body = target.request_body(encode_header(header), encode_header(target.genesis))
    code = check_answer(target, target.client.post_json("/sign", body))
    assert code == f"{broken}_mismatch", (code, broken)


@settings(max_examples=60, **SETTINGS)
@given(spacing=st.sampled_from(["", " ", "\n", "\t"]), order=st.permutations(HEADER_KEYS))
def test_the_honest_header_replayed_gets_the_same_signature(target: Target, spacing: str, order: list[str]) -> None:
    """The same request in other JSON layouts (key order, whitespace) is the same header: the same signature."""
    proposal, parent = encode_header(target.honest), encode_header(target.genesis)
    document = {"parent": {k: parent[k] for k in order}, "proposal": {k: proposal[k] for k in reversed(order)}}
    body = json.dumps(document, separators=("," + spacing, ":" + spacing)).encode()
    assert check_answer(target, target.client.post_json("/sign", body), honest=True) == "ok"


@settings(max_examples=20, **SETTINGS)
@given(size=st.integers(min_value=MAX_BODY_BYTES + 1, max_value=1024 * 1024), fill=st.sampled_from([b" ", b"{", b"7"]))
def test_huge_bodies_are_refused(target: Target, size: int, fill: bytes) -> None:
    assert check_answer(target, target.client.post_json("/sign", fill * size)) == "body_too_large"


@settings(max_examples=140, **SETTINGS)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
    path=st.sampled_from(["/sign", "/status", "/metrics", "/", "/sign/", "/SIGN", "/admin"])
    | st.text("abc/%.-_", max_size=12).map(lambda t: "/" + t),
    content_type=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded", ""]),
)
def test_other_methods_paths_and_content_types_are_refused(
    target: Target, method: str, path: str, content_type: str
) -> None:
    body = target.request_body(encode_header(target.honest), encode_header(target.genesis))
    headers = {"Content-Type": content_type} if content_type else {}
    answer = target.client.request(method, path, body, headers)
    if (method, path) in (("GET", "/status"), ("GET", "/metrics")):
        assert answer.status == 200
        return
    code = check_answer(target, answer, honest=(method, path, content_type) == ("POST", "/sign", "application/json"))
    if method == "POST" and path == "/sign" and content_type != "application/json":
        assert code == "unsupported_media_type"


def test_the_process_survived_and_signed_only_the_honest_header(target: Target) -> None:
    """Still up after every case, one row in its database, and it stops on SIGINT with exit code 0."""
    assert target.process.process.poll() is None
    status = target.client.status()
    assert status["last_signed"] == {
        "chain_id": str(target.honest.chain_id),
        "number": str(target.honest.number),
        "header_hash": str(compute_header_hash(target.honest)),
    }
    path: Path = target.me.data_dir / DB_NAME
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT chain_id, number, header_hash FROM signed_headers").fetchall()
    assert rows == [
        (f"{target.honest.chain_id:020d}", f"{target.honest.number:020d}", status["last_signed"]["header_hash"])
    ]
    assert status["refusals"]["malformed_request"] > 500
    target.process.process.send_signal(signal.SIGINT)  # Ctrl-C stops it as cleanly as SIGTERM
    assert target.process.process.wait(timeout=15) == 0
