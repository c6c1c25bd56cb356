"""The validator's one decision: sign this proposal or refuse it, and what it tells about itself.

Synchronous and thread-safe: the HTTP server runs `sign` in a bounded thread pool, since the
checks wait on JSON-RPC and signing is CPU work. Safety does not depend on the threads: the
slashing database's transaction decides, atomically, whether a header may be signed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from statesync.aggregate import compute_binding_factor, sign_partial
from statesync.babyjub import BASE8, Point
from statesync.eddsa import sign_poseidon, verify_poseidon
from statesync.errors import ModelError, SignatureError, ZkStateSyncError
from statesync.exits import compute_exit_root
from statesync.model import (
    AggregateSet,
    Checkpoint,
    Header,
    Signed,
    SigningPurpose,
    StateSyncEvent,
    build_event_tree,
    compute_header_hash,
    compute_signed_hash,
    compute_signing_message,
    compute_validator_set_hash,
    signing_purpose_of,
)
from statesync.proposal import ProposalRules

from ..receiver import ReceiverReader
from ..rootchain import RootchainInconsistent, RootchainReader
from ..rpc import RpcAnswerError, RpcError, RpcUnavailable, parse_quantity
from .checks import (
    CheckContext,
    NextSetPolicy,
    RefusalCode,
    SigningRefused,
    check_against_node,
    check_confirmations,
    check_request,
    is_parent_accepted,
)
from .metrics import ValidatorMetrics
from .nonces import NonceBook, UnknownSession
from .slashing import AlreadySignedOther, NotLastSigned, SignedHeader, SlashingDB
from .wire import NonceResponse, PartialRequest, SignRequest, SignResponse

RECENT_ERRORS: Final = 10
SELF_TEST_MESSAGE: Final = 1

log = logging.getLogger("zkstatesync.validator")


@dataclass(frozen=True)
class Identity:
    name: str
    private_key: bytes = field(repr=False)  # never in a log line or a traceback's locals
    public_key: Point


@dataclass(frozen=True)
class CheckpointDuty:
    """The exit direction: checkpoints of the child chain, whose L2StateSender `source` reads, for the
    rootchain's checkpoint manager (`trusted` reads its trusted checkpoint hash; None: the genesis)."""

    context: CheckContext
    genesis: Checkpoint
    source: RootchainReader
    trusted: Callable[[], int] | None


@dataclass(frozen=True)
class _Duty:
    context: CheckContext
    genesis_hash: int
    source: RootchainReader
    trusted: Callable[[], int]


@dataclass(frozen=True)
class _Approved:
    """A proposal that passed every check and is recorded in the slashing database."""

    proposal: Signed
    header_hash: int
    signing_message: int


