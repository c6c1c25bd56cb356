"""The two-round aggregate signature (statesync/aggregate.py): circomlibjs's verifyPoseidon accepts
each aggregate under the sum of its signers' keys and refuses it under any other subset's; partial
signatures name a bad signer; nonces are fresh and single-use; proofs of possession keep rogue keys
out of a set."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import random
import sys
from dataclasses import dataclass
from typing import Any

import pytest

from statesync.aggregate import (
    NonceReuseError,
    PartialSignatureError,
    SigningSession,
    aggregate_keys,
    aggregate_partials,
    generate_nonce,
    open_session,
    sign_partial,
    verify_partial,
)
from statesync.babyjub import BASE8, IDENTITY, SUBORDER, add_points, multiply_point, negate_point
from statesync.committee import Committee
from statesync.eddsa import Signature, derive_public_key, verify_poseidon
from statesync.errors import ModelError, SignatureError
from statesync.field import R
from statesync.model import AggregateSet, SigningPurpose, Validator, ValidatorSet, derive_validator_set
from statesync.possession import PossessionError, prove_possession, verify_possession
from tests.statesync.conftest import Requests, circomlibjs_answers, encode_point

CHAIN_ID = 31337
KEYS = tuple(hashlib.sha256(b"aggregate test" + bytes([i])).digest() for i in range(9))
PUBLIC = tuple(derive_public_key(k) for k in KEYS)
HEADER = int(SigningPurpose.HEADER)
TRUSTED = Committee(KEYS, derive_validator_set(KEYS, range(1, len(KEYS) + 1), 12)).aggregate_set(CHAIN_ID, HEADER)


def sign_together(message: int, slots: list[int]) -> tuple[SigningSession, Signature]:
    nonces = {s: generate_nonce() for s in slots}
    commitments = {s: nonces[s].commitment for s in slots}
    partials = {s: sign_partial(KEYS[s], nonces[s], message, TRUSTED, commitments) for s in slots}
    session = open_session(message, TRUSTED, commitments)
    return session, aggregate_partials(session, partials)


def round_one(slots: list[int]) -> tuple[dict[int, Any], dict[int, Any]]:
    nonces = {s: generate_nonce() for s in slots}
    return nonces, {s: n.commitment for s, n in nonces.items()}


@dataclass(frozen=True)
class Case:
    key: tuple[int, int]
    message: int
    signature: Signature


@functools.cache
def cases() -> tuple[list[Case], list[Case]]:
    """Aggregates of random subsets, each under its own aggregate key and under another subset's."""
    rng = random.Random("aggregate crosscheck")
    good, wrong = [], []
    for _ in range(24):
        slots = sorted(rng.sample(range(len(KEYS)), rng.randint(1, len(KEYS))))
        message = rng.choice([0, 1, R - 1, rng.randrange(R)])
        session, signature = sign_together(message, slots)
        good.append(Case(session.aggregate_key, message, signature))
        other = sorted(set(slots) ^ {rng.randrange(len(KEYS))}) or [0 if slots != [0] else 1]
        wrong.append(Case(aggregate_keys([PUBLIC[s] for s in other]), message, signature))
    return good, wrong


def _verify(case: Case) -> dict[str, object]:
    sig = {"r8": encode_point(case.signature.r8), "s": str(case.signature.s)}
    return {"op": "verify", "pub": encode_point(case.key), "msg": str(case.message), "sig": sig}


def circomlibjs_requests() -> Requests:
    good, wrong = cases()
    return [_verify(c) for c in good + wrong]


def test_circomlibjs_accepts_each_aggregate_under_its_signers_sum_and_no_other_subsets() -> None:
    good, wrong = cases()
    answers = circomlibjs_answers(sys.modules[__name__])
    assert answers == [True] * len(good) + [False] * len(wrong)
    assert all(verify_poseidon(c.key, c.message, c.signature) for c in good)
    assert not any(verify_poseidon(c.key, c.message, c.signature) for c in wrong)


def test_the_aggregate_key_is_the_plain_sum_in_any_order() -> None:
    expected = IDENTITY
    for key in PUBLIC[:5]:
        expected = add_points(expected, key)
    assert aggregate_keys(PUBLIC[:5]) == expected == aggregate_keys(list(reversed(PUBLIC[:5])))


def test_an_identity_or_small_order_aggregate_is_refused() -> None:
    with pytest.raises(ModelError, match="identity or of small order"):
        aggregate_keys([PUBLIC[0], negate_point(PUBLIC[0])])
    with pytest.raises(ModelError, match="prime-order subgroup"):
        aggregate_keys([PUBLIC[0], (0, R - 1)])  # a small-order point as a key
    with pytest.raises(ModelError, match="at least one key"):
        aggregate_keys([])


