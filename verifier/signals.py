"""Typed public signals: the one place that knows where each value sits in public.json.

    signals = decode_signals("state_sync", public)   # -> StateSyncSignals
    signals.header_hash, signals.gamma, signals.values()

The order comes from circuits/circuits.toml (outputs, then public inputs); a record type
per circuit family names each value, so the light client, the relayer and the contract
calls read fields, never positions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields

from statesync.circuits import load_manifest
from statesync.errors import ZkStateSyncError
from statesync.field import R


class SignalsError(ZkStateSyncError, ValueError):
    """Public signals of the wrong count, non-canonical, or of a circuit without a record type."""


@dataclass(frozen=True)
class HeaderSignals:
    """HeaderUpdate and HeaderChain: a final header linked to the trusted one."""

    header_hash: int
    number: int
    event_root: int
    trusted_header_hash: int

    def values(self) -> tuple[int, ...]:
        return tuple(astuple(self))


@dataclass(frozen=True)
class StateSyncSignals:
    """StateSync: a header and a batch of its events, in one proof."""

    header_hash: int
    number: int
    event_root: int
    trusted_header_hash: int
    gamma: int
    events_commitment: int

    def values(self) -> tuple[int, ...]:
        return tuple(astuple(self))

    @property
    def header(self) -> HeaderSignals:
        return HeaderSignals(self.header_hash, self.number, self.event_root, self.trusted_header_hash)


@dataclass(frozen=True)
class EventSignals:
    """EventInclusion: a batch of events under an already proven event root."""

    event_root: int
    gamma: int
    events_commitment: int

    def values(self) -> tuple[int, ...]:
        return tuple(astuple(self))


@dataclass(frozen=True)
class CheckpointSignals:
    """CheckpointUpdate: a final child-chain checkpoint linked to the trusted one."""

    checkpoint_hash: int
    number: int
    exit_root_high: int
    exit_root_low: int
    trusted_checkpoint_hash: int

    def values(self) -> tuple[int, ...]:
        return tuple(astuple(self))

    @property
    def exit_root(self) -> int:
        """The 256-bit keccak exit root the two limbs carry."""
        return (self.exit_root_high << 128) | self.exit_root_low


Signals = HeaderSignals | StateSyncSignals | EventSignals | CheckpointSignals
_RECORDS: dict[str, type[Signals]] = {
    "checkpoint_update": CheckpointSignals,
    "header_update": HeaderSignals,
    "header_chain": HeaderSignals,
    "state_sync": StateSyncSignals,
    "event_inclusion": EventSignals,
}


def snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def signal_names(circuit: str) -> tuple[str, ...]:
    """The manifest's public signal names of `circuit`, in public.json's order."""
    return load_manifest().circuit(circuit).signals


def decode_signals(circuit: str, values: Sequence[int]) -> Signals:
    """The typed record of a proof's public signals (each a canonical field element)."""
    record = _RECORDS.get(circuit)
    if record is None:
        raise SignalsError(f"no signal record for circuit {circuit!r}")
    names = signal_names(circuit)
    if tuple(snake_case(n) for n in names) != tuple(f.name for f in fields(record)):
        raise SignalsError(f"the manifest's signals of {circuit} {names} do not match {record.__name__}")
    if len(values) != len(names):
        raise SignalsError(f"{circuit} has {len(names)} public signals ({', '.join(names)}), got {len(values)}")
    for name, value in zip(names, values, strict=True):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < R:
            raise SignalsError(f"{circuit} signal {name} is not a canonical field element: {value!r}")
    return record(*values)


def decode_header_signals(circuit: str, values: Sequence[int]) -> HeaderSignals:
    """The header part of any header-carrying proof (HeaderUpdate, HeaderChain, StateSync)."""
    signals = decode_signals(circuit, values)
    if isinstance(signals, StateSyncSignals):
        return signals.header
    if isinstance(signals, HeaderSignals):
        return signals
    raise SignalsError(f"{circuit} proves no header")
