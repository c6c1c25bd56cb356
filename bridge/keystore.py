"""A validator's Baby Jubjub EdDSA private key in an Ethereum-style encrypted keystore.

The 32-byte key (statesync.eddsa) is encrypted by eth_keyfile as a version-3 keystore:
scrypt derives the key from the password, AES-128-CTR encrypts, keccak MACs. eth_keyfile adds
an "address" derived as if the bytes were a secp256k1 key; it is replaced here by the Baby
Jubjub public key, since these bytes must never be mistaken for an Ethereum account. The file
is written atomically and is readable by its owner only (0600).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Final

from eth_keyfile.exceptions import EthKeyfileValueError
from eth_keyfile.keyfile import create_keyfile_json, decode_keyfile_json

from statesync.babyjub import Point
from statesync.eddsa import PRIVATE_KEY_SIZE, derive_public_key
from statesync.errors import ZkStateSyncError
from statesync.storage import write_atomically

KDF: Final = "scrypt"
DEFAULT_WORK_FACTOR: Final = 2**18  # scrypt n (eth_keyfile's and geth's default: ~1 s, 256 MiB)
MIN_WORK_FACTOR: Final = 2**10  # tests go low for speed; anything below is no protection at all
SCHEME: Final = "babyjubjub-eddsa-poseidon"
# secp256k1's group order minus one: eth_keyfile refuses larger 32-byte keys in a v3 keystore.
_MAX_V3_KEY: Final = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364140
_GENERATE_ATTEMPTS: Final = 16


class KeystoreError(ZkStateSyncError):
    """A keystore cannot be written or read: wrong password, malformed file, or a file in the way."""


def generate_keystore(path: Path, password: str, *, work_factor: int = DEFAULT_WORK_FACTOR) -> Point:
    """Make a new private key from the OS's CSPRNG, store it encrypted at `path`, return its public key.

    Refuses to overwrite: replacing a validator's key by accident loses the old one.
    """
    for _ in range(_GENERATE_ATTEMPTS):
        key = os.urandom(PRIVATE_KEY_SIZE)
        # Keys above secp256k1's order (probability ~2^-128) do not fit eth_keyfile's v3 format.
        if 0 < int.from_bytes(key, "big") <= _MAX_V3_KEY:
            return write_keystore(path, key, password, work_factor=work_factor)
    raise KeystoreError("the OS's random generator returned no usable key")  # pragma: no cover


def write_keystore(path: Path, private_key: bytes, password: str, *, work_factor: int = DEFAULT_WORK_FACTOR) -> Point:
    """Store `private_key` encrypted with `password` at `path` (a new file); return its public key."""
    path = Path(path)
    if not isinstance(password, str) or not password:
        raise KeystoreError("a keystore needs a non-empty password")
    if not isinstance(work_factor, int) or work_factor < MIN_WORK_FACTOR or work_factor & (work_factor - 1):
        raise KeystoreError(f"the scrypt work factor must be a power of two >= {MIN_WORK_FACTOR}, got {work_factor}")
    if path.exists():
        raise KeystoreError(f"{path} exists; refusing to overwrite a keystore")
    public_key = derive_public_key(private_key)
    try:
        document: dict[str, Any] = create_keyfile_json(
            private_key, password.encode("utf-8"), version=3, kdf=KDF, iterations=work_factor
        )
    except EthKeyfileValueError as exc:
        raise KeystoreError(f"cannot encrypt this key: {exc}") from exc
    document.pop("address", None)
    document["zkstatesync"] = {"scheme": SCHEME, "public_key": [str(public_key[0]), str(public_key[1])]}
    # write_atomically's temporary file is created 0600 (mkstemp) and renamed: never readable by others.
    write_atomically(path, json.dumps(document, indent=1) + "\n")
    os.chmod(path, 0o600)
    return public_key


def read_keystore_public_key(path: Path) -> Point:
    """The public key a keystore says it holds (no password needed; load_keystore checks it)."""
    document = _read_document(Path(path))
    return _stated_public_key(document, Path(path))


def load_keystore(path: Path, password: str) -> bytes:
    """Decrypt the private key; KeystoreError for a wrong password or a damaged file."""
    path = Path(path)
    document = _read_document(path)
    stated = _stated_public_key(document, path)
    try:
        private_key = decode_keyfile_json(document, password.encode("utf-8"))
    except EthKeyfileValueError as exc:
        raise KeystoreError(f"wrong password for keystore {path}") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise KeystoreError(f"keystore {path} is malformed: {exc!r}") from exc
    if len(private_key) != PRIVATE_KEY_SIZE:
        raise KeystoreError(f"keystore {path} holds {len(private_key)} bytes, not a {PRIVATE_KEY_SIZE}-byte key")
    if derive_public_key(private_key) != stated:
        raise KeystoreError(f"keystore {path} decrypts to a key other than the public key it states")
    return private_key


def _read_document(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KeystoreError(f"cannot read keystore {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KeystoreError(f"keystore {path} is not JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("version") != 3:
        raise KeystoreError(f"keystore {path} is not a version-3 keystore")
    return document


def _stated_public_key(document: dict[str, Any], path: Path) -> Point:
    info = document.get("zkstatesync")
    key = info.get("public_key") if isinstance(info, dict) else None
    if not isinstance(info, dict) or info.get("scheme") != SCHEME or not isinstance(key, list) or len(key) != 2:
        raise KeystoreError(f"keystore {path} is not a zkstatesync {SCHEME} keystore")
    if not all(isinstance(c, str) and c.isdigit() for c in key):
        raise KeystoreError(f"keystore {path} states a malformed public key")
    return (int(key[0]), int(key[1]))
