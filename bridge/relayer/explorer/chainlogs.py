"""Contract events as the chains log them, with the transaction and block that carry each one.

The explorer reads the chains afresh for every snapshot (eth_getLogs in chunks), so what it shows
is what the chains say now; only block timestamps below the confirmation depth are remembered.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
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

    def head(self) -> int:
        return parse_quantity(self.rpc.request("eth_blockNumber", []), "eth_blockNumber")

    def events(self, target: Attached, name: str, first_block: int, last_block: int) -> list[SeenEvent]:
        """`target`'s `name` events in blocks first_block..last_block, in log order."""
        seen = []
        topic = event_topic(target.abi, name)
        for _, _, answer in read_log_chunks(self.rpc, target.address, [topic], first_block, last_block, self.log_chunk):
            for entry in answer:
                seen.append(self._decode(target, entry))
        return seen

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