def test_a_bad_or_withheld_partial_names_its_signer() -> None:
    slots = [0, 2, 5]
    nonces, commitments = round_one(slots)
    session = open_session(7, TRUSTED, commitments)
    partials = {s: sign_partial(KEYS[s], nonces[s], 7, TRUSTED, commitments) for s in slots}
    assert all(verify_partial(session, s, partials[s]) for s in slots)
    for garbage in ((partials[2] + 1) % SUBORDER, partials[0], SUBORDER + partials[2], -1):
        with pytest.raises(PartialSignatureError, match="slot 2's partial") as refused:
            aggregate_partials(session, {**partials, 2: garbage})
        assert refused.value.slot == 2
    withheld = {s: p for s, p in partials.items() if s != 5}
    with pytest.raises(PartialSignatureError, match="slot 5 sent no partial") as missing:
        aggregate_partials(session, withheld)
    assert missing.value.slot == 5
    assert verify_poseidon(session.aggregate_key, 7, aggregate_partials(session, partials))


def test_a_nonce_signs_once_cannot_be_copied_and_fresh_nonces_differ() -> None:
    import copy
    import pickle

    nonces, commitments = round_one([0])
    nonce = nonces[0]
    for clone in (copy.copy, copy.deepcopy, pickle.dumps):
        with pytest.raises(NonceReuseError):
            clone(nonce)
    sign_partial(KEYS[0], nonce, 9, TRUSTED, commitments)
    assert nonce.used
    with pytest.raises(NonceReuseError):
        sign_partial(KEYS[0], nonce, 9, TRUSTED, commitments)
    assert len({generate_nonce().commitment for _ in range(16)}) == 16  # OS CSPRNG, never derived
    again, theirs = round_one([1])
    with pytest.raises(SignatureError, match="does not list this signer"):
        sign_partial(KEYS[0], generate_nonce(), 9, TRUSTED, theirs)
    assert not again[1].used  # a refused request burns no nonce


def test_the_signer_recomputes_the_session_so_an_aggregator_cannot_pick_the_challenge() -> None:
    # A malicious aggregator used to hand signers a session whose challenge was another message's:
    # the honest partials then summed to a signature on that other message.
    slots = [0, 1, 2]
    nonces, commitments = round_one(slots)
    partials = {s: sign_partial(KEYS[s], nonces[s], 111, TRUSTED, commitments) for s in slots}
    for other in (666, 112):
        session = open_session(other, TRUSTED, commitments)
        with pytest.raises(PartialSignatureError):
            aggregate_partials(session, partials)
    signature = aggregate_partials(open_session(111, TRUSTED, commitments), partials)
    assert not verify_poseidon(aggregate_keys([PUBLIC[s] for s in slots]), 666, signature)


def test_session_keys_come_from_the_trusted_set_by_slot() -> None:
    nonces, commitments = round_one([0, 1])
    session = open_session(5, TRUSTED, commitments)
    assert session.keys == (PUBLIC[0], PUBLIC[1])
    with pytest.raises(ModelError, match="slots 0 to 8"):
        open_session(5, TRUSTED, {**commitments, 9: nonces[0].commitment})


def test_two_sessions_of_one_signer_and_message_give_different_signatures() -> None:
    _, first = sign_together(42, [1, 3])
    _, second = sign_together(42, [1, 3])
    assert first != second


def test_a_participant_s_nonce_off_the_subgroup_or_the_curve_names_it() -> None:
    nonces, commitments = round_one([0, 4])
    torsion = {**commitments, 4: dataclasses.replace(commitments[4], r2=(0, R - 1))}  # order 2
    partials = {0: sign_partial(KEYS[0], nonces[0], 1, TRUSTED, torsion)}
    partials[4] = sign_partial(KEYS[4], nonces[4], 1, TRUSTED, commitments)  # what it signed for its real R2
    with pytest.raises(PartialSignatureError, match="slot 4's partial") as refused:
        aggregate_partials(open_session(1, TRUSTED, torsion), partials)
    assert refused.value.slot == 4
    off_curve = {**commitments, 4: dataclasses.replace(commitments[4], r1=(1, 2))}
    with pytest.raises(PartialSignatureError, match="slot 4's R1") as off:
        open_session(1, TRUSTED, off_curve)
    assert off.value.slot == 4


def make_set(count: int) -> ValidatorSet:
    return ValidatorSet(tuple(Validator(PUBLIC[i], i + 1) for i in range(count)), 8)


