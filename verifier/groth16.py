"""Strict Groth16 verification of snarkjs proofs on BN254.

    vk = load_verifying_key("verification_key.json")
    ok = verify_proof(prepare_verifying_key(vk), load_proof("proof.json"),
                      load_public_inputs("public.json"))

The check is the snarkjs Solidity verifier's:  e(-A, B) e(alpha, beta) e(vk_x, gamma)
e(C, delta) == 1  with  vk_x = IC_0 + sum_i x_i IC_i.

Error or False. Anything the EVM's precompiles would refuse to take (EIP-196/197), and
anything that is not the way snarkjs writes its JSON, raises a typed error (errors.py) naming
the artefact and a Reason. A proof made only of valid group elements that fails the pairing
check returns False; points at infinity are valid group elements and are handled as EIP-197
does (their pairs contribute 1). `verify` is the bool-only entry point: it maps proof and
public-input errors to False, which is the EVM's verdict for every one of them except the
pA[1] >= q encodings described in groth16_evm.py (not expressible in canonical JSON);
groth16_evm.py has the full table of cases and `verify_calldata`, a model of the contract.

The JSON format accepted (what snarkjs 0.7.x writes, nothing looser):
- every field element a JSON string in canonical decimal: "0" or [1-9][0-9]*, ASCII digits
  only, so no sign, no leading zero, no hex, no blanks, no JSON numbers (which JavaScript
  rounds above 2^53), and < q for coordinates, < r for public inputs. snarkjs's own reader
  is laxer (hex, leading zeros, values >= q reduced mod q): those proofs are refused here;
- points are projective triples as snarkjs writes them: G1 [x, y, "1"], G2
  [[x0, x1], [y0, y1], ["1", "0"]] for x = x0 + x1 u; infinity only as snarkjs writes it,
  ["0", "1", "0"] (G2: [["0","0"], ["1","0"], ["0","0"]]). Any other z is refused, because
  the EVM calldata exporter drops z;
- an affine (0, 0) is refused as not on the curve, though the EVM reads it as infinity;
  both verdicts are "not verified" (the pairing with infinity fails for any sound key);
- proof.json: pi_a, pi_b, pi_c, and optionally protocol "groth16" and curve "bn128" (other
  provers may omit them); verification_key.json: exactly snarkjs's nine fields, vk_alphabeta_12
  optional; public.json: a list of strings whose length must equal nPublic; no duplicate
  keys, no NaN, no unknown fields.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, NoReturn, TypeGuard

from .bn254 import (
    Fp2,
    Fp12,
    G1Point,
    G2Lines,
    G2Point,
    Q,
    R,
    U,
    compute_lines,
    final_exponentiation,
    fp12_conj,
    g1_linear_combination,
    g1_neg,
    gt_pow,
    is_in_g2,
    is_on_g1,
    is_on_g2_curve,
    miller_loop,
    pairing,
)
from .errors import MalformedKeyError, MalformedProofError, PublicInputError, Reason, VerifierError

JsonSource = str | os.PathLike[str] | Mapping[str, object]
PublicSource = str | os.PathLike[str] | Sequence[object]

# snarkjs (ffjavascript) final-exponentiates with the Fuentes-Castaneda chain, which yields
# the standard pairing to this power; vk_alphabeta_12 is checked against e(alpha, beta)^it.
SNARKJS_GT_EXPONENT: Final = 2 * U * (6 * U * U + 3 * U + 1) % R

_DECIMAL: Final = re.compile(r"0|[1-9][0-9]*")
_MAX_DIGITS: Final = len(str(2**256))
_KEY_FIELDS: Final = frozenset(
    {"protocol", "curve", "nPublic", "vk_alpha_1", "vk_beta_2", "vk_gamma_2", "vk_delta_2", "IC"}
)
_PROOF_FIELDS: Final = frozenset({"pi_a", "pi_b", "pi_c"})


# ---------------------------------------------------------------------------------------------
# The objects


@dataclass(frozen=True)
class VerifyingKey:
    """A Groth16 verifying key; constructing one validates it (MalformedKeyError)."""

    alpha: G1Point
    beta: G2Point
    gamma: G2Point
    delta: G2Point
    ic: tuple[G1Point | None, ...]
    # snarkjs's vk_alphabeta_12 (its e(alpha, beta)); checked by prepare_verifying_key.
    alphabeta: Fp12 | None = None

    def __post_init__(self) -> None:
        for name in ("alpha", "beta", "gamma", "delta"):
            if getattr(self, name) is None:
                _fail(MalformedKeyError, f"vk {name} is the point at infinity", Reason.DEGENERATE)
        _check_g1(self.alpha, "vk_alpha_1", MalformedKeyError)
        _check_g2(self.beta, "vk_beta_2", MalformedKeyError)
        _check_g2(self.gamma, "vk_gamma_2", MalformedKeyError)
        _check_g2(self.delta, "vk_delta_2", MalformedKeyError)
        if not isinstance(self.ic, tuple) or not self.ic:
            _fail(MalformedKeyError, "IC must be a non-empty tuple of G1 points", Reason.FORMAT)
        for i, point in enumerate(self.ic):
            if point is not None:
                _check_g1(point, f"IC[{i}]", MalformedKeyError)
        if self.alphabeta is not None and not _is_fp12(self.alphabeta):
            _fail(MalformedKeyError, "vk_alphabeta_12 is not an Fp12 element", Reason.FORMAT)

    @property
    def n_public(self) -> int:
        return len(self.ic) - 1


@dataclass(frozen=True)
class Proof:
    """A Groth16 proof (None = infinity); constructing one validates it (MalformedProofError).

    Validation is what EIP-196/197 demand: coordinates in [0, q), A and C on the curve, B on
    the twist and in the order-r subgroup.
    """

    a: G1Point | None
    b: G2Point | None
    c: G1Point | None

    def __post_init__(self) -> None:
        if self.a is not None:
            _check_g1(self.a, "pi_a", MalformedProofError)
        if self.b is not None:
            _check_g2(self.b, "pi_b", MalformedProofError)
        if self.c is not None:
            _check_g1(self.c, "pi_c", MalformedProofError)


@dataclass(frozen=True, eq=False)
class PreparedVerifyingKey:
    """A key with its per-key work done: build it with prepare_verifying_key."""

    key: VerifyingKey
    gamma_lines: G2Lines
    delta_lines: G2Lines
    # e(alpha, beta)^-1: the other three pairings of an accepted proof multiply to it.
    alphabeta_inverse: Fp12


# ---------------------------------------------------------------------------------------------
# Loading snarkjs JSON


def load_verifying_key(source: JsonSource) -> VerifyingKey:
    """Parse and validate snarkjs's verification_key.json (a path or the parsed dict)."""
    err = MalformedKeyError
    doc = _read_object(source, "verification key", err)
    _check_fields(doc, _KEY_FIELDS, {"vk_alphabeta_12"}, "verification key", err)
    _check_header(doc, "verification key", err)
    n_public = doc["nPublic"]
    ic_json = doc["IC"]
    if type(n_public) is not int or not isinstance(ic_json, list | tuple):
        _fail(err, "nPublic must be a JSON integer and IC a list", Reason.FORMAT)
    if n_public != len(ic_json) - 1:
        _fail(err, f"nPublic is {n_public} but IC has {len(ic_json)} points", Reason.WRONG_COUNT)
    alphabeta = None
    if "vk_alphabeta_12" in doc:
        alphabeta = _parse_fp12(doc["vk_alphabeta_12"], "vk_alphabeta_12", err)
    alpha = _parse_g1(doc["vk_alpha_1"], "vk_alpha_1", err)
    beta = _parse_g2(doc["vk_beta_2"], "vk_beta_2", err)
    gamma = _parse_g2(doc["vk_gamma_2"], "vk_gamma_2", err)
    delta = _parse_g2(doc["vk_delta_2"], "vk_delta_2", err)
    if alpha is None or beta is None or gamma is None or delta is None:
        _fail(err, "alpha, beta, gamma and delta must not be at infinity", Reason.DEGENERATE)
    ic = tuple(_parse_g1(p, f"IC[{i}]", err) for i, p in enumerate(ic_json))
    return VerifyingKey(alpha, beta, gamma, delta, ic, alphabeta)


