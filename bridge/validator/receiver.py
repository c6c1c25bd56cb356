"""The child chain's ZkStateReceiver as a validator reads it: the header it trusts now."""

from __future__ import annotations

from typing import Final

from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak

from ..rpc import FailoverRpc, parse_data

TRUSTED_HEADER_HASH_SELECTOR: Final = keccak(text="trustedHeaderHash()")[:4]
CALL_GAS: Final = 1_000_000


class ReceiverReader:
    """The child chain's ZkStateReceiver: the header it trusts now."""

    def __init__(self, rpc: FailoverRpc, receiver: ChecksumAddress) -> None:
        self.rpc = rpc
        self.receiver = receiver

    def trusted_header_hash(self) -> int:
        data = {"to": self.receiver, "data": "0x" + TRUSTED_HEADER_HASH_SELECTOR.hex(), "gas": hex(CALL_GAS)}
        raw = parse_data(self.rpc.request("eth_call", [data, "latest"]), "trustedHeaderHash()", 32)
        return int.from_bytes(raw, "big")
