"""Aggregate signatures: a two-round Schnorr multi-signature on Baby Jubjub (MuSig2-style) whose
result is an ordinary EdDSA-Poseidon signature under the sum of the signers' keys
(docs/PROTOCOL.md section 10), so circomlib's EdDSAPoseidonVerifier checks it once for any quorum.

Keys are circomlib's (statesync.eddsa): A_i = BASE8 * a_i with a_i = s_i >> 3, s_i the pruned
secret. The aggregate key is the plain sum X = sum A_i of the signing slots: the circuit adds the
keys its bitmap selects, and no per-key coefficient (MuSig's a_i = H(L, X_i)) is affordable there.
Rogue keys (A_evil = B - sum of the others) are kept out instead by a proof of possession per key
(statesync.possession), checked whenever a set is formed for this mode (model.AggregateSet), as
for BLS keys with proofs of possession. Sessions take their keys from that set, by slot, and every
signer recomputes the session itself: nothing an aggregator sends but the nonce commitments enters
a partial signature.

Round one: each signer draws two nonces k1, k2 (OS CSPRNG, never derived from the key or the
message) and publishes R1 = BASE8 * k1, R2 = BASE8 * k2. Round two, for the aggregate R1, R2 of
the participants:

    b = Poseidon([BINDING_DOMAIN, X.x, X.y, R1.x, R1.y, R2.x, R2.y, m])    binding factor
    R = R1 + b * R2
    c = Poseidon([R.x, R.y, X.x, X.y, m])                                 circomlib's challenge
    s_i = k1_i + b * k2_i + c * s_i_secret  (mod l)                         partial signature

and S = sum s_i mod l. Since s_secret = 8 a, S * BASE8 = R + 8 c X: circomlib's equation for the
signature (R, S) under key X. The aggregator checks each partial, s_i * BASE8 = R1_i + b R2_i +
8 c A_i, so a signer who withholds or sends garbage is named (PartialSignatureError); it does so
only when the aggregate fails to verify, one check instead of one per signer.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from .babyjub import (
    BASE8,
    IDENTITY,
    SUBORDER,
    Point,
    add_points,
    check_point,
    is_in_subgroup,
    multiply_point,
    sum_points,
)
from .eddsa import Signature, derive_public_key, derive_secret_scalar, verify_poseidon
from .errors import CurveError, ModelError, SignatureError
from .field import to_field
from .model import AggregateSet
from .poseidon import poseidon

# A domain tag, as SigningPurpose's: a short ASCII string read as a big-endian integer (< r).
BINDING_DOMAIN: Final = int.from_bytes(b"zkstatesync/musig-binding/v1", "big")


class PartialSignatureError(SignatureError):
    """A signer's partial signature is missing or wrong; `slot` names the signer."""

    def __init__(self, message: str, slot: int) -> None:
        self.slot = slot
        super().__init__(message)


class NonceReuseError(SignatureError):
    """A secret nonce was offered a second time: it is consumed by the first partial signature."""


# --- round one: nonces ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NonceCommitment:
    """A signer's round-one message: its two public nonces."""

    r1: Point
    r2: Point


class SecretNonce:
    """A signer's two secret nonces for one signing session, usable for one partial signature only.

    Not a frozen value on purpose: signing consumes it (`take`), so the same nonces can never sign
    two messages (which would reveal the key). It lives only in memory; a restarted signer draws
    new ones, costing one retry of round one.
    """

    __slots__ = ("_k1", "_k2", "_lock", "commitment")

    def __init__(self, k1: int, k2: int) -> None:
        self._lock = threading.Lock()
        self._k1: int | None = k1
        self._k2: int | None = k2
        self.commitment = NonceCommitment(multiply_point(BASE8, k1), multiply_point(BASE8, k2))

    @property
    def used(self) -> bool:
        return self._k1 is None

    def take(self) -> tuple[int, int]:
        with self._lock:  # claimed once even if two threads hold this object
            k1, k2 = self._k1, self._k2
            self._k1 = self._k2 = None
        if k1 is None or k2 is None:
            raise NonceReuseError("this nonce has already signed: draw a new one (round one again)")
        return k1, k2

    def __repr__(self) -> str:
        return f"SecretNonce({'used' if self.used else 'fresh'}, {self.commitment})"

    # A copy (or a pickle, a Dask transfer) would be a second nonce with the same secrets: two
    # partial signatures with one (k1, k2) on different challenges reveal the key.
    def __copy__(self) -> SecretNonce:
        raise NonceReuseError("a secret nonce cannot be copied")

    def __deepcopy__(self, memo: object) -> SecretNonce:
        raise NonceReuseError("a secret nonce cannot be copied")

    def __reduce__(self) -> tuple[object, ...]:
        raise NonceReuseError("a secret nonce cannot be pickled or sent anywhere")


def generate_nonce() -> SecretNonce:
    """Two fresh nonces in [1, l) from the OS CSPRNG: never derived deterministically."""
    return SecretNonce(1 + secrets.randbelow(SUBORDER - 1), 1 + secrets.randbelow(SUBORDER - 1))


# --- the session ---------------------------------------------------------------------------------


def aggregate_keys(keys: Sequence[Point]) -> Point:
    """X = the sum of the keys; refused when it is the identity or of small order (8 X = identity)."""
    if not keys:
        raise ModelError("an aggregate key needs at least one key")
    for key in keys:
        if not is_in_subgroup(check_point(key, "public key")) or key == IDENTITY:
            raise ModelError(f"key {key} is not in Baby Jubjub's prime-order subgroup")
    return _sum_of_subgroup_keys(keys)


def _sum_of_subgroup_keys(keys: Sequence[Point]) -> Point:
    total = sum_points(keys)
    if multiply_point(total, 8) == IDENTITY:
        raise ModelError("the aggregate key is the identity or of small order: it would verify anything")
    return total


