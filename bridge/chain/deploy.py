"""Deploy contracts, send transactions and make calls on a Chain, with typed results.

ABI encoding goes through eth_abi from the compiled ABI (no web3 Contract objects), so every
result is a frozen dataclass: a `Receipt` with gasUsed and raw logs, decoded `Event`s, and
`TransactionReverted` carrying the decoded custom error, whichever backend ran it.

Gas is always explicit: eth_estimateGas takes 8-11 s on py-evm, and under-estimates calls to
snarkjs verifiers (they return false instead of reverting when a precompile runs out of gas).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from eth_abi.abi import decode, encode
from eth_abi.exceptions import DecodingError
from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak
from web3 import Web3
from web3.exceptions import Web3Exception

from statesync.errors import ZkStateSyncError

from .chains import Chain, ChainError, Transaction
from .solc import Abi, CompiledContract

DEPLOY_GAS: Final = 10_000_000
TRANSACTION_GAS: Final = 5_000_000
CALL_GAS: Final = 10_000_000

_ERROR_STRING: Final = keccak(text="Error(string)")[:4]
_PANIC: Final = keccak(text="Panic(uint256)")[:4]


class AbiLookupError(ZkStateSyncError, KeyError):
    """The ABI has no (or more than one) function, event or error of that name."""


@dataclass(frozen=True)
class RevertReason:
    """Decoded revert data: `name` is "Error", "Panic", a custom error's name, or None when the
    data is empty (out of gas, INVALID, a bare revert) or its selector is in no ABI given."""

    name: str | None
    args: tuple[Any, ...]
    data: bytes

    def __str__(self) -> str:
        if self.name is None:
            return f"revert data 0x{self.data.hex()}" if self.data else "no revert data"
        return f"{self.name}{self.args!r}"


class TransactionReverted(ChainError):
    """A transaction or call reverted; `reason` says with what, `receipt` is None for calls."""

    def __init__(self, what: str, reason: RevertReason, receipt: Receipt | None = None) -> None:
        self.reason = reason
        self.receipt = receipt
        super().__init__(f"{what} reverted: {reason}")


@dataclass(frozen=True)
class Log:
    address: ChecksumAddress
    topics: tuple[bytes, ...]
    data: bytes


@dataclass(frozen=True)
class Receipt:
    transaction_hash: bytes
    block_number: int
    gas_used: int
    success: bool
    logs: tuple[Log, ...]
    contract_address: ChecksumAddress | None


@dataclass(frozen=True)
class Attached:
    """A contract at an address (deployed by someone else: a network file names it)."""

    contract: CompiledContract
    address: ChecksumAddress

    @property
    def abi(self) -> Abi:
        return self.contract.abi


@dataclass(frozen=True)
class Deployed(Attached):
    """A contract at an address, with the receipt of its deployment."""

    receipt: Receipt


@dataclass(frozen=True)
class Event:
    name: str
    address: ChecksumAddress
    args: Mapping[str, Any]


# ---------------------------------------------------------------------------------------------
# ABI


def abi_type(param: Mapping[str, Any]) -> str:
    """The canonical type of an ABI parameter, tuples spelled out: "(uint256,address)[]"."""
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(abi_type(c) for c in param["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind


def find_abi_item(abi: Abi, kind: str, name: str) -> Mapping[str, Any]:
    found = [item for item in abi if item.get("type") == kind and item.get("name") == name]
    if len(found) != 1:
        raise AbiLookupError(f"{'no' if not found else 'more than one'} {kind} named {name!r} in the ABI")
    return found[0]


def signature(item: Mapping[str, Any]) -> str:
    return f"{item['name']}({','.join(abi_type(p) for p in item['inputs'])})"


def encode_call(abi: Abi, function: str, args: Sequence[Any]) -> bytes:
    item = find_abi_item(abi, "function", function)
    types = [abi_type(p) for p in item["inputs"]]
    return keccak(text=signature(item))[:4] + encode(types, list(args))


def decode_output(abi: Abi, function: str, data: bytes) -> Any:
    """The return value: None, the single value, or a tuple of several."""
    item = find_abi_item(abi, "function", function)
    outputs = item["outputs"]
    decoded = decode([abi_type(p) for p in outputs], data)
    values = [_checksum(p, v) for p, v in zip(outputs, decoded, strict=True)]
    return None if not values else values[0] if len(values) == 1 else tuple(values)


def decode_revert(data: bytes, abis: Iterable[Abi] = ()) -> RevertReason:
    """Decode revert data against Error(string), Panic(uint256) and the custom errors of `abis`."""
    selector, body = data[:4], data[4:]
    try:
        if selector == _ERROR_STRING:
            return RevertReason("Error", tuple(decode(["string"], body)), data)
        if selector == _PANIC:
            return RevertReason("Panic", tuple(decode(["uint256"], body)), data)
        for abi in abis:
            for item in abi:
                if item.get("type") == "error" and keccak(text=signature(item))[:4] == selector:
                    params = item["inputs"]
                    values = decode([abi_type(p) for p in params], body)
                    args = tuple(_checksum(p, v) for p, v in zip(params, values, strict=True))
                    return RevertReason(str(item["name"]), args, data)
    except DecodingError:
        pass  # a selector that matches but a body that does not: leave it undecoded
    return RevertReason(None, (), data)


def decode_events(target: Attached, receipt: Receipt, name: str | None = None) -> tuple[Event, ...]:
    """The events `target` emitted in `receipt` (only those named `name`, if given), in order."""
    decoded = (decode_log(target, log) for log in receipt.logs)
    return tuple(event for event in decoded if event is not None and (name is None or event.name == name))


def decode_log(target: Attached, log: Log) -> Event | None:
    """`log` as one of `target`'s events, or None if another contract or no event of its ABI emitted it."""
    if log.address != target.address or not log.topics:
        return None
    item = _events_by_topic(target.abi).get(log.topics[0])
    if item is None:
        return None
    indexed = [p for p in item["inputs"] if p["indexed"]]
    plain = [p for p in item["inputs"] if not p["indexed"]]
    decoded = decode([abi_type(p) for p in plain], log.data)
    values = {p["name"]: _checksum(p, v) for p, v in zip(plain, decoded, strict=True)}
    for param, topic in zip(indexed, log.topics[1:], strict=True):
        kind = abi_type(param)
        # Indexed dynamic values are stored as their keccak: keep the topic itself.
        dynamic = kind in ("bytes", "string") or kind.endswith("]") or kind.startswith("(")
        values[param["name"]] = topic if dynamic else _checksum(param, decode([kind], topic)[0])
    return Event(str(item["name"]), log.address, {p["name"]: values[p["name"]] for p in item["inputs"]})


