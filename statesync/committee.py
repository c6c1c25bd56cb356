"""A validator committee run in Python: private keys and their set, signing headers.

The demo's rootchain validators and the tests use it; a real deployment's validators sign
with their own keys and only their public keys and signatures reach zkstatesync.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .aggregate import aggregate_partials, generate_nonce, open_session, sign_partial
from .model import (
    AggregateCommit,
    AggregateSet,
    Commit,
    Signed,
    ValidatorSet,
    compute_signing_message,
    compute_validator_set_hash,
    derive_validator_set,
    sign_header,
    signing_purpose_of,
)
from .possession import prove_possession


@dataclass(frozen=True)
class Committee:
    private_keys: tuple[bytes, ...]
    validator_set: ValidatorSet

    @property
    def set_hash(self) -> int:
        return compute_validator_set_hash(self.validator_set)

    def sign(self, header: Signed, signers: Iterable[int] | None = None) -> Commit:
        """Signatures of the given slots (default: every validator) on a header or checkpoint."""
        chosen = set(range(len(self.private_keys)) if signers is None else signers)
        return sign_header(header, [k if i in chosen else None for i, k in enumerate(self.private_keys)])

    def aggregate_set(self, chain_id: int, purpose: int) -> AggregateSet:
        """This committee's set with every key's proof of possession, for the aggregate mode."""
        proofs = tuple(prove_possession(k, chain_id, purpose) for k in self.private_keys)
        return AggregateSet(self.validator_set, chain_id, purpose, proofs)

    def sign_aggregate(self, header: Signed, signers: Iterable[int] | None = None) -> AggregateCommit:
        """The two rounds of the aggregate signature (statesync.aggregate), run in this process."""
        chosen = sorted(set(range(len(self.private_keys)) if signers is None else signers))
        trusted = self.aggregate_set(header.chain_id, int(signing_purpose_of(header)))
        message = compute_signing_message(header)
        nonces = {i: generate_nonce() for i in chosen}
        commitments = {i: nonces[i].commitment for i in chosen}
        partials = {i: sign_partial(self.private_keys[i], nonces[i], message, trusted, commitments) for i in chosen}
        session = open_session(message, trusted, commitments)
        bitmap = tuple(i in chosen for i in range(self.validator_set.size))
        return AggregateCommit(header, bitmap, aggregate_partials(session, partials))


def generate_committee(powers: Sequence[int], size: int, seed: bytes | None = None) -> Committee:
    """A committee with the given powers in a set of `size` slots.

    With a seed, keys are derived deterministically (sha256(seed, index)), for reproducible
    tests and demos; without one they come from the OS's CSPRNG.
    """
    keys = tuple(
        hashlib.sha256(seed + i.to_bytes(4, "big")).digest() if seed is not None else os.urandom(32)
        for i in range(len(powers))
    )
    return Committee(keys, derive_validator_set(keys, powers, size))