class ValidatorService:
    def __init__(
        self,
        *,
        identity: Identity,
        chain_id: int,
        rules: ProposalRules,
        next_set: NextSetPolicy,
        genesis: Header,
        db: SlashingDB,
        rootchain: RootchainReader,
        receiver: ReceiverReader | None,
        metrics: ValidatorMetrics,
        checkpoints: CheckpointDuty | None = None,
        aggregate_sets: Mapping[SigningPurpose, AggregateSet] | None = None,
    ) -> None:
        self.identity = identity
        # The aggregate quorum mode (docs/PROTOCOL.md section 10): the sets, with their keys' proofs
        # of possession, that sessions take their keys from; None: one signature per validator.
        self.aggregate_sets = None if aggregate_sets is None else dict(aggregate_sets)
        # Hashed once: a set hash is a Poseidon sponge over 3V elements (tens of ms at V = 64).
        self._aggregate_set_hashes = {
            purpose: compute_validator_set_hash(aggregate_set.validator_set)
            for purpose, aggregate_set in (aggregate_sets or {}).items()
        }
        self.nonces = NonceBook()
        self.context = CheckContext(chain_id=chain_id, rules=rules, next_set=next_set)
        self.genesis = genesis
        self.genesis_hash = compute_header_hash(genesis)
        self.db = db
        self.rootchain = rootchain
        self.receiver = receiver
        self.metrics = metrics
        self.checkpoints = checkpoints
        self.started_at = time.time()
        self._lock = threading.Lock()
        self._head: int | None = None
        self._head_at: float | None = None
        self._trusted: int | None = None
        # Set once the receiver accepted a header at a number where this validator signed another: a
        # fork, or a race two relayers' proposals ran (docs/PROTOCOL.md section 9): reported, for people.
        self._receiver_conflict: dict[str, Any] | None = None
        # The evidence watcher's /status when this node runs one ([validator] evidence).
        self.watcher_status: Callable[[], dict[str, Any]] | None = None
        self._errors: deque[dict[str, Any]] = deque(maxlen=RECENT_ERRORS)
        self._signatures = 0
        self._refusals: dict[str, int] = {}
        last = db.last_signed(chain_id)
        if last is not None:
            metrics.last_signed_number.set(last.number)

    # --- startup ----------------------------------------------------------------------------

    def self_test(self) -> None:
        """Sign and verify once: the key works, and Poseidon's constants are derived before the first request."""
        signature = sign_poseidon(self.identity.private_key, SELF_TEST_MESSAGE)
        if not verify_poseidon(self.identity.public_key, SELF_TEST_MESSAGE, signature):
            raise ZkStateSyncError("the validator's key does not verify its own signature")  # pragma: no cover
        # Each Poseidon width derives its constants on first use (up to ~1 s): every width a request needs.
        compute_signing_message(self.genesis)
        build_event_tree([StateSyncEvent(1, 0, 1)], self.context.rules.depth)
        if self.checkpoints is not None:
            compute_signing_message(self.checkpoints.genesis)
            compute_exit_root(())
        if self.aggregate_sets is not None:  # round two's binding factor: another width
            compute_binding_factor(BASE8, BASE8, BASE8, SELF_TEST_MESSAGE)

    # --- observations -------------------------------------------------------------------------

    def note_rpc_error(self, error: RpcError) -> None:
        self.metrics.rpc_errors.labels(chain=error.chain, node=error.node).inc()
        self._note_error(error.chain, f"{error.node}: {error.message}")

    def _note_error(self, source: str, message: str) -> None:
        with self._lock:
            self._errors.append({"at": round(time.time(), 3), "source": source, "message": message[:300]})

    def note_refusal(self, code: RefusalCode) -> None:
        self.metrics.refusals.labels(code=code.value).inc()
        with self._lock:
            self._refusals[code.value] = self._refusals.get(code.value, 0) + 1

    def _saw_head(self, head: int) -> None:
        with self._lock:
            self._head, self._head_at = head, time.time()
        self.metrics.rootchain_head.set(head)

    def poll(self) -> None:
        """Refresh the rootchain head (and the receiver's checkpoint) for /status and /metrics."""
        try:
            self._saw_head(self.rootchain.head())
            if self.receiver is not None:
                self._watch_receiver()
        except (RpcUnavailable, RpcAnswerError) as exc:
            self._note_error("poll", str(exc))

    def _watch_receiver(self) -> int:
        """The receiver's checkpoint hash, compared with what this validator signed at its number."""
        receiver = self.receiver
        if receiver is None:
            return self.genesis_hash
        block = parse_quantity(receiver.rpc.request("eth_blockNumber", []), "eth_blockNumber")  # one block, both reads
        trusted = receiver.trusted_header_hash(block)
        number = receiver.last_number(block)
        with self._lock:
            self._trusted = trusted
        mine = self.db.lookup(self.context.chain_id, number)
        if mine is not None and mine.header_hash != trusted and self._receiver_conflict is None:
            conflict = {"number": str(number), "accepted_hash": str(trusted), "signed_hash": str(mine.header_hash)}
            with self._lock:
                self._receiver_conflict = {**conflict, "seen_at": round(time.time(), 3)}
            self.metrics.conflict.set(1)
            log.error("watch.conflict", extra={"fields": conflict})
        return trusted

    def status(self) -> dict[str, Any]:
        last = self.db.last_signed(self.context.chain_id)
        with self._lock:
            head, head_at, trusted = self._head, self._head_at, self._trusted
            errors, signatures, refusals = list(self._errors), self._signatures, dict(self._refusals)
            conflict = None if self._receiver_conflict is None else dict(self._receiver_conflict)
        return {
            "name": self.identity.name,
            "public_key": [str(c) for c in self.identity.public_key],
            "rootchain": {
                "chain_id": str(self.context.chain_id),
                "head": None if head is None else str(head),
                "head_seen_at": head_at,
                "rpc": self.rootchain.rpc.node_in_use,
                "confirmations": self.context.rules.confirmations,
            },
            "child": None
            if self.receiver is None
            else {
                "chain_id": str(self.receiver.rpc.chain_id),
                "rpc": self.receiver.rpc.node_in_use,
                "receiver": self.receiver.receiver,
                "trusted_header_hash": None if trusted is None else str(trusted),
            },
            "genesis_hash": str(self.genesis_hash),
            "checkpoints": self._checkpoint_status(),
            "last_signed": None
            if last is None
            else {"chain_id": str(last.chain_id), "number": str(last.number), "header_hash": str(last.header_hash)},
            "conflict": conflict,
            "evidence_watcher": None if self.watcher_status is None else _watcher_summary(self.watcher_status()),
            "signatures": signatures,
            "refusals": refusals,
            "errors": errors,
            "uptime_seconds": round(time.time() - self.started_at, 3),
        }

    def _checkpoint_status(self) -> dict[str, Any] | None:
        duty = self.checkpoints
        if duty is None:
            return None
        last = self.db.last_signed(duty.context.chain_id)
        return {
            "chain_id": str(duty.context.chain_id),
            "rpc": duty.source.rpc.node_in_use,
            "confirmations": duty.context.rules.confirmations,
            "last_signed": None if last is None else {"number": str(last.number), "hash": str(last.header_hash)},
        }

    # --- signing ------------------------------------------------------------------------------

    def sign(self, request: SignRequest) -> SignResponse:
        """A signature on the proposal if every check passes (recorded first); SigningRefused otherwise."""
        self.require_mode(aggregate=False)
        approved = self._approve_guarded(request)
        signature = sign_poseidon(self.identity.private_key, approved.signing_message)
        return SignResponse(
            signature=signature, signing_message=approved.signing_message, header_hash=approved.header_hash
        )

    def commit_nonce(self, request: SignRequest) -> NonceResponse:
        """Round one of the aggregate mode: the checks and the record of `sign`, then a fresh nonce
        kept in memory for round two (each call draws another; a repeat of a recorded proposal too)."""
        self.require_mode(aggregate=True)
        self._aggregate_set(request.proposal)  # a set it could not sign under is refused before the record
        approved = self._approve_guarded(request)
        session, commitment = self.nonces.open(approved.proposal, approved.signing_message, approved.header_hash)
        return NonceResponse(session, commitment, approved.signing_message, approved.header_hash)

    def sign_round_two(self, request: PartialRequest) -> int:
        """Round two: this validator's partial signature in the session round one opened, whose
        proposal it checked and recorded; the session's nonce is spent whatever the outcome."""
        self.require_mode(aggregate=True)
        try:
            session = self.nonces.take(request.session)
        except UnknownSession as exc:
            raise SigningRefused(RefusalCode.UNKNOWN_SESSION, str(exc)) from exc
        proposal = session.proposal
        aggregate_set = self._aggregate_set(proposal)
        recorded = self.db.lookup(proposal.chain_id, proposal.number)
        if recorded is None or recorded.header_hash != session.header_hash:
            raise SigningRefused(RefusalCode.INTERNAL_ERROR, "the session's proposal is not the one recorded")
        keys = [v.public_key for v in aggregate_set.validator_set.validators]
        slot = keys.index(self.identity.public_key) if self.identity.public_key in keys else None
        if slot is None:
            raise SigningRefused(RefusalCode.INTERNAL_ERROR, "this validator's key is not in the configured set")
        if request.commitments.get(slot) != session.nonce.commitment:
            raise SigningRefused(
                RefusalCode.MALFORMED_REQUEST, f"the commitments do not list this validator's nonce at slot {slot}"
            )
        try:
            partial = sign_partial(
                self.identity.private_key, session.nonce, session.signing_message, aggregate_set, request.commitments
            )
        except (ModelError, SignatureError) as exc:
            raise SigningRefused(RefusalCode.MALFORMED_REQUEST, f"no signing session: {exc}") from exc
        with self._lock:
            self._signatures += 1
        self.metrics.signatures.inc()
        log.info(
            "sign.partial",
            extra={
                "fields": {
                    "kind": type(proposal).__name__.lower(),
                    "number": proposal.number,
                    "header_hash": str(session.header_hash),
                    "participants": len(request.commitments),
                }
            },
        )
        return partial

    def slot_count(self) -> int:
        """The signing set's slots V (round two's commitments are by slot)."""
        sets = self.aggregate_sets or {}
        return max((s.validator_set.size for s in sets.values()), default=1)

    def require_mode(self, *, aggregate: bool) -> None:
        """SigningRefused(wrong_quorum_mode) unless this network signs in the given mode."""
        if (self.aggregate_sets is not None) != aggregate:
            mine = "one aggregate signature (POST /nonces, /partial)" if self.aggregate_sets else "a signature each"
            raise SigningRefused(
                RefusalCode.WRONG_QUORUM_MODE, f"this network's preset signs in the other quorum mode: {mine}"
            )

    def _aggregate_set(self, proposal: Signed) -> AggregateSet:
        sets = self.aggregate_sets or {}
        purpose = signing_purpose_of(proposal)
        aggregate_set = sets.get(purpose)
        if aggregate_set is None:
            raise SigningRefused(RefusalCode.WRONG_CHAIN, "this validator has no set for this kind of proposal")
        if self._aggregate_set_hashes[purpose] != proposal.validator_set_hash:
            raise SigningRefused(
                RefusalCode.VALIDATOR_SET_MISMATCH, "the proposal is signed by another set than the configured one"
            )
        return aggregate_set

    def _approve_guarded(self, request: SignRequest) -> _Approved:
        """_approve, with a node's failure as the refusal that says "ask again later"."""
        try:
            approved = self._approve(request)
        except (RpcUnavailable, RpcAnswerError) as exc:
            self._note_error("sign", str(exc))
            raise SigningRefused(RefusalCode.RPC_UNAVAILABLE, str(exc)) from exc
        except RootchainInconsistent as exc:
            self._note_error("sign", str(exc))
            raise SigningRefused(RefusalCode.ROOTCHAIN_INCONSISTENT, str(exc)) from exc
        if self.aggregate_sets is None:  # round two counts the aggregate mode's signatures
            with self._lock:
                self._signatures += 1
            self.metrics.signatures.inc()
        return approved

    def _duty(self, proposal: Signed) -> _Duty:
        """What signing `proposal` rests on: a header's rootchain and receiver, or a checkpoint's child chain."""
        if isinstance(proposal, Header):
            return _Duty(self.context, self.genesis_hash, self.rootchain, self._trusted_hash)
        duty = self.checkpoints
        if duty is None:
            raise SigningRefused(
                RefusalCode.WRONG_CHAIN, "this validator signs no checkpoints (no [child] l2_state_sender)"
            )
        genesis_hash = compute_signed_hash(duty.genesis)
        return _Duty(duty.context, genesis_hash, duty.source, duty.trusted or (lambda: genesis_hash))

    def _approve(self, request: SignRequest) -> _Approved:
        proposal, parent = request.proposal, request.parent
        duty = self._duty(proposal)
        check_request(request, duty.context)
        header_hash = compute_signed_hash(proposal)
        existing = self.db.lookup(proposal.chain_id, proposal.number)
        if existing is not None:
            return self._repeat(proposal, header_hash, existing)

        parent_hash = proposal.parent_hash  # check_request made it the parent's hash
        last = self.db.last_signed(proposal.chain_id)
        last_hash = None if last is None else last.header_hash
        # The verifier contract is asked only when the parent is not the item signed last.
        trusted = None if parent_hash == last_hash else duty.trusted()
        rests_on_contract = parent_hash == trusted
        if not is_parent_accepted(parent_hash, last_signed=last_hash, trusted=trusted):
            # A header the receiver accepted before its checkpoint: what evidence against a fork after
            # it is made on (docs/PROTOCOL.md section 9). One header per number keeps this safe.
            rests_on_contract = isinstance(parent, Header) and self._accepted_by_receiver(parent)
            if not rests_on_contract:
                raise SigningRefused(
                    RefusalCode.UNKNOWN_PARENT,
                    "the parent is neither the one this validator signed last nor one the verifier contract accepted",
                )

        head = duty.source.head()
        if duty.source is self.rootchain:
            self._saw_head(head)
        check_confirmations(request, head, duty.context.rules)
        view = duty.source.read_range(parent.number, proposal.number)
        next_set_hash = duty.context.next_set(proposal, parent)
        check_against_node(request, head=head, view=view, rules=duty.context.rules, next_set_hash=next_set_hash)

        signing_message = compute_signing_message(proposal)
        entry = SignedHeader(proposal.chain_id, proposal.number, header_hash, signing_message)
        try:
            # Committed before the signature exists outside this function; the parent rule is
            # re-checked inside the same transaction when it rested on "signed last".
            new = self.db.record(entry, require_last=None if rests_on_contract else parent_hash)
        except AlreadySignedOther as exc:
            raise self._conflict(exc.existing) from exc
        except NotLastSigned as exc:
            raise SigningRefused(RefusalCode.UNKNOWN_PARENT, f"another header was signed meanwhile: {exc}") from exc
        if new and isinstance(proposal, Header):
            self.metrics.last_signed_number.set(max(proposal.number, last.number if last else 0))
        log.info(
            "sign.signed",
            extra={
                "fields": {
                    "kind": type(proposal).__name__.lower(),
                    "number": proposal.number,
                    "header_hash": str(header_hash),
                    "events_in_range": len(view.events),
                }
            },
        )
        return _Approved(proposal, header_hash, signing_message)

    def _trusted_hash(self) -> int:
        return self._watch_receiver()

    def _accepted_by_receiver(self, parent: Header) -> bool:
        if self.receiver is None:
            return False
        root = 0 if compute_header_hash(parent) == self.genesis_hash else parent.event_root  # the genesis: root 0
        return self.receiver.is_accepted(compute_header_hash(parent), parent.number, root)

    def _repeat(self, proposal: Signed, header_hash: int, existing: SignedHeader) -> _Approved:
        if existing.header_hash != header_hash:
            raise self._conflict(existing)
        signing_message = compute_signing_message(proposal)
        if signing_message != existing.signing_message:
            raise SigningRefused(RefusalCode.INTERNAL_ERROR, "the recorded signing message is not this header's")
        # Deterministic EdDSA gives the same signature as the first time, nothing new revealed; the
        # aggregate mode draws a fresh nonce, as a session on one message with new nonces reveals nothing.
        log.info("sign.repeated", extra={"fields": {"number": proposal.number, "header_hash": str(header_hash)}})
        return _Approved(proposal, header_hash, signing_message)

    @staticmethod
    def _conflict(existing: SignedHeader) -> SigningRefused:
        return SigningRefused(
            RefusalCode.ALREADY_SIGNED_OTHER,
            f"header {existing.header_hash} is signed at number {existing.number}; no other header is signed there",
        )


def _watcher_summary(status: dict[str, Any]) -> dict[str, Any]:
    keys = ("account", "action", "frozen", "conflict", "last_error")
    return {key: status.get(key) for key in keys}
