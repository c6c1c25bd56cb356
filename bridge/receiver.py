"""The verifier contracts' checkpoints as validators, the relayer or `zkstatesync status` read them.

ZkStateReceiver on the child chain (headers) and ZkCheckpointManager on the rootchain (checkpoints).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from eth_abi.abi import encode
from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak

from .rootchain import DEFAULT_LOG_CHUNK
from .rpc import FailoverRpc, RpcAnswerError, parse_data, parse_quantity, read_log_chunks

CALL_GAS: Final = 1_000_000
IS_ACCEPTED: Final = keccak(text="isAccepted(uint256,uint256,uint256)")[:4]
CHECKPOINT_ACCEPTED_TOPIC: Final = keccak(text="CheckpointAccepted(uint256,uint256,bytes32)")


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

    def frozen(self, block: int | str = "latest") -> bool:
        return self._uint("frozen", block) != 0

    def is_accepted(self, header_hash: int, number: int, event_root: int, block: int | str = "latest") -> bool:
        """isAccepted(headerHash, number, eventRoot): accepted in the current epoch (the genesis with root 0)."""
        data = IS_ACCEPTED + encode(["uint256", "uint256", "uint256"], [header_hash, number, event_root])
        call = {"to": self.receiver, "data": "0x" + data.hex(), "gas": hex(CALL_GAS)}
        at = hex(block) if isinstance(block, int) else block
        raw = parse_data(self.rpc.request("eth_call", [call, at]), "isAccepted()")
        if len(raw) != 32:
            raise RpcAnswerError(f"isAccepted() returned {len(raw)} bytes: is {self.receiver} a ZkStateReceiver?")
        return int.from_bytes(raw, "big") != 0


@dataclass(frozen=True)
class AcceptedCheckpoint:
    number: int
    checkpoint_hash: int
    exit_root: int


class CheckpointManager:
    """ZkCheckpointManager on the rootchain through `rpc`: its getters and its CheckpointAccepted logs."""

    def __init__(self, rpc: FailoverRpc, address: ChecksumAddress, log_chunk: int = DEFAULT_LOG_CHUNK) -> None:
        self.rpc = rpc
        self.address = address
        self.log_chunk = log_chunk

    def block_number(self) -> int:
        return parse_quantity(self.rpc.request("eth_blockNumber", []), "eth_blockNumber")

    def trusted_checkpoint_hash(self, block: int | str = "latest") -> int:
        return read_uint_getter(self.rpc, self.address, "trustedCheckpointHash", block, "ZkCheckpointManager")

    def last_number(self, block: int | str = "latest") -> int:
        return read_uint_getter(self.rpc, self.address, "lastNumber", block, "ZkCheckpointManager")

    def accepted(self, first_block: int, last_block: int) -> list[AcceptedCheckpoint]:
        """CheckpointAccepted logs of blocks first_block..last_block, log_chunk blocks per request."""
        chunks = read_log_chunks(
            self.rpc, self.address, [CHECKPOINT_ACCEPTED_TOPIC], first_block, last_block, self.log_chunk
        )
        return [parse_checkpoint_accepted(entry, self.address) for _, _, answer in chunks for entry in answer]


def parse_checkpoint_accepted(entry: object, manager: ChecksumAddress) -> AcceptedCheckpoint:
    if not isinstance(entry, dict):
        raise RpcAnswerError("a log is not an object")
    if entry.get("removed") is True:
        raise RpcAnswerError("a removed CheckpointAccepted log (the rootchain reorganised)")
    if str(entry.get("address", "")).lower() != manager.lower():
        raise RpcAnswerError(f"a log of {entry.get('address')!r}, not the checkpoint manager's")
    topics = entry.get("topics")
    if not isinstance(topics, list) or len(topics) != 2:
        raise RpcAnswerError("a CheckpointAccepted log without exactly 2 topics")
    if parse_data(topics[0], "log topic", 32) != CHECKPOINT_ACCEPTED_TOPIC:
        raise RpcAnswerError("a log that is not CheckpointAccepted")
    data = parse_data(entry.get("data"), "CheckpointAccepted data", 64)
    return AcceptedCheckpoint(
        number=int.from_bytes(parse_data(topics[1], "log topic", 32), "big"),
        checkpoint_hash=int.from_bytes(data[:32], "big"),
        exit_root=int.from_bytes(data[32:], "big"),
    )


def read_uint_getter(rpc: FailoverRpc, contract: ChecksumAddress, getter: str, block: int | str, kind: str) -> int:
    """A no-argument uint getter by eth_call (a missing contract is an RpcAnswerError naming `kind`)."""
    selector = keccak(text=f"{getter}()")[:4]
    data = {"to": contract, "data": "0x" + selector.hex(), "gas": hex(CALL_GAS)}
    at = hex(block) if isinstance(block, int) else block
    raw = parse_data(rpc.request("eth_call", [data, at]), f"{getter}()")
    if len(raw) != 32:
        raise RpcAnswerError(f"{getter}() returned {len(raw)} bytes: is {contract} a {kind}?")
    return int.from_bytes(raw, "big")