def load_proof(source: JsonSource) -> Proof:
    """Parse and validate snarkjs's proof.json (a path or the parsed dict)."""
    err = MalformedProofError
    doc = _read_object(source, "proof", err)
    _check_fields(doc, _PROOF_FIELDS, {"protocol", "curve"}, "proof", err)
    _check_header(doc, "proof", err)
    return Proof(
        _parse_g1(doc["pi_a"], "pi_a", err),
        _parse_g2(doc["pi_b"], "pi_b", err),
        _parse_g1(doc["pi_c"], "pi_c", err),
    )


def load_public_inputs(source: PublicSource) -> tuple[int, ...]:
    """Parse snarkjs's public.json (outputs first, then inputs): canonical decimals < r.

    The count is checked against the key by verify_proof.
    """
    err = PublicInputError
    doc = _read_json(source, "public inputs", err) if _is_path(source) else source
    if not isinstance(doc, list | tuple):
        _fail(err, "public inputs must be a JSON list of decimal strings", Reason.FORMAT)
    return tuple(_parse_uint(v, R, f"public input {i}", err) for i, v in enumerate(doc))


# ---------------------------------------------------------------------------------------------
# Verification


def prepare_verifying_key(vk: VerifyingKey) -> PreparedVerifyingKey:
    """Lines of gamma and delta, e(alpha, beta)^-1; cached, so repeat calls are free.

    Also checks snarkjs's vk_alphabeta_12 (when present) against e(alpha, beta): it is
    computed by an independent implementation, so agreement cross-checks key and pairing.
    """
    return _prepare(vk)


