from __future__ import annotations

import dataclasses
import functools
import random
import sys
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from statesync.babyjub import BASE8, IDENTITY, SUBORDER, Point, multiply_point
from statesync.eddsa import Signature, derive_public_key, sign_poseidon, verify_poseidon
from statesync.errors import CurveError, FieldError, PrivateKeyError, SignatureError
from statesync.field import R
from tests.statesync.conftest import (
    SLOW_VECTORS,
    VECTORS,
    Requests,
    circomlibjs_answers,
    decode_point,
    encode_point,
)

KEY = bytes(range(32))
# circomlibjs spends ~30 ms per signature or verification. The 200 signing vectors check key
# derivation too (A enters the challenge hash, so a wrong A changes S), so fewer direct
# key-derivation vectors suffice, and half as many verification vectors as signing ones.
KEY_VECTORS = VECTORS // 8
SMALL_ORDER_KEYS: list[Point] = [IDENTITY, (0, R - 1)]


@dataclass(frozen=True)
class Vectors:
    keys: list[bytes]
    messages: list[int]
    verify_cases: list[tuple[Point, int, Signature]]
    malleated: tuple[Point, int, Signature]
    forged: Signature


def _encode_signature(signature: Signature) -> dict[str, object]:
    return {"r8": encode_point(signature.r8), "s": str(signature.s)}


def _verify_request(case: tuple[Point, int, Signature]) -> dict[str, object]:
    public_key, message, signature = case
    return {
        "op": "verify",
        "pub": encode_point(public_key),
        "msg": str(message),
        "sig": _encode_signature(signature),
    }


def _verify_case(rng: random.Random) -> tuple[Point, int, Signature]:
    # A quarter each: valid, wrong message, wrong key, tampered signature.
    key, message = rng.randbytes(32), rng.randrange(R)
    signature, public_key = sign_poseidon(key, message), derive_public_key(key)
    match rng.randrange(4):
        case 0:
            return public_key, message, signature
        case 1:
            return public_key, (message + 1) % R, signature
        case 2:
            return derive_public_key(rng.randbytes(32)), message, signature
        case _:
            tampered = rng.choice(
                [
                    dataclasses.replace(signature, s=(signature.s + 1) % SUBORDER),
                    dataclasses.replace(signature, r8=multiply_point(signature.r8, 2)),
                    dataclasses.replace(signature, r8=BASE8),
                ]
            )
            return public_key, message, tampered


@functools.cache
def vectors() -> Vectors:
    rng = random.Random("eddsa crosscheck")
    keys = [rng.randbytes(32) for _ in range(VECTORS)]
    messages = [rng.choice([0, 1, R - 1, rng.randrange(R), rng.randrange(2**64)]) for _ in keys]
    verify_cases = [_verify_case(rng) for _ in range(SLOW_VECTORS)]
    signature = sign_poseidon(KEY, 42)
    # S + l satisfies the verification equation as well (BASE8 has order l).
    malleated = dataclasses.replace(signature, s=signature.s + SUBORDER)
    # With A of small order, 8 * k * A vanishes and R8 = S * BASE8 "verifies" any message.
    forged = Signature(r8=multiply_point(BASE8, 5), s=5)
    return Vectors(keys, messages, verify_cases, (derive_public_key(KEY), 42, malleated), forged)


def circomlibjs_requests() -> Requests:
    v = vectors()
    requests: Requests = [{"op": "prv2pub", "key": k.hex()} for k in v.keys[:KEY_VECTORS]]
    requests += [{"op": "sign", "key": k.hex(), "msg": str(m)} for k, m in zip(v.keys, v.messages, strict=True)]
    requests += [_verify_request(case) for case in v.verify_cases]
    requests.append(_verify_request(v.malleated))
    requests += [_verify_request((key, 7, v.forged)) for key in SMALL_ORDER_KEYS]
    return requests


def _answers(section: str) -> list[Any]:
    answers = circomlibjs_answers(sys.modules[__name__])
    v = vectors()
    sizes = {
        "prv2pub": KEY_VECTORS,
        "sign": len(v.keys),
        "verify": len(v.verify_cases),
        "malleated": 1,
        "forged": len(SMALL_ORDER_KEYS),
    }
    start = 0
    for name, size in sizes.items():
        if name == section:
            return answers[start : start + size]
        start += size
    raise KeyError(section)