@dataclass(frozen=True)
class SigningSession:
    """Everything round two needs, the same for every participant: computed by open_session."""

    message: int
    slots: tuple[int, ...]  # the participants' slots, ascending
    keys: tuple[Point, ...]
    commitments: tuple[NonceCommitment, ...]
    aggregate_key: Point
    binding: int
    nonce: Point  # R = R1 + b R2
    challenge: int  # c = Poseidon([R.x, R.y, X.x, X.y, m])


def compute_binding_factor(aggregate_key: Point, r1: Point, r2: Point, message: int) -> int:
    x, y = aggregate_key
    return poseidon([BINDING_DOMAIN, x, y, r1[0], r1[1], r2[0], r2[1], message]) % SUBORDER


def open_session(
    message: int, aggregate_set: AggregateSet, commitments: Mapping[int, NonceCommitment]
) -> SigningSession:
    """The session of the given slots (slot -> round-one commitment) of a set trusted for this mode.

    Keys come from the set by slot, never from whoever sends the commitments.
    """
    message = to_field(message, "message")
    validators = aggregate_set.validator_set.validators
    slots = tuple(sorted(commitments))
    if not slots:
        raise ModelError("a signing session needs at least one participant")
    if slots[0] < 0 or slots[-1] >= len(validators):
        raise ModelError(f"the set has validators in slots 0 to {len(validators) - 1}, got {list(slots)}")
    keys = tuple(validators[s].public_key for s in slots)
    # The set's keys are subgroup points already (Validator): every signer runs this for every
    # session, so a subgroup check per key (a full scalar multiplication) is not repeated here.
    aggregate = _sum_of_subgroup_keys(keys)
    for slot in slots:
        commitment = commitments[slot]
        if not isinstance(commitment, NonceCommitment):
            raise PartialSignatureError(f"slot {slot} sent no nonce commitment", slot)
        # On the curve is enough here: a commitment with a torsion part cannot satisfy its signer's
        # partial check (s_i BASE8 is a subgroup point), so aggregate_partials names that signer.
        for point, name in ((commitment.r1, "R1"), (commitment.r2, "R2")):
            try:
                check_point(point, f"slot {slot}'s {name}")
            except CurveError as exc:
                raise PartialSignatureError(str(exc), slot) from exc
    r1 = sum_points([commitments[s].r1 for s in slots])
    r2 = sum_points([commitments[s].r2 for s in slots])
    binding = compute_binding_factor(aggregate, r1, r2, message)
    nonce = add_points(r1, multiply_point(r2, binding))
    challenge = poseidon([nonce[0], nonce[1], aggregate[0], aggregate[1], message])
    ordered = tuple(commitments[s] for s in slots)
    return SigningSession(message, slots, keys, ordered, aggregate, binding, nonce, challenge)


# --- round two: partial signatures ---------------------------------------------------------------


def sign_partial(
    private_key: bytes,
    nonce: SecretNonce,
    message: int,
    aggregate_set: AggregateSet,
    commitments: Mapping[int, NonceCommitment],
) -> int:
    """This signer's s_i on `message` (the one it checked), for the participants' commitments; consumes
    its nonce. The session is recomputed here from the set and the commitments, so an aggregator
    cannot choose the binding factor or the challenge. Refused unless it lists this key with this nonce."""
    session = open_session(message, aggregate_set, commitments)
    public_key = derive_public_key(private_key)
    if (public_key, nonce.commitment) not in zip(session.keys, session.commitments, strict=True):
        raise SignatureError("this session does not list this signer's key with this nonce")
    secret = derive_secret_scalar(private_key)
    k1, k2 = nonce.take()
    return (k1 + session.binding * k2 + session.challenge * secret) % SUBORDER


def verify_partial(session: SigningSession, slot: int, partial: int) -> bool:
    """s_i * BASE8 == R1_i + b R2_i + 8 c A_i for the participant in `slot`."""
    if slot not in session.slots:
        return False
    if not isinstance(partial, int) or isinstance(partial, bool) or not 0 <= partial < SUBORDER:
        return False
    i = session.slots.index(slot)
    commitment = session.commitments[i]
    expected = add_points(commitment.r1, multiply_point(commitment.r2, session.binding))
    expected = add_points(expected, multiply_point(session.keys[i], 8 * session.challenge % SUBORDER))
    return multiply_point(BASE8, partial) == expected


def aggregate_partials(session: SigningSession, partials: Mapping[int, int]) -> Signature:
    """The aggregate signature (R, S) under session.aggregate_key.

    The aggregate is checked once; only when it fails is each partial checked, to name the signer
    whose partial is wrong (PartialSignatureError). That costs one verification instead of one per
    signer when all are honest, and a wrong partial never goes unnamed when it matters: partials
    that are wrong but cancel out make a valid signature under X, which is all the quorum needs.
    """
    total = 0
    for slot in session.slots:
        partial = partials.get(slot)
        if partial is None:
            raise PartialSignatureError(f"slot {slot} sent no partial signature", slot)
        if not isinstance(partial, int) or isinstance(partial, bool) or not 0 <= partial < SUBORDER:
            raise PartialSignatureError(f"slot {slot}'s partial signature is not a scalar below l", slot)
        total += partial
    signature = Signature(r8=session.nonce, s=total % SUBORDER)
    if verify_poseidon(session.aggregate_key, session.message, signature):
        return signature
    for slot in session.slots:
        if not verify_partial(session, slot, partials[slot]):
            raise PartialSignatureError(f"slot {slot}'s partial signature does not verify", slot)
    raise SignatureError("the aggregate of verified partials does not verify: a bug, not a signer's fault")
