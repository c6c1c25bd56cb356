"""Signatures for a proposal: every validator asked at once, each answer verified, done at a quorum.

A validator's answer counts only after the relayer has checked it itself: the header hash and
signing message it names are this proposal's, and the EdDSA-Poseidon signature verifies under
the validator's configured key on compute_signing_message(proposal). Collection stops as soon as
the verified signers hold more than 2/3 of the power (statesync.model.is_quorum); validators that
are down, slow or refusing only matter if the rest cannot make a quorum. A refusal that may pass
(busy, its node is behind or unavailable) is asked again, a bounded number of times within the
round's deadline; one that will not (another header signed at this number, a block hash its node
does not have) is final for this proposal.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from statesync.babyjub import Point
from statesync.eddsa import Signature, verify_poseidon
from statesync.errors import ZkStateSyncError
from statesync.model import Commit, Signed, compute_signed_hash, compute_signing_message, is_quorum

from ..validator.client import ValidatorClient, ValidatorRefused, ValidatorUnreachable
from ..validator.wire import SignResponse

# Refusals that say "not now" rather than "never": the validator's node is behind or unavailable.
RETRYABLE_CODES: Final = frozenset(
    {"busy", "rpc_unavailable", "rootchain_inconsistent", "insufficient_confirmations", "internal_error"}
)
RETRY_BACKOFF: Final = 0.5
MAX_RETRY_BACKOFF: Final = 4.0

log = logging.getLogger("zkstatesync.relayer.signing")
T = TypeVar("T")


class SigningError(ZkStateSyncError):
    """No quorum of verified signatures for a proposal (`final`: the refusals make one impossible)."""

    def __init__(self, message: str, refusals: Mapping[str, str], final: bool) -> None:
        self.refusals = dict(refusals)
        self.final = final
        super().__init__(message)


class BadSignature(ZkStateSyncError):
    """A validator's answer does not verify for this proposal under its configured key."""


@dataclass(frozen=True)
class ValidatorEndpoint:
    slot: int
    name: str
    url: str
    power: int
    public_key: Point


@dataclass(frozen=True)
class Answer:
    endpoint: ValidatorEndpoint
    signature: Signature | None
    refusal: str  # "" when signed; else the code and message
    final: bool  # a refusal that asking again will not change


@dataclass(frozen=True)
class SigningRound:
    signatures: Mapping[int, Signature]  # slot -> verified signature
    refusals: Mapping[str, str]  # validator name -> why it did not sign


def verify_answer(endpoint: ValidatorEndpoint, proposal: Signed, response: SignResponse) -> Signature:
    """The signature in `response` if it is the validator's on this proposal; BadSignature otherwise."""
    message = compute_signing_message(proposal)
    if response.header_hash != compute_signed_hash(proposal):
        raise BadSignature(f"{endpoint.name} signed another header ({response.header_hash})")
    if response.signing_message != message:
        raise BadSignature(f"{endpoint.name} names another signing message")
    if not verify_poseidon(endpoint.public_key, message, response.signature):
        raise BadSignature(f"{endpoint.name}'s signature does not verify under its configured key")
    return response.signature


def signed_power(endpoints: Sequence[ValidatorEndpoint], signatures: Mapping[int, Signature]) -> int:
    return sum(e.power for e in endpoints if e.slot in signatures)


def has_quorum(endpoints: Sequence[ValidatorEndpoint], signatures: Mapping[int, Signature]) -> bool:
    return is_quorum(signed_power(endpoints, signatures), sum(e.power for e in endpoints))


def build_commit(proposal: Signed, signatures: Mapping[int, Signature], slots: int) -> Commit:
    """The Commit the circuits take: one optional signature per slot, in slot order."""
    return Commit(proposal, tuple(signatures.get(slot) for slot in range(slots)))