@functools.lru_cache(maxsize=32)
def _prepare(vk: VerifyingKey) -> PreparedVerifyingKey:
    alphabeta = pairing(vk.alpha, vk.beta)
    if vk.alphabeta is not None and gt_pow(alphabeta, SNARKJS_GT_EXPONENT) != vk.alphabeta:
        _fail(MalformedKeyError, "vk_alphabeta_12 is not e(alpha, beta)", Reason.DEGENERATE)
    return PreparedVerifyingKey(
        key=vk,
        gamma_lines=compute_lines(vk.gamma),
        delta_lines=compute_lines(vk.delta),
        alphabeta_inverse=fp12_conj(alphabeta),
    )


def verify_proof(key: PreparedVerifyingKey | VerifyingKey, proof: Proof, public_inputs: Sequence[int]) -> bool:
    """True iff the proof verifies; raises PublicInputError for bad inputs (never False).

    The proof was validated when it was constructed; public inputs must be ints in [0, r),
    as many as the key's nPublic.
    """
    if isinstance(key, VerifyingKey):
        key = prepare_verifying_key(key)
    if not isinstance(key, PreparedVerifyingKey):
        raise TypeError(f"key must be a (Prepared)VerifyingKey, not {type(key).__name__}")
    if not isinstance(proof, Proof):
        raise TypeError(f"proof must be a Proof, not {type(proof).__name__}")
    inputs = _check_public_inputs(public_inputs, key.key.n_public)
    return check_pairing_equation(key, proof.a, proof.b, proof.c, inputs)


def check_pairing_equation(
    pvk: PreparedVerifyingKey,
    a: G1Point | None,
    b: G2Point | None,
    c: G1Point | None,
    inputs: Sequence[int],
) -> bool:
    """The Groth16 equation on already-validated group elements and inputs in [0, r)."""
    ic = pvk.key.ic
    vk_x = g1_linear_combination(ic[0], list(zip(ic[1:], inputs, strict=True)))
    f = miller_loop(
        [
            (g1_neg(a), None if b is None else compute_lines(b)),
            (vk_x, pvk.gamma_lines),
            (c, pvk.delta_lines),
        ]
    )
    return final_exponentiation(f) == pvk.alphabeta_inverse


