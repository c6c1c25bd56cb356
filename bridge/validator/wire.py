"""The validator API's JSON, parsed strictly: one spelling per value, nothing extra, nothing missing.

A header travels as an object of its eight fields: integers as canonical decimal strings ("0" or
no leading zero, no sign, no spaces), `block_hash` as 0x and 64 lowercase hex digits. A
checkpoint (POST /sign-checkpoint) likewise, with `exit_root` (0x-hex, 32 bytes) for `event_root`. JSON
numbers are refused everywhere (a float or a big integer means something different to every
parser), as are duplicate keys, NaN and Infinity. The relayer builds requests with the encode_*
functions and reads answers with parse_sign_response.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, NoReturn

from statesync.aggregate import NonceCommitment
from statesync.babyjub import SUBORDER, Point
from statesync.eddsa import Signature
from statesync.errors import ZkStateSyncError
from statesync.field import R
from statesync.model import Checkpoint, Header, Signed

MAX_BODY_BYTES: Final = 64 * 1024
# Round two lists every participant's two nonce points (about 330 bytes each): room for 2,048 slots.
MAX_ROUND_TWO_BYTES: Final = 1024 * 1024
UINT64_FIELDS: Final = ("chain_id", "number", "timestamp")
ELEMENT_FIELDS: Final = ("parent_hash", "event_root", "validator_set_hash", "next_validator_set_hash")
HEADER_KEYS: Final = frozenset({*UINT64_FIELDS, *ELEMENT_FIELDS, "block_hash"})
CHECKPOINT_ELEMENT_FIELDS: Final = ("parent_hash", "validator_set_hash", "next_validator_set_hash")
CHECKPOINT_KEYS: Final = frozenset({*UINT64_FIELDS, *CHECKPOINT_ELEMENT_FIELDS, "exit_root", "block_hash"})
SIGN_REQUEST_KEYS: Final = frozenset({"proposal", "parent"})
_DECIMAL: Final = re.compile(r"0|[1-9][0-9]{0,77}")  # 78 digits reach past 2^256: anything longer is refused unread
_BLOCK_HASH: Final = re.compile(r"0x[0-9a-f]{64}")
_SESSION: Final = re.compile(r"[0-9a-f]{32}")


class MalformedRequest(ZkStateSyncError, ValueError):
    """A request body is not the API's JSON (the message says where)."""


@dataclass(frozen=True)
class SignRequest:
    proposal: Signed  # a rootchain header (POST /sign) or a child-chain checkpoint (POST /sign-checkpoint)
    parent: Signed


@dataclass(frozen=True)
class SignResponse:
    signature: Signature
    signing_message: int
    header_hash: int


@dataclass(frozen=True)
class NonceResponse:
    """Round one of the aggregate mode (POST /nonces): this validator's nonce commitment for the
    proposal it checked and recorded, under a session id that round two names."""

    session: str
    commitment: NonceCommitment
    signing_message: int
    header_hash: int


@dataclass(frozen=True)
class PartialRequest:
    """Round two (POST /partial): the session, and every participant's commitment by slot."""

    session: str
    commitments: Mapping[int, NonceCommitment]


# --- JSON -------------------------------------------------------------------------------------


def _refuse_constant(name: str) -> NoReturn:
    raise MalformedRequest(f"{name} is not JSON the API accepts")


def _refuse_number(text: str) -> NoReturn:
    raise MalformedRequest(f"JSON numbers are not accepted (got {text[:20]}); integers are decimal strings")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise MalformedRequest(f"key {key[:40]!r} appears twice")
        result[key] = value
    return result


