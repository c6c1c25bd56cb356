"""Proofs of possession: a key's EdDSA-Poseidon signature of a message naming the key, the chain and
the set's purpose (docs/PROTOCOL.md section 10). The aggregate mode adds keys plainly, so a set is
trusted for it only when each key proves its owner holds it (model.AggregateSet checks them)."""

from __future__ import annotations

import functools
from typing import Final

from .babyjub import Point, check_point
from .eddsa import Signature, derive_public_key, sign_poseidon, verify_poseidon
from .errors import ModelError, SignatureError
from .field import to_field
from .poseidon import poseidon

# As SigningPurpose's tags: a short ASCII string read as a big-endian integer (< r).
POSSESSION_DOMAIN: Final = int.from_bytes(b"zkstatesync/possession/v1", "big")


class PossessionError(ModelError):
    """A key's proof of possession is missing or does not verify: the set must not be formed."""


def compute_possession_message(public_key: Point, chain_id: int, purpose: int) -> int:
    """What a key signs to prove its owner holds it: bound to the key, the chain and the set's purpose."""
    x, y = check_point(public_key, "public key")
    return poseidon([POSSESSION_DOMAIN, to_field(chain_id, "chain id"), to_field(purpose, "purpose"), x, y])


def prove_possession(private_key: bytes, chain_id: int, purpose: int) -> Signature:
    """An EdDSA-Poseidon signature of the key's possession message (its challenge hashes the key too)."""
    message = compute_possession_message(derive_public_key(private_key), chain_id, purpose)
    return sign_poseidon(private_key, message)


def verify_possession(public_key: Point, chain_id: int, purpose: int, proof: object) -> bool:
    if not isinstance(proof, Signature):
        return False
    return _verify_possession(public_key, chain_id, purpose, proof)


# A pure function of hashable values, asked for the same set by every process that reads a network
# file (once when it is parsed, again when the services form their sets): V verifications each time.
@functools.lru_cache(maxsize=8192)
def _verify_possession(public_key: Point, chain_id: int, purpose: int, proof: Signature) -> bool:
    try:
        return verify_poseidon(public_key, compute_possession_message(public_key, chain_id, purpose), proof)
    except SignatureError:
        return False
