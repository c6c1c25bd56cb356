"""What the relayer reads from the two chains, and the one ChainView it decides from.

The rootchain side is bridge/rootchain.py's reader, the validators' own (a range is read
consistently: the counter before and after accounts for exactly the logs returned, and the last
block's hash is read again at the end). The child side reads ZkStateReceiver at one block
(checkpoint, lastNumber, lastExecutedId) and its HeaderAccepted logs, cached and extended
incrementally, and checks the two agree.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak

from statesync.model import Header, build_event_tree, compute_header_hash
from statesync.proposal import ProposalRules, state_sync_events

from ..chain.deploy import decode_output, encode_call
from ..chain.solc import Abi
from ..rootchain import DEFAULT_LOG_CHUNK, RootchainInconsistent, RootchainReader
from ..rpc import FailoverRpc, RpcAnswerError, parse_data, parse_quantity, read_log_chunks
from .plan import (
    AcceptedHeader,
    ChainView,
    Conflict,
    HeaderRange,
    PlanError,
    ReceiverState,
    ReconstructionError,
    check_range_events,
    reconstruct_header,
)

HEADER_ACCEPTED_TOPIC: Final = keccak(text="HeaderAccepted(uint256,uint256,uint256)")
CALL_GAS: Final = 1_000_000

log = logging.getLogger("zkstatesync.relayer.chain")

__all__ = ["ChainObserver", "Receiver", "RootchainInconsistent"]


def _hex(value: int) -> str:
    return hex(value)


def _block_ref(block: int | str) -> Any:
    return _hex(block) if isinstance(block, int) else block


class ContractClient:
    """One contract through a node: calls at a block, its logs of one topic, calldata."""

    name = "contract"

    def __init__(
        self, rpc: FailoverRpc, address: ChecksumAddress, abi: Abi, log_chunk: int = DEFAULT_LOG_CHUNK
    ) -> None:
        self.rpc = rpc
        self.address = address
        self.abi = abi
        self.log_chunk = log_chunk

    def block_number(self) -> int:
        return parse_quantity(self.rpc.request("eth_blockNumber", []), "eth_blockNumber")

    def encode(self, function: str, *args: Any) -> bytes:
        return encode_call(self.abi, function, args)

    def call(self, function: str, *args: Any, block: int | str = "latest") -> Any:
        data = {"to": self.address, "data": "0x" + self.encode(function, *args).hex(), "gas": _hex(CALL_GAS)}
        raw = parse_data(self.rpc.request("eth_call", [data, _block_ref(block)]), f"{self.name}.{function}()")
        if not raw:
            raise RpcAnswerError(f"{self.name}.{function}() returned nothing: no {self.name} at {self.address}?")
        try:
            return decode_output(self.abi, function, raw)
        except Exception as exc:  # eth_abi's decoding errors: the node's answer is not this function's
            raise RpcAnswerError(f"{self.name}.{function}() answered undecodable data: {exc}") from exc

    def logs(self, topic: bytes, first_block: int, last_block: int) -> list[Any]:
        """The contract's logs with `topic` in blocks first_block..last_block, log_chunk blocks per request."""
        chunks = read_log_chunks(self.rpc, self.address, [topic], first_block, last_block, self.log_chunk)
        return [entry for _, _, answer in chunks for entry in answer]


class Receiver(ContractClient):
    """ZkStateReceiver on the child chain: calls at a block, HeaderAccepted logs, calldata."""

    name = "ZkStateReceiver"

    def state(self, block: int) -> ReceiverState:
        return ReceiverState(
            trusted_hash=int(self.call("trustedHeaderHash", block=block)),
            last_number=int(self.call("lastNumber", block=block)),
            last_executed_id=int(self.call("lastExecutedId", block=block)),
            block=block,
            frozen=bool(self.call("frozen", block=block)),
            expired=bool(self.call("expired", block=block)),
            paused=bool(self.call("paused", block=block)),
            paused_until=int(self.call("pausedUntil", block=block)),
        )

    def is_accepted(self, header: Header) -> bool:
        """Whether the receiver accepted exactly this header (hash, number and event root)."""
        return bool(self.call("isAccepted", compute_header_hash(header), header.number, header.event_root))

    def accepted_logs(self, first_block: int, last_block: int) -> list[AcceptedHeader]:
        return [
            parse_header_accepted(entry, self.address)
            for entry in self.logs(HEADER_ACCEPTED_TOPIC, first_block, last_block)
        ]


