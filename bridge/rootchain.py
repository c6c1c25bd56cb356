"""What a node says of a sender's chain: its blocks, the sender's counter and its logs (validators and relayers).

The rootchain's StateSender (StateSynced logs, for headers) and the child chain's L2StateSender
(L2StateSynced exits, for checkpoints) are read the same way: both count ids from 1 in `counter()`
and emit (id, sender, receiver, data) with three indexed topics; LogKind says which.

Every answer is parsed strictly (a node is not trusted to be well-formed), and a range is read so
that it is consistent: the logs of the range's last block carry that block's hash, StateSender's
counter before and after the range accounts for exactly the logs returned (no log was dropped by
the node, none is missing at the start), and the last block's hash is read again at the end, so
a reorganisation while reading is noticed instead of mixing two forks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from eth_abi.abi import decode
from eth_abi.exceptions import DecodingError
from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak

from statesync.errors import ZkStateSyncError
from statesync.exits import ExitEvent
from statesync.model import StateSyncEvent
from statesync.proposal import PendingEvent, RootBlock, SyncEvent

from .rpc import FailoverRpc, RpcAnswerError, parse_data, parse_quantity, read_log_chunks

STATE_SYNCED_TOPIC: Final = keccak(text="StateSynced(uint256,address,address,bytes)")
L2_STATE_SYNCED_TOPIC: Final = keccak(text="L2StateSynced(uint256,address,address,bytes)")
COUNTER_SELECTOR: Final = keccak(text="counter()")[:4]
CALL_GAS: Final = 1_000_000
DEFAULT_LOG_CHUNK: Final = 5_000


class RootchainInconsistent(ZkStateSyncError):
    """The node's answers do not add up (a reorganisation while reading, a log it did not return)."""


@dataclass(frozen=True)
class SeenLog:
    pending: PendingEvent
    block_hash: int


@dataclass(frozen=True)
class RangeView:
    """A range (parent's block, end.number] as the node has it: its last block and its events."""

    end: RootBlock
    events: tuple[PendingEvent, ...]


@dataclass(frozen=True)
class LogKind:
    """Which sender's logs: their event name, topic, and the protocol object each one is."""

    name: str
    topic: bytes
    build: Callable[[int, int, int, bytes], SyncEvent]


STATE_SYNCED: Final = LogKind("StateSynced", STATE_SYNCED_TOPIC, StateSyncEvent)
L2_STATE_SYNCED: Final = LogKind("L2StateSynced", L2_STATE_SYNCED_TOPIC, ExitEvent)


def _hex(value: int) -> str:
    return hex(value)


class RootchainReader:
    """A sender's side of its chain (StateSender, or L2StateSender with L2_STATE_SYNCED), read through `rpc`.

    Logs are asked for log_chunk blocks at a time.
    """

    def __init__(
        self,
        rpc: FailoverRpc,
        state_sender: ChecksumAddress,
        log_chunk: int = DEFAULT_LOG_CHUNK,
        kind: LogKind = STATE_SYNCED,
    ) -> None:
        self.rpc = rpc
        self.state_sender = state_sender
        self.log_chunk = log_chunk
        self.kind = kind

    def head(self) -> int:
        return parse_quantity(self.rpc.request("eth_blockNumber", []), "eth_blockNumber")

    def block(self, number: int) -> RootBlock:
        answer = self.rpc.request("eth_getBlockByNumber", [_hex(number), False])
        if answer is None:
            raise RootchainInconsistent(f"the node has no block {number}")
        return parse_block(answer, number)

    def counter(self, block: int | str) -> int:
        """StateSender.counter() at a block (a number, or a block hash per EIP-1898); 0 before its deployment."""
        at: Any = _hex(block) if isinstance(block, int) else {"blockHash": block}
        data = {"to": self.state_sender, "data": "0x" + COUNTER_SELECTOR.hex(), "gas": _hex(CALL_GAS)}
        raw = parse_data(self.rpc.request("eth_call", [data, at]), "StateSender.counter()")
        if not raw:
            return 0  # no code yet at that block
        if len(raw) != 32:
            raise RpcAnswerError(f"StateSender.counter() returned {len(raw)} bytes")
        return int.from_bytes(raw, "big")

    def state_synced(self, first_block: int, last_block: int) -> tuple[SeenLog, ...]:
        """StateSender's StateSynced logs in blocks first_block..last_block, in id order."""
        chunks = read_log_chunks(
            self.rpc, self.state_sender, [self.kind.topic], first_block, last_block, self.log_chunk
        )
        logs = [
            parse_state_synced(entry, self.state_sender, start, stop, self.kind)
            for start, stop, answer in chunks
            for entry in answer
        ]
        return tuple(sorted(logs, key=lambda seen: seen.pending.event.id))

    def find(self, event_id: int, first_block: int, last_block: int) -> SeenLog | None:
        """The log of one id in blocks first_block..last_block (ids are an indexed topic), or None."""
        topics = [self.kind.topic, event_id.to_bytes(32, "big")]
        for start, stop, answer in read_log_chunks(
            self.rpc, self.state_sender, topics, first_block, last_block, self.log_chunk
        ):
            found = [parse_state_synced(entry, self.state_sender, start, stop, self.kind) for entry in answer]
            if len(found) > 1:
                raise RootchainInconsistent(f"the node returned {len(found)} logs of id {event_id}")
            if found and found[0].pending.event.id != event_id:
                raise RpcAnswerError(f"asked for id {event_id}, the node returned id {found[0].pending.event.id}")
            if found:
                return found[0]
        return None

    def read_range(self, parent_number: int, end_number: int) -> RangeView:
        """The range (parent_number, end_number] read consistently (see the module's docstring)."""
        end = self.block(end_number)
        end_hash = "0x" + end.hash.to_bytes(32, "big").hex()
        logs = self.state_synced(parent_number + 1, end_number)
        for seen in logs:
            if seen.pending.block_number == end_number and seen.block_hash != end.hash:
                raise RootchainInconsistent(f"a log of block {end_number} names another block hash (a reorganisation)")
        pending = tuple(seen.pending for seen in logs)
        before = self.counter(parent_number)
        after = self.counter(end_hash)
        validate_completeness(pending, before, after)
        if self.block(end_number).hash != end.hash:
            raise RootchainInconsistent(f"block {end_number} changed while the range was read (a reorganisation)")
        return RangeView(end, pending)


