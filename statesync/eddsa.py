"""EdDSA over Baby Jubjub with Poseidon, as circomlibjs's eddsa.js and circomlib's
EdDSAPoseidonVerifier.

Keys (circomlibjs prv2pub): h = BLAKE-512(private key); s = the first 32 bytes of h, pruned
(low 3 bits cleared, bit 255 cleared, bit 254 set) and read little-endian; A = BASE8 * (s >> 3).

Signing (signPoseidon): r = BLAKE-512(h[32:64] || message as 32 bytes little-endian) read
little-endian, mod l; R8 = BASE8 * r; k = Poseidon(R8.x, R8.y, A.x, A.y, message);
S = (r + k * s) mod l. Deterministic: the same key and message give the same signature.

Verification accepts iff S * BASE8 == R8 + (8 * k) * A. What each side checks beyond that:

- circomlib's EdDSAPoseidonVerifier (when enabled): S < l (Num2Bits(253) then CompConstant(l - 1));
  8 * A is not the identity (IsZero on the x of A doubled three times), so a small-order key
  cannot sign everything; k is decomposed with Num2Bits_strict (no aliasing). It does not check
  that A or R8 are on the curve: the prover supplies those, and the caller's circuit must pin A.
- circomlibjs verifyPoseidon: R8 and A on the curve, S < l; it does not reject small-order keys.
- verify_poseidon here does all of the above, raising instead of returning False for malformed
  input: SignatureError for S >= l, CurveError for a point off the curve or a small-order key,
  FieldError for a message or coordinate >= r. A well-formed but wrong signature gives False.

Keys with a torsion component (A in the full group but not the subgroup) are accepted, as by
both references: the factor 8 in 8 * k * A clears the torsion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from statesync.babyjub import BASE8, IDENTITY, SUBORDER, Point, add_points, check_point, multiply_point
from statesync.blake512 import blake512
from statesync.errors import CurveError, PrivateKeyError, SignatureError
from statesync.field import to_field
from statesync.poseidon import poseidon

PRIVATE_KEY_SIZE: Final = 32


@dataclass(frozen=True)
class Signature:
    """An EdDSA-Poseidon signature: the nonce point R8 and the scalar S (< l when valid)."""

    r8: Point
    s: int


def _expand_private_key(private_key: bytes) -> tuple[int, bytes]:
    if not isinstance(private_key, bytes | bytearray):
        kind = type(private_key).__name__
        raise PrivateKeyError(f"a private key is {PRIVATE_KEY_SIZE} bytes, got {kind}")
    if len(private_key) != PRIVATE_KEY_SIZE:
        raise PrivateKeyError(f"a private key is {PRIVATE_KEY_SIZE} bytes, got {len(private_key)} bytes")
    digest = bytearray(blake512(bytes(private_key)))
    # Pruning makes s a multiple of 8 (cofactor) with a fixed top bit, as in Ed25519.
    digest[0] &= 0xF8
    digest[31] &= 0x7F
    digest[31] |= 0x40
    return int.from_bytes(digest[:32], "little"), bytes(digest[32:])


def derive_secret_scalar(private_key: bytes) -> int:
    """The pruned secret s (a multiple of 8) that signatures use: A = BASE8 * (s >> 3)."""
    secret, _ = _expand_private_key(private_key)
    return secret


def derive_public_key(private_key: bytes) -> Point:
    """The public key A = BASE8 * (s >> 3) of a 32-byte private key (circomlibjs prv2pub)."""
    secret, _ = _expand_private_key(private_key)
    return multiply_point(BASE8, secret >> 3)


def sign_poseidon(private_key: bytes, message: int) -> Signature:
    """Sign a field element (circomlibjs signPoseidon)."""
    message = to_field(message, "message")
    secret, prefix = _expand_private_key(private_key)
    public_key = multiply_point(BASE8, secret >> 3)
    nonce_digest = blake512(prefix + message.to_bytes(32, "little"))
    nonce = int.from_bytes(nonce_digest, "little") % SUBORDER
    r8 = multiply_point(BASE8, nonce)
    challenge = poseidon([r8[0], r8[1], public_key[0], public_key[1], message])
    return Signature(r8=r8, s=(nonce + challenge * secret) % SUBORDER)


def verify_poseidon(public_key: Point, message: int, signature: Signature) -> bool:
    """True iff signature signs message under public_key; raises on malformed input (see above)."""
    public_key = check_point(public_key, "public key")
    message = to_field(message, "message")
    if not isinstance(signature, Signature):
        raise SignatureError(f"expected a Signature, got {type(signature).__name__}")
    r8 = check_point(signature.r8, "signature R8")
    s = signature.s
    if not isinstance(s, int) or isinstance(s, bool) or s < 0:
        raise SignatureError(f"signature S must be a non-negative int, got {s!r}")
    if s >= SUBORDER:
        raise SignatureError(f"signature S must be < l (the subgroup order), got {s}")
    key8 = multiply_point(public_key, 8)
    if key8 == IDENTITY:
        raise CurveError(f"public key {public_key} has small order; it would verify anything")
    challenge = poseidon([r8[0], r8[1], public_key[0], public_key[1], message])
    left = multiply_point(BASE8, s)
    right = add_points(r8, multiply_point(key8, challenge))
    return left == right
