from __future__ import annotations

import functools
import random
import sys

import pytest

from statesync.blake512 import DIGEST_SIZE, blake512
from tests.statesync.conftest import VECTORS, Requests, circomlibjs_answers

# Published vectors: the first two from the BLAKE submission (Aumasson et al., "SHA-3 proposal
# BLAKE", version 1.3, appendix: BLAKE-512 of one zero byte and of 144 zero bytes), the last
# two from the BLAKE article on Wikipedia.
PUBLISHED = [
    (
        bytes(1),
        "97961587f6d970faba6d2478045de6d1fabd09b61ae50932054d52bc29d31be4"
        "ff9102b9f69e2bbdb83be13d4b9c06091e5fa0b48bd081b634058be0ec49beb3",
    ),
    (
        bytes(144),
        "313717d608e9cf758dcb1eb0f0c3cf9fc150b2d500fb33f51c52afc99d358a2f"
        "1374b8a38bba7974e7f6ef79cab16f22ce1e649d6e01ad9589c213045d545dde",
    ),
    (
        b"",
        "a8cfbbd73726062df0c6864dda65defe58ef0cc52a5625090fa17601e1eecd1b"
        "628e94f396ae402a00acc9eab77b4d4c2e852aaaa25a636d80af3fc7913ef5b8",
    ),
    (
        b"The quick brown fox jumps over the lazy dog",
        "1f7e26f63b6ad25a0896fd978fd050a1766391d2fd0471a77afb975e5034b7ad"
        "2d9ccf8dfb47abbbe656e1b82fbc634ba42ce186e8dc5e1ce09a885d41f43451",
    ),
]

# Lengths where the padding changes shape: 111 leaves room for the one-byte 0x81 pad, 112 and
# up push the length field into an extra block that holds no message bits (counter 0).
BOUNDARY_LENGTHS = [0, 1, 32, 64, 110, 111, 112, 113, 127, 128, 129, 239, 240, 255, 256, 257]


@pytest.mark.parametrize(("message", "digest"), PUBLISHED)
def test_published_vectors(message: bytes, digest: str) -> None:
    assert blake512(message).hex() == digest


@functools.cache
def messages() -> list[bytes]:
    rng = random.Random("blake512")
    lengths = BOUNDARY_LENGTHS + [rng.randrange(0, 600) for _ in range(VECTORS)]
    return [rng.randbytes(n) for n in lengths]


def circomlibjs_requests() -> Requests:
    return [{"op": "blake512", "data": m.hex()} for m in messages()]


def test_matches_blake_hash_on_random_messages() -> None:
    expected = circomlibjs_answers(sys.modules[__name__])
    for message, digest in zip(messages(), expected, strict=True):
        assert blake512(message).hex() == digest, f"length {len(message)}"


def test_digest_size_and_input_types() -> None:
    assert len(blake512(b"abc")) == DIGEST_SIZE
    assert blake512(bytearray(b"abc")) == blake512(b"abc") == blake512(memoryview(b"abc"))


def test_a_one_bit_change_changes_the_digest() -> None:
    assert blake512(b"\x00" * 32) != blake512(b"\x00" * 31 + b"\x01")


def test_rejects_text() -> None:
    with pytest.raises(TypeError, match="hashes bytes, got str"):
        blake512("abc")  # type: ignore[arg-type]
