"""The verifier contracts' checkpoints as validators, the relayer or `zkstatesync status` read them.

ZkStateReceiver on the child chain (headers) and ZkCheckpointManager on the rootchain (checkpoints).
"""

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
        return read_uint_getter(self.rpc, self.receiver, getter, block, "ZkStateReceiver")

    def trusted_header_hash(self, block: int | str = "latest") -> int:
        return self._uint("trustedHeaderHash", block)

    def last_number(self, block: int | str = "latest") -> int:
        return self._uint("lastNumber", block)

    def last_executed_id(self, block: int | str = "latest") -> int:
        return self._uint("lastExecutedId", block)


class CheckpointManagerReader:
    """ZkCheckpointManager's public getters on the rootchain, read through `rpc`."""

    def __init__(self, rpc: FailoverRpc, manager: ChecksumAddress) -> None:
        self.rpc = rpc
        self.manager = manager

    def trusted_checkpoint_hash(self, block: int | str = "latest") -> int:
        return read_uint_getter(self.rpc, self.manager, "trustedCheckpointHash", block, "ZkCheckpointManager")

    def last_number(self, block: int | str = "latest") -> int:
        return read_uint_getter(self.rpc, self.manager, "lastNumber", block, "ZkCheckpointManager")


def read_uint_getter(rpc: FailoverRpc, contract: ChecksumAddress, getter: str, block: int | str, kind: str) -> int:
    """A no-argument uint getter by eth_call (a missing contract is an RpcAnswerError naming `kind`)."""
    selector = keccak(text=f"{getter}()")[:4]
    data = {"to": contract, "data": "0x" + selector.hex(), "gas": hex(CALL_GAS)}
    at = hex(block) if isinstance(block, int) else block
    raw = parse_data(rpc.request("eth_call", [data, at]), f"{getter}()")
    if len(raw) != 32:
        raise RpcAnswerError(f"{getter}() returned {len(raw)} bytes: is {contract} a {kind}?")
    return int.from_bytes(raw, "big")
