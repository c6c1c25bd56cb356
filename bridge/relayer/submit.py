"""Child-chain transactions: simulated, signed here, recorded, then broadcast, and followed to a receipt.

The relayer signs with its own key (never a node's unlocked account), so a transaction's hash is
known before it leaves: it is recorded in the store, with the raw bytes, first. After a crash the
hash is looked up (mined: its outcome; unknown to the node: dropped), so nothing sent is ever
forgotten. Every transaction is first run as an eth_call on the latest state: a batch someone else
executed meanwhile, or a header accepted first, shows as the receiver's custom error before any
gas is spent (SubmissionReverted carries it, decoded).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress

from statesync.errors import ZkStateSyncError

from ..chain.deploy import RevertReason, decode_revert
from ..chain.solc import Abi
from ..rpc import FailoverRpc, RpcAnswerError, RpcErrorAnswer, parse_data, parse_quantity
from .store import TransactionRecord, TxStatus

RECEIPT_POLL_SECONDS: Final = 0.25
PRIORITY_FEE_FLOOR: Final = 10**9  # 1 gwei when the node suggests nothing

log = logging.getLogger("zkstatesync.relayer.submit")


class SubmissionReverted(ZkStateSyncError):
    """The receiver refused the call: in simulation (nothing spent) or in a mined transaction."""

    def __init__(self, method: str, reason: RevertReason, *, mined: bool, tx_hash: bytes | None = None) -> None:
        self.method = method
        self.reason = reason
        self.mined = mined
        self.tx_hash = tx_hash
        where = f"transaction 0x{tx_hash.hex()}" if tx_hash else "simulation"
        super().__init__(f"{method} reverted ({where}): {reason}")


class SubmissionPending(ZkStateSyncError):
    """A transaction was sent but has no receipt yet (it stays `sent`; reconciliation follows it)."""


class SubmissionDropped(ZkStateSyncError):
    """A transaction the node refused or forgot (its nonce went to another transaction)."""


@dataclass(frozen=True)
class ReceiptLog:
    address: str
    topics: tuple[bytes, ...]
    data: bytes


@dataclass(frozen=True)
class TxReceipt:
    tx_hash: bytes
    success: bool
    block: int
    gas_used: int
    logs: tuple[ReceiptLog, ...]


def parse_receipt(answer: Mapping[str, Any]) -> TxReceipt:
    try:
        return _parse_receipt(answer)
    except (KeyError, TypeError) as exc:
        raise RpcAnswerError(f"a transaction receipt without {exc}") from exc


def _parse_receipt(answer: Mapping[str, Any]) -> TxReceipt:
    logs = tuple(
        ReceiptLog(
            address=str(entry["address"]),
            topics=tuple(parse_data(t, "log topic", 32) for t in entry["topics"]),
            data=parse_data(entry["data"], "log data"),
        )
        for entry in answer.get("logs", [])
    )
    return TxReceipt(
        tx_hash=parse_data(answer.get("transactionHash"), "transactionHash", 32),
        success=parse_quantity(answer.get("status"), "status") == 1,
        block=parse_quantity(answer.get("blockNumber"), "blockNumber"),
        gas_used=parse_quantity(answer.get("gasUsed"), "gasUsed"),
        logs=logs,
    )


class TransactionJournal(Protocol):
    """Where a transaction is recorded before it leaves (the relayer's store, the checkpoint journal)."""

    def record_transaction(
        self, batch_id: int, tx_hash: bytes, method: str, sender: str, nonce: int, raw: bytes
    ) -> None: ...

    def set_transaction_status(
        self, tx_hash: bytes, status: TxStatus, note: str = "", *, block: int | None = None, gas_used: int | None = None
    ) -> None: ...


class TransactionSender:
    def __init__(
        self,
        rpc: FailoverRpc,
        account: LocalAccount,
        store: TransactionJournal,
        *,
        abis: Iterable[Abi],
        receipt_timeout: float,
        should_stop: Callable[[], bool],
    ) -> None:
        self.rpc = rpc
        self.account = account
        self.store = store
        self.abis = tuple(abis)
        self.receipt_timeout = receipt_timeout
        self.should_stop = should_stop

    @property
    def address(self) -> ChecksumAddress:
        return self.account.address

    def simulate(self, method: str, to: str, data: bytes, gas: int, block: int | str = "latest") -> None:
        """Run the call on the state at `block`; SubmissionReverted with the decoded reason if it reverts."""
        call = {"from": self.address, "to": to, "data": "0x" + data.hex(), "gas": hex(gas)}
        at = hex(block) if isinstance(block, int) else block
        try:
            self.rpc.request("eth_call", [call, at], answer_errors=True)
        except RpcErrorAnswer as exc:
            if exc.data or "revert" in exc.message.lower() or "out of gas" in exc.message.lower():
                raise SubmissionReverted(method, decode_revert(exc.data, self.abis), mined=False) from exc
            raise RpcAnswerError(f"eth_call of {method}: {exc}") from exc

    def send(self, batch_id: int, method: str, to: str, data: bytes, gas: int) -> TxReceipt:
        """Simulate, sign, record, broadcast and wait for the receipt of one call to `to`.

        SubmissionReverted if it reverts (simulated or mined), SubmissionPending when no receipt
        came within the timeout, SubmissionDropped when the node refuses the transaction.
        """
        self.simulate(method, to, data, gas)
        nonce = parse_quantity(
            self.rpc.request("eth_getTransactionCount", [self.address, "pending"]), "eth_getTransactionCount"
        )
        transaction: dict[str, Any] = {
            "to": to,
            "data": data,
            "value": 0,
            "gas": gas,
            "nonce": nonce,
            "chainId": self.rpc.chain_id,
        }
        transaction.update(self._fees())
        signed = self.account.sign_transaction(transaction)
        tx_hash, raw = bytes(signed.hash), bytes(signed.raw_transaction)
        # Recorded before it leaves: a crash from here on leaves a hash to look up.
        self.store.record_transaction(batch_id, tx_hash, method, self.address, nonce, raw)
        try:
            self.rpc.request("eth_sendRawTransaction", ["0x" + raw.hex()], answer_errors=True)
        except RpcErrorAnswer as exc:
            if "already known" not in exc.message.lower():
                self.store.set_transaction_status(tx_hash, TxStatus.DROPPED, f"refused: {exc.message}")
                raise SubmissionDropped(f"{method}: the node refused the transaction: {exc.message}") from exc
        self.store.set_transaction_status(tx_hash, TxStatus.SENT)
        log.info(
            "tx.sent",
            extra={"fields": {"method": method, "tx": "0x" + tx_hash.hex(), "nonce": nonce, "batch": batch_id}},
        )
        receipt = self.wait_for_receipt(tx_hash, self.receipt_timeout)
        if receipt is None:
            raise SubmissionPending(f"{method}: no receipt for 0x{tx_hash.hex()} within {self.receipt_timeout} s")
        return self.settle(method, to, data, gas, receipt)

    def settle(self, method: str, to: str, data: bytes, gas: int, receipt: TxReceipt) -> TxReceipt:
        """Record a mined transaction's outcome; SubmissionReverted (with its reason) if it failed."""
        if receipt.success:
            self.store.set_transaction_status(
                receipt.tx_hash, TxStatus.SUCCEEDED, block=receipt.block, gas_used=receipt.gas_used
            )
            return receipt
        reason = self.replay_reason(to, data, gas, receipt.block)
        self.store.set_transaction_status(
            receipt.tx_hash, TxStatus.REVERTED, str(reason), block=receipt.block, gas_used=receipt.gas_used
        )
        raise SubmissionReverted(method, reason, mined=True, tx_hash=receipt.tx_hash)

    def replay_reason(self, to: str, data: bytes, gas: int, block: int) -> RevertReason:
        # Receipts carry no revert data: replay on the state before the block (a close approximation
        # when the block holds other transactions; exact on a chain that mines one per block).
        try:
            self.simulate("replay", to, data, gas, block=max(block - 1, 0))
        except SubmissionReverted as exc:
            return exc.reason
        return RevertReason(None, (), b"")

    def receipt(self, tx_hash: bytes) -> TxReceipt | None:
        answer = self.rpc.request("eth_getTransactionReceipt", ["0x" + tx_hash.hex()])
        if answer is None:
            return None
        if not isinstance(answer, dict):
            raise RpcAnswerError("eth_getTransactionReceipt did not return an object")
        return parse_receipt(answer)

    def wait_for_receipt(self, tx_hash: bytes, timeout: float) -> TxReceipt | None:
        deadline = time.monotonic() + timeout
        while True:
            receipt = self.receipt(tx_hash)
            if receipt is not None or time.monotonic() > deadline or self.should_stop():
                return receipt
            time.sleep(RECEIPT_POLL_SECONDS)

    def is_known(self, tx_hash: bytes) -> bool:
        """The node has the transaction (pending or mined)."""
        return self.rpc.request("eth_getTransactionByHash", ["0x" + tx_hash.hex()]) is not None

    def balance(self) -> int:
        return parse_quantity(self.rpc.request("eth_getBalance", [self.address, "latest"]), "eth_getBalance")

    def confirmed_nonce(self) -> int:
        return parse_quantity(
            self.rpc.request("eth_getTransactionCount", [self.address, "latest"]), "eth_getTransactionCount"
        )

    def resolve(self, record: TransactionRecord) -> TxReceipt | None:
        """Follow up a transaction recorded before a crash or a timeout: its receipt, or None when it is
        still pending. A transaction the node does not know is dropped (when its nonce was used by
        another, or it was never broadcast) and is broadcast again when its nonce is still free."""
        receipt = self.receipt(record.tx_hash)
        if receipt is not None:
            return receipt
        if self.is_known(record.tx_hash):
            return None
        if self.confirmed_nonce() > record.nonce:
            self.store.set_transaction_status(record.tx_hash, TxStatus.DROPPED, "its nonce was used by another")
            raise SubmissionDropped(f"0x{record.tx_hash.hex()} was replaced (nonce {record.nonce} is used)")
        self.store.set_transaction_status(record.tx_hash, TxStatus.DROPPED, "unknown to the node")
        raise SubmissionDropped(f"0x{record.tx_hash.hex()} is unknown to the node (never broadcast, or forgotten)")

    def _fees(self) -> dict[str, int]:
        latest = self.rpc.request("eth_getBlockByNumber", ["latest", False])
        base_fee = latest.get("baseFeePerGas") if isinstance(latest, dict) else None
        gas_price = parse_quantity(self.rpc.request("eth_gasPrice", []), "eth_gasPrice")
        if base_fee is None:
            return {"gasPrice": gas_price * 5 // 4 + 1}
        base = parse_quantity(base_fee, "baseFeePerGas")
        priority = max(gas_price - base, PRIORITY_FEE_FLOOR)
        # Twice the base fee: still included after six full blocks of base-fee increases.
        return {"maxFeePerGas": 2 * base + priority, "maxPriorityFeePerGas": priority}


def event_ids(logs: Sequence[ReceiptLog], receiver: str, topic: bytes) -> list[tuple[int, bool]]:
    """(id, success) of each StateSyncResult(id, success, message) the receiver emitted in these logs."""
    return [
        (int.from_bytes(entry.topics[1], "big"), entry.topics[2][-1] == 1)
        for entry in logs
        if entry.address.lower() == receiver.lower() and len(entry.topics) == 3 and entry.topics[0] == topic
    ]
