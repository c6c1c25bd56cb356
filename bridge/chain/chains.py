"""Two local EVM chains behind one interface: py-evm in process, and anvil as a subprocess.

* ``pyevm`` (the default): eth-tester's py-evm backend through web3. Nothing to start, but the
  EVM is Python: a Groth16 verifier call takes ~1-1.5 s (the pairing precompile is py_ecc).
* ``anvil``: Foundry's node from npm (`@foundry-rs/anvil-<platform>`), started on a free port
  of 127.0.0.1, polled until it answers, and killed when the context exits (and, on Linux,
  when this process dies, through PR_SET_PDEATHSIG). Calls take ~10-20 ms.

Both run Prague rules with auto-mining, one transaction per block, and funded unlocked
accounts. `Chain.call` returns the revert data as well as the return data, which neither
backend's web3 error path reliably keeps (eth-tester turns custom errors into text).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, get_args

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.middleware import SignAndSendRawMiddlewareBuilder
from web3.types import RPCEndpoint

from prover.toolchain import node_modules
from statesync.errors import ToolError, ZkStateSyncError

from ..rpc import redact_text, redact_url

ChainKind = Literal["pyevm", "anvil"]
CHAIN_KINDS: Final[tuple[ChainKind, ...]] = get_args(ChainKind)
RemoteKind = Literal["rpc"]  # a node somebody else runs, reached by URL
HARDFORK: Final = "prague"
ANVIL_START_TIMEOUT: Final = 15.0
ANVIL_ENV: Final = "ZKSTATESYNC_ANVIL"  # an anvil binary to use instead of node_modules'

# Node's names for what platform.machine() reports, as @foundry-rs/anvil's packages use them.
_NPM_ARCH: Final = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}

Transaction = dict[str, Any]
BlockRef = int | Literal["latest"]


class ChainError(ZkStateSyncError):
    """A chain could not be used: it refused a request, or answered with nonsense."""


@dataclass(frozen=True)
class CallOutcome:
    """What eth_call ran into: `output` is the return data, or the revert data if not `success`."""

    success: bool
    output: bytes


@dataclass(frozen=True)
class Chain:
    """A running chain: a web3 handle, its funded accounts, and a revert-aware eth_call."""

    kind: ChainKind | RemoteKind
    web3: Web3
    accounts: tuple[ChecksumAddress, ...]
    raw_call: Callable[[Transaction, BlockRef], CallOutcome]

    def call(self, transaction: Transaction, block: BlockRef = "latest") -> CallOutcome:
        """eth_call: `transaction` has from/to/data/gas (ints and 0x-hex strings)."""
        return self.raw_call(transaction, block)

    def snapshot(self) -> str:
        """Save the chain state; `revert_to` brings it back (once: take a new snapshot after)."""
        return str(_rpc(self.web3, "evm_snapshot", []))

    def revert_to(self, snapshot: str) -> None:
        if _rpc(self.web3, "evm_revert", [_snapshot_param(self.kind, snapshot)]) is False:
            raise ChainError(f"{self.kind}: snapshot {snapshot} is unknown")

    def advance_time(self, seconds: int) -> int:
        """Mine a block `seconds` after the latest one (test chains only); its timestamp."""
        if seconds < 1:
            raise ChainError(f"time moves forward only, not by {seconds} s")
        target = int(self.web3.eth.get_block("latest")["timestamp"]) + seconds
        if self.kind == "pyevm":
            # eth-tester's pending block keeps the wall-clock time it was opened at (after evm_revert
            # to an older snapshot, well past the latest block), and time travel refuses to go below it.
            target = max(target, int(self.web3.eth.get_block("pending")["timestamp"]))
        # Both set the next block's timestamp, then mine it, so calls at "latest" see the time.
        _rpc(self.web3, "testing_timeTravel" if self.kind == "pyevm" else "evm_setNextBlockTimestamp", [target])
        _rpc(self.web3, "evm_mine", [1] if self.kind == "pyevm" else [])
        return int(self.web3.eth.get_block("latest")["timestamp"])


def parse_chain_kind(name: str) -> ChainKind:
    """`name` (from a command line) as a ChainKind; ChainError lists the choices otherwise."""
    for kind in CHAIN_KINDS:
        if kind == name:
            return kind
    raise ChainError(f"unknown chain {name!r}; choose one of {', '.join(CHAIN_KINDS)}")


@contextlib.contextmanager
def open_chain(kind: ChainKind = "pyevm") -> Iterator[Chain]:
    """A fresh chain of `kind`, torn down (anvil: killed) when the context exits."""
    if kind == "pyevm":
        yield start_pyevm_chain()
    elif kind == "anvil":
        with run_anvil() as chain:
            yield chain
    else:
        raise ValueError(f"unknown chain kind {kind!r}; expected one of {CHAIN_KINDS}")


def chain_url(chain: Chain) -> str:
    """The JSON-RPC URL of a chain served over HTTP (anvil, or one reached by URL); ChainError for py-evm."""
    uri = getattr(chain.web3.provider, "endpoint_uri", None)
    if uri is None:
        raise ChainError(f"a {chain.kind} chain has no URL: it runs inside this process")
    return str(uri)


def connect_chain(url: str, account: LocalAccount, *, timeout: float = 60.0) -> Chain:
    """The chain behind `url` (a node the user started, a public testnet), transacting as `account`.

    Transactions are signed here (web3's signing middleware) and sent raw, so the node needs no
    unlocked account; `accounts` is just the one. The node must answer; ChainError otherwise.
    """
    web3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}))
    web3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(account), layer=0)
    try:
        web3.eth.chain_id  # noqa: B018 - one round trip: is anything there?
    except Exception as exc:  # connection refused, DNS, TLS, bad JSON: the URL does not lead to a node
        reason = f"{type(exc).__name__}: {redact_text(str(exc))[:300]}"
        raise ChainError(f"no JSON-RPC node answers at {redact_url(url)}: {reason}") from exc

    def call(transaction: Transaction, block: BlockRef) -> CallOutcome:
        return _json_rpc_call(web3, transaction, block)

    return Chain("rpc", web3, (account.address,), call)


# ---------------------------------------------------------------------------------------------
# py-evm


def start_pyevm_chain() -> Chain:
    """An in-process py-evm chain (eth-tester), Prague rules; garbage-collected with its Chain."""
    from eth_tester import EthereumTester, PyEVMBackend
    from web3 import EthereumTesterProvider

    tester = EthereumTester(PyEVMBackend())
    web3 = Web3(EthereumTesterProvider(tester))
    accounts = tuple(Web3.to_checksum_address(a) for a in web3.eth.accounts)

    def call(transaction: Transaction, block: BlockRef) -> CallOutcome:
        return _pyevm_call(tester, transaction, block)

    return Chain("pyevm", web3, accounts, call)


def _pyevm_call(tester: Any, transaction: Transaction, block: BlockRef) -> CallOutcome:
    # EthereumTester.call, except that the computation's output is kept when it reverts:
    # eth-tester's own call raises TransactionFailed with custom errors flattened to text.
    # The private helpers are those of eth-tester 0.14, which pyproject pins below 0.15.
    from eth.vm.spoof import SpoofTransaction
    from eth_tester.backends.pyevm.main import _execute_and_revert_transaction

    tester.validator.validate_inbound_transaction(transaction, txn_internal_type="call")
    raw = tester.normalizer.normalize_inbound_transaction(transaction)
    raw_block = tester.normalizer.normalize_inbound_block_number(block)
    backend = tester.backend
    unsigned = backend._get_normalized_and_unsigned_evm_transaction(raw, raw_block)
    computation = _execute_and_revert_transaction(
        backend.chain, SpoofTransaction(unsigned, from_=raw["from"]), raw_block
    )
    return CallOutcome(not computation.is_error, bytes(computation.output))


# ---------------------------------------------------------------------------------------------
# anvil


def anvil_executable() -> Path:
    """The anvil binary: $ZKSTATESYNC_ANVIL, else npm's platform package, else PATH."""
    override = os.environ.get(ANVIL_ENV)
    if override:
        path = Path(override)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ToolError(f"{ANVIL_ENV}={override} is not an executable file")
        return path
    arch = _NPM_ARCH.get(platform.machine().lower(), platform.machine().lower())
    system = {"linux": "linux", "darwin": "darwin"}.get(sys.platform, sys.platform)
    package = node_modules() / "@foundry-rs" / f"anvil-{system}-{arch}" / "bin" / "anvil"
    if package.is_file() and os.access(package, os.X_OK):
        return package
    found = shutil.which("anvil")
    if found:
        return Path(found)
    raise ToolError(
        f"anvil is not installed: {package} is missing and no anvil is on PATH "
        f"(run `make install`, which installs @foundry-rs/anvil from npm, or set {ANVIL_ENV})"
    )


def find_free_port() -> int:
    """A port nothing listens on now (anvil may still lose a race for it: run_anvil retries)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def build_anvil_argv(executable: Path, port: int, extra_args: Sequence[str] = ()) -> list[str]:
    return [
        os.fspath(executable),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--hardfork",
        HARDFORK,
        "--accounts",
        "10",
        "--silent",
        *extra_args,
    ]


@contextlib.contextmanager
def run_anvil(executable: Path | None = None, *, extra_args: Sequence[str] = (), attempts: int = 3) -> Iterator[Chain]:
    """Start anvil on a free port, wait until it answers, yield it, and always kill it.

    `extra_args` go to anvil as they are (e.g. ["--steps-tracing"] for debug_traceTransaction).
    """
    binary = executable if executable is not None else anvil_executable()
    last: ToolError | None = None
    for _ in range(attempts):
        with tempfile.TemporaryFile() as log:
            argv = build_anvil_argv(binary, find_free_port(), extra_args)
            try:
                process = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    preexec_fn=_die_with_parent if sys.platform == "linux" else None,
                    start_new_session=True,  # a terminal's Ctrl-C is for the program that started it
                )
            except OSError as exc:
                raise ToolError(f"cannot start anvil: {exc}", argv) from exc
            # Also stopped at interpreter exit, should the context never be closed.
            stop = functools.partial(_stop, process)
            atexit.register(stop)
            try:
                try:
                    chain = _wait_for_anvil(process, argv, log)
                except ToolError as exc:
                    last = exc
                    continue
                yield chain
                return
            finally:
                stop()
                atexit.unregister(stop)
    raise last if last is not None else ToolError("anvil was not started (attempts < 1)")


def _wait_for_anvil(process: subprocess.Popen[bytes], argv: list[str], log: Any) -> Chain:
    port = argv[argv.index("--port") + 1]
    web3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}", request_kwargs={"timeout": 60}))
    deadline = time.monotonic() + ANVIL_START_TIMEOUT
    while True:
        if process.poll() is not None:
            log.seek(0)
            stderr = log.read().decode(errors="replace")
            raise ToolError(f"anvil exited with code {process.returncode} before answering", argv, stderr)
        try:
            if web3.is_connected():
                break
        except Exception:  # anything short of an answer means "not yet"
            pass
        if time.monotonic() > deadline:
            raise ToolError(f"anvil did not answer on port {port} within {ANVIL_START_TIMEOUT} s", argv)
        time.sleep(0.05)
    accounts = tuple(Web3.to_checksum_address(a) for a in web3.eth.accounts)

    def call(transaction: Transaction, block: BlockRef) -> CallOutcome:
        return _json_rpc_call(web3, transaction, block)

    return Chain("anvil", web3, accounts, call)


def _json_rpc_call(web3: Web3, transaction: Transaction, block: BlockRef) -> CallOutcome:
    params = {k: hex(v) if isinstance(v, int) else v for k, v in transaction.items()}
    at = hex(block) if isinstance(block, int) else block
    response = web3.provider.make_request(RPCEndpoint("eth_call"), [params, at])
    if "error" not in response:
        return CallOutcome(True, bytes.fromhex(str(response["result"]).removeprefix("0x")))
    error = response["error"]
    data = error.get("data") if isinstance(error, dict) else None
    if isinstance(data, str) and data.startswith("0x"):
        return CallOutcome(False, bytes.fromhex(data[2:]))
    message = str(error.get("message", "")) if isinstance(error, dict) else str(error)
    if "revert" in message or "out of gas" in message.lower() or "invalid" in message.lower():
        return CallOutcome(False, b"")  # failed without revert data (out of gas, INVALID)
    raise ChainError(f"eth_call failed: {error}")


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: ask the kernel to SIGTERM anvil when the
    # Python process dies, so even a killed test run leaves no node behind.
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


# ---------------------------------------------------------------------------------------------


def _rpc(web3: Web3, method: str, params: list[Any]) -> Any:
    response = web3.provider.make_request(RPCEndpoint(method), params)
    if "error" in response:
        raise ChainError(f"{method} failed: {response['error']}")
    return response.get("result")


def _snapshot_param(kind: ChainKind | RemoteKind, snapshot: str) -> Any:
    # eth-tester numbers snapshots with ints, anvil with 0x-hex strings.
    return int(snapshot) if kind == "pyevm" else snapshot