def parse_header_accepted(entry: object, receiver: ChecksumAddress) -> AcceptedHeader:
    if not isinstance(entry, dict):
        raise RpcAnswerError("a log is not an object")
    if entry.get("removed") is True:
        raise RpcAnswerError("a removed HeaderAccepted log (the child chain reorganised)")
    if str(entry.get("address", "")).lower() != receiver.lower():
        raise RpcAnswerError(f"a log of {entry.get('address')!r}, not the receiver's")
    topics = entry.get("topics")
    if not isinstance(topics, list) or len(topics) != 2:
        raise RpcAnswerError("a HeaderAccepted log without exactly 2 topics")
    if parse_data(topics[0], "log topic", 32) != HEADER_ACCEPTED_TOPIC:
        raise RpcAnswerError("a log that is not HeaderAccepted")
    data = parse_data(entry.get("data"), "HeaderAccepted data", 64)
    return AcceptedHeader(
        number=int.from_bytes(parse_data(topics[1], "log topic", 32), "big"),
        header_hash=int.from_bytes(data[:32], "big"),
        event_root=int.from_bytes(data[32:], "big"),
    )


@dataclass(frozen=True)
class NetworkFacts:
    """What the configuration fixes: the genesis, the rules, the sets headers may name."""

    genesis: Header
    rules: ProposalRules
    set_hashes: tuple[int, ...]  # candidates for an accepted header's validator_set_hash
    next_set_hash: int  # every proposal's next_validator_set_hash (the configured set)
    receiver_from_block: int  # where HeaderAccepted logs start

    @property
    def genesis_hash(self) -> int:
        return compute_header_hash(self.genesis)