def verify(key: PreparedVerifyingKey | VerifyingKey, proof: JsonSource, public_inputs: PublicSource) -> bool:
    """verify_proof on snarkjs JSON (paths or parsed), with malformed proofs and inputs False.

    This is the verdict to compare with the EVM, which returns false for all of them (its one
    extra acceptance, aliased pA[1] words, has no canonical JSON; see groth16_evm). Key
    errors still raise: a key is configuration, not attacker input.
    """
    try:
        return verify_proof(key, load_proof(proof), load_public_inputs(public_inputs))
    except (MalformedProofError, PublicInputError):
        return False


# ---------------------------------------------------------------------------------------------
# Helpers


def _fail(error: type[VerifierError], message: str, reason: Reason) -> NoReturn:
    raise error(message, reason)


def _is_path(source: object) -> TypeGuard[str | os.PathLike[str]]:
    return isinstance(source, str | os.PathLike)


def _reject_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate keys in a JSON object: {sorted(keys)}")
    return dict(pairs)


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _read_json(source: str | os.PathLike[str], what: str, error: type[VerifierError]) -> object:
    # A missing file is an environment problem, not a malformed artefact: OSError propagates.
    raw = Path(source).read_bytes()
    try:
        return json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_reject_duplicates,
            parse_constant=_reject_constant,
        )
    except (ValueError, RecursionError) as exc:  # incl. JSONDecodeError, UnicodeDecodeError
        _fail(error, f"{what} {os.fspath(source)!r} is not valid JSON: {exc}", Reason.FORMAT)


def _read_object(source: JsonSource, what: str, error: type[VerifierError]) -> Mapping[str, object]:
    doc = _read_json(source, what, error) if _is_path(source) else source
    if not isinstance(doc, Mapping):
        _fail(error, f"{what} must be a JSON object", Reason.FORMAT)
    return doc


def _check_fields(
    doc: Mapping[str, object],
    required: frozenset[str],
    optional: set[str],
    what: str,
    error: type[VerifierError],
) -> None:
    keys = set(doc)
    missing, unknown = required - keys, keys - required - optional
    if missing or unknown:
        _fail(
            error,
            f"{what}: missing fields {sorted(missing)}, unknown fields {sorted(unknown)}",
            Reason.FORMAT,
        )


def _check_header(doc: Mapping[str, object], what: str, error: type[VerifierError]) -> None:
    for field, expected in (("protocol", "groth16"), ("curve", "bn128")):
        if field in doc and doc[field] != expected:
            _fail(error, f"{what}: {field} must be {expected!r}, not {doc[field]!r}", Reason.FORMAT)


def _parse_uint(value: object, bound: int, what: str, error: type[VerifierError]) -> int:
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value):
        message = f"{what} must be a canonical decimal string, not {value!r:.100}"
        _fail(error, message, Reason.NOT_CANONICAL)
    if len(value) > _MAX_DIGITS or int(value) >= bound:
        _fail(error, f"{what} = {value[:90]} is not below {bound}", Reason.OUT_OF_RANGE)
    return int(value)


def _parse_list(value: object, length: int, what: str, error: type[VerifierError]) -> Sequence[object]:
    if not isinstance(value, list | tuple) or len(value) != length:
        _fail(error, f"{what} must be a list of {length}, not {value!r:.200}", Reason.FORMAT)
    return value


def _parse_fp2(value: object, what: str, error: type[VerifierError]) -> Fp2:
    c0, c1 = _parse_list(value, 2, what, error)
    return (_parse_uint(c0, Q, f"{what}[0]", error), _parse_uint(c1, Q, f"{what}[1]", error))


