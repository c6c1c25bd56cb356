"""A verification key that knows what it verifies: circuit, preset and the file's sha256.

Proof records (prover/prove.py's record.json) and the light client name keys by these, so
a proof is never checked against the key of another circuit or preset by accident.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from statesync.circuits import load_manifest

from .groth16 import PreparedVerifyingKey, load_verifying_key, prepare_verifying_key


@dataclass(frozen=True)
class CircuitKey:
    circuit: str
    preset: str
    key: PreparedVerifyingKey
    sha256: str

    @property
    def params(self) -> Mapping[str, int]:
        return load_manifest().preset(self.preset)

    @property
    def batch_size(self) -> int:
        """B of the preset: events per proof for state_sync and event_inclusion."""
        return self.params["B"]


def load_circuit_key(path: Path, circuit: str, preset: str) -> CircuitKey:
    """Read and prepare verification_key.json for a manifest circuit at a preset."""
    load_manifest().spec(circuit, preset)  # an unknown circuit or preset fails here, by name
    data = Path(path).read_bytes()
    key = prepare_verifying_key(load_verifying_key(Path(path)))
    return CircuitKey(circuit, preset, key, hashlib.sha256(data).hexdigest())
