"""The bridge's state as the chains and the services tell it: what `zkstatesync status` prints.

The chains are the source of truth: the rootchain's head and StateSender's counter, the
receiver's checkpoint and lastExecutedId. The validators' and the relayer's own /status add what
only they know (who is up, what each signed last, what the relayer is doing, its last error);
a service that does not answer is reported as down, not as an error.
"""

from __future__ import annotations

import contextlib
import http.client
import json
from dataclasses import asdict, dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from rich.console import Group, RenderableType
from rich.table import Table

from .config import ConfigError, NetworkConfig
from .receiver import CheckpointManager, ReceiverReader, read_uint_getter
from .rootchain import L2_STATE_SYNCED, RootchainReader
from .rpc import FailoverRpc, parse_quantity
from .validator.client import ValidatorClient, ValidatorUnreachable

SERVICE_TIMEOUT: Final = 3.0


@dataclass(frozen=True)
class ValidatorState:
    name: str
    power: int
    url: str
    up: bool
    last_signed: int | None  # the number of the last header it signed
    refusals: int
    errors: int


@dataclass(frozen=True)
class RelayerState:
    url: str
    up: bool
    action: str | None
    last_error: str | None
    store: dict[str, Any] | None


@dataclass(frozen=True)
class ExitsState:
    """The exit direction: the child's exits sent and the checkpoint the rootchain trusts."""

    child_head: int
    sent: int  # L2StateSender's counter at the child's head
    checkpoint_number: int  # ZkCheckpointManager.lastNumber: exits in child blocks up to it can be executed
    checkpoint_hash: int

    @property
    def lag_blocks(self) -> int:
        return max(0, self.child_head - self.checkpoint_number)


@dataclass(frozen=True)
class RailsState:
    """The safety rails (docs/PROTOCOL.md section 9) as the chains have them now."""

    frozen: bool
    expired: bool
    paused: bool
    paused_until: int  # Unix seconds of the guardian's last pause (0: never)
    deposits_queued: int | None  # ChildToken.queuedValue: minted when the bucket allows (None: no sample bridge)
    withdrawals_queued: int | None  # RootBridge.queuedValue: paid out when its bucket allows

    @property
    def summary(self) -> str:
        if self.frozen:
            return "FROZEN by evidence of equivocation: waits for governance's recovery"
        if self.expired:
            return "EXPIRED: no header within the trusting period; waits for a recovery"
        if self.paused:
            return f"paused until {self.paused_until}: headers are accepted, events wait"
        return "ok"


@dataclass(frozen=True)
class BridgeStatus:
    rootchain_head: int
    confirmations: int
    sent: int  # StateSender's counter at the head
    checkpoint_number: int
    checkpoint_hash: int
    last_executed_id: int
    validators: tuple[ValidatorState, ...]
    relayer: RelayerState | None
    exits: ExitsState | None = None  # the exit direction, when the network has one
    rails: RailsState | None = None

    @property
    def pending(self) -> int:
        return self.sent - self.last_executed_id

    @property
    def lag_blocks(self) -> int:
        return max(0, self.rootchain_head - self.checkpoint_number)

    @property
    def power_up(self) -> int:
        return sum(v.power for v in self.validators if v.up)

    @property
    def power_total(self) -> int:
        return sum(v.power for v in self.validators)

    @property
    def has_quorum(self) -> bool:
        """More than 2/3 of the power answers (what a header needs to be signed)."""
        return 3 * self.power_up > 2 * self.power_total

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["checkpoint_hash"] = str(self.checkpoint_hash)
        if self.exits is not None:
            document["exits"]["checkpoint_hash"] = str(self.exits.checkpoint_hash)
            document["exits"]["lag_blocks"] = self.exits.lag_blocks
        document.update(
            pending=self.pending,
            lag_blocks=self.lag_blocks,
            power_up=self.power_up,
            power_total=self.power_total,
            has_quorum=self.has_quorum,
        )
        return document


def read_validator_state(name: str, power: int, url: str) -> ValidatorState:
    try:
        status = ValidatorClient(url, timeout=SERVICE_TIMEOUT).status()
    except (ValidatorUnreachable, ValueError):  # no answer, or one that is not the API's JSON
        return ValidatorState(name, power, url, False, None, 0, 0)
    if not isinstance(status, dict):
        return ValidatorState(name, power, url, False, None, 0, 0)
    last = status.get("last_signed")
    number = int(last["number"]) if isinstance(last, dict) and str(last.get("number", "")).isdigit() else None
    refusals = status.get("refusals")
    errors = status.get("errors")
    return ValidatorState(
        name,
        power,
        url,
        True,
        number,
        sum(v for v in refusals.values() if isinstance(v, int)) if isinstance(refusals, dict) else 0,
        len(errors) if isinstance(errors, list) else 0,
    )


def read_relayer_state(url: str) -> RelayerState:
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname is None or parts.port is None:
        raise ConfigError(f"a relayer URL is http://host:port, got {url!r}")
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=SERVICE_TIMEOUT)
    document: Any = None
    with contextlib.suppress(OSError, http.client.HTTPException, ValueError):
        connection.request("GET", "/status")
        response = connection.getresponse()
        if response.status == 200:
            document = json.loads(response.read())
    connection.close()
    if not isinstance(document, dict):
        return RelayerState(url, False, None, None, None)
    error = document.get("last_error")
    store = document.get("store")
    return RelayerState(
        url,
        True,
        str(document["action"]) if "action" in document else None,
        str(error.get("message")) if isinstance(error, dict) else None,
        store if isinstance(store, dict) else None,
    )


