"""The aggregate quorum mode's signing (docs/PROTOCOL.md section 10): two rounds over the validators'
HTTP API, one EdDSA-Poseidon signature under the sum of the signers' keys at the end.

Round one asks every validator at once for a nonce commitment (POST /nonces): each checks the
proposal and records it exactly as it would before signing. The round waits for every answer, or
for ROUND_ONE_GRACE once the answers hold a quorum, so a slow validator costs little and a quick
one is not left out. Round two sends the participants' commitments to each participant (POST
/partial), once: a session's nonce signs only once. The aggregate is checked, and when it fails
each partial against its signer's key and nonces (statesync.aggregate.aggregate_partials), so a
validator that withholds or sends garbage is named and left out for the proposal. A session that
loses any participant cannot be finished (its nonce and challenge cover them all): the next
session leaves out who failed, when the rest still hold a quorum, so a validator that restarted
between the rounds costs one retry.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Final

from statesync.aggregate import (
    NonceCommitment,
    PartialSignatureError,
    aggregate_partials,
    open_session,
    verify_partial,
)
from statesync.babyjub import is_on_curve
from statesync.model import (
    AggregateCommit,
    AggregateSet,
    Signed,
    SigningPurpose,
    compute_signed_hash,
    compute_signing_message,
    is_quorum,
    signing_purpose_of,
)

from ..validator.client import ValidatorClient, ValidatorRefused, ValidatorUnreachable
from ..validator.wire import NonceResponse, PartialRequest
from .signing import Asked, BadSignature, SigningError, ValidatorEndpoint, ask_validator

ROUND_ONE_GRACE: Final = 0.25  # seconds to wait for the rest once round one's answers hold a quorum

log = logging.getLogger("zkstatesync.relayer.aggregating")


@dataclass(frozen=True)
class AggregateRound:
    commit: AggregateCommit
    signers: Mapping[int, str]  # slot -> validator name
    refusals: Mapping[str, str]  # validator name -> why it is not among the signers
    sessions: int  # sessions opened: 1 unless a participant failed round two
    round_one_s: float  # the last session's rounds, wall time
    round_two_s: float


def verify_nonce_answer(endpoint: ValidatorEndpoint, proposal: Signed, answer: NonceResponse) -> NonceResponse:
    """Round one's answer if it is for this proposal; BadSignature otherwise."""
    if answer.header_hash != compute_signed_hash(proposal):
        raise BadSignature(f"{endpoint.name} committed to another header ({answer.header_hash})")
    if answer.signing_message != compute_signing_message(proposal):
        raise BadSignature(f"{endpoint.name} names another signing message")
    for point, name in ((answer.commitment.r1, "R1"), (answer.commitment.r2, "R2")):
        if not is_on_curve(point):
            raise BadSignature(f"{endpoint.name}'s {name} is not on Baby Jubjub")
    return answer


