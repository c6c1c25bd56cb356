"""Where the project's data files are: the checkout, or the installed package's copy.

A checkout keeps `circuits/`, `package.json` and `package-lock.json` at its top; a wheel
carries the same files under `statesync/_data/` (pyproject.toml's force-include), so the
manifest, the circom sources and the npm pins are found the same way in both.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from .errors import ZkStateSyncError


class ResourceError(ZkStateSyncError):
    """The project's data files (circuits, npm pins) cannot be found."""


def _holds_data(directory: Path) -> bool:
    return (directory / "circuits" / "circuits.toml").is_file() and (directory / "package.json").is_file()


@functools.cache
def data_root() -> Path:
    """The folder holding circuits/ and package.json (override: ZKSTATESYNC_ROOT)."""
    env = os.environ.get("ZKSTATESYNC_ROOT")
    if env:
        root = Path(env).resolve()
        if not _holds_data(root):
            raise ResourceError(f"ZKSTATESYNC_ROOT={env} holds no circuits/circuits.toml and package.json")
        return root
    here = Path(__file__).resolve().parent
    for candidate in (here.parent, here / "_data"):
        if _holds_data(candidate):
            return candidate
    raise ResourceError(f"no circuits/circuits.toml beside {here}: reinstall zkstatesync or set ZKSTATESYNC_ROOT")


def is_checkout() -> bool:
    """True when running from a source checkout (build artefacts then live inside it)."""
    return data_root() != Path(__file__).resolve().parent / "_data"


def circuits_dir() -> Path:
    return data_root() / "circuits"