def read_bridge_status(network: NetworkConfig, relayer_url: str | None = None) -> BridgeStatus:
    """Read both chains (RpcUnavailable if one does not answer) and every service (down if silent)."""
    root, child = network.rootchain, network.child
    if root.state_sender is None or child is None or child.receiver is None:
        raise ConfigError("the network file records no deployment ([rootchain] state_sender, [child] receiver)")
    rootchain = RootchainReader(FailoverRpc("rootchain", root.rpc, root.chain_id, root.rpc_timeout), root.state_sender)
    receiver = ReceiverReader(FailoverRpc("child", child.rpc, child.chain_id, child.rpc_timeout), child.receiver)
    head = rootchain.head()
    child_block = parse_quantity(receiver.rpc.request("eth_blockNumber", []), "eth_blockNumber")
    return BridgeStatus(
        rootchain_head=head,
        confirmations=root.confirmations,
        sent=rootchain.counter(head),
        # One child block for the three reads, so they describe one state.
        checkpoint_number=receiver.last_number(child_block),
        checkpoint_hash=receiver.trusted_header_hash(child_block),
        last_executed_id=receiver.last_executed_id(child_block),
        rails=read_rails_state(network, receiver, child_block),
        validators=tuple(read_validator_state(v.name, v.power, v.url) for v in network.validators),
        relayer=None if relayer_url is None else read_relayer_state(relayer_url),
        exits=read_exits_state(network),
    )


def read_rails_state(network: NetworkConfig, receiver: ReceiverReader, child_block: int) -> RailsState:
    """The receiver's rails at `child_block`, and the value the sample token bridge holds in its queues."""

    def flag(getter: str) -> bool:
        return read_uint_getter(receiver.rpc, receiver.receiver, getter, child_block, "ZkStateReceiver") != 0

    deposits = withdrawals = None
    record = network.deployment
    if record is not None:
        deposits = read_uint_getter(receiver.rpc, record.child_token, "queuedValue", child_block, "ChildToken")
        root = network.rootchain
        rootchain = FailoverRpc("rootchain", root.rpc, root.chain_id, root.rpc_timeout)
        withdrawals = read_uint_getter(rootchain, record.root_bridge, "queuedValue", "latest", "RootBridge")
    return RailsState(
        frozen=flag("frozen"),
        expired=flag("expired"),
        paused=flag("paused"),
        paused_until=read_uint_getter(receiver.rpc, receiver.receiver, "pausedUntil", child_block, "ZkStateReceiver"),
        deposits_queued=deposits,
        withdrawals_queued=withdrawals,
    )


def read_exits_state(network: NetworkConfig) -> ExitsState | None:
    """The exit direction's state from both chains, or None for a deposit-only network."""
    root, child = network.rootchain, network.child
    if child is None or child.l2_state_sender is None or root.checkpoint_manager is None:
        return None
    sender = RootchainReader(
        FailoverRpc("child", child.rpc, child.chain_id, child.rpc_timeout), child.l2_state_sender, kind=L2_STATE_SYNCED
    )
    manager = CheckpointManager(
        FailoverRpc("rootchain", root.rpc, root.chain_id, root.rpc_timeout), root.checkpoint_manager
    )
    child_head = sender.head()
    root_head = parse_quantity(manager.rpc.request("eth_blockNumber", []), "eth_blockNumber")
    return ExitsState(
        child_head=child_head,
        sent=sender.counter(child_head),
        checkpoint_number=manager.last_number(root_head),
        checkpoint_hash=manager.trusted_checkpoint_hash(root_head),
    )


def render_bridge_status(status: BridgeStatus, title: str = "bridge") -> RenderableType:
    """Two tables: the chains' view, then the services'."""
    chains = Table(title=title, show_header=False, title_justify="left")
    chains.add_column(style="bold")
    chains.add_column()
    confirmed = max(0, status.rootchain_head - status.confirmations)
    chains.add_row("rootchain head", f"{status.rootchain_head} (confirmed up to {confirmed})")
    chains.add_row("events sent", str(status.sent))
    chains.add_row("checkpoint", f"header {status.checkpoint_number}, {status.lag_blocks} blocks behind the head")
    chains.add_row("executed", f"{status.last_executed_id} ({status.pending} pending)")
    if status.rails is not None:
        rails = status.rails
        style = "red" if rails.frozen or rails.expired else "yellow" if rails.paused else "green"
        chains.add_row("receiver", f"[{style}]{rails.summary}[/]")
        if rails.deposits_queued is not None:
            chains.add_row(
                "queued value",
                f"deposits {rails.deposits_queued}, withdrawals {rails.withdrawals_queued} (rate limits)",
            )
    if status.exits is not None:
        exits = status.exits
        chains.add_row("child head", str(exits.child_head))
        chains.add_row("exits sent", f"{exits.sent} (on the child chain; executed by their users)")
        chains.add_row(
            "checkpoint (exits)", f"child block {exits.checkpoint_number}, {exits.lag_blocks} blocks behind the child"
        )
    quorum = "[green]quorum[/]" if status.has_quorum else "[red]below 2/3: no header can be signed[/]"
    chains.add_row("validators up", f"power {status.power_up} of {status.power_total}: {quorum}")
    services = Table(show_lines=False, title_justify="left")
    for column in ("service", "power", "up", "last signed / doing", "errors"):
        services.add_column(column)
    for v in status.validators:
        up = "[green]up[/]" if v.up else "[red]down[/]"
        signed = "-" if v.last_signed is None else f"header {v.last_signed}"
        services.add_row(v.name, str(v.power), up, signed, str(v.errors + v.refusals) if v.up else "-")
    if status.relayer is not None:
        r = status.relayer
        up = "[green]up[/]" if r.up else "[red]down[/]"
        services.add_row("relayer", "", up, (r.action or "-")[:60], (r.last_error or "")[:60])
    return Group(chains, services)
