"""Contract events as the chains log them, with the transaction and block that carry each one.

What is `confirmations` deep is final by the protocol's own rule (validators sign nothing newer),
so those logs and block timestamps are kept and never asked for again; the blocks above that
depth are read afresh for every snapshot, so what the explorer shows is what the chains say now.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from eth_abi.exceptions import DecodingError
from web3 import Web3

from statesync.errors import ZkStateSyncError

from ...chain.deploy import Attached, Log, decode_log, event_topic
from ...rpc import FailoverRpc, RpcAnswerError, parse_data, parse_quantity, read_log_chunks

BLOCK_CACHE_SIZE: Final = 8192


@dataclass(frozen=True)
class SeenEvent:
    """One decoded event, where it was logged: `chain` is "rootchain" or "child"."""

    chain: str
    name: str
    args: Mapping[str, Any]
    block: int
    tx_hash: str
    log_index: int


class ChainLogs:
    """One chain's logs and block times, read through `rpc`."""

    def __init__(self, chain: str, rpc: FailoverRpc, log_chunk: int, confirmations: int) -> None:
        self.chain = chain
        self.rpc = rpc
        self.log_chunk = log_chunk
        self.confirmations = confirmations
        self._times: OrderedDict[int, int] = OrderedDict()
        # (address, topics) -> (the final logs, the block they were read to)
        self._final: dict[tuple[str, tuple[bytes, ...]], tuple[list[SeenEvent], int]] = {}

    def head(self) -> int:
        return parse_quantity(self.rpc.request("eth_blockNumber", []), "eth_blockNumber")

    def events(self, target: Attached, names: Sequence[str], first_block: int, head: int) -> list[SeenEvent]:
        """`target`'s events of `names` in blocks first_block..head, in log order: one eth_getLogs
        (per chunk) for all of them, and only above what was final at the last read."""
        topics = tuple(event_topic(target.abi, name) for name in names)
        key = (target.address, topics)
        final, scanned_to = self._final.get(key, ([], first_block - 1))
        final_to = max(scanned_to, head - self.confirmations)
        fresh: list[SeenEvent] = []
        if head > scanned_to:
            # One topic list of alternatives: any of the names, in the first position.
            for _, _, answer in read_log_chunks(
                self.rpc, target.address, [list(topics)], scanned_to + 1, head, self.log_chunk
            ):
                fresh += [self._decode(target, entry) for entry in answer]
        settled = [event for event in fresh if event.block <= final_to]
        self._final[key] = (final + settled, final_to)
        return final + settled + [event for event in fresh if event.block > final_to]

    def block_time(self, number: int, head: int) -> int:
        """A block's timestamp; remembered once the block is `confirmations` deep."""
        if number in self._times:
            self._times.move_to_end(number)
            return self._times[number]
        answer = self.rpc.request("eth_getBlockByNumber", [hex(number), False])
        if not isinstance(answer, Mapping):
            raise RpcAnswerError(f"the {self.chain} node has no block {number}")
        timestamp = parse_quantity(answer.get("timestamp"), "block timestamp")
        if number + self.confirmations <= head:
            self._times[number] = timestamp
            if len(self._times) > BLOCK_CACHE_SIZE:
                self._times.popitem(last=False)
        return timestamp

    def receipt(self, tx_hash: str) -> Mapping[str, Any] | None:
        answer = self.rpc.request("eth_getTransactionReceipt", [tx_hash])
        if answer is None:
            return None
        if not isinstance(answer, Mapping):
            raise RpcAnswerError("eth_getTransactionReceipt did not return an object")
        return answer

    def _decode(self, target: Attached, entry: object) -> SeenEvent:
        if not isinstance(entry, Mapping):
            raise RpcAnswerError("a log is not an object")
        topics = entry.get("topics")
        if not isinstance(topics, list):
            raise RpcAnswerError("a log without topics")
        log = Log(
            Web3.to_checksum_address(str(entry.get("address"))),
            tuple(parse_data(t, "log topic", 32) for t in topics),
            parse_data(entry.get("data"), "log data"),
        )
        try:
            event = decode_log(target, log)
        except (DecodingError, ZkStateSyncError) as exc:
            raise RpcAnswerError(f"a log of {target.contract.name} does not decode: {exc}") from exc
        if event is None:
            raise RpcAnswerError(f"the node returned a log that is not {target.contract.name}'s")
        return SeenEvent(
            chain=self.chain,
            name=event.name,
            args=event.args,
            block=parse_quantity(entry.get("blockNumber"), "log blockNumber"),
            tx_hash="0x" + parse_data(entry.get("transactionHash"), "log transactionHash", 32).hex(),
            log_index=parse_quantity(entry.get("logIndex"), "log logIndex"),
        )