class ChainObserver:
    """Builds the ChainView. `lookup` finds a full header by hash (the store); `remember` keeps one."""

    def __init__(
        self,
        rootchain: RootchainReader,
        receiver: Receiver,
        facts: NetworkFacts,
        lookup: Callable[[int], Header | None],
        remember: Callable[[Header], None],
    ) -> None:
        self.rootchain = rootchain
        self.receiver = receiver
        self.facts = facts
        self._lookup = lookup
        self._remember = remember
        self._accepted: list[AcceptedHeader] = []
        self._canonical: dict[int, Header] = {facts.genesis_hash: facts.genesis}  # accepted headers checked
        self._conflicts: set[int] = set()
        self._next_log_block = facts.receiver_from_block

    def observe(self) -> ChainView:
        facts = self.facts
        child_block = self.receiver.block_number()
        state = self.receiver.state(child_block)
        accepted = self.accepted_headers(state)
        head = self.rootchain.head()
        trusted, conflict = self.check_accepted(accepted, head)
        sent_total = self.rootchain.counter(head)
        if conflict is not None or state.frozen:
            # Nothing is executed or proposed on top of a header the rootchain does not give.
            return ChainView(state, trusted, tuple(accepted), head, None, (), sent_total, conflict)
        open_range = None
        if self.rootchain.counter(state.last_number) > state.last_executed_id:
            open_range = self.open_range(state, accepted)
        window_end = min(head, state.last_number + facts.rules.max_range)
        seen = self.rootchain.state_synced(state.last_number + 1, window_end) if window_end > state.last_number else ()
        return ChainView(
            receiver=state,
            trusted=trusted,
            accepted=tuple(accepted),
            head=head,
            open_range=open_range,
            pending=tuple(s.pending for s in seen),
            sent_total=sent_total,
        )

    def accepted_headers(self, state: ReceiverState) -> list[AcceptedHeader]:
        """Every HeaderAccepted log up to the state's block, agreeing with its checkpoint."""
        for attempt in range(2):
            if self._next_log_block <= state.block:
                self._accepted += self.receiver.accepted_logs(self._next_log_block, state.block)
                self._next_log_block = state.block + 1
            accepted = [a for a in self._accepted if a.number <= state.last_number]
            last_hash = accepted[-1].header_hash if accepted else self.facts.genesis_hash
            numbers = [a.number for a in accepted]
            if last_hash == state.trusted_hash and numbers == sorted(set(numbers)):
                return accepted
            # The child chain reorganised, or the cache missed logs: read them all once more.
            log.warning("chain.accepted_logs_reread", extra={"fields": {"attempt": attempt, "block": state.block}})
            self._accepted, self._next_log_block = [], self.facts.receiver_from_block
        raise PlanError(
            f"the receiver trusts {state.trusted_hash} at number {state.last_number}, "
            "but its HeaderAccepted logs end with another header"
        )

    def check_accepted(self, accepted: Sequence[AcceptedHeader], head: int) -> tuple[Header, Conflict | None]:
        """The last accepted header the rootchain gives, and the first one it does not (a conflict).

        Each header is checked once: the ones this relayer derived itself (its store) count as
        given; any other is rebuilt from the rootchain's block and its range's StateSynced logs
        after the previous accepted header, and must hash and root to what the receiver accepted.
        """
        parent = self.facts.genesis
        for entry in accepted:
            header = self._canonical.get(entry.header_hash)
            if header is None:
                header, reason = self.rebuild(entry, parent, head)
                if header is None:
                    if entry.header_hash not in self._conflicts:  # logged once, reported in every view
                        self._conflicts.add(entry.header_hash)
                        log.error(
                            "chain.conflict",
                            extra={
                                "fields": {"number": entry.number, "hash": str(entry.header_hash), "reason": reason}
                            },
                        )
                    return parent, Conflict(entry, parent, reason)
                if entry.number <= head - self.facts.rules.confirmations:
                    # Checked once it is confirmed here: a header on a tip that may still
                    # reorganise is checked again on the next observation.
                    self._canonical[entry.header_hash] = header
            parent = header
        return parent, None

    def rebuild(self, entry: AcceptedHeader, parent: Header, head: int) -> tuple[Header | None, str]:
        """The accepted header's full fields from the chains, or None and why they do not give it."""
        stored = self._lookup(entry.header_hash)
        if stored is not None and compute_header_hash(stored) == entry.header_hash:
            if stored.parent_hash != compute_header_hash(parent):
                return None, f"its parent is not the accepted header {parent.number}"
            return stored, ""
        if entry.number > head + self.facts.rules.max_range:
            # No rootchain block, and no honest header, can answer it in time: a conflict to report.
            return None, f"its number is beyond this node's rootchain head {head} by more than max_range"
        if entry.number > head:
            raise PlanError(f"the receiver accepted header {entry.number}, beyond this node's rootchain head {head}")
        try:
            header = reconstruct_header(
                entry,
                parent_hash=compute_header_hash(parent),
                block=self.rootchain.block(entry.number),
                chain_id=self.facts.genesis.chain_id,
                set_hashes=self.facts.set_hashes,
                next_set_hash=self.facts.next_set_hash,
            )
        except ReconstructionError as exc:
            return None, str(exc)
        view = self.rootchain.read_range(parent.number, entry.number)
        events = state_sync_events([p.event for p in view.events])
        if build_event_tree(events, self.facts.rules.depth).root != entry.event_root:
            return None, (
                f"its event root is not the tree of the {len(events)} StateSynced events the rootchain has in "
                f"({parent.number}, {entry.number}]"
            )
        if entry.number <= head - self.facts.rules.confirmations:
            self._remember(header)
        log.info(
            "chain.header_reconstructed", extra={"fields": {"number": header.number, "hash": str(entry.header_hash)}}
        )
        return header, ""

    def open_range(self, state: ReceiverState, accepted: Sequence[AcceptedHeader]) -> HeaderRange:
        """The accepted header whose range holds event last_executed_id + 1, with all its events."""
        index = len(accepted) - 1
        while index >= 0:
            parent_number = accepted[index - 1].number if index else self.facts.genesis.number
            if self.rootchain.counter(parent_number) <= state.last_executed_id:
                break
            index -= 1
        if index < 0:
            raise PlanError(f"event {state.last_executed_id + 1} is in no accepted header's range")
        header = accepted[index]
        parent_number = accepted[index - 1].number if index else self.facts.genesis.number
        view = self.rootchain.read_range(parent_number, header.number)
        check_range_events(header, state_sync_events([p.event for p in view.events]), self.facts.rules.depth)
        return HeaderRange(header, parent_number, tuple(view.events))
