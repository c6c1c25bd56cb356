"""Typed errors of the Groth16 verifier.

One class per artefact (key, proof, public inputs) so a caller knows whom to blame, and a
`reason` on each so tests and the EVM-agreement corpus can tell refusals apart without
parsing messages. A proof that is well formed but false is not an error: verify_proof
returns False for it, as the EVM does.
"""

from __future__ import annotations

from enum import StrEnum

from statesync.errors import ZkStateSyncError


class Reason(StrEnum):
    # Not JSON, wrong types, wrong nesting or lengths, missing or unknown fields.
    FORMAT = "format"
    # A number not written as a canonical decimal string (leading zero, sign, hex, blanks).
    NOT_CANONICAL = "not-canonical"
    # A coordinate >= q, a public input >= r, a calldata word >= 2^256.
    OUT_OF_RANGE = "out-of-range"
    # A projective z other than 1, or an infinity not written the way snarkjs writes it.
    NOT_AFFINE = "not-affine"
    NOT_ON_CURVE = "not-on-curve"
    NOT_IN_SUBGROUP = "not-in-subgroup"
    # Public inputs do not match the key's nPublic (or nPublic does not match IC).
    WRONG_COUNT = "wrong-count"
    # A key that parses but cannot be sound: alpha, beta, gamma or delta at infinity, or a
    # vk_alphabeta_12 that is not e(alpha, beta).
    DEGENERATE = "degenerate"


class VerifierError(ZkStateSyncError, ValueError):
    """Base of the verifier's refusals; `reason` says which rule was broken."""

    def __init__(self, message: str, reason: Reason) -> None:
        super().__init__(f"{message} [{reason}]")
        self.reason = reason


class MalformedKeyError(VerifierError):
    """The verification key (verification_key.json) is malformed or degenerate."""


class MalformedProofError(VerifierError):
    """The proof (proof.json or calldata) is malformed: encoding, range, curve or subgroup."""


class PublicInputError(VerifierError):
    """The public inputs (public.json) are malformed, out of range or of the wrong count."""