def test_public_keys_match_circomlibjs() -> None:
    ours = [derive_public_key(key) for key in vectors().keys[:KEY_VECTORS]]
    assert ours == [decode_point(a) for a in _answers("prv2pub")]


def test_signatures_match_circomlibjs() -> None:
    v = vectors()
    ours = [sign_poseidon(k, m) for k, m in zip(v.keys, v.messages, strict=True)]
    for signature, theirs, key in zip(ours, _answers("sign"), v.keys, strict=True):
        assert signature.r8 == decode_point(theirs["r8"]), key.hex()
        assert signature.s == int(theirs["s"]), key.hex()


def test_verification_agrees_with_circomlibjs() -> None:
    ours = [verify_poseidon(*case) for case in vectors().verify_cases]
    theirs = _answers("verify")
    assert True in theirs and False in theirs
    assert ours == theirs


def test_s_at_or_above_the_subgroup_order_is_rejected() -> None:
    public_key, message, malleated = vectors().malleated
    original = dataclasses.replace(malleated, s=malleated.s - SUBORDER)
    assert verify_poseidon(public_key, message, original)
    assert multiply_point(BASE8, malleated.s) == multiply_point(BASE8, original.s)
    # circomlibjs returns false, the circuit's CompConstant(l - 1) fails, and we raise.
    assert _answers("malleated") == [False]
    with pytest.raises(SignatureError, match="S must be < l"):
        verify_poseidon(public_key, message, malleated)


def test_small_order_keys_are_rejected() -> None:
    # circomlibjs accepts the forgery; the circuit (IsZero on the x of 8A) and we do not.
    assert _answers("forged") == [True] * len(SMALL_ORDER_KEYS)
    for key in SMALL_ORDER_KEYS:
        with pytest.raises(CurveError, match="small order"):
            verify_poseidon(key, 7, vectors().forged)


@settings(max_examples=10, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.integers(min_value=0, max_value=R - 1))
def test_sign_verify_roundtrip(key: bytes, message: int) -> None:
    signature = sign_poseidon(key, message)
    public_key = derive_public_key(key)
    assert 0 <= signature.s < SUBORDER
    assert verify_poseidon(public_key, message, signature)
    assert not verify_poseidon(public_key, (message + 1) % R, signature)
    assert sign_poseidon(key, message) == signature  # deterministic


@pytest.mark.parametrize(
    ("public_key", "message", "signature", "error", "text"),
    [
        ((1, 2), 1, None, CurveError, "public key \\(1, 2\\) is not on Baby Jubjub"),
        (None, 1, Signature(r8=(3, 4), s=1), CurveError, "signature R8 .* is not on Baby Jubjub"),
        (None, R, None, FieldError, "message must be < r"),
        (None, -1, None, FieldError, "message must be non-negative"),
        (None, 1, Signature(r8=BASE8, s=-1), SignatureError, "non-negative int"),
        (None, 1, Signature(r8=BASE8, s=SUBORDER), SignatureError, "S must be < l"),
        (None, 1, (BASE8, 1), SignatureError, "expected a Signature"),
        ((BASE8[0], BASE8[1] + R), 1, None, FieldError, "public key.y must be < r"),
    ],
)
def test_malformed_verification_input_raises(
    public_key: Point | None,
    message: int,
    signature: Signature | None,
    error: type[Exception],
    text: str,
) -> None:
    good_signature = sign_poseidon(KEY, 1)
    with pytest.raises(error, match=text):
        verify_poseidon(
            public_key or derive_public_key(KEY),
            message,
            good_signature if signature is None else signature,
        )


@pytest.mark.parametrize(
    ("key", "text"),
    [(bytes(31), "got 31 bytes"), (bytes(33), "got 33 bytes"), ("00" * 32, "got str")],
)
def test_private_keys_must_be_32_bytes(key: object, text: str) -> None:
    with pytest.raises(PrivateKeyError, match=text):
        derive_public_key(key)  # type: ignore[arg-type]
    with pytest.raises(PrivateKeyError, match=text):
        sign_poseidon(key, 1)  # type: ignore[arg-type]


def test_signing_rejects_messages_outside_the_field() -> None:
    with pytest.raises(FieldError, match="message must be < r"):
        sign_poseidon(KEY, R)
