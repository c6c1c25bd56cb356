"""A word-for-word model of the snarkjs 0.7.5+ Solidity Groth16 verifier, for EVM agreement.

`verify_calldata` takes the uint256 words of `verifyProof(uint[2] pA, uint[2][2] pB,
uint[2] pC, uint[N] pubSignals)` and returns what the contract returns, given enough gas:

1. every public signal must be < r (`checkField`), else false;
2. vk_x = IC_0 + sum_i s_i IC_i by ecMul/ecAdd (cannot fail: IC are valid, s_i < r);
3. -A is formed as (pA[0], (q - pA[1]) mod 2^256 mod q), the contract's `mod(sub(q, y), q)`;
4. the pairing precompile (EIP-197) gets (-A, B), (alpha, beta), (vk_x, gamma), (C, delta)
   and fails, so the contract returns false, on any coordinate >= q, a G1 point neither
   (0, 0) nor on the curve, a G2 point neither all-zero nor on the twist in the subgroup;
   (0, 0) and (0, 0, 0, 0) are infinity and contribute 1;
5. otherwise the verdict is the pairing check.

Step 3 is looser than the strict verifier. For pA[1] = y in [0, q] the negation is -y; for
y > q the subtraction wraps and the contract negates y - 2^256 instead. So besides the
canonical encoding the contract accepts, for every valid A = (x, y), the words
(x, (y + 2^256) mod q + k q) with k >= 1 and below 2^256 (four or five of them), and (0, q)
spells infinity as (0, 0) does. That is proof malleability, not a soundness break (same
group element), but it matters to anyone who keys replay protection on proof bytes.

How the cases map (EVM = this model = the contract; strict = verify_proof and load_*;
verify = the bool wrapper over snarkjs JSON):

    case                                EVM                strict                   verify
    honest proof                        true               True                     True
    well-formed, pairing check fails    false              False                    False
    A, B or C at infinity               pair gives 1:      pair gives 1:            False
                                        false (sound key)  False (sound key)
    public signal >= r                  false (checkField)  PublicInputError          False
                                                           OUT_OF_RANGE
    wrong public-signal count           not callable (ABI)  PublicInputError          False
                                                           WRONG_COUNT
    coordinate >= q (not pA[1])         false (precompile) MalformedProofError      False
                                                           OUT_OF_RANGE
    pA[1] alias of y (see above)        TRUE               OUT_OF_RANGE             False
    other pA[1] >= q                    false              OUT_OF_RANGE             False
    point off its curve, swapped limbs  false (precompile) NOT_ON_CURVE             False
    B on the twist, outside G2          false (precompile) NOT_IN_SUBGROUP          False
    non-canonical decimal, z != 1,      (JSON only: the    NOT_CANONICAL,           False
    bad JSON shape                      EVM sees words)    NOT_AFFINE, FORMAT

The pA[1] aliases are the one disagreement, and canonical JSON cannot express them.
(snarkjs's CLI verifier differs elsewhere: it reads hex and leading zeros, reduces values
>= q, and checks B only for being on the twist, relying on the pairing to fail.)

pB follows EIP-197's order: each Fp2 element as (imaginary, real), i.e. pB = [[x1, x0],
[y1, y0]] for x = x0 + x1 u, as snarkjs's `zkey export soliditycalldata` writes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from .bn254 import G1Point, G2Point, Q, R, is_in_g2, is_on_g1
from .errors import MalformedProofError, PublicInputError, Reason
from .groth16 import PreparedVerifyingKey, Proof, VerifyingKey, check_pairing_equation
from .groth16 import prepare_verifying_key as _prepare

WORD: Final = 2**256

Word2 = tuple[int, int]


@dataclass(frozen=True)
class Calldata:
    """The arguments of the Solidity verifyProof, as uint256 words."""

    a: Word2
    b: tuple[Word2, Word2]
    c: Word2
    public: tuple[int, ...]


class _PrecompileFailure(Exception):
    """The precompile call fails (success = 0); the verifier then returns false."""


def encode_calldata(proof: Proof, public_inputs: Sequence[int]) -> Calldata:
    """The words snarkjs's calldata exporter would produce, with infinity as EVM (0, 0).

    (snarkjs itself would export its JSON infinity [0, 1, 0] as (0, 1), which the precompile
    rejects: same verdict, false, for any sound key.)
    """
    ax, ay = proof.a if proof.a is not None else (0, 0)
    cx, cy = proof.c if proof.c is not None else (0, 0)
    (bx0, bx1), (by0, by1) = proof.b if proof.b is not None else ((0, 0), (0, 0))
    return Calldata((ax, ay), ((bx1, bx0), (by1, by0)), (cx, cy), tuple(public_inputs))


def verify_calldata(key: PreparedVerifyingKey | VerifyingKey, calldata: Calldata) -> bool:
    """What the snarkjs Solidity verifier returns for these words (enough gas given).

    Raises only for inputs no transaction could carry: words outside [0, 2^256)
    (MalformedProofError / PublicInputError, OUT_OF_RANGE) or a public-signal count other
    than the contract's N (PublicInputError, WRONG_COUNT: the ABI fixes it).
    """
    pvk = key if isinstance(key, PreparedVerifyingKey) else _prepare(key)
    words = [*calldata.a, *calldata.b[0], *calldata.b[1], *calldata.c]
    if not all(type(w) is int and 0 <= w < WORD for w in words):
        raise MalformedProofError("a proof word is not a uint256", Reason.OUT_OF_RANGE)
    public = calldata.public
    if len(public) != pvk.key.n_public:
        raise PublicInputError(
            f"the contract takes {pvk.key.n_public} public signals, got {len(public)}",
            Reason.WRONG_COUNT,
        )
    if not all(type(s) is int and 0 <= s < WORD for s in public):
        raise PublicInputError("a public signal is not a uint256", Reason.OUT_OF_RANGE)

    if any(s >= R for s in public):
        return False  # checkField
    ax, ay = calldata.a
    neg_ay = (Q - ay) % WORD % Q  # the contract's mod(sub(q, y), q), wrap included
    try:
        neg_a = _decode_g1(ax, neg_ay)
        b = _decode_g2(*calldata.b[0], *calldata.b[1])
        c = _decode_g1(*calldata.c)
    except _PrecompileFailure:
        return False
    # check_pairing_equation negates its first point; hand it -(-A).
    a = None if neg_a is None else (neg_a[0], -neg_a[1] % Q)
    return check_pairing_equation(pvk, a, b, c, public)


def _decode_g1(x: int, y: int) -> G1Point | None:
    if x >= Q or y >= Q:
        raise _PrecompileFailure
    if x == 0 and y == 0:
        return None
    if not is_on_g1((x, y)):
        raise _PrecompileFailure
    return (x, y)


def _decode_g2(x_im: int, x_re: int, y_im: int, y_re: int) -> G2Point | None:
    if max(x_im, x_re, y_im, y_re) >= Q:
        raise _PrecompileFailure
    if x_im == x_re == y_im == y_re == 0:
        return None
    point = ((x_re, x_im), (y_re, y_im))
    if not is_in_g2(point):
        raise _PrecompileFailure
    return point
