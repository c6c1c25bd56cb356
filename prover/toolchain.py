"""The one place that runs external tools: node, circom (circom2, WebAssembly) and snarkjs.

Every call is an argv list (never a shell), output is captured, and a failure raises
ToolError carrying the command and its stderr. Tool versions are checked against the pins
in package.json, so a stale node_modules is reported instead of silently used.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from statesync.errors import ToolError
from statesync.resources import data_root, is_checkout

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

# Generous V8 heap: snarkjs holds whole zkeys in memory for setup and proving.
NODE_HEAP_MB = 16384


def strip_ansi(text: str) -> str:
    # snarkjs colours its output even when piped; strip it so messages and parsing stay clean.
    return _ANSI.sub("", text)


JS_DIR = Path(__file__).resolve().parent / "js"


def js_script(name: str) -> Path:
    """One of the prover's node scripts (prover/js/, shipped with the package)."""
    script = JS_DIR / name
    if not script.is_file():
        raise ToolError(f"{script} is missing: the zkstatesync installation is incomplete")
    return script


def user_data_dir() -> Path:
    """Per-user data of an installed zkstatesync (override the base: XDG_DATA_HOME)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "zkstatesync"


def node_modules() -> Path:
    """The pinned npm packages: ZKSTATESYNC_NODE_MODULES, the checkout's, or `zkstatesync install-tools`'s."""
    env = os.environ.get("ZKSTATESYNC_NODE_MODULES")
    if env:
        return Path(env).resolve()
    local = data_root() / "node_modules"
    if local.is_dir() or is_checkout():
        return local
    return user_data_dir() / "node" / "node_modules"


def install_node_modules(target: Path | None = None) -> Path:
    """`npm ci` of the pinned package.json and lock into target (default: the user data dir)."""
    home = Path(target) if target else user_data_dir() / "node"
    home.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(data_root() / name, home / name)
    npm = shutil.which("npm")
    if npm is None:
        raise ToolError("npm is not installed (Node.js >= 18 with npm is required)")
    run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=home, what="npm ci")
    return home / "node_modules"


@functools.cache
def node_executable() -> str:
    node = shutil.which("node")
    if node is None:
        raise ToolError("node is not installed (Node.js >= 18 is required; run `make install`)")
    return node


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path | None = None,
    input_text: str | None = None,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    what: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run argv, capture text output, raise ToolError (with stderr) on a non-zero exit."""
    args = [os.fspath(a) for a in argv]
    full_env = {**os.environ, **(env or {})}
    try:
        proc = subprocess.run(
            args,
            cwd=cwd,
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
            check=True,
        )
    except FileNotFoundError as exc:
        raise ToolError(f"{what or args[0]}: executable not found", args) from exc
    except subprocess.TimeoutExpired as exc:
        raise ToolError(f"{what or args[0]}: timed out after {timeout} s", args) from exc
    except subprocess.CalledProcessError as exc:
        # Some tools (snarkjs, circom) report errors on stdout; keep both.
        detail = strip_ansi((exc.stderr or "") + ("\n" + exc.stdout if exc.stdout else ""))
        raise ToolError(f"{what or Path(args[0]).name} failed with exit code {exc.returncode}", args, detail) from exc
    return subprocess.CompletedProcess(proc.args, proc.returncode, strip_ansi(proc.stdout), strip_ansi(proc.stderr))


def _package_file(package: str, relative: str) -> Path:
    path = node_modules() / package / relative
    if not path.exists():
        raise ToolError(
            f"{package} is not installed ({path} is missing); "
            "run `make install` (or `zkstatesync install-tools` outside a checkout)"
        )
    return path


def run_node(
    script: Path | str,
    args: Sequence[str | os.PathLike[str]] = (),
    *,
    heap_mb: int = NODE_HEAP_MB,
    cwd: Path | None = None,
    input_text: str | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a node script (resolving requires against the project's node_modules)."""
    argv: list[str | os.PathLike[str]] = [
        node_executable(),
        f"--max-old-space-size={heap_mb}",
        script,
        *args,
    ]
    return run(
        argv,
        cwd=cwd,
        input_text=input_text,
        timeout=timeout,
        env={"NODE_PATH": str(node_modules())},
        what=f"node {Path(script).name}",
    )


def run_circom(
    args: Sequence[str | os.PathLike[str]], *, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the pinned circom compiler (npm circom2: circom compiled to WebAssembly)."""
    check_pinned_versions()
    cli = _package_file("circom2", "cli.js")
    # circom2's WASI sandbox opens the working directory and its parents, and its include
    # lookup fails on paths that climb out through "..": from "/" every path is a plain descent.
    return run_node(cli, args, cwd=Path("/"), timeout=timeout)


def run_snarkjs(
    args: Sequence[str | os.PathLike[str]], *, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the pinned snarkjs CLI."""
    check_pinned_versions()
    cli = _package_file("snarkjs", "build/cli.cjs")
    return run_node(cli, args, timeout=timeout)


@functools.cache
def pinned_versions() -> dict[str, str]:
    """The exact versions package.json pins (the lock file makes `npm ci` honour them)."""
    manifest = json.loads((data_root() / "package.json").read_text())
    pins = dict(manifest.get("dependencies", {}))
    # Optional ones are platform binaries (anvil): pinned where this platform installs them.
    for name, pin in manifest.get("optionalDependencies", {}).items():
        if (node_modules() / name / "package.json").is_file():
            pins[name] = pin
    return pins


def installed_version(package: str) -> str:
    meta = _package_file(package, "package.json")
    return str(json.loads(meta.read_text())["version"])


@functools.cache
def check_pinned_versions() -> None:
    """Raise ToolError unless every pinned npm package is installed at its pinned version."""
    node_executable()
    stale = [
        f"{name} {installed_version(name)} (pinned {pin})"
        for name, pin in pinned_versions().items()
        if installed_version(name) != pin
    ]
    if stale:
        raise ToolError("node_modules does not match package.json: " + ", ".join(stale) + "; run `make install`")


@functools.cache
def circom_version() -> str:
    """The circom compiler version string reported by the pinned circom2 (e.g. '2.2.3')."""
    out = run_circom(["--version"]).stdout
    match = re.search(r"circom compiler (\d+\.\d+\.\d+)", out)
    if match is None:
        raise ToolError(f"cannot parse circom's version from {out!r}")
    return match.group(1)
