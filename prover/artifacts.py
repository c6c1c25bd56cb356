"""Where build artefacts live, and the one way they are published.

Every artefact of a circuit instance sits at `build/<kind>/<instance>/<content key>/`, so two
inputs never share a path and a path never changes meaning. A directory is built under a
staging name beside its final place and renamed there only when complete: a reader sees a
whole artefact or none, and two processes racing on the same key end with one copy (the
loser's identical result is discarded).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

from statesync.resources import data_root, is_checkout


class Kind(StrEnum):
    CIRCUIT = "circuits"  # r1cs, wasm, sym, build.json
    KEYS = "keys"  # zkey, verification key, setup.json, generated Solidity verifier
    PTAU = "ptau"  # local powers of tau, by power
    PROOFS = "proofs"  # proofs written without an explicit --out
    CONTRACTS = "contracts"  # solc's standard-JSON outputs
    CEREMONY = "ceremony"  # multi-party phase-2 transcripts


def build_root() -> Path:
    """Where artefacts live (override: ZKSTATESYNC_BUILD); safe to delete.

    In a checkout that is its build/ folder (gitignored); for an installed package, the
    user's cache (XDG_CACHE_HOME, default ~/.cache).
    """
    env = os.environ.get("ZKSTATESYNC_BUILD")
    if env:
        return Path(env).resolve()
    if is_checkout():
        return data_root() / "build"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "zkstatesync" / "build"


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, lowercase hex, read in blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def artifact_path(kind: Kind, instance: str, key: str = "") -> Path:
    """The directory of one artefact: build/<kind>/<instance>/<key>."""
    path = build_root() / kind.value / instance
    return path / key if key else path


@contextlib.contextmanager
def staged_directory(final: Path, complete: str) -> Iterator[Path]:
    """Yield an empty staging directory; publish it as `final` if the block succeeds.

    `complete` names the file whose presence marks a finished artefact. On any exception the
    staging directory is removed and `final` is left as it was.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    try:
        yield staging
        if not (staging / complete).exists():
            raise FileNotFoundError(f"{complete} was not written", str(staging / complete))
        if final.exists() and not (final / complete).exists():
            shutil.rmtree(final)  # an incomplete earlier attempt
        try:
            staging.rename(final)
        except OSError:
            # Another process published the same key first; its result is identical.
            if not (final / complete).exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
