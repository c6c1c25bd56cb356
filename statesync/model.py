"""The StateSync protocol's objects and hashes (docs/PROTOCOL.md is the specification).

Validator sets, rootchain headers, StateSync events and the batch commitment, as frozen
dataclasses that validate themselves on construction, and the pure functions that hash them
exactly as the circuits do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Final

from eth_utils.crypto import keccak

from .babyjub import Point, check_point, is_in_subgroup, sum_points
from .eddsa import Signature, derive_public_key, sign_poseidon, verify_poseidon
from .errors import CurveError, ModelError, SignatureError
from .field import R, to_field
from .merkle import MerkleTree, build_tree
from .poseidon import poseidon
from .possession import PossessionError, verify_possession

MAX_POWER: Final = 2**64 - 1
MAX_UINT64: Final = 2**64 - 1
MAX_DATA_BYTES: Final = 2048  # Edge's StateSender limit
ADDRESS_BOUND: Final = 2**160
PADDING_KEY: Final[Point] = (0, 0)  # off the curve, so never a real key
HEADER_FIELDS: Final = 9
CHECKPOINT_FIELDS: Final = 10
LIMB_BITS: Final = 128  # a 256-bit block hash enters the field as two 128-bit limbs, losing nothing
SPONGE_RATE: Final = 15  # Poseidon(16) absorbs the chain value and 15 elements


def _check_uint(value: object, bits: int, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ModelError(f"{name} must be an int, got {type(value).__name__}")
    if not 0 <= value < 2**bits:
        raise ModelError(f"{name} must be in [0, 2^{bits}), got {value}")
    return value


# --- validator sets ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Validator:
    public_key: Point
    power: int

    def __post_init__(self) -> None:
        check_point(self.public_key, "validator public key")
        if self.public_key == (0, 1) or not is_in_subgroup(self.public_key):
            raise ModelError(f"validator key {self.public_key} is not in Baby Jubjub's prime-order subgroup")
        if not isinstance(self.power, int) or isinstance(self.power, bool) or not 1 <= self.power <= MAX_POWER:
            raise ModelError(f"voting power must be an integer in [1, 2^64), got {self.power!r}")


@dataclass(frozen=True)
class ValidatorSet:
    """Up to `size` validators in fixed slots; slots past the list are padding (docs section 1)."""

    validators: tuple[Validator, ...]
    size: int

    def __post_init__(self) -> None:
        if not isinstance(self.size, int) or self.size < 1:
            raise ModelError(f"a validator set needs at least one slot, got size {self.size!r}")
        if not 1 <= len(self.validators) <= self.size:
            raise ModelError(
                f"a set of {self.size} slots holds 1 to {self.size} validators, got {len(self.validators)}"
            )
        keys = [v.public_key for v in self.validators]
        if len(set(keys)) != len(keys):
            raise ModelError("a validator key appears twice in the set")

    @property
    def total_power(self) -> int:
        return sum(v.power for v in self.validators)

    def slots(self) -> list[tuple[Point, int]]:
        padding = [(PADDING_KEY, 0)] * (self.size - len(self.validators))
        return [(v.public_key, v.power) for v in self.validators] + padding


@dataclass(frozen=True)
class AggregateSet:
    """A set trusted for the aggregate quorum mode (docs/PROTOCOL.md section 10): its keys are
    added plainly, so each one's proof of possession, for this chain and purpose, is checked here.
    `proofs` holds one per validator, in slot order. Only under such a set does an
    AggregateCommit count (compute_signed_power)."""

    validator_set: ValidatorSet
    chain_id: int
    purpose: int  # a SigningPurpose
    proofs: tuple[Signature | None, ...]

    def __post_init__(self) -> None:
        validators = self.validator_set.validators
        if len(self.proofs) != len(validators):
            raise PossessionError(f"{len(self.proofs)} proofs of possession for {len(validators)} validators")
        for slot, (validator, proof) in enumerate(zip(validators, self.proofs, strict=True)):
            if proof is None:
                raise PossessionError(f"slot {slot}: key {validator.public_key} has no proof of possession")
            if not verify_possession(validator.public_key, self.chain_id, self.purpose, proof):
                raise PossessionError(f"slot {slot}: key {validator.public_key}'s proof of possession does not verify")


AnySet = ValidatorSet | AggregateSet


def plain_set(validator_set: AnySet) -> ValidatorSet:
    return validator_set.validator_set if isinstance(validator_set, AggregateSet) else validator_set


def compute_validator_set_hash(validator_set: ValidatorSet) -> int:
    return hash_validator_slots(validator_set.slots())


def hash_validator_slots(slots: Sequence[tuple[Point, int]]) -> int:
    """The set hash over raw slots (no validation: tests hash dishonest sets with it)."""
    flat: list[int] = []
    for (x, y), power in slots:
        flat += [to_field(x, "key x"), to_field(y, "key y"), to_field(power, "power")]
    chain = len(slots)
    for start in range(0, len(flat), SPONGE_RATE):
        chunk = flat[start : start + SPONGE_RATE]
        chain = poseidon([chain, *chunk, *[0] * (SPONGE_RATE - len(chunk))])
    return chain


# --- headers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    """A light-client header over a range of rootchain blocks (docs/PROTOCOL.md section 2).

    `number`, `timestamp` and `block_hash` are those of the range's last rootchain block; the
    range starts right after the parent header's block. Headers not bound to a real chain (a
    genesis trusted out of band, test fixtures) leave `block_hash` 0.
    """

    chain_id: int
    number: int
    parent_hash: int
    timestamp: int
    event_root: int
    validator_set_hash: int
    next_validator_set_hash: int
    block_hash: int = 0

    def __post_init__(self) -> None:
        for name in ("chain_id", "number", "timestamp"):
            _check_uint(getattr(self, name), 64, name)
        for name in ("parent_hash", "event_root", "validator_set_hash", "next_validator_set_hash"):
            to_field(getattr(self, name), name)
        _check_uint(self.block_hash, 256, "block_hash")

    def fields(self) -> tuple[int, ...]:
        """The header in protocol order (circuits/lib/common.circom's H_* positions)."""
        return (
            self.chain_id,
            self.number,
            self.parent_hash,
            self.timestamp,
            self.event_root,
            self.validator_set_hash,
            self.next_validator_set_hash,
            *_split_limbs(self.block_hash),
        )

    @classmethod
    def from_fields(cls, fields: Sequence[int]) -> Header:
        """The inverse of fields(); ModelError for the wrong count or a limb of 128 bits or more."""
        if len(fields) != HEADER_FIELDS:
            raise ModelError(f"a header has {HEADER_FIELDS} fields, got {len(fields)}")
        chain_id, number, parent_hash, timestamp, event_root, set_hash, next_set_hash, high, low = fields
        block_hash = _join_limbs(high, low, "block hash")
        return cls(chain_id, number, parent_hash, timestamp, event_root, set_hash, next_set_hash, block_hash)


def compute_header_hash(header: Header) -> int:
    return poseidon(header.fields())


def _split_limbs(value: int) -> tuple[int, int]:
    return value >> LIMB_BITS, value & ((1 << LIMB_BITS) - 1)


def _join_limbs(high: int, low: int, name: str) -> int:
    _check_uint(high, LIMB_BITS, f"{name} high limb")
    _check_uint(low, LIMB_BITS, f"{name} low limb")
    return (high << LIMB_BITS) | low


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint of the child chain, for the exit direction (docs/PROTOCOL.md section 8).

    The header's twin: the same link, quorum and rotation rules, over a range of child-chain
    blocks, but committing to the range's keccak exit tree, whose 256-bit root enters as two
    128-bit limbs (exactly, as the block hash does), instead of a Poseidon event root.
    """

    chain_id: int
    number: int
    parent_hash: int
    timestamp: int
    exit_root: int
    validator_set_hash: int
    next_validator_set_hash: int
    block_hash: int = 0

    def __post_init__(self) -> None:
        for name in ("chain_id", "number", "timestamp"):
            _check_uint(getattr(self, name), 64, name)
        for name in ("parent_hash", "validator_set_hash", "next_validator_set_hash"):
            to_field(getattr(self, name), name)
        _check_uint(self.exit_root, 256, "exit_root")
        _check_uint(self.block_hash, 256, "block_hash")

    def fields(self) -> tuple[int, ...]:
        """The checkpoint in protocol order (circuits/lib/common.circom's C_* positions)."""
        return (
            self.chain_id,
            self.number,
            self.parent_hash,
            self.timestamp,
            *_split_limbs(self.exit_root),
            self.validator_set_hash,
            self.next_validator_set_hash,
            *_split_limbs(self.block_hash),
        )

    @classmethod
    def from_fields(cls, fields: Sequence[int]) -> Checkpoint:
        """The inverse of fields(); ModelError for the wrong count or a limb of 128 bits or more."""
        if len(fields) != CHECKPOINT_FIELDS:
            raise ModelError(f"a checkpoint has {CHECKPOINT_FIELDS} fields, got {len(fields)}")
        chain_id, number, parent_hash, timestamp, exit_high, exit_low, set_hash, next_set_hash, high, low = fields
        return cls(
            chain_id,
            number,
            parent_hash,
            timestamp,
            _join_limbs(exit_high, exit_low, "exit root"),
            set_hash,
            next_set_hash,
            _join_limbs(high, low, "block hash"),
        )


def compute_checkpoint_hash(checkpoint: Checkpoint) -> int:
    return poseidon(checkpoint.fields())


Signed = Header | Checkpoint
"""What validators sign: a rootchain header or a child-chain checkpoint."""


def compute_signed_hash(item: Signed) -> int:
    """The header's or the checkpoint's hash: the one a parent_hash names."""
    return compute_checkpoint_hash(item) if isinstance(item, Checkpoint) else compute_header_hash(item)


def is_quorum(signed_power: int, total_power: int) -> bool:
    """More than 2/3 of the power: 3s > 2T, identical to Edge's s > floor(2T / 3) for integers."""
    return 3 * signed_power > 2 * total_power


@dataclass(frozen=True)
class Commit:
    """Signatures on one header (or checkpoint), one optional signature per slot of the signing set."""

    header: Signed
    signatures: tuple[Signature | None, ...]


@dataclass(frozen=True)
class AggregateCommit:
    """One aggregate signature on a header (or checkpoint) under the sum of the keys of the slots
    `signers` marks (docs/PROTOCOL.md section 10): the aggregate quorum mode's Commit."""

    header: Signed
    signers: tuple[bool, ...]
    signature: Signature

    def __post_init__(self) -> None:
        if not all(isinstance(s, bool) for s in self.signers):
            raise ModelError("an aggregate commit's signers are one bool per slot")


AnyCommit = Commit | AggregateCommit


class SigningPurpose(IntEnum):
    """What a validator signature is for: the domain tag of its message (docs/PROTOCOL.md section 2).

    Each tag is a short ASCII string read as a big-endian integer (< 2^168 < r), so a signature
    made for one purpose can never be presented for another.
    """

    HEADER = int.from_bytes(b"zkstatesync/header/v1", "big")
    CHECKPOINT = int.from_bytes(b"zkstatesync/checkpoint/v1", "big")


def signing_purpose_of(item: Signed) -> SigningPurpose:
    return SigningPurpose.CHECKPOINT if isinstance(item, Checkpoint) else SigningPurpose.HEADER


def compute_signing_message(header: Signed, purpose: SigningPurpose | None = None) -> int:
    """What validators sign: Poseidon([purpose, chainId, hash]), bound to the purpose and the chain.

    The purpose is the item's own (headers and checkpoints each have theirs) unless given: tests
    sign for the wrong purpose with it.
    """
    tag = signing_purpose_of(header) if purpose is None else purpose
    return poseidon([int(tag), header.chain_id, compute_signed_hash(header)])


def sign_header(header: Signed, private_keys: Sequence[bytes | None]) -> Commit:
    """Sign with the given keys, one per slot in slot order (None: that slot does not sign)."""
    message = compute_signing_message(header)
    return Commit(header, tuple(None if k is None else sign_poseidon(k, message) for k in private_keys))


def compute_signed_power(validator_set: AnySet, commit: AnyCommit) -> int:
    """Power behind valid signatures on the commit's header; each slot counts at most once.

    An aggregate commit counts its signers' power when its one signature verifies under the sum
    of their keys, and nothing otherwise (a key of small order is refused by verify_poseidon).
    """
    if isinstance(commit, AggregateCommit):
        if not isinstance(validator_set, AggregateSet):
            raise ModelError("an aggregate commit counts only under a set whose keys proved possession (AggregateSet)")
        return _aggregate_signed_power(validator_set, commit)
    validator_set = plain_set(validator_set)
    if len(commit.signatures) > validator_set.size:
        raise ModelError(f"{len(commit.signatures)} signatures for a set of {validator_set.size} slots")
    message = compute_signing_message(commit.header)
    return sum(
        validator.power
        for validator, signature in zip(validator_set.validators, commit.signatures, strict=False)
        if signature is not None and verify_poseidon(validator.public_key, message, signature)
    )


def _aggregate_signed_power(aggregate_set: AggregateSet, commit: AggregateCommit) -> int:
    header = commit.header
    if (aggregate_set.chain_id, aggregate_set.purpose) != (header.chain_id, int(signing_purpose_of(header))):
        raise ModelError("the set's proofs of possession are for another chain or purpose than this commit's")
    validator_set = aggregate_set.validator_set
    if len(commit.signers) != validator_set.size:
        raise ModelError(f"{len(commit.signers)} signer bits for a set of {validator_set.size} slots")
    if any(commit.signers[len(validator_set.validators) :]):
        return 0  # padding cannot sign
    chosen = [v for v, s in zip(validator_set.validators, commit.signers, strict=False) if s]
    if not chosen:
        return 0
    aggregate = sum_points(v.public_key for v in chosen)
    try:  # verify_poseidon refuses an aggregate of small order (the identity included): CurveError
        valid = verify_poseidon(aggregate, compute_signing_message(commit.header), commit.signature)
    except (CurveError, SignatureError):
        return 0
    return sum(v.power for v in chosen) if valid else 0


def is_final(validator_set: AnySet, commit: AnyCommit) -> bool:
    if commit.header.validator_set_hash != compute_validator_set_hash(plain_set(validator_set)):
        return False
    return is_quorum(compute_signed_power(validator_set, commit), plain_set(validator_set).total_power)


def validate_header_link(trusted: Signed, header: Signed) -> None:
    """Raise ModelError unless header may follow the checkpoint (docs section 2, linking).

    The same rule links checkpoints (section 8); a header never links to a checkpoint or back.
    """
    if type(header) is not type(trusted):
        raise ModelError(f"a {type(header).__name__.lower()} cannot follow a {type(trusted).__name__.lower()}")
    if header.parent_hash != compute_signed_hash(trusted):
        raise ModelError("the header's parent is not the trusted checkpoint")
    if header.chain_id != trusted.chain_id:
        raise ModelError(f"chain id {header.chain_id} differs from the checkpoint's {trusted.chain_id}")
    if header.number <= trusted.number:
        raise ModelError(f"header number {header.number} does not exceed the checkpoint's {trusted.number}")
    if header.validator_set_hash != trusted.next_validator_set_hash:
        raise ModelError("the header is not signed by the set the checkpoint named")


# --- events -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StateSyncEvent:
    """Edge's StateSynced(id, sender, receiver, data); addresses as 160-bit integers."""

    id: int
    sender: int
    receiver: int
    data: bytes = field(default=b"")

    def __post_init__(self) -> None:
        if _check_uint(self.id, 64, "event id") == 0:
            raise ModelError("event ids start at 1")
        _check_uint(self.sender, 160, "sender")
        if _check_uint(self.receiver, 160, "receiver") == 0:
            raise ModelError("the receiver must not be the zero address")
        if not isinstance(self.data, bytes) or len(self.data) > MAX_DATA_BYTES:
            raise ModelError(f"event data must be at most {MAX_DATA_BYTES} bytes")


def compute_data_hash(data: bytes) -> int:
    return int.from_bytes(keccak(data), "big") % R


def compute_event_leaf(event: StateSyncEvent) -> int:
    return poseidon([event.id, event.sender, event.receiver, compute_data_hash(event.data)])


def validate_consecutive_ids(events: Sequence[StateSyncEvent]) -> None:
    for before, after in zip(events, events[1:], strict=False):
        if after.id != before.id + 1:
            raise ModelError(f"event ids must be consecutive: {before.id} is followed by {after.id}")


def build_event_tree(events: Sequence[StateSyncEvent], depth: int) -> MerkleTree:
    """The header's event tree: leaf j is its j-th event in id order, then zero leaves."""
    validate_consecutive_ids(events)
    return build_tree([compute_event_leaf(e) for e in events], depth)


@dataclass(frozen=True)
class BatchCommitment:
    gamma: int
    commitment: int
    vector: tuple[int, ...]


def compute_batch_vector(events: Sequence[StateSyncEvent], batch_size: int) -> tuple[int, ...]:
    """v = [firstId, n, sender_0, receiver_0, dataHash_0, ...], zero past n (docs section 4)."""
    if not 1 <= len(events) <= batch_size:
        raise ModelError(f"a batch holds 1 to {batch_size} events, got {len(events)}")
    validate_consecutive_ids(events)
    vector = [events[0].id, len(events)]
    for event in events:
        vector += [event.sender, event.receiver, compute_data_hash(event.data)]
    vector += [0] * (3 * (batch_size - len(events)))
    return tuple(vector)


def compute_batch_commitment(event_root: int, events: Sequence[StateSyncEvent], batch_size: int) -> BatchCommitment:
    """gamma = keccak(eventRoot ‖ v) mod r and sum_j v[j] gamma^(j+1), as the contract computes."""
    return commit_batch_vector(event_root, compute_batch_vector(events, batch_size))


def commit_batch_vector(event_root: int, vector: Sequence[int]) -> BatchCommitment:
    """The commitment to a raw batch vector (no validation: tests commit dishonest batches)."""
    words = [to_field(event_root, "event root"), *(to_field(v, "batch element") for v in vector)]
    gamma = int.from_bytes(keccak(b"".join(w.to_bytes(32, "big") for w in words)), "big") % R
    commitment = 0
    for value in reversed(words[1:]):
        commitment = (commitment + value) * gamma % R
    return BatchCommitment(gamma, commitment, tuple(words[1:]))


def derive_validator_set(private_keys: Iterable[bytes], powers: Iterable[int], size: int) -> ValidatorSet:
    """A set from private keys (for committees run in Python: tests, the demo)."""
    validators = tuple(Validator(derive_public_key(k), p) for k, p in zip(private_keys, powers, strict=True))
    return ValidatorSet(validators, size)


def validate_header_update(*, trusted: Signed, commit: AnyCommit, validator_set: AnySet) -> None:
    """Raise ModelError unless the commit is a header the light client would accept."""
    validate_header_link(trusted, commit.header)
    if not is_final(validator_set, commit):
        kind = type(commit.header).__name__.lower()
        raise ModelError(f"the {kind} is not final: its signers hold at most 2/3 of the set's power")


def validate_header_chain(
    trusted: Header, commits: Sequence[Commit], validator_sets: Sequence[ValidatorSet], depth: int
) -> None:
    """Raise ModelError unless HeaderChain(V, depth, len(commits)) can prove the commits.

    Each header must be one the light client would accept after the one before, and every
    header but the last must carry no events (the empty depth-`depth` tree's root): a chain
    proof publishes only the last event root, so events of a skipped header would be stranded.
    """
    if not commits or len(commits) != len(validator_sets):
        raise ModelError("a header chain needs at least one header and one validator set per header")
    empty_root = build_event_tree((), depth).root
    parent = trusted
    for index, (commit, validator_set) in enumerate(zip(commits, validator_sets, strict=True)):
        try:
            if not isinstance(commit.header, Header):
                raise ModelError("a header chain holds rootchain headers only")
            validate_header_update(trusted=parent, commit=commit, validator_set=validator_set)
            if index < len(commits) - 1 and commit.header.event_root != empty_root:
                raise ModelError("it carries events, and only the last header of a chain may")
        except ModelError as exc:
            raise ModelError(f"header {index} of the chain (number {commit.header.number}): {exc}") from exc
        parent = commit.header
