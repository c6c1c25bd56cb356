"""The relayer's loop: observe both chains, reconcile the store with them, take the one next step.

    observe (chain.py) -> reconcile (the store follows the receiver) -> plan (plan.py) -> act

Acting on a ProposeHeader: read the range consistently, derive the header, record it, collect a
quorum of verified signatures (signing.py; stored as they arrive), prove the first batch with the
header (StateSync; HeaderUpdate for the empty header of a quiet window) in a bounded worker
(proving.py), check the proof with the Python light client, and submit it (submit.py): syncState,
or executeStateSync when someone else's submitHeader got the header in first. Acting on an
ExecuteEvents: prove the batch (EventInclusion, or reuse a StateSync proof of that header and
batch), check, executeEvents.

Every step is recorded before and after it happens, so a restart (kill -9 included) resumes
instead of repeating: stored signatures are reused, a published proof is adopted, a transaction
recorded before it was broadcast is looked up by its hash. Whatever the store says, the receiver
decides: a batch whose ids the receiver has executed is done, by whichever transaction; a
proposal whose parent is no longer the checkpoint is superseded. Another relayer finishing the
same work first is therefore a lost race, reconciled and counted, not an error.

Errors are retried for ever with a bounded exponential backoff (RPC outages, validators down,
a proof that failed); only configuration errors stop the relayer (ConfigError: a receiver that
does not fit the configured preset).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from prover.farm import ProofFarm
from prover.inputs import (
    build_event_inclusion_inputs,
    build_header_update_inputs,
    build_state_sync_inputs,
    event_shape,
)
from prover.witness import CircuitInputs
from statesync.eddsa import Signature
from statesync.errors import ZkStateSyncError
from statesync.model import AggregateCommit, AnyCommit, Header, StateSyncEvent, compute_header_hash
from statesync.proposal import state_sync_events
from verifier.light_client import (
    DAY,
    ClientRails,
    LightClientError,
    LightClientState,
    apply_events_proof,
    apply_header_proof,
    apply_state_sync_proof,
    validate_evidence,
)
from verifier.signals import EventSignals, HeaderSignals, StateSyncSignals

from ..chain.solc import compile_directory
from ..chain.stack import encode_proof_argument, event_argument
from ..config import (
    ConfigError,
    build_aggregate_sets,
    build_checkpoint_rules,
    build_proposal_rules,
    build_validator_set,
    compute_configured_set_hash,
)
from ..proving import CheckedProof, ProofCheckError
from ..receiver import CheckpointManager, read_uint_getter
from ..rootchain import L2_STATE_SYNCED, RootchainReader
from ..rpc import FailoverRpc, RpcError
from .aggregating import AggregateCollector
from .chain import ChainObserver, NetworkFacts, Receiver
from .checkpoints import JOURNAL_NAME, CheckpointJournal, CheckpointRelay
from .metrics import RelayerMetrics
from .plan import (
    Action,
    ChainView,
    ExecuteEvents,
    ProposeHeader,
    SubmitEvidence,
    Wait,
    build_proposal,
    measure_lag,
    plan_next_action,
    select_batch,
)
from .proving import ProofRunner, ProvingStopped, is_published, prune_finished_proofs, remove_leftovers
from .settings import RelayerConfig
from .signing import SignatureCollector, SigningError, ValidatorEndpoint, build_commit
from .store import (
    FINISHED_BATCHES,
    OPEN_BATCHES,
    OPEN_TRANSACTIONS,
    BatchKey,
    BatchRecord,
    BatchStatus,
    ProposalStatus,
    RelayerStore,
    TxStatus,
)
from .submit import (
    SubmissionDropped,
    SubmissionPending,
    SubmissionReverted,
    TransactionSender,
    TxReceipt,
    event_ids,
)

STATE_SYNC_RESULT_TOPIC: Final = keccak(text="StateSyncResult(uint256,bool,bytes)")
HEADER_UPDATE_GAS: Final = 600_000
CONTRACT_LIKE_RAILS: Final = ClientRails(max_clock_drift=DAY)
EVIDENCE_GAS: Final = 600_000  # the verifier's 300k and three accepted-header lookups
BATCH_BASE_GAS: Final = 600_000  # the verifier's 300k, calldata, the commitment, bookkeeping
PER_EVENT_GAS: Final = 60_000  # besides the stipend: the call's overhead, the result log, storage
MAX_GAS: Final = 30_000_000
FIRST_BACKOFF: Final = 0.5
# Receiver errors that mean "someone else moved the receiver first", when the chain confirms it.
RACE_REASONS: Final = frozenset(
    {
        "ZkStateReceiver__NumberNotRising",
        "ZkStateReceiver__UnexpectedId",
        "ZkStateReceiver__InvalidProof",
        "ZkStateReceiver__UnknownHeader",
    }
)

log = logging.getLogger("zkstatesync.relayer")


class RelayerError(ZkStateSyncError):
    """A step could not be completed (the message says which and why); the loop retries it."""


class RaceLost(ZkStateSyncError):
    """The receiver moved past this work meanwhile (another relayer's transaction)."""


def compute_batch_gas(events: int, receiver_gas: int) -> int:
    """Enough gas that every receiver call gets its whole stipend (the contract reverts otherwise)."""
    return min(BATCH_BASE_GAS + events * (receiver_gas * 64 // 63 + PER_EVENT_GAS), MAX_GAS)


@dataclass(frozen=True)
class Proven:
    batch: BatchRecord
    checked: CheckedProof


PROVE_AHEAD: Final = 16  # batches of one header proven at once on the farm


def _key_fields(key: BatchKey) -> dict[str, int | str]:
    return {
        "circuit": key.circuit,
        "header_hash": key.header_hash,
        "trusted_hash": key.trusted_hash,
        "first_id": key.first_id,
        "event_count": key.event_count,
    }


class Relayer:
    def __init__(
        self,
        config: RelayerConfig,
        *,
        account: LocalAccount,
        store: RelayerStore,
        metrics: RelayerMetrics,
        stopping: threading.Event,
        root_account: LocalAccount | None = None,
    ) -> None:
        network, node = config.network, config.node
        if network.genesis is None or network.rootchain.state_sender is None or config.child.receiver is None:
            raise RelayerError("the network lacks its genesis, state_sender or receiver (load_relayer_config checks)")
        self.config = config
        self.store = store
        self.metrics = metrics
        self.stopping = stopping
        self.genesis = network.genesis
        self.rules = build_proposal_rules(network)
        self.validator_set = build_validator_set(network)
        self.set_hash = compute_configured_set_hash(network)
        self.preset = network.circuits.preset
        self.shape = event_shape(self.preset)
        self.batch_size = network.circuits.batch_size
        root, child = network.rootchain, config.child
        root_rpc = FailoverRpc("rootchain", root.rpc, root.chain_id, root.rpc_timeout, on_error=self._rpc_error)
        child_rpc = FailoverRpc("child", child.rpc, child.chain_id, child.rpc_timeout, on_error=self._rpc_error)
        abi = compile_directory().get("ZkStateReceiver").abi
        self.rootchain = RootchainReader(root_rpc, network.rootchain.state_sender, node.log_chunk)
        self.receiver = Receiver(child_rpc, config.child.receiver, abi, node.log_chunk)
        # The sample token bridge's queues, when the network file records it (a metric, nothing more).
        record = network.deployment
        self.queues = (
            None
            if record is None
            else ((child_rpc, record.child_token, "ChildToken"), (root_rpc, record.root_bridge, "RootBridge"))
        )
        facts = NetworkFacts(
            genesis=self.genesis,
            rules=self.rules,
            set_hashes=(self.genesis.next_validator_set_hash, self.set_hash),
            next_set_hash=self.set_hash,
            receiver_from_block=node.receiver_from_block,
        )
        self.observer = ChainObserver(
            self.rootchain, self.receiver, facts, lookup=store.header, remember=lambda h: store.save_header(h, "chain")
        )
        for validator in network.validators:
            if not validator.url.startswith("http://"):
                raise ConfigError(
                    f"validator {validator.name}'s url {validator.url} is not http:// (the API is loopback HTTP)"
                )
        self.endpoints = tuple(
            ValidatorEndpoint(slot, v.name, v.url, v.power, v.public_key) for slot, v in enumerate(network.validators)
        )
        self.collector = SignatureCollector(
            self.endpoints,
            request_timeout=node.sign_timeout,
            deadline=node.sign_deadline,
            attempts=node.sign_attempts,
            stopping=stopping,
        )
        # The aggregate quorum mode (a preset with Q = 1): two rounds, one signature (aggregating.py).
        self.aggregator = (
            AggregateCollector(
                self.endpoints,
                build_aggregate_sets(network),
                request_timeout=node.sign_timeout,
                deadline=node.sign_deadline,
                attempts=node.sign_attempts,
                stopping=stopping,
            )
            if network.circuits.aggregate
            else None
        )
        self.prover = ProofRunner(
            self.preset,
            keys=node.keys,
            timeout=node.prove_timeout,
            attempts=node.prove_attempts,
            should_stop=stopping.is_set,
            backend=node.prove_backend,
        )
        self._farm: ProofFarm | None = None
        self.sender = TransactionSender(
            child_rpc,
            account,
            store,
            abis=[abi],
            receipt_timeout=node.receipt_timeout,
            should_stop=stopping.is_set,
        )
        self.proofs_dir = node.data_dir / "proofs"
        self.checkpoints = (
            None if root_account is None else self._build_checkpoint_relay(config, root_rpc, root_account)
        )
        if self.checkpoints is None and config.child.l2_state_sender is not None and not node.evidence_only:
            log.warning(
                "relayer.no_checkpoints",
                extra={
                    "fields": {
                        "reason": "the network has an exit direction but [relayer] root_private_key_env is not set: "
                        "this relayer relays no checkpoints, so exits wait for another relayer"
                    }
                },
            )
        self.receiver_gas = 0
        self._conflicts_seen: set[int] = set()
        self.started_at = time.time()
        self._last_action = ""
        self._status: dict[str, Any] = {}
        self._status_lock = threading.Lock()

    def _build_checkpoint_relay(
        self, config: RelayerConfig, root_rpc: FailoverRpc, root_account: LocalAccount
    ) -> CheckpointRelay:
        """The exit direction, for a network that configures it (a root account alone is refused)."""
        network, node, child = config.network, config.node, config.child
        manager, genesis = network.rootchain.checkpoint_manager, network.checkpoint_genesis
        if child.l2_state_sender is None or manager is None or genesis is None:
            raise ConfigError(
                f"{config.network_path}: relaying checkpoints needs [child] l2_state_sender, "
                "[rootchain] checkpoint_manager and [checkpoint_genesis]"
            )
        child_rpc = FailoverRpc("child", child.rpc, child.chain_id, child.rpc_timeout, on_error=self._rpc_error)
        abi = compile_directory().get("ZkCheckpointManager").abi
        node.data_dir.mkdir(parents=True, exist_ok=True)
        journal = CheckpointJournal(node.data_dir / JOURNAL_NAME)
        return CheckpointRelay(
            genesis=genesis,
            rules=build_checkpoint_rules(network),
            validator_set=self.validator_set,
            set_hash=self.set_hash,
            child=RootchainReader(child_rpc, child.l2_state_sender, node.log_chunk, kind=L2_STATE_SYNCED),
            manager=CheckpointManager(root_rpc, manager, node.log_chunk),
            manager_abi=abi,
            manager_from_block=node.checkpoints_from_block,
            collector=self.collector,
            aggregator=self.aggregator,
            prover=self.prover,
            sender=TransactionSender(
                root_rpc,
                root_account,
                journal,
                abis=[abi],
                receipt_timeout=node.receipt_timeout,
                should_stop=self.stopping.is_set,
            ),
            journal=journal,
            proofs_dir=self.proofs_dir,
        )

    # --- the loop ------------------------------------------------------------------------------

    def check_deployment(self) -> None:
        """The receiver's parameters against the configuration; RelayerError on a mismatch."""
        batch_size = int(self.receiver.call("batchSize"))
        if batch_size != self.batch_size:
            raise ConfigError(
                f"the receiver executes batches of {batch_size}, preset {self.preset!r} proves {self.batch_size}"
            )
        self.receiver_gas = int(self.receiver.call("receiverGas"))
        remove_leftovers(self.proofs_dir)
        self.prune_proofs(sweep=True)
        circuits = ["state_sync", "event_inclusion", "header_update"] + (
            [] if self.checkpoints is None else ["checkpoint_update"]
        )
        if self.config.node.evidence_only:
            circuits = ["header_update"]  # evidence is a HeaderUpdate proof
        for circuit in circuits:
            self.prover.prover(circuit)  # compile and keys (cached) before the first proof is needed

    def run(self, max_steps: int | None = None) -> None:
        """Step until stopped (or for max_steps steps); errors are logged and retried with backoff."""
        try:
            self._run(max_steps)
        finally:
            if self._farm is not None:
                self._farm.close()
                self._farm = None

    def _run(self, max_steps: int | None) -> None:
        failures = 0
        steps = 0
        while not self.stopping.is_set() and (max_steps is None or steps < max_steps):
            steps += 1
            try:
                if self.receiver_gas == 0:
                    self.check_deployment()
                progressed = self.step()
                failures = 0
            except ConfigError:
                raise  # waiting cannot fix the configuration
            except ProvingStopped:
                continue
            except RaceLost as exc:
                self.metrics.races_lost.inc()
                log.info("relay.race_lost", extra={"fields": {"reason": str(exc)[:500]}})
                # The next step is ready at once; the short pause only keeps a pathological case from spinning.
                self.stopping.wait(min(self.config.node.poll_interval, 0.5))
                continue
            except Exception as exc:  # a bug or an answer nobody foresaw: logged, and retried like any error
                failures += 1
                expected = isinstance(exc, ZkStateSyncError | OSError)
                pause = min(FIRST_BACKOFF * 2 ** (failures - 1), self.config.node.max_backoff)
                kind = type(exc).__name__
                self.metrics.errors.labels(kind=kind).inc()
                self._note_status(last_error={"at": time.time(), "kind": kind, "message": str(exc)[:1000]})
                log.log(
                    logging.WARNING if expected else logging.ERROR,
                    "relay.step_failed",
                    exc_info=not expected,
                    extra={"fields": {"kind": kind, "error": str(exc)[:2000], "retry_in": pause, "failures": failures}},
                )
                self.stopping.wait(pause)
                continue
            if not progressed:
                self.stopping.wait(self.config.node.poll_interval)

    def step(self) -> bool:
        """One step of each direction; False when neither had anything to do.

        A failing checkpoint step is logged and retried on the next step, never in the way of headers.
        """
        try:
            progressed = self.header_step()
        finally:
            # Whatever the header step did (a pending transaction, a lost race, an error it raises
            # to run()'s backoff), the exit direction takes its own step.
            checkpoints_progressed = self.checkpoint_step()
        return progressed or checkpoints_progressed

    def checkpoint_step(self) -> bool:
        """The exit direction's step; its failures are logged and counted here, never raised."""
        if self.checkpoints is None or self.stopping.is_set():
            return False
        progressed = False
        try:
            progressed = self.checkpoints.step()
        except ProvingStopped:
            return False
        except Exception as exc:  # logged like run()'s errors, but without holding up headers
            kind = type(exc).__name__
            self.metrics.errors.labels(kind=kind).inc()
            self._note_status(last_checkpoint_error={"at": time.time(), "kind": kind, "message": str(exc)[:1000]})
            expected = isinstance(exc, ZkStateSyncError | OSError)
            log.log(
                logging.WARNING if expected else logging.ERROR,
                "checkpoint.step_failed",
                exc_info=not expected,
                extra={"fields": {"kind": kind, "error": str(exc)[:2000]}},
            )
        self._note_status(checkpoints=dict(self.checkpoints.status))
        return progressed

    def header_step(self) -> bool:
        """One observation, reconciliation and action; False when there was nothing to do."""
        view = self.observer.observe()
        self.reconcile(view)
        self._observe_metrics(view)
        action = plan_next_action(view, self.rules, self.batch_size, self._in_flight(view))
        if self.config.node.evidence_only and not isinstance(action, SubmitEvidence):
            action = Wait("watching for equivocation (evidence_only): no conflict")
        self._log_action(action)
        if isinstance(action, Wait):
            return False
        if isinstance(action, ExecuteEvents):
            self.execute_events(view, action)
        elif isinstance(action, SubmitEvidence):
            self.submit_evidence(view, action)
        else:
            self.propose(view, action)
        return True

    def _in_flight(self, view: ChainView) -> list[Header]:
        headers = []
        for record in self.store.open_proposals():
            if record.parent_hash == view.receiver.trusted_hash:
                header = self.store.header(record.header_hash)
                if header is not None:
                    headers.append(header)
        return headers

    # --- reconciliation ------------------------------------------------------------------------

    def reconcile(self, view: ChainView) -> None:
        """Make the store agree with the receiver (the source of truth); see the module docstring."""
        accepted = {a.header_hash for a in view.accepted} | {compute_header_hash(self.genesis)}
        # Under a conflict the evidence links to the last header the rootchain gives: its proof is live.
        trusted = view.receiver.trusted_hash if view.conflict is None else compute_header_hash(view.trusted)
        last_id = view.receiver.last_executed_id
        for proposal in self.store.open_proposals():
            if proposal.header_hash in accepted:
                self.store.set_proposal_status(proposal.header_hash, ProposalStatus.ACCEPTED)
            elif proposal.parent_hash != trusted:
                self.store.set_proposal_status(
                    proposal.header_hash, ProposalStatus.SUPERSEDED, "the receiver moved to another header"
                )
        for record in self.store.transactions(statuses=OPEN_TRANSACTIONS):
            try:
                receipt = self.sender.resolve(record)
            except SubmissionDropped as exc:
                log.warning("reconcile.transaction_dropped", extra={"fields": {"reason": str(exc)}})
                continue
            if receipt is None:
                raise SubmissionPending(f"0x{record.tx_hash.hex()} ({record.method}) is still pending")
            status = TxStatus.SUCCEEDED if receipt.success else TxStatus.REVERTED
            self.store.set_transaction_status(record.tx_hash, status, block=receipt.block, gas_used=receipt.gas_used)
            log.info(
                "reconcile.transaction",
                extra={"fields": {"tx": "0x" + record.tx_hash.hex(), "status": status.value, "block": receipt.block}},
            )
        for batch in self.store.find_batches(OPEN_BATCHES):
            self._reconcile_batch(batch, accepted, trusted, last_id)

    def _reconcile_batch(self, batch: BatchRecord, accepted: set[int], trusted: int, last_id: int) -> None:
        key = batch.key
        transactions = self.store.transactions(batch_id=batch.id)
        done = key.last_id <= last_id if key.event_count else key.header_hash in accepted
        if done:
            ours = any(t.status == TxStatus.SUCCEEDED for t in transactions)
            status = BatchStatus.EXECUTED if ours else BatchStatus.EXECUTED_ELSEWHERE
            self.store.set_batch_status(
                batch.id, status, "" if ours else "the receiver executed it by another transaction"
            )
            if not ours:
                self.metrics.races_lost.inc()
            return
        if key.event_count and key.first_id <= last_id:
            self.store.set_batch_status(batch.id, BatchStatus.OBSOLETE, "some of its ids were executed meanwhile")
            return
        if key.circuit != "event_inclusion" and key.header_hash not in accepted and key.trusted_hash != trusted:
            self.store.set_batch_status(batch.id, BatchStatus.OBSOLETE, "the checkpoint it links to is gone")
            return
        if batch.status == BatchStatus.PROVING:
            # No proof runs while reconciling (one thread): this one was interrupted. Adopt it if published.
            if is_published(batch.proof_dir):
                try:
                    self.prover.load_checked(key.circuit, batch.proof_dir)
                except ProofCheckError as exc:
                    self.store.set_batch_status(batch.id, BatchStatus.FAILED, str(exc))
                    return
                self.store.set_batch_status(batch.id, BatchStatus.PROVEN, "adopted after a restart")
                log.info("reconcile.proof_adopted", extra={"fields": {"batch": batch.id, "dir": str(batch.proof_dir)}})
            else:
                self.store.set_batch_status(batch.id, BatchStatus.FAILED, "interrupted before its proof was published")
            return
        if batch.status == BatchStatus.SENT and not any(t.status in OPEN_TRANSACTIONS for t in transactions):
            # Its transaction reverted or was dropped, and the receiver has not run it: the proof may serve again.
            self.store.set_batch_status(batch.id, BatchStatus.PROVEN, "its transaction did not execute it")

    # --- proposals -----------------------------------------------------------------------------

    def propose(self, view: ChainView, action: ProposeHeader) -> None:
        parent = action.parent
        found = self.rootchain.read_range(parent.number, action.end)
        events = state_sync_events([p.event for p in found.events])
        if events != action.events:
            raise RelayerError(f"the rootchain's range ({parent.number}, {action.end}] changed between two reads")
        header = build_proposal(parent, found.end, events, self.rules, self.set_hash)
        header_hash = compute_header_hash(header)
        for record in self.store.open_proposals():
            if record.number == header.number and record.header_hash != header_hash:
                self.store.set_proposal_status(record.header_hash, ProposalStatus.ABANDONED, "block changed (reorg)")
        batch = action.batch
        self.store.record_proposal(header, batch[0].id if batch else 0, len(events))
        log.info(
            "relay.propose",
            extra={
                "fields": {
                    "number": header.number,
                    "parent": parent.number,
                    "events": len(events),
                    "batch": [e.id for e in batch],
                    "header_hash": str(header_hash),
                    "resumed": action.resumed,
                }
            },
        )
        commit = self.sign(header, parent)
        trusted_hash = compute_header_hash(parent)
        if batch:
            key = BatchKey("state_sync", header_hash, header.number, trusted_hash, batch[0].id, len(batch))
            inputs: CircuitInputs = build_state_sync_inputs(
                shape=self.shape,
                trusted=parent,
                commit=commit,
                validator_set=self.validator_set,
                header_events=events,
                batch=batch,
            )
        else:
            key = BatchKey("header_update", header_hash, header.number, trusted_hash, 0, 0)
            inputs = build_header_update_inputs(trusted=parent, commit=commit, validator_set=self.validator_set)
        proven = self.ensure_proof(key, inputs)
        self.metrics.last_header_proven.set(header.number)
        self.check_with_light_client(view, proven, header, batch)
        self.submit_header(view, proven, header, batch)

    def sign(self, header: Header, parent: Header) -> AnyCommit:
        """A quorum's signatures on `header`: the ones stored are reused, new ones are stored as they come."""
        if self.aggregator is not None:
            return self._sign_aggregate(header, parent)
        header_hash = compute_header_hash(header)

        def keep(endpoint: ValidatorEndpoint, signature: Signature) -> None:
            self.store.add_signature(header_hash, endpoint.slot, endpoint.name, signature)
            self.metrics.signatures.labels(validator=endpoint.name, outcome="signed").inc()

        try:
            signed = self.collector.collect(header, parent, self.store.signatures(header_hash), keep)
        except SigningError as exc:
            self._signing_failed(header_hash, exc)
            raise
        self._count_refused(signed.refusals)
        self.store.set_proposal_status(header_hash, ProposalStatus.SIGNED)
        log.info(
            "relay.signed",
            extra={
                "fields": {
                    "number": header.number,
                    "signers": sorted(e.name for e in self.endpoints if e.slot in signed.signatures),
                    "refusals": dict(signed.refusals),
                }
            },
        )
        return build_commit(header, signed.signatures, len(self.endpoints))

    def _sign_aggregate(self, header: Header, parent: Header) -> AggregateCommit:
        header_hash = compute_header_hash(header)
        slots = self.validator_set.size
        stored = self.store.aggregate(header_hash)
        if stored is not None:
            signers, signature = stored
            return AggregateCommit(header, tuple(slot in signers for slot in range(slots)), signature)
        aggregator = self.aggregator
        if aggregator is None:  # pragma: no cover - sign() chose this path
            raise RelayerError("this network signs one signature per validator")
        try:
            signed = aggregator.collect(header, parent)
        except SigningError as exc:
            self._signing_failed(header_hash, exc)
            raise
        self.store.save_aggregate(header_hash, signed.signers, signed.commit.signature)
        for name in signed.signers.values():
            self.metrics.signatures.labels(validator=name, outcome="signed").inc()
        self._count_refused(signed.refusals)
        self.store.set_proposal_status(header_hash, ProposalStatus.SIGNED)
        log.info(
            "relay.signed",
            extra={
                "fields": {
                    "number": header.number,
                    "signers": sorted(signed.signers.values()),
                    "refusals": dict(signed.refusals),
                    "sessions": signed.sessions,
                }
            },
        )
        return signed.commit

    def _count_refused(self, refusals: Mapping[str, str]) -> None:
        for name in refusals:
            self.metrics.signatures.labels(validator=name, outcome="refused").inc()

    def _signing_failed(self, header_hash: int, exc: SigningError) -> None:
        """Both quorum modes' failed collection: refusals counted, a proposal no quorum can sign abandoned."""
        self._count_refused(exc.refusals)
        if exc.final:
            self.store.set_proposal_status(header_hash, ProposalStatus.ABANDONED, str(exc))

    # --- evidence -----------------------------------------------------------------------------

    def submit_evidence(self, view: ChainView, action: SubmitEvidence) -> None:
        """Freeze a receiver that accepted a header the rootchain does not give (docs/PROTOCOL.md section 9).

        The canonical header at the same number, after the last accepted header the rootchain
        gives, is derived, signed by the validators (an honest one never signed the other) and
        proven; the light client checks it is evidence by the contract's rule; freezeWithHeader.
        """
        conflict = action.conflict
        linked, accepted = conflict.linked, conflict.accepted
        if accepted.header_hash not in self._conflicts_seen:  # counted once, however often it is retried
            self._conflicts_seen.add(accepted.header_hash)
            self.metrics.conflicts.inc()
        found = self.rootchain.read_range(linked.number, accepted.number)
        events = state_sync_events([p.event for p in found.events])
        try:
            header = build_proposal(linked, found.end, events, self.rules, self.set_hash)
        except ZkStateSyncError as exc:
            raise RelayerError(
                f"the receiver accepted header {accepted.number}, which the rootchain does not give "
                f"({conflict.reason}), and no single header after {linked.number} can prove it: {exc}"
            ) from exc
        header_hash = compute_header_hash(header)
        if header_hash == accepted.header_hash:
            raise RelayerError(f"header {accepted.number} is the canonical one after all: nothing to freeze")
        log.warning(
            "relay.evidence",
            extra={
                "fields": {
                    "number": accepted.number,
                    "accepted_hash": str(accepted.header_hash),
                    "canonical_hash": str(header_hash),
                    "linked": linked.number,
                    "reason": conflict.reason,
                }
            },
        )
        self.store.record_proposal(header, 0, len(events))
        commit = self.sign(header, linked)
        key = BatchKey("header_update", header_hash, header.number, compute_header_hash(linked), 0, 0)
        inputs = build_header_update_inputs(trusted=linked, commit=commit, validator_set=self.validator_set)
        proven = self.ensure_proof(key, inputs)
        checked = proven.checked
        signals = checked.signals
        if not isinstance(signals, HeaderSignals):
            raise RelayerError(f"a {checked.key.circuit} proof is no header evidence")
        client = LightClientState(
            checkpoint=view.trusted,
            proven_roots={a.header_hash: (a.number, a.event_root) for a in view.accepted},
            last_executed_id=view.receiver.last_executed_id,
            genesis=self.genesis,
        )
        try:
            validate_evidence(client, checked.key, checked.proof, signals)
        except LightClientError as exc:
            self.store.set_batch_status(proven.batch.id, BatchStatus.OBSOLETE, f"no evidence: {exc}")
            raise
        data = self.receiver.encode(
            "freezeWithHeader",
            encode_proof_argument(checked.proof, signals.values()),
            (header_hash, header.number, header.event_root),
            (accepted.header_hash, accepted.number, accepted.event_root),
            (compute_header_hash(linked), linked.number, 0 if linked == self.genesis else linked.event_root),
        )
        try:
            receipt = self.sender.send(proven.batch.id, "freezeWithHeader", self.receiver.address, data, EVIDENCE_GAS)
        except SubmissionReverted as exc:
            self.metrics.transactions.labels(method="freezeWithHeader", outcome="reverted").inc()
            self.store.set_batch_status(proven.batch.id, BatchStatus.PROVEN, f"freezeWithHeader reverted: {exc.reason}")
            if exc.reason.name == "ZkStateReceiver__Frozen":
                raise RaceLost("the receiver was frozen by another's evidence") from exc
            raise
        self.store.set_batch_status(proven.batch.id, BatchStatus.EXECUTED)
        self.metrics.transactions.labels(method="freezeWithHeader", outcome="succeeded").inc()
        self.metrics.evidence_submitted.inc()
        log.warning(
            "relay.frozen",
            extra={
                "fields": {"number": accepted.number, "tx": "0x" + receipt.tx_hash.hex(), "gas_used": receipt.gas_used}
            },
        )

    # --- proofs --------------------------------------------------------------------------------

    def prune_proofs(self, *, sweep: bool = False) -> None:
        """Keep the newest `keep_proofs` finished batches' proofs on disk (disk use stays bounded)."""
        finished = [b.proof_dir for b in self.store.find_batches(FINISHED_BATCHES)]
        removed = prune_finished_proofs(finished, self.config.node.keep_proofs, sweep=sweep)
        if removed:
            log.info("prove.pruned", extra={"fields": {"directories": removed, "kept": self.config.node.keep_proofs}})

    def ensure_proof(self, key: BatchKey, inputs: CircuitInputs) -> Proven:
        """A checked proof for `key`: a stored one that still verifies, else a new one."""
        reusable = self.reusable_proof(key)
        if reusable is not None:
            return reusable
        name = f"{key.circuit}-{key.number}-{key.first_id}-{secrets.token_hex(4)}"
        batch = self.store.start_batch(key, self.proofs_dir / name)
        log.info(
            "prove.start",
            extra={
                "fields": {"circuit": key.circuit, "number": key.number, "first_id": key.first_id, "batch": batch.id}
            },
        )
        try:
            checked, timing = self.prover.prove(key.circuit, inputs, batch.proof_dir)
        except ProvingStopped:
            self.store.set_batch_status(batch.id, BatchStatus.FAILED, "the relayer stopped")
            raise
        except ZkStateSyncError as exc:
            self.store.set_batch_status(batch.id, BatchStatus.FAILED, str(exc))
            self.metrics.proofs.labels(circuit=key.circuit, outcome="failed").inc()
            raise
        self.store.set_batch_status(batch.id, BatchStatus.PROVEN, seconds=timing.seconds)
        self.metrics.proofs.labels(circuit=key.circuit, outcome="proven").inc()
        self.metrics.proof_seconds.labels(circuit=key.circuit).observe(timing.seconds)
        log.info(
            "prove.done",
            extra={
                "fields": {
                    "circuit": key.circuit,
                    "batch": batch.id,
                    "seconds": round(timing.seconds, 2),
                    "attempts": timing.attempts,
                }
            },
        )
        return Proven(self.store.batch(batch.id) or batch, checked)

    def farm(self) -> ProofFarm:
        if self._farm is None:
            node = self.config.node
            self._farm = ProofFarm(
                scheduler=node.prove_scheduler, workers=max(1, node.prove_workers), backend=node.prove_backend
            )
        return self._farm

    def prove_ahead(self, action: ExecuteEvents) -> None:
        """Prove this batch and the header's next ones at once on the Dask farm (they are independent).

        Each proof is recorded as it arrives, in the batches' order, and the steps that follow find
        theirs proven (reusable_proof) and execute them in order, whatever order they finished in.
        A farm that fails costs nothing but time: the batches it did not prove are proven here.
        """
        header = action.header
        wanted: list[tuple[BatchKey, tuple[StateSyncEvent, ...]]] = []
        batch = action.batch
        while batch and len(wanted) < PROVE_AHEAD:
            key = BatchKey("event_inclusion", header.header_hash, header.number, 0, batch[0].id, len(batch))
            if not self.store.find_batches([BatchStatus.PROVEN], **_key_fields(key)):
                wanted.append((key, batch))
            batch = select_batch(action.header_events, batch[-1].id, self.batch_size)
        if len(wanted) < 2:  # one proof is proven here, without a farm's round trips
            return
        records: list[BatchRecord] = []
        jobs: list[tuple[CircuitInputs, Path]] = []
        for key, events in wanted:
            name = f"{key.circuit}-{key.number}-{key.first_id}-{secrets.token_hex(4)}"
            records.append(self.store.start_batch(key, self.proofs_dir / name))
            inputs = build_event_inclusion_inputs(shape=self.shape, header_events=action.header_events, batch=events)
            jobs.append((inputs, records[-1].proof_dir))
        log.info("prove.farm", extra={"fields": {"number": header.number, "batches": len(jobs)}})
        started, done = time.monotonic(), 0
        try:
            prover = self.prover.prover("event_inclusion")
            for _ in self.farm().iter_results(prover, jobs):
                # Checked where it is used (reusable_proof verifies before it serves), not twice.
                seconds = time.monotonic() - started
                self.store.set_batch_status(records[done].id, BatchStatus.PROVEN, seconds=seconds)
                self.metrics.proofs.labels(circuit="event_inclusion", outcome="proven").inc()
                self.metrics.proof_seconds.labels(circuit="event_inclusion").observe(seconds)
                done += 1
                if self.stopping.is_set():
                    break
        except Exception as exc:  # the farm is an accelerator: whatever it raised, the batch is proven here
            log.warning("prove.farm_failed", extra={"fields": {"error": str(exc)[:1000], "proven": done}})
        finally:
            for record in records[done:]:
                self.store.set_batch_status(record.id, BatchStatus.FAILED, "not proven by the farm")

    def reusable_proof(self, key: BatchKey) -> Proven | None:
        candidates = self.store.find_batches([BatchStatus.PROVEN], **_key_fields(key))
        for batch in candidates:
            try:
                checked = self.prover.load_checked(key.circuit, batch.proof_dir)
            except ProofCheckError as exc:
                self.store.set_batch_status(batch.id, BatchStatus.FAILED, str(exc))
                continue
            log.info("prove.reused", extra={"fields": {"circuit": key.circuit, "batch": batch.id}})
            return Proven(batch, checked)
        return None

    def check_with_light_client(
        self, view: ChainView, proven: Proven, header: Header | None, batch: Sequence[StateSyncEvent]
    ) -> None:
        """The proof against the Python light client holding the receiver's state; a proof it refuses is obsolete."""
        # The receiver keeps its own clock for expiry (the plan waits on an expired one) and checks
        # no drift (PROTOCOL.md section 9): the client's clock starts now, with the widest drift, so
        # that only the rules the contract applies decide here.
        state = LightClientState(
            checkpoint=view.trusted,
            proven_roots={a.header_hash: (a.number, a.event_root) for a in view.accepted},
            last_executed_id=view.receiver.last_executed_id,
            genesis=self.genesis,
            accepted_at=time.time(),
            rails=CONTRACT_LIKE_RAILS,
        )
        checked = proven.checked
        signals = checked.signals
        try:
            if isinstance(signals, StateSyncSignals) and header is not None:
                apply_state_sync_proof(state, checked.key, checked.proof, signals, header, batch)
            elif isinstance(signals, HeaderSignals) and header is not None:
                apply_header_proof(state, checked.key, checked.proof, signals, header)
            elif isinstance(signals, EventSignals):
                apply_events_proof(state, checked.key, checked.proof, signals, batch)
            else:
                raise LightClientError(f"no rule for a {checked.key.circuit} proof here")
        except LightClientError as exc:
            self.store.set_batch_status(proven.batch.id, BatchStatus.OBSOLETE, f"the light client refuses it: {exc}")
            raise

    # --- submission ----------------------------------------------------------------------------

    def submit_header(self, view: ChainView, proven: Proven, header: Header, batch: Sequence[StateSyncEvent]) -> None:
        """syncState or submitHeader; executeStateSync when the header is accepted already."""
        checked = proven.checked
        signals = checked.signals
        argument = encode_proof_argument(checked.proof, signals.values())
        accepted_first = self.receiver.is_accepted(header)
        if isinstance(signals, HeaderSignals):
            if accepted_first:
                self.store.set_batch_status(proven.batch.id, BatchStatus.EXECUTED_ELSEWHERE, "accepted by another")
                raise RaceLost(f"header {header.number} was accepted by another transaction")
            data = self.receiver.encode(
                "submitHeader", argument, signals.header_hash, signals.number, signals.event_root
            )
            self._send(view, proven, "submitHeader", data, HEADER_UPDATE_GAS, ())
            return
        if not isinstance(signals, StateSyncSignals):
            raise RelayerError(f"a {checked.key.circuit} proof cannot carry a header")
        if accepted_first:
            self.execute_state_sync(view, proven, signals, batch)
            return
        data = self.receiver.encode(
            "syncState",
            argument,
            signals.header_hash,
            signals.number,
            signals.event_root,
            [event_argument(e) for e in batch],
        )
        try:
            self._send(view, proven, "syncState", data, compute_batch_gas(len(batch), self.receiver_gas), batch)
        except SubmissionReverted as exc:
            # Lost the header to a submitHeader between the check and the call: its events still run here.
            if exc.reason.name != "ZkStateReceiver__NumberNotRising" or not self.receiver.is_accepted(header):
                raise
            self.execute_state_sync(view, proven, signals, batch)

    def execute_state_sync(
        self, view: ChainView, proven: Proven, signals: StateSyncSignals, batch: Sequence[StateSyncEvent]
    ) -> None:
        argument = encode_proof_argument(proven.checked.proof, signals.values())
        data = self.receiver.encode(
            "executeStateSync",
            argument,
            signals.header_hash,
            signals.number,
            signals.event_root,
            signals.trusted_header_hash,
            [event_argument(e) for e in batch],
        )
        self._send(view, proven, "executeStateSync", data, compute_batch_gas(len(batch), self.receiver_gas), batch)

    def execute_events(self, view: ChainView, action: ExecuteEvents) -> None:
        header, batch = action.header, action.batch
        log.info(
            "relay.execute",
            extra={
                "fields": {"number": header.number, "batch": [e.id for e in batch], "events": len(action.header_events)}
            },
        )
        # A StateSync proof of this header and batch (ours, from before someone else's submitHeader) serves as is.
        for stored in self.store.find_batches(
            [BatchStatus.PROVEN],
            circuit="state_sync",
            header_hash=header.header_hash,
            first_id=batch[0].id,
            event_count=len(batch),
        ):
            full = self.store.header(header.header_hash)
            reused = self.reusable_proof(stored.key)
            if full is not None and reused is not None and isinstance(reused.checked.signals, StateSyncSignals):
                self.check_with_light_client(view, reused, full, batch)
                self.execute_state_sync(view, reused, reused.checked.signals, batch)
                return
        key = BatchKey("event_inclusion", header.header_hash, header.number, 0, batch[0].id, len(batch))
        inputs = build_event_inclusion_inputs(shape=self.shape, header_events=action.header_events, batch=batch)
        if self.config.node.farms_proofs:
            self.prove_ahead(action)
        proven = self.ensure_proof(key, inputs)
        self.check_with_light_client(view, proven, None, batch)
        argument = encode_proof_argument(proven.checked.proof, proven.checked.signals.values())
        data = self.receiver.encode(
            "executeEvents",
            argument,
            header.header_hash,
            header.number,
            header.event_root,
            [event_argument(e) for e in batch],
        )
        self._send(view, proven, "executeEvents", data, compute_batch_gas(len(batch), self.receiver_gas), batch)

    def _send(
        self, view: ChainView, proven: Proven, method: str, data: bytes, gas: int, batch: Sequence[StateSyncEvent]
    ) -> TxReceipt:
        try:
            receipt = self.sender.send(proven.batch.id, method, self.receiver.address, data, gas)
        except SubmissionReverted as exc:
            self.metrics.transactions.labels(method=method, outcome="reverted").inc()
            note = f"{method} reverted: {exc.reason}"
            if method == "syncState" and exc.reason.name == "ZkStateReceiver__NumberNotRising":
                # submit_header runs the same proof through executeStateSync when the header is accepted.
                self.store.set_batch_status(proven.batch.id, BatchStatus.PROVEN, note)
                raise
            now = self.receiver.state(self.receiver.block_number())
            planned = view.receiver
            moved = (now.trusted_hash, now.last_executed_id) != (planned.trusted_hash, planned.last_executed_id)
            if exc.reason.name in RACE_REASONS and moved:
                # Reconciliation files the batch as executed elsewhere or obsolete on the next step.
                self.store.set_batch_status(proven.batch.id, BatchStatus.PROVEN, note)
                raise RaceLost(f"{method}: {exc.reason} (the receiver moved since this step began)") from exc
            # The receiver refuses this proof on a state that did not move: never send it again.
            self.store.set_batch_status(proven.batch.id, BatchStatus.FAILED, note)
            raise
        results = event_ids(receipt.logs, self.receiver.address, STATE_SYNC_RESULT_TOPIC)
        self.store.set_batch_status(proven.batch.id, BatchStatus.EXECUTED)
        self.prune_proofs()
        if proven.batch.key.circuit != "event_inclusion":
            self.store.set_proposal_status(proven.batch.key.header_hash, ProposalStatus.ACCEPTED)
        self.metrics.transactions.labels(method=method, outcome="succeeded").inc()
        self.metrics.events_executed.inc(len(results))
        if [i for i, _ in results] != [e.id for e in batch]:
            log.error("relay.unexpected_results", extra={"fields": {"expected": [e.id for e in batch], "got": results}})
        log.info(
            "relay.executed",
            extra={
                "fields": {
                    "method": method,
                    "tx": "0x" + receipt.tx_hash.hex(),
                    "block": receipt.block,
                    "gas_used": receipt.gas_used,
                    "events": [i for i, _ in results],
                    "failed_receivers": [i for i, ok in results if not ok],
                }
            },
        )
        return receipt

    # --- observability -------------------------------------------------------------------------

    def _rpc_error(self, error: RpcError) -> None:
        self.metrics.rpc_errors.labels(chain=error.chain, node=error.node).inc()

    def _observe_metrics(self, view: ChainView) -> None:
        lag = measure_lag(view)
        seconds = 0.0
        if lag.oldest_block is not None:
            seconds = max(time.time() - self.rootchain.block(lag.oldest_block).timestamp, 0.0)
        m = self.metrics
        m.rootchain_head.set(view.head)
        m.last_header_accepted.set(view.receiver.last_number)
        m.last_executed_id.set(view.receiver.last_executed_id)
        m.pending_events.set(lag.pending_events)
        m.lag_blocks.set(lag.blocks)
        m.lag_seconds.set(seconds)
        m.account_balance.set(self.sender.balance())
        receiver = view.receiver
        m.receiver_frozen.set(int(receiver.frozen))
        m.receiver_expired.set(int(receiver.expired))
        m.receiver_paused.set(int(receiver.paused))
        conflict = view.conflict
        queued = self._queued_value()
        if queued is not None:
            m.queued_deposits.set(queued[0])
            m.queued_withdrawals.set(queued[1])
        self._note_status(
            queued_value=None if queued is None else {"deposits": str(queued[0]), "withdrawals": str(queued[1])},
        )
        self._note_status(
            frozen=receiver.frozen,
            expired=receiver.expired,
            paused=receiver.paused,
            paused_until=receiver.paused_until,
            conflict=None
            if conflict is None
            else {
                "number": conflict.accepted.number,
                "hash": str(conflict.accepted.header_hash),
                "reason": conflict.reason,
            },
        )
        self._note_status(
            rootchain_head=view.head,
            checkpoint={"number": view.receiver.last_number, "hash": str(view.receiver.trusted_hash)},
            last_executed_id=view.receiver.last_executed_id,
            pending_events=lag.pending_events,
            lag_blocks=lag.blocks,
            lag_seconds=round(seconds, 3),
            observed_at=time.time(),
        )

    def _queued_value(self) -> tuple[int, int] | None:
        """The value the sample bridge's token buckets hold back (deposits to mint, withdrawals to pay)."""
        if self.queues is None:
            return None
        try:
            values = [
                read_uint_getter(rpc, address, "queuedValue", "latest", kind) for rpc, address, kind in self.queues
            ]
        except ZkStateSyncError as exc:  # RPC errors too: a metric never holds up a step (evidence least of all)
            log.warning("metrics.queued_value_unread", extra={"fields": {"error": str(exc)[:300]}})
            return None
        return values[0], values[1]

    def _log_action(self, action: Action) -> None:
        if isinstance(action, Wait):
            text = f"wait: {action.reason}"
        elif isinstance(action, ExecuteEvents):
            text = f"execute {action.batch[0].id}..{action.batch[-1].id} of header {action.header.number}"
        elif isinstance(action, SubmitEvidence):
            text = f"freeze: the receiver accepted header {action.conflict.accepted.number}, not the rootchain's"
        else:
            text = f"propose ({action.parent.number}, {action.end}] with {len(action.events)} events"
        self._note_status(action=text)
        if text != self._last_action:
            log.info("plan.action", extra={"fields": {"action": text}})
            self._last_action = text

    def _note_status(self, **values: Any) -> None:
        with self._status_lock:
            self._status.update(values)

    def status(self) -> dict[str, Any]:
        with self._status_lock:
            snapshot = dict(self._status)
        return {
            **snapshot,
            "account": self.sender.address,
            "receiver": self.receiver.address,
            "rpc": {"rootchain": self.rootchain.rpc.node_in_use, "child": self.receiver.rpc.node_in_use},
            "store": self.store.summary(),
            "uptime_seconds": round(time.time() - self.started_at, 3),
        }