class AggregateCollector:
    def __init__(
        self,
        endpoints: Sequence[ValidatorEndpoint],
        sets: Mapping[SigningPurpose, AggregateSet],
        *,
        request_timeout: float,
        deadline: float,
        attempts: int,
        stopping: threading.Event,
        grace: float = ROUND_ONE_GRACE,
        on_round_one: Callable[[Mapping[int, NonceResponse]], None] | None = None,
    ) -> None:
        self.endpoints = tuple(endpoints)
        self.sets = dict(sets)
        self.request_timeout = request_timeout
        self.deadline = deadline
        self.attempts = attempts
        self.stopping = stopping
        self.grace = grace
        # Observes each session's participants between the rounds (the tests restart one there).
        self.on_round_one = on_round_one
        self.total = sum(e.power for e in self.endpoints)

    def collect(self, proposal: Signed, parent: Signed) -> AggregateRound:
        """An aggregate signature of more than 2/3 of the power on `proposal`; SigningError otherwise."""
        aggregate_set = self.sets.get(signing_purpose_of(proposal))
        if aggregate_set is None:
            raise SigningError(f"no aggregate set for {type(proposal).__name__.lower()}s", {}, final=True)
        ends_at = time.monotonic() + self.deadline
        refusals: dict[str, str] = {}
        final: set[int] = set()  # slots whose refusal will not change for this proposal
        left_out: set[int] = set()  # failed a session's round two: out while the others hold a quorum
        stalled = 0  # sessions lost without anyone new left out: at most `attempts`
        session_number = 0
        while not self.stopping.is_set() and time.monotonic() < ends_at and stalled < self.attempts:
            session_number += 1
            asked = [e for e in self.endpoints if e.slot not in final and e.slot not in left_out]
            began = time.monotonic()
            nonces = self._round_one(asked, proposal, parent, ends_at, refusals, final)
            round_one_s = time.monotonic() - began
            if not self._quorum(nonces):
                break
            if self.on_round_one is not None:
                self.on_round_one(nonces)
            message = compute_signing_message(proposal)
            try:
                session = open_session(message, aggregate_set, {slot: n.commitment for slot, n in nonces.items()})
            except PartialSignatureError as exc:  # verify_nonce_answer checks the points first: a guard
                self._name(exc.slot, f"bad nonce commitment: {exc}", refusals, final)
                stalled += 1
                continue
            began = time.monotonic()
            # Round two gets a request's time even when round one used up the deadline: the nonces are spent.
            partials, failed = self._round_two(nonces, max(ends_at, began + self.request_timeout), refusals)
            if not failed:
                try:
                    signature = aggregate_partials(session, partials)
                except PartialSignatureError as exc:
                    # The aggregate failed: every wrong partial is named, and out for this proposal.
                    failed = {slot for slot in session.slots if not verify_partial(session, slot, partials[slot])}
                    for slot in failed or {exc.slot}:
                        self._name(slot, f"bad partial signature: slot {slot}'s does not verify", refusals, final)
                    failed = failed or {exc.slot}
            if not failed:
                bitmap = tuple(slot in nonces for slot in range(aggregate_set.validator_set.size))
                names = {e.slot: e.name for e in self.endpoints if e.slot in nonces}
                for name in names.values():
                    refusals.pop(name, None)
                commit = AggregateCommit(proposal, bitmap, signature)
                round_two_s = time.monotonic() - began
                return AggregateRound(commit, names, refusals, session_number, round_one_s, round_two_s)
            log.warning(
                "sign.session_lost",
                extra={"fields": {"number": proposal.number, "session": session_number, "failed": sorted(failed)}},
            )
            # Those who failed stay out (cumulatively) while the others still hold a quorum: a restarted
            # validator costs one session, and withholders taking turns cannot stall every session.
            remaining = {e.slot: e for e in self.endpoints if e.slot not in final | left_out | failed}
            if self._quorum(remaining):
                stalled += 0 if failed - left_out - final else 1
                left_out |= failed
            else:
                left_out = set()
                stalled += 1
        raise self._fail(proposal, refusals, final)

    def _name(self, slot: int, reason: str, refusals: dict[str, str], final: set[int]) -> None:
        endpoint = next(e for e in self.endpoints if e.slot == slot)
        log.error("sign.bad_answer", extra={"fields": {"validator": endpoint.name, "reason": reason}})
        refusals[endpoint.name] = reason
        final.add(slot)

    def _quorum(self, slots: Mapping[int, object]) -> bool:
        return is_quorum(sum(e.power for e in self.endpoints if e.slot in slots), self.total)

    def _round_one(
        self,
        asked: Sequence[ValidatorEndpoint],
        proposal: Signed,
        parent: Signed,
        ends_at: float,
        refusals: dict[str, str],
        final: set[int],
    ) -> dict[int, NonceResponse]:
        nonces: dict[int, NonceResponse] = {}
        if not asked:
            return nonces
        round_over = threading.Event()
        pool = ThreadPoolExecutor(max_workers=len(asked), thread_name_prefix="relayer-nonce")
        try:
            futures: dict[Future[Asked[NonceResponse]], ValidatorEndpoint] = {
                pool.submit(
                    ask_validator,
                    endpoint,
                    lambda client, e=endpoint: verify_nonce_answer(e, proposal, client.nonces(proposal, parent)),
                    timeout=self.request_timeout,
                    attempts=self.attempts,
                    round_over=round_over,
                    stopping=self.stopping,
                ): endpoint
                for endpoint in asked
            }
            pending = set(futures)
            quorum_at: float | None = None
            while pending:
                now = time.monotonic()
                until = ends_at if quorum_at is None else min(ends_at, quorum_at + self.grace)
                done, pending = wait(pending, timeout=max(until - now, 0), return_when=FIRST_COMPLETED)
                if not done:
                    break  # the deadline, or the grace after a quorum
                for future in done:
                    endpoint, result = futures[future], future.result()
                    if result.value is not None:
                        nonces[endpoint.slot] = result.value
                        refusals.pop(endpoint.name, None)
                    else:
                        refusals[endpoint.name] = result.refusal
                        if result.final:
                            final.add(endpoint.slot)
                if quorum_at is None and self._quorum(nonces):
                    quorum_at = time.monotonic()
            for future in pending:
                refusals.setdefault(futures[future].name, "no nonce within the round")
        finally:
            round_over.set()
            pool.shutdown(wait=False, cancel_futures=True)
        return nonces

    def _round_two(
        self, nonces: Mapping[int, NonceResponse], ends_at: float, refusals: dict[str, str]
    ) -> tuple[dict[int, int], set[int]]:
        """Each participant's partial signature (checked in aggregate_partials), and the slots that gave none."""
        commitments: dict[int, NonceCommitment] = {slot: n.commitment for slot, n in nonces.items()}
        participants = [e for e in self.endpoints if e.slot in nonces]
        partials: dict[int, int] = {}
        failed: set[int] = set()
        pool = ThreadPoolExecutor(max_workers=len(participants), thread_name_prefix="relayer-partial")
        try:
            futures = {
                pool.submit(self._partial, e, PartialRequest(nonces[e.slot].session, commitments)): e
                for e in participants
            }
            done, pending = wait(futures, timeout=max(ends_at - time.monotonic(), 0))
            for future in done:
                endpoint = futures[future]
                partial, reason = future.result()
                if partial is not None:
                    partials[endpoint.slot] = partial
                    continue
                failed.add(endpoint.slot)
                refusals[endpoint.name] = reason
            for future in pending:
                failed.add(futures[future].slot)
                refusals[futures[future].name] = "no partial signature within the round"
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        return partials, failed

    def _partial(self, endpoint: ValidatorEndpoint, request: PartialRequest) -> tuple[int | None, str]:
        """(partial, "") or (None, why). Asked once: the session's nonce is spent by the first answer,
        so a second ask could only be refused."""
        try:
            return ValidatorClient(endpoint.url, timeout=self.request_timeout).partial(request), ""
        except ValidatorRefused as exc:  # unknown_session: the validator restarted since round one
            return None, f"round two: {exc.code}: {exc.message[:200]}"
        except ValidatorUnreachable as exc:
            return None, f"round two: unreachable: {str(exc)[:200]}"

    def _fail(self, proposal: Signed, refusals: Mapping[str, str], final: set[int]) -> SigningError:
        final_power = sum(e.power for e in self.endpoints if e.slot in final)
        kind = type(proposal).__name__.lower()
        return SigningError(
            f"{kind} {proposal.number}: no aggregate signature of more than 2/3 of the power; "
            f"{'; '.join(f'{n}: {r}' for n, r in sorted(refusals.items()))}",
            refusals,
            final=not is_quorum(self.total - final_power, self.total),
        )