def parse_json_strictly(body: bytes, max_bytes: int = MAX_BODY_BYTES) -> Any:
    """JSON without numbers, NaN/Infinity or duplicate keys, from UTF-8 of at most `max_bytes`."""
    if len(body) > max_bytes:
        raise MalformedRequest(f"the body has {len(body)} bytes, more than {max_bytes}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedRequest(f"the body is not UTF-8: {exc.reason} at byte {exc.start}") from exc
    try:
        return json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_float=_refuse_number,
            parse_int=_refuse_number,
            parse_constant=_refuse_constant,
        )
    except json.JSONDecodeError as exc:
        raise MalformedRequest(f"the body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except RecursionError as exc:
        raise MalformedRequest("the body nests too deeply") from exc


def _object(value: object, keys: frozenset[str], where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise MalformedRequest(f"{where} must be an object, got {_kind(value)}")
    missing = sorted(keys - value.keys())
    if missing:
        raise MalformedRequest(f"{where} is missing {', '.join(missing)}")
    extra = sorted(value.keys() - keys)
    if extra:
        raise MalformedRequest(f"{where} has unknown key(s) {', '.join(repr(k[:40]) for k in extra[:5])}")
    return value


def _kind(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(type(value), "null")


def parse_decimal(value: object, where: str, bound: int) -> int:
    """A canonical decimal string of an integer in [0, bound)."""
    if not isinstance(value, str):
        raise MalformedRequest(f"{where} must be a decimal string, got {_kind(value)}")
    if not _DECIMAL.fullmatch(value):
        raise MalformedRequest(f"{where} is not a canonical decimal integer: {value[:80]!r}")
    number = int(value)
    if number >= bound:
        raise MalformedRequest(f"{where} must be below {bound}, got {value}")
    return number


def parse_bytes32(value: object, where: str) -> int:
    if not isinstance(value, str) or not _BLOCK_HASH.fullmatch(value):
        raise MalformedRequest(f"{where} must be 0x and 64 lowercase hex digits")
    return int(value, 16)


def parse_header(value: object, where: str) -> Header:
    fields = _object(value, HEADER_KEYS, where)
    uints = {name: parse_decimal(fields[name], f"{where}.{name}", 2**64) for name in UINT64_FIELDS}
    elements = {name: parse_decimal(fields[name], f"{where}.{name}", R) for name in ELEMENT_FIELDS}
    block_hash = parse_bytes32(fields["block_hash"], f"{where}.block_hash")
    try:
        return Header(**uints, **elements, block_hash=block_hash)
    except ZkStateSyncError as exc:  # unreachable after the checks above; kept so a model rule change stays a 400
        raise MalformedRequest(f"{where}: {exc}") from exc


def parse_checkpoint(value: object, where: str) -> Checkpoint:
    fields = _object(value, CHECKPOINT_KEYS, where)
    uints = {name: parse_decimal(fields[name], f"{where}.{name}", 2**64) for name in UINT64_FIELDS}
    elements = {name: parse_decimal(fields[name], f"{where}.{name}", R) for name in CHECKPOINT_ELEMENT_FIELDS}
    exit_root = parse_bytes32(fields["exit_root"], f"{where}.exit_root")
    block_hash = parse_bytes32(fields["block_hash"], f"{where}.block_hash")
    try:
        return Checkpoint(**uints, **elements, exit_root=exit_root, block_hash=block_hash)
    except ZkStateSyncError as exc:  # unreachable after the checks above
        raise MalformedRequest(f"{where}: {exc}") from exc


def parse_sign_request(body: bytes, *, checkpoint: bool = False) -> SignRequest:
    """A POST /sign body (a header and its parent), or with `checkpoint` a POST /sign-checkpoint one."""
    document = _object(parse_json_strictly(body), SIGN_REQUEST_KEYS, "the request")
    parse = parse_checkpoint if checkpoint else parse_header
    return SignRequest(proposal=parse(document["proposal"], "proposal"), parent=parse(document["parent"], "parent"))


# --- encoding ---------------------------------------------------------------------------------


def encode_header(header: Signed) -> dict[str, str]:
    """A header's (or a checkpoint's) fields as the API spells them."""
    if isinstance(header, Checkpoint):
        return {
            **{name: str(getattr(header, name)) for name in (*UINT64_FIELDS, *CHECKPOINT_ELEMENT_FIELDS)},
            "exit_root": "0x" + header.exit_root.to_bytes(32, "big").hex(),
            "block_hash": "0x" + header.block_hash.to_bytes(32, "big").hex(),
        }
    return {
        **{name: str(getattr(header, name)) for name in (*UINT64_FIELDS, *ELEMENT_FIELDS)},
        "block_hash": "0x" + header.block_hash.to_bytes(32, "big").hex(),
    }


def encode_sign_request(proposal: Signed, parent: Signed) -> bytes:
    return json.dumps({"proposal": encode_header(proposal), "parent": encode_header(parent)}).encode()


def encode_signature(signature: Signature) -> dict[str, Any]:
    return {"r8": [str(signature.r8[0]), str(signature.r8[1])], "s": str(signature.s)}


def encode_sign_response(response: SignResponse) -> dict[str, Any]:
    return {
        "signature": encode_signature(response.signature),
        "signing_message": str(response.signing_message),
        "header_hash": str(response.header_hash),
    }


def parse_sign_response(body: bytes) -> SignResponse:
    """A 200 answer of POST /sign (for the relayer); MalformedRequest if it is not one."""
    document = _object(parse_json_strictly(body), frozenset({"signature", "signing_message", "header_hash"}), "answer")
    signature = _object(document["signature"], frozenset({"r8", "s"}), "answer.signature")
    r8 = signature["r8"]
    if not isinstance(r8, list) or len(r8) != 2:
        raise MalformedRequest("answer.signature.r8 must be [x, y]")
    return SignResponse(
        signature=Signature(
            r8=(parse_decimal(r8[0], "r8.x", R), parse_decimal(r8[1], "r8.y", R)),
            s=parse_decimal(signature["s"], "answer.signature.s", 2**256),
        ),
        signing_message=parse_decimal(document["signing_message"], "answer.signing_message", R),
        header_hash=parse_decimal(document["header_hash"], "answer.header_hash", R),
    )


# --- the aggregate mode's two rounds -------------------------------------------------------------


def _point(value: object, where: str) -> Point:
    if not isinstance(value, list) or len(value) != 2:
        raise MalformedRequest(f"{where} must be [x, y]")
    return (parse_decimal(value[0], f"{where}.x", R), parse_decimal(value[1], f"{where}.y", R))


def _encode_point(point: Point) -> list[str]:
    return [str(point[0]), str(point[1])]


def parse_session(value: object, where: str) -> str:
    if not isinstance(value, str) or not _SESSION.fullmatch(value):
        raise MalformedRequest(f"{where} must be 32 lowercase hex digits")
    return value


def encode_nonce_response(response: NonceResponse) -> dict[str, Any]:
    return {
        "session": response.session,
        "r1": _encode_point(response.commitment.r1),
        "r2": _encode_point(response.commitment.r2),
        "signing_message": str(response.signing_message),
        "header_hash": str(response.header_hash),
    }


def parse_nonce_response(body: bytes) -> NonceResponse:
    """A 200 answer of POST /nonces (for the relayer); MalformedRequest if it is not one."""
    keys = frozenset({"session", "r1", "r2", "signing_message", "header_hash"})
    document = _object(parse_json_strictly(body), keys, "answer")
    return NonceResponse(
        session=parse_session(document["session"], "answer.session"),
        commitment=NonceCommitment(_point(document["r1"], "answer.r1"), _point(document["r2"], "answer.r2")),
        signing_message=parse_decimal(document["signing_message"], "answer.signing_message", R),
        header_hash=parse_decimal(document["header_hash"], "answer.header_hash", R),
    )


def encode_partial_request(request: PartialRequest) -> bytes:
    commitments = {
        str(slot): [*_encode_point(c.r1), *_encode_point(c.r2)] for slot, c in sorted(request.commitments.items())
    }
    return json.dumps({"session": request.session, "commitments": commitments}).encode()


def parse_partial_request(body: bytes, slots: int) -> PartialRequest:
    """A POST /partial body: {"session": hex, "commitments": {"slot": [R1.x, R1.y, R2.x, R2.y], ...}}."""
    document = _object(
        parse_json_strictly(body, MAX_ROUND_TWO_BYTES), frozenset({"session", "commitments"}), "the request"
    )
    listed = document["commitments"]
    if not isinstance(listed, dict) or not listed:
        raise MalformedRequest("commitments must be a non-empty object of slot -> [R1.x, R1.y, R2.x, R2.y]")
    commitments: dict[int, NonceCommitment] = {}
    for key, value in listed.items():
        slot = parse_decimal(key, "commitments slot", slots)
        where = f"commitments[{slot}]"
        if not isinstance(value, list) or len(value) != 4:
            raise MalformedRequest(f"{where} must be [R1.x, R1.y, R2.x, R2.y]")
        coordinates = [parse_decimal(v, where, R) for v in value]
        commitments[slot] = NonceCommitment((coordinates[0], coordinates[1]), (coordinates[2], coordinates[3]))
    return PartialRequest(parse_session(document["session"], "session"), commitments)


def encode_partial_response(partial: int) -> dict[str, str]:
    return {"partial": str(partial)}


def parse_partial_response(body: bytes) -> int:
    document = _object(parse_json_strictly(body), frozenset({"partial"}), "answer")
    return parse_decimal(document["partial"], "answer.partial", SUBORDER)


def encode_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}
