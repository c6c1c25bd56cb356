"""ZkStateReceiver's checkpoint as a validator or `zkstatesync status` reads it from the child chain."""

from __future__ import annotations

from typing import Final

from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak

from .rpc import FailoverRpc, RpcAnswerError, parse_data

CALL_GAS: Final = 1_000_000


class ReceiverReader:
    """The receiver's public uint256 getters, read through `rpc` (a missing contract is an RpcAnswerError)."""

    def __init__(self, rpc: FailoverRpc, receiver: ChecksumAddress) -> None:
        self.rpc = rpc
        self.receiver = receiver

    def _uint(self, getter: str, block: int | str = "latest") -> int:
        selector = keccak(text=f"{getter}()")[:4]
        data = {"to": self.receiver, "data": "0x" + selector.hex(), "gas": hex(CALL_GAS)}
        at = hex(block) if isinstance(block, int) else block
        raw = parse_data(self.rpc.request("eth_call", [data, at]), f"{getter}()")
        if len(raw) != 32:
            raise RpcAnswerError(f"{getter}() returned {len(raw)} bytes: is {self.receiver} a ZkStateReceiver?")
        return int.from_bytes(raw, "big")

    def trusted_header_hash(self, block: int | str = "latest") -> int:
        return self._uint("trustedHeaderHash", block)

    def last_number(self, block: int | str = "latest") -> int:
        return self._uint("lastNumber", block)

    def last_executed_id(self, block: int | str = "latest") -> int:
        return self._uint("lastExecutedId", block)