def validate_completeness(pending: Sequence[PendingEvent], before: int, after: int) -> None:
    """Raise RootchainInconsistent unless the logs are exactly ids before+1..after."""
    ids = [p.event.id for p in pending]
    expected = list(range(before + 1, after + 1))
    if ids != expected:
        shown = f"{ids[:3]}...{ids[-3:]}" if len(ids) > 6 else str(ids)
        raise RootchainInconsistent(
            f"StateSender counted events {before + 1}..{after} in the range, but the node's logs are {shown}"
        )


def parse_block(answer: object, number: int) -> RootBlock:
    if not isinstance(answer, Mapping):
        raise RpcAnswerError(f"block {number}: not an object")
    got = parse_quantity(answer.get("number"), f"block {number} number")
    if got != number:
        raise RpcAnswerError(f"asked for block {number}, got block {got}")
    return RootBlock(
        number=got,
        hash=int.from_bytes(parse_data(answer.get("hash"), f"block {number} hash", 32), "big"),
        timestamp=parse_quantity(answer.get("timestamp"), f"block {number} timestamp"),
    )


def parse_state_synced(
    log: object, sender: ChecksumAddress, first_block: int, last_block: int, kind: LogKind = STATE_SYNCED
) -> SeenLog:
    if not isinstance(log, Mapping):
        raise RpcAnswerError("a log is not an object")
    if log.get("removed") is True:
        raise RootchainInconsistent("the node returned a removed log (a reorganisation)")
    if str(log.get("address", "")).lower() != sender.lower():
        raise RpcAnswerError(f"a log of {log.get('address')!r}, not the sender's")
    topics = log.get("topics")
    if not isinstance(topics, list) or len(topics) != 4:
        raise RpcAnswerError(f"a {kind.name} log without exactly 4 topics")
    words = [parse_data(t, "log topic", 32) for t in topics]
    if words[0] != kind.topic:
        raise RpcAnswerError(f"a log that is not {kind.name}")
    block_number = parse_quantity(log.get("blockNumber"), "log blockNumber")
    block_hash = int.from_bytes(parse_data(log.get("blockHash"), "log blockHash", 32), "big")
    if not first_block <= block_number <= last_block:
        raise RpcAnswerError(f"a log of block {block_number}, outside {first_block}..{last_block}")
    try:
        (data,) = decode(["bytes"], parse_data(log.get("data"), "log data"))
    except DecodingError as exc:
        raise RpcAnswerError(f"{kind.name} data does not decode: {exc}") from exc
    for word in words[2:]:
        if word[:12] != bytes(12):
            raise RpcAnswerError(f"a {kind.name} address topic with non-zero high bytes")
    try:
        event = kind.build(
            int.from_bytes(words[1], "big"),
            int.from_bytes(words[2], "big"),
            int.from_bytes(words[3], "big"),
            bytes(data),
        )
    except ZkStateSyncError as exc:
        raise RpcAnswerError(f"a {kind.name} log that is no protocol event: {exc}") from exc
    return SeenLog(PendingEvent(event, block_number), block_hash)
