"""The protocol model as an executable spec: an honest case and one refusal per rule (docs/PROTOCOL.md)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from statesync.committee import Committee, generate_committee
from statesync.eddsa import verify_poseidon
from statesync.errors import ModelError
from statesync.model import (
    MAX_DATA_BYTES,
    Checkpoint,
    Header,
    SigningPurpose,
    StateSyncEvent,
    Validator,
    ValidatorSet,
    build_event_tree,
    compute_checkpoint_hash,
    compute_header_hash,
    compute_signing_message,
    is_quorum,
    validate_header_chain,
    validate_header_link,
    validate_header_update,
)

COMMITTEE = generate_committee([40, 30, 20, 10], size=4, seed=b"test_model")
ROTATED = generate_committee([10, 20, 30, 40], size=4, seed=b"test_model rotated")


def genesis(committee: Committee = COMMITTEE) -> Header:
    return Header(1, 0, 0, 0, 0, committee.set_hash, committee.set_hash)


def child(parent: Header, committee: Committee = COMMITTEE, **changes: int) -> Header:
    header = Header(
        chain_id=parent.chain_id,
        number=parent.number + 1,
        parent_hash=compute_header_hash(parent),
        timestamp=parent.timestamp + 12,
        event_root=build_event_tree((), 4).root,
        validator_set_hash=parent.next_validator_set_hash,
        next_validator_set_hash=committee.set_hash,
    )
    return replace(header, **changes)


def test_an_honest_header_update_is_accepted() -> None:
    trusted = genesis()
    validate_header_update(
        trusted=trusted, commit=COMMITTEE.sign(child(trusted), {0, 1, 2}), validator_set=COMMITTEE.validator_set
    )


@pytest.mark.parametrize("name", ["chain_id", "number", "timestamp"])
@pytest.mark.parametrize("value", [-1, 2**64])
def test_header_integers_are_uint64(name: str, value: int) -> None:
    with pytest.raises(ModelError, match=rf"{name} must be in \[0, 2\^64\)"):
        replace(genesis(), **{name: value})
    replace(genesis(), **{name: 2**64 - 1})


def test_header_integers_are_ints() -> None:
    with pytest.raises(ModelError, match="must be an int"):
        replace(genesis(), number=True)


def test_event_ids_start_at_one_and_are_uint64() -> None:
    with pytest.raises(ModelError, match="start at 1"):
        StateSyncEvent(id=0, sender=1, receiver=2)
    with pytest.raises(ModelError, match="2\\^64"):
        StateSyncEvent(id=2**64, sender=1, receiver=2)


def test_the_receiver_is_never_the_zero_address() -> None:
    with pytest.raises(ModelError, match="zero address"):
        StateSyncEvent(id=1, sender=1, receiver=0)
    with pytest.raises(ModelError, match="2\\^160"):
        StateSyncEvent(id=1, sender=2**160, receiver=1)


def test_event_data_is_at_most_2048_bytes() -> None:
    StateSyncEvent(id=1, sender=1, receiver=2, data=b"x" * MAX_DATA_BYTES)
    with pytest.raises(ModelError, match="at most 2048 bytes"):
        StateSyncEvent(id=1, sender=1, receiver=2, data=b"x" * (MAX_DATA_BYTES + 1))


def test_a_set_refuses_duplicate_keys_and_bad_slots() -> None:
    key = COMMITTEE.validator_set.validators[0].public_key
    with pytest.raises(ModelError, match="appears twice"):
        ValidatorSet((Validator(key, 1), Validator(key, 2)), 4)
    with pytest.raises(ModelError, match="1 to 1 validators"):
        ValidatorSet((Validator(key, 1), COMMITTEE.validator_set.validators[1]), 1)
    with pytest.raises(ModelError, match="voting power"):
        Validator(key, 0)
    with pytest.raises(ModelError, match="voting power"):
        Validator(key, 2**64)


def test_events_of_a_tree_are_consecutive() -> None:
    events = [StateSyncEvent(1, 1, 2), StateSyncEvent(3, 1, 2)]
    with pytest.raises(ModelError, match="consecutive"):
        build_event_tree(events, 4)


def test_the_quorum_is_strictly_more_than_two_thirds() -> None:
    assert is_quorum(67, 100) and not is_quorum(66, 100)
    assert not is_quorum(2, 3) and is_quorum(3, 3)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"parent_hash": 5}, "parent is not the trusted checkpoint"),
        ({"chain_id": 2}, "chain id 2 differs"),
        ({"number": 0}, "does not exceed"),
        ({"validator_set_hash": ROTATED.set_hash}, "not signed by the set the checkpoint named"),
    ],
)
def test_every_branch_of_the_link_rule(changes: dict[str, int], message: str) -> None:
    trusted = genesis()
    validate_header_link(trusted, child(trusted))
    with pytest.raises(ModelError, match=message):
        validate_header_link(trusted, replace(child(trusted), **changes))


def test_a_header_without_quorum_or_of_another_set_is_not_final() -> None:
    trusted = genesis()
    header = child(trusted)
    with pytest.raises(ModelError, match="at most 2/3"):
        validate_header_update(
            trusted=trusted, commit=COMMITTEE.sign(header, {0, 2}), validator_set=COMMITTEE.validator_set
        )
    with pytest.raises(ModelError, match="not final"):
        validate_header_update(trusted=trusted, commit=ROTATED.sign(header), validator_set=ROTATED.validator_set)


def test_a_rotation_hands_signing_to_the_new_set() -> None:
    trusted = genesis()
    rotating = child(trusted, ROTATED)
    validate_header_update(trusted=trusted, commit=COMMITTEE.sign(rotating), validator_set=COMMITTEE.validator_set)
    following = child(rotating, ROTATED)
    validate_header_update(trusted=rotating, commit=ROTATED.sign(following), validator_set=ROTATED.validator_set)
    with pytest.raises(ModelError, match="not signed by the set"):
        validate_header_update(
            trusted=rotating,
            commit=COMMITTEE.sign(replace(following, validator_set_hash=COMMITTEE.set_hash)),
            validator_set=COMMITTEE.validator_set,
        )


def test_a_header_chain_refuses_events_before_its_last_header() -> None:
    trusted = genesis()
    first = child(trusted)
    second = child(first)
    commits = [COMMITTEE.sign(first), COMMITTEE.sign(second)]
    validate_header_chain(trusted, commits, [COMMITTEE.validator_set] * 2, 4)
    loaded = child(trusted, event_root=build_event_tree([StateSyncEvent(1, 1, 2)], 4).root)
    with pytest.raises(ModelError, match="header 0 of the chain .* carries events"):
        validate_header_chain(
            trusted, [COMMITTEE.sign(loaded), COMMITTEE.sign(child(loaded))], [COMMITTEE.validator_set] * 2, 4
        )
    with pytest.raises(ModelError, match="one validator set per header"):
        validate_header_chain(trusted, commits, [COMMITTEE.validator_set], 4)


def test_signatures_bind_purpose_and_chain() -> None:
    header = child(genesis())
    commit = COMMITTEE.sign(header)
    message = compute_signing_message(header)
    key = COMMITTEE.validator_set.validators[0].public_key
    (signature, *_) = commit.signatures
    assert signature is not None and verify_poseidon(key, message, signature)
    assert message != compute_header_hash(header)  # never the bare hash
    assert not verify_poseidon(key, compute_signing_message(header, SigningPurpose.CHECKPOINT), signature)
    assert not verify_poseidon(key, compute_signing_message(replace(header, chain_id=2)), signature)
    assert len({int(p) for p in SigningPurpose}) == len(SigningPurpose)


# --- checkpoints (section 8) ------------------------------------------------------------------


def genesis_checkpoint(committee: Committee = COMMITTEE) -> Checkpoint:
    return Checkpoint(1002, 0, 0, 0, 1, committee.set_hash, committee.set_hash)


def child_checkpoint(parent: Checkpoint, **changes: int) -> Checkpoint:
    checkpoint = Checkpoint(
        chain_id=parent.chain_id,
        number=parent.number + 64,
        parent_hash=compute_checkpoint_hash(parent),
        timestamp=parent.timestamp + 128,
        exit_root=2**256 - 5,
        validator_set_hash=parent.next_validator_set_hash,
        next_validator_set_hash=parent.next_validator_set_hash,
        block_hash=2**200,
    )
    return replace(checkpoint, **changes)


def test_checkpoints_follow_the_header_rules() -> None:
    trusted = genesis_checkpoint()
    honest = child_checkpoint(trusted)
    validate_header_update(
        trusted=trusted, commit=COMMITTEE.sign(honest, {0, 1}), validator_set=COMMITTEE.validator_set
    )
    refusals = {
        "not final": (honest, {0, 2}),
        "parent": (child_checkpoint(trusted, parent_hash=5), None),
        "does not exceed": (child_checkpoint(trusted, number=0), None),
        "chain id": (child_checkpoint(trusted, chain_id=1003), None),
        "not signed by the set": (child_checkpoint(trusted, validator_set_hash=ROTATED.set_hash), None),
    }
    for message, (checkpoint, signers) in refusals.items():
        with pytest.raises(ModelError, match=message):
            validate_header_update(
                trusted=trusted, commit=COMMITTEE.sign(checkpoint, signers), validator_set=COMMITTEE.validator_set
            )


def test_a_header_never_links_to_a_checkpoint() -> None:
    checkpoint = genesis_checkpoint()
    header = replace(child(genesis()), parent_hash=compute_checkpoint_hash(checkpoint), chain_id=1002)
    with pytest.raises(ModelError, match="cannot follow"):
        validate_header_link(checkpoint, header)


def test_checkpoint_fields_round_trip_and_limbs_are_128_bits() -> None:
    checkpoint = child_checkpoint(genesis_checkpoint())
    fields = checkpoint.fields()
    assert len(fields) == 10 and fields[4] == checkpoint.exit_root >> 128
    assert Checkpoint.from_fields(fields) == checkpoint
    wide = list(fields)
    wide[5] = 2**128
    with pytest.raises(ModelError, match="exit root low limb"):
        Checkpoint.from_fields(wide)
    with pytest.raises(ModelError, match="exit_root"):
        replace(checkpoint, exit_root=2**256)


def test_checkpoint_signatures_have_their_own_purpose() -> None:
    checkpoint = child_checkpoint(genesis_checkpoint())
    assert compute_signing_message(checkpoint) == compute_signing_message(checkpoint, SigningPurpose.CHECKPOINT)
    assert compute_signing_message(checkpoint) != compute_signing_message(checkpoint, SigningPurpose.HEADER)