class SignatureCollector:
    def __init__(
        self,
        endpoints: Sequence[ValidatorEndpoint],
        *,
        request_timeout: float,
        deadline: float,
        attempts: int,
        stopping: threading.Event,
    ) -> None:
        self.endpoints = tuple(endpoints)
        self.request_timeout = request_timeout
        self.deadline = deadline
        self.attempts = attempts
        self.stopping = stopping

    def collect(
        self,
        proposal: Signed,
        parent: Signed,
        have: Mapping[int, Signature],
        on_signature: Callable[[ValidatorEndpoint, Signature], None],
    ) -> SigningRound:
        """Ask the validators without a signature in `have` until the signers hold a quorum.

        `on_signature` runs (in this thread) for each new verified signature, so it is stored
        before the round goes on; SigningError when the round ends without a quorum.
        """
        signatures = {slot: sig for slot, sig in have.items() if any(e.slot == slot for e in self.endpoints)}
        refusals: dict[str, str] = {}
        final_power = 0
        missing = [e for e in self.endpoints if e.slot not in signatures]
        if has_quorum(self.endpoints, signatures) or not missing:
            return self._finish(proposal, signatures, refusals, final_power)
        round_over = threading.Event()
        pool = ThreadPoolExecutor(max_workers=len(missing), thread_name_prefix="relayer-sign")
        try:
            futures: set[Future[Answer]] = {
                pool.submit(self._ask, endpoint, proposal, parent, round_over) for endpoint in missing
            }
            ends_at = time.monotonic() + self.deadline
            while futures and not has_quorum(self.endpoints, signatures):
                done, futures = wait(futures, timeout=max(ends_at - time.monotonic(), 0), return_when=FIRST_COMPLETED)
                if not done:
                    break  # the round's deadline
                for future in done:
                    answer = future.result()
                    if answer.signature is not None:
                        signatures[answer.endpoint.slot] = answer.signature
                        on_signature(answer.endpoint, answer.signature)
                    else:
                        refusals[answer.endpoint.name] = answer.refusal
                        final_power += answer.endpoint.power if answer.final else 0
            if not has_quorum(self.endpoints, signatures):
                for endpoint in missing:
                    if endpoint.slot not in signatures and endpoint.name not in refusals:
                        refusals[endpoint.name] = "no answer within the round"
        finally:
            round_over.set()
            pool.shutdown(wait=False, cancel_futures=True)
        return self._finish(proposal, signatures, refusals, final_power)

    def _finish(
        self, proposal: Signed, signatures: dict[int, Signature], refusals: dict[str, str], final_power: int
    ) -> SigningRound:
        if has_quorum(self.endpoints, signatures):
            return SigningRound(signatures, refusals)
        total = sum(e.power for e in self.endpoints)
        # A quorum is out of reach for this proposal when even every other validator would not suffice.
        final = not is_quorum(total - final_power, total)
        kind, signed = type(proposal).__name__.lower(), signed_power(self.endpoints, signatures)
        raise SigningError(
            f"{kind} {proposal.number}: validators holding {signed} of {total} "
            f"power signed, more than 2/3 is needed; {'; '.join(f'{n}: {r}' for n, r in sorted(refusals.items()))}",
            refusals,
            final,
        )

    def _ask(
        self, endpoint: ValidatorEndpoint, proposal: Signed, parent: Signed, round_over: threading.Event
    ) -> Answer:
        asked = ask_validator(
            endpoint,
            lambda client: verify_answer(endpoint, proposal, client.sign(proposal, parent)),
            timeout=self.request_timeout,
            attempts=self.attempts,
            round_over=round_over,
            stopping=self.stopping,
        )
        return Answer(endpoint, asked.value, asked.refusal, asked.final)


@dataclass(frozen=True)
class Asked(Generic[T]):
    """One validator's outcome for one request, after its retries."""

    value: T | None
    refusal: str  # "" when answered; else the code and message
    final: bool  # a refusal that asking again will not change


def ask_validator(
    endpoint: ValidatorEndpoint,
    request: Callable[[ValidatorClient], T],
    *,
    timeout: float,
    attempts: int,
    round_over: threading.Event,
    stopping: threading.Event,
) -> Asked[T]:
    """`request` (which checks the answer, raising BadSignature) until it answers, a refusal is final,
    `attempts` are spent or the round is over; a retryable refusal or no answer is asked again."""
    client = ValidatorClient(endpoint.url, timeout=timeout)
    last = ""
    for attempt in range(attempts):
        if attempt:
            pause = min(RETRY_BACKOFF * 2 ** (attempt - 1), MAX_RETRY_BACKOFF)
            if round_over.wait(pause) or stopping.is_set():
                break
        try:
            value = request(client)
        except ValidatorRefused as exc:
            last = f"{exc.code}: {exc.message[:200]}"
            if exc.code not in RETRYABLE_CODES:
                log.warning("sign.refused", extra={"fields": {"validator": endpoint.name, "refusal": last}})
                return Asked(None, last, final=True)
            continue
        except ValidatorUnreachable as exc:
            last = f"unreachable: {str(exc)[:200]}"
            continue
        except BadSignature as exc:
            log.error("sign.bad_signature", extra={"fields": {"validator": endpoint.name, "reason": str(exc)}})
            return Asked(None, f"bad signature: {exc}", final=True)
        except Exception as exc:  # one validator's unforeseen answer must not end the round for the others
            log.exception("sign.failed", extra={"fields": {"validator": endpoint.name}})
            return Asked(None, f"error: {type(exc).__name__}: {exc}", final=False)
        return Asked(value, "", final=False)
    log.warning("sign.no_signature", extra={"fields": {"validator": endpoint.name, "last": last}})
    return Asked(None, last or "not asked", final=False)
