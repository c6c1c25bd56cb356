"""`pip install .` (not editable) works as a package: from a folder outside the checkout, the
installed `zkstatesync` finds its circuits, JS and Solidity, installs its npm pins, proves and
verifies at the test preset.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # builds a wheel and installs it into a fresh venv: about a minute and a half

ROOT = Path(__file__).resolve().parents[2]


def run(argv: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=900, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{argv} failed:\n{result.stdout}\n{result.stderr}"
    return result  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", out, ROOT])
    (built,) = out.glob("zkstatesync-*.whl")
    return built


def test_the_wheel_carries_every_data_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "statesync/_data/circuits/circuits.toml",
        "statesync/_data/circuits/lib/header.circom",
        "statesync/_data/circuits/test/open.circom",
        "statesync/_data/package.json",
        "statesync/_data/package-lock.json",
        "prover/js/zkey_fast.js",
        "prover/js/witness.js",
        "bridge/chain/js/solc_compile.js",
        "bridge/contracts/src/ZkStateReceiver.sol",
        "bridge/contracts/samples/ChildToken.sol",
        "prover/py.typed",
    ):
        assert needed in names, needed


def test_an_installed_wheel_proves_and_verifies_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    run([python, "-m", "pip", "install", "--quiet", "--no-deps", wheel])
    # The dependencies come from this interpreter's site-packages on PYTHONPATH, which does not
    # process .pth files, so the checkout's editable install stays invisible to the new venv.
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ZKSTATESYNC_")},
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    cli = env_dir / "bin" / "zkstatesync"
    where = run([python, "-c", "import statesync.resources as r; print(r.data_root())"], cwd=work, env=env).stdout
    assert Path(where.strip()).is_relative_to(env_dir), where
    listed = run([cli, "circuits"], cwd=work, env=env).stdout
    assert "state_sync" in listed and "open" not in listed.split()
    run([cli, "install-tools"], cwd=work, env=env)
    assert (tmp_path / "data" / "zkstatesync" / "node" / "node_modules" / "snarkjs").is_dir()
    run([cli, "prove", "event_inclusion", "--preset", "test", "--out", work / "proof"], cwd=work, env=env)
    verified = run([cli, "verify", work / "proof"], cwd=work, env=env)
    assert "valid" in verified.stdout
    assert (tmp_path / "cache" / "zkstatesync" / "build" / "keys").is_dir()
    assert not (ROOT / "statesync" / "_data").exists()
