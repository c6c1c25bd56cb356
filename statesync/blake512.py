"""BLAKE-512, the SHA-3 finalist (Aumasson et al., version 1.3; 16 rounds), with no salt.

circomlibjs derives EdDSA keys and nonces with npm blake-hash's "blake512"; PyPI has no
maintained BLAKE (not BLAKE2) package, hence this one. It hashes whole messages (the keys and
nonces it serves are 32 and 64 bytes), so it keeps no streaming state.
"""

from __future__ import annotations

from typing import Final

DIGEST_SIZE: Final = 64
_BLOCK: Final = 128
_MASK: Final = (1 << 64) - 1

# Initial value: SHA-512's, the fractional parts of the square roots of the first 8 primes.
_IV: Final = (
    0x6A09E667F3BCC908, 0xBB67AE8584CAA73B, 0x3C6EF372FE94F82B, 0xA54FF53A5F1D36F1,
    0x510E527FADE682D1, 0x9B05688C2B3E6C1F, 0x1F83D9ABFB41BD6B, 0x5BE0CD19137E2179,
)  # fmt: skip

# The first 1024 bits of the fractional part of pi.
_C: Final = (
    0x243F6A8885A308D3, 0x13198A2E03707344, 0xA4093822299F31D0, 0x082EFA98EC4E6C89,
    0x452821E638D01377, 0xBE5466CF34E90C6C, 0xC0AC29B7C97C50DD, 0x3F84D5B5B5470917,
    0x9216D5D98979FB1B, 0xD1310BA698DFB5AC, 0x2FFD72DBD01ADFB7, 0xB8E1AFED6A267E96,
    0xBA7C9045F12C7F99, 0x24A19947B3916CF7, 0x0801F2E2858EFC16, 0x636920D871574E69,
)  # fmt: skip

_SIGMA: Final = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
    (14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3),
    (11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4),
    (7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8),
    (9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13),
    (2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9),
    (12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11),
    (13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10),
    (6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5),
    (10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0),
)
_ROUNDS: Final = 16

# G's (a, b, c, d) lanes: four columns, then four diagonals.
_LANES: Final = (
    (0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15),
    (0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14),
)  # fmt: skip

# Per round and G call: (message index, constant index) for both halves of G, precomputed so
# the compression loop does no permutation lookups.
_SCHEDULE: Final = tuple(
    tuple(
        (
            _SIGMA[r % 10][2 * i],
            _SIGMA[r % 10][2 * i + 1],
        )
        for i in range(8)
    )
    for r in range(_ROUNDS)
)


def _rotr(x: int, n: int) -> int:
    return ((x >> n) | (x << (64 - n))) & _MASK


def _compress(h: list[int], block: bytes, counter: int) -> list[int]:
    m = [int.from_bytes(block[8 * i : 8 * i + 8], "big") for i in range(16)]
    v = [
        *h,
        *_C[:4],
        _C[4] ^ (counter & _MASK),
        _C[5] ^ (counter & _MASK),
        _C[6] ^ (counter >> 64),
        _C[7] ^ (counter >> 64),
    ]
    for round_schedule in _SCHEDULE:
        for (a, b, c, d), (j, k) in zip(_LANES, round_schedule, strict=True):
            v[a] = (v[a] + v[b] + (m[j] ^ _C[k])) & _MASK
            v[d] = _rotr(v[d] ^ v[a], 32)
            v[c] = (v[c] + v[d]) & _MASK
            v[b] = _rotr(v[b] ^ v[c], 25)
            v[a] = (v[a] + v[b] + (m[k] ^ _C[j])) & _MASK
            v[d] = _rotr(v[d] ^ v[a], 16)
            v[c] = (v[c] + v[d]) & _MASK
            v[b] = _rotr(v[b] ^ v[c], 11)
    # The salt is zero, so it drops out of the finalisation h ^ s ^ v[i] ^ v[i + 8].
    return [h[i] ^ v[i] ^ v[i + 8] for i in range(8)]


def _pad(message: bytes) -> bytes:
    # A 1 bit, zeros, a 1 bit ending byte 111 of the last block, then the 128-bit bit length.
    zeros = (111 - len(message)) % _BLOCK
    tail = b"\x81" if zeros == 0 else b"\x80" + bytes(zeros - 1) + b"\x01"
    return message + tail + (8 * len(message)).to_bytes(16, "big")


def blake512(message: bytes | bytearray | memoryview) -> bytes:
    """The 64-byte BLAKE-512 digest of message (npm blake-hash's createBlakeHash("blake512"))."""
    if not isinstance(message, bytes | bytearray | memoryview):
        raise TypeError(f"blake512 hashes bytes, got {type(message).__name__}")
    data = bytes(message)
    padded = _pad(data)
    bit_length = 8 * len(data)
    h = list(_IV)
    for offset in range(0, len(padded), _BLOCK):
        # The counter is the number of message bits up to the end of this block, or 0 for a
        # block that holds padding only.
        counter = min(bit_length, 8 * (offset + _BLOCK)) if 8 * offset < bit_length else 0
        h = _compress(h, padded[offset : offset + _BLOCK], counter)
    return b"".join(x.to_bytes(8, "big") for x in h)
