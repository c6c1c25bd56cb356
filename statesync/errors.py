"""Exception hierarchy shared by every zkstatesync package.

Every failure a user can cause raises a subclass of ZkStateSyncError with a message
that names the offending value, so callers catch one base class and CLIs print one line.
"""


class ZkStateSyncError(Exception):
    """Base class of every error raised on purpose by zkstatesync."""


class FieldError(ZkStateSyncError, ValueError):
    """A value is not a canonical field element (negative, or >= the modulus)."""


class CurveError(ZkStateSyncError, ValueError):
    """A point is not on the curve, or not in the expected subgroup."""


class SignatureError(ZkStateSyncError, ValueError):
    """A signature is malformed (for example S >= the subgroup order)."""


class MerkleError(ZkStateSyncError, ValueError):
    """A Merkle tree or proof has the wrong shape (depth, index, path length)."""


class ModelError(ZkStateSyncError, ValueError):
    """A protocol object (validator set, header, event) violates the protocol's rules."""


class ToolError(ZkStateSyncError):
    """An external tool (circom, snarkjs, node, solc, anvil) failed or is missing.

    Carries the argv and the tool's stderr so that the message says what ran and why it failed.
    """

    def __init__(self, message: str, argv: list[str] | None = None, stderr: str = "") -> None:
        self.argv = list(argv or [])
        self.stderr = stderr
        detail = f"\n  command: {' '.join(self.argv)}" if self.argv else ""
        tail = f"\n  stderr:\n{_indent(stderr)}" if stderr.strip() else ""
        super().__init__(f"{message}{detail}{tail}")


def _indent(text: str, limit: int = 4000) -> str:
    text = text.strip()
    if len(text) > limit:
        text = "...\n" + text[-limit:]
    return "\n".join("    " + line for line in text.splitlines())


class ArityError(ZkStateSyncError, ValueError):
    """A hash was given a number of inputs it does not support (Poseidon: 1 to 16)."""


class PrivateKeyError(SignatureError):
    """A private key has the wrong type or length (EdDSA keys are 32 bytes)."""