def event_topic(abi: Abi, name: str) -> bytes:
    return keccak(text=signature(find_abi_item(abi, "event", name)))


def _events_by_topic(abi: Abi) -> dict[bytes, Mapping[str, Any]]:
    return {
        keccak(text=signature(item)): item for item in abi if item.get("type") == "event" and not item.get("anonymous")
    }


def _checksum(param: Mapping[str, Any], value: Any) -> Any:
    # eth_abi decodes addresses in lower case; web3 and the chains use checksummed ones.
    return Web3.to_checksum_address(value) if param["type"] == "address" else value


# ---------------------------------------------------------------------------------------------
# Transactions


def deploy(
    chain: Chain,
    contract: CompiledContract,
    *args: Any,
    gas: int = DEPLOY_GAS,
    sender: ChecksumAddress | None = None,
) -> Deployed:
    """Deploy `contract` with constructor `args`; raises TransactionReverted if it reverts."""
    if not contract.bytecode:
        raise ValueError(f"{contract.name} has no bytecode (an interface or abstract contract)")
    constructor = [item for item in contract.abi if item.get("type") == "constructor"]
    types = [abi_type(p) for p in constructor[0]["inputs"]] if constructor else []
    data = contract.bytecode + encode(types, list(args))
    receipt = _send(chain, {"data": "0x" + data.hex()}, gas, sender, f"deploying {contract.name}", [contract.abi])
    if receipt.contract_address is None:
        raise ChainError(f"deploying {contract.name}: the receipt names no contract address")
    return Deployed(contract, receipt.contract_address, receipt)


def transact(
    chain: Chain,
    target: Attached,
    function: str,
    *args: Any,
    gas: int = TRANSACTION_GAS,
    sender: ChecksumAddress | None = None,
    errors_from: Iterable[Abi] = (),
    value: int = 0,
) -> Receipt:
    """Send a transaction calling `function(*args)`; raises TransactionReverted if it reverts.

    Revert data is decoded against target's ABI and `errors_from` (errors of called contracts).
    """
    data = encode_call(target.abi, function, args)
    transaction: Transaction = {"to": target.address, "data": "0x" + data.hex()}
    if value:
        transaction["value"] = value
    return _send(chain, transaction, gas, sender, f"{target.contract.name}.{function}", [target.abi, *errors_from])


def call(
    chain: Chain,
    target: Attached,
    function: str,
    *args: Any,
    gas: int = CALL_GAS,
    sender: ChecksumAddress | None = None,
    errors_from: Iterable[Abi] = (),
) -> Any:
    """eth_call `function(*args)` and decode its return value; raises TransactionReverted."""
    data = encode_call(target.abi, function, args)
    transaction = {
        "from": sender or chain.accounts[0],
        "to": target.address,
        "data": "0x" + data.hex(),
        "gas": gas,
    }
    outcome = chain.call(transaction)
    if not outcome.success:
        what = f"{target.contract.name}.{function} (call)"
        raise TransactionReverted(what, decode_revert(outcome.output, [target.abi, *errors_from]))
    return decode_output(target.abi, function, outcome.output)


def _send(
    chain: Chain,
    transaction: Transaction,
    gas: int,
    sender: ChecksumAddress | None,
    what: str,
    abis: Sequence[Abi],
) -> Receipt:
    full = {**transaction, "from": sender or chain.accounts[0], "gas": gas}
    try:
        tx_hash = chain.web3.eth.send_transaction(full)  # type: ignore[arg-type]
        receipt = to_receipt(chain.web3.eth.wait_for_transaction_receipt(tx_hash, timeout=120))
    except (Web3Exception, TimeoutError) as exc:  # refused (funds, nonce, fees) or never mined
        raise ChainError(f"{what}: the node did not take or mine the transaction: {type(exc).__name__}: {exc}") from exc
    if receipt.success:
        return receipt
    # Receipts carry no revert data: replay the call on the state just before the block
    # (both chains mine one transaction per block), which fails the same way.
    outcome = chain.call(full, receipt.block_number - 1)
    if outcome.success:
        raise ChainError(f"{what} failed in block {receipt.block_number} but its replay succeeds")
    raise TransactionReverted(what, decode_revert(outcome.output, abis), receipt)


def to_receipt(raw: Mapping[str, Any]) -> Receipt:
    address = raw.get("contractAddress")
    return Receipt(
        transaction_hash=bytes(raw["transactionHash"]),
        block_number=int(raw["blockNumber"]),
        gas_used=int(raw["gasUsed"]),
        success=int(raw["status"]) == 1,
        logs=tuple(
            Log(Web3.to_checksum_address(log["address"]), tuple(bytes(t) for t in log["topics"]), bytes(log["data"]))
            for log in raw["logs"]
        ),
        contract_address=Web3.to_checksum_address(address) if address else None,
    )