def test_a_set_is_trusted_for_aggregation_only_with_each_keys_proof_of_possession() -> None:
    validators = make_set(4)
    proofs = tuple(prove_possession(KEYS[i], CHAIN_ID, HEADER) for i in range(4))
    AggregateSet(validators, CHAIN_ID, HEADER, proofs)
    with pytest.raises(PossessionError, match="slot 2: .* has no proof"):
        AggregateSet(validators, CHAIN_ID, HEADER, (*proofs[:2], None, proofs[3]))
    with pytest.raises(PossessionError, match="3 proofs of possession for 4 validators"):
        AggregateSet(validators, CHAIN_ID, HEADER, proofs[:3])
    with pytest.raises(PossessionError, match="slot 1: .* does not verify"):
        AggregateSet(validators, CHAIN_ID, HEADER, (proofs[0], proofs[0], *proofs[2:]))
    # Bound to the chain and to the set's purpose: a proof made for another does not count.
    with pytest.raises(PossessionError):
        AggregateSet(validators, CHAIN_ID + 1, HEADER, proofs)
    with pytest.raises(PossessionError):
        AggregateSet(validators, CHAIN_ID, int(SigningPurpose.CHECKPOINT), proofs)
    with pytest.raises(ModelError, match="appears twice"):  # a set of distinct keys only
        ValidatorSet((*validators.validators, Validator(PUBLIC[0], 9)), 8)


def test_a_rogue_key_would_forge_the_sum_and_has_no_proof_of_possession() -> None:
    # The attack PoP exists for: the attacker publishes A_evil = t*BASE8 - A_honest, so the sum of
    # the two is t*BASE8, whose secret the attacker alone knows, and signs for both.
    honest = PUBLIC[0]
    t = 123456789
    rogue = add_points(multiply_point(BASE8, t), negate_point(honest))
    aggregate = aggregate_keys([honest, rogue])
    assert aggregate == multiply_point(BASE8, t)
    nonce = 987654321
    r8 = multiply_point(BASE8, nonce)
    from statesync.poseidon import poseidon

    challenge = poseidon([r8[0], r8[1], aggregate[0], aggregate[1], 5])
    forged = Signature(r8=r8, s=(nonce + challenge * 8 * t) % SUBORDER)
    assert verify_poseidon(aggregate, 5, forged)  # without PoP the plain sum would be forgeable
    # The attacker cannot sign A_evil's possession message (it knows no discrete log of A_evil),
    # and a proof made with the key it does know is for another key.
    fake = Signature(r8=r8, s=forged.s)
    assert not verify_possession(rogue, CHAIN_ID, HEADER, fake)
    validators = ValidatorSet((Validator(honest, 1), Validator(rogue, 1)), 4)
    with pytest.raises(PossessionError, match="slot 1"):
        AggregateSet(validators, CHAIN_ID, HEADER, (prove_possession(KEYS[0], CHAIN_ID, HEADER), fake))


def test_the_model_counts_an_aggregate_commits_signers_only_when_it_verifies() -> None:
    from statesync.model import AggregateCommit, Header, compute_signed_power, is_final

    committee = Committee(KEYS[:4], derive_validator_set(KEYS[:4], [40, 30, 20, 10], 6))
    header = Header(
        chain_id=1,
        number=1,
        parent_hash=0,
        timestamp=1,
        event_root=0,
        validator_set_hash=committee.set_hash,
        next_validator_set_hash=committee.set_hash,
    )
    trusted = committee.aggregate_set(1, HEADER)
    commit = committee.sign_aggregate(header, {0, 1})
    assert commit.signers == (True, True, False, False, False, False)
    assert compute_signed_power(trusted, commit) == 70 and is_final(trusted, commit)
    with pytest.raises(ModelError, match="proved possession"):
        is_final(committee.validator_set, commit)  # a plain set never counts an aggregate
    with pytest.raises(ModelError, match="another chain or purpose"):
        is_final(committee.aggregate_set(2, HEADER), commit)
    relabelled = AggregateCommit(header, (True, False, True, False, False, False), commit.signature)
    assert compute_signed_power(trusted, relabelled) == 0  # the bitmap is not who signed
    padding = AggregateCommit(header, (True, True, False, False, True, False), commit.signature)
    assert compute_signed_power(trusted, padding) == 0  # padding cannot sign
    with pytest.raises(ModelError, match="4 signer bits for a set of 6 slots"):
        compute_signed_power(trusted, AggregateCommit(header, (True, True, False, False), commit.signature))
    below = committee.sign_aggregate(header, {0, 2})
    assert compute_signed_power(trusted, below) == 60 and not is_final(trusted, below)