def _parse_g1(value: object, what: str, error: type[VerifierError]) -> G1Point | None:
    x, y, z = (_parse_uint(v, Q, f"{what}[{i}]", error) for i, v in enumerate(_parse_list(value, 3, what, error)))
    if z == 1:
        return (x, y)
    if (x, y, z) == (0, 1, 0):
        return None
    _fail(error, f"{what} must be affine [x, y, 1] or infinity [0, 1, 0]", Reason.NOT_AFFINE)


def _parse_g2(value: object, what: str, error: type[VerifierError]) -> G2Point | None:
    x, y, z = (_parse_fp2(v, f"{what}[{i}]", error) for i, v in enumerate(_parse_list(value, 3, what, error)))
    if z == (1, 0):
        return (x, y)
    if (x, y, z) == ((0, 0), (1, 0), (0, 0)):
        return None
    _fail(error, f"{what} must be affine (z = [1, 0]) or snarkjs's infinity", Reason.NOT_AFFINE)


def _parse_fp12(value: object, what: str, error: type[VerifierError]) -> Fp12:
    halves = _parse_list(value, 2, what, error)
    c0, c1 = (
        tuple(
            _parse_fp2(c, f"{what}[{i}][{j}]", error) for j, c in enumerate(_parse_list(half, 3, f"{what}[{i}]", error))
        )
        for i, half in enumerate(halves)
    )
    return ((c0[0], c0[1], c0[2]), (c1[0], c1[1], c1[2]))


def _is_fp(value: object) -> bool:
    return type(value) is int and 0 <= value < Q


def _is_fp2(value: object) -> bool:
    return isinstance(value, tuple) and len(value) == 2 and all(map(_is_fp, value))


def _is_fp12(value: object) -> bool:
    return (
        isinstance(value, tuple)
        and len(value) == 2
        and all(isinstance(h, tuple) and len(h) == 3 and all(map(_is_fp2, h)) for h in value)
    )


def _check_g1(point: object, what: str, error: type[VerifierError]) -> None:
    if not (isinstance(point, tuple) and len(point) == 2):
        _fail(error, f"{what} must be a pair of ints", Reason.FORMAT)
    if not all(map(_is_fp, point)):
        _fail(error, f"{what} coordinates must be ints in [0, q)", Reason.OUT_OF_RANGE)
    if not is_on_g1(point):
        _fail(error, f"{what} is not on the BN254 curve", Reason.NOT_ON_CURVE)


def _check_g2(point: object, what: str, error: type[VerifierError]) -> None:
    if not (isinstance(point, tuple) and len(point) == 2 and all(isinstance(c, tuple) and len(c) == 2 for c in point)):
        _fail(error, f"{what} must be a pair of Fp2 pairs", Reason.FORMAT)
    if not all(map(_is_fp2, point)):
        _fail(error, f"{what} coordinates must be ints in [0, q)", Reason.OUT_OF_RANGE)
    if not is_on_g2_curve(point):
        _fail(error, f"{what} is not on the BN254 twist", Reason.NOT_ON_CURVE)
    if not is_in_g2(point):
        message = f"{what} is on the twist but not in the order-r subgroup"
        _fail(error, message, Reason.NOT_IN_SUBGROUP)


def _check_public_inputs(inputs: Sequence[int], expected: int) -> tuple[int, ...]:
    if isinstance(inputs, str | bytes) or not isinstance(inputs, Sequence):
        _fail(PublicInputError, "public inputs must be a sequence of ints", Reason.FORMAT)
    if len(inputs) != expected:
        _fail(
            PublicInputError,
            f"the key takes {expected} public inputs, got {len(inputs)}",
            Reason.WRONG_COUNT,
        )
    for i, x in enumerate(inputs):
        if type(x) is not int:
            _fail(PublicInputError, f"public input {i} must be an int", Reason.FORMAT)
        if not 0 <= x < R:
            _fail(PublicInputError, f"public input {i} = {x} is not in [0, r)", Reason.OUT_OF_RANGE)
    return tuple(inputs)
