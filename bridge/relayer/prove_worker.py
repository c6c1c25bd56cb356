"""One proof in a process of its own: `python -m bridge.relayer.prove_worker --circuit C --preset P --inputs F --out D`.

The relayer runs every proof here so that a proof that takes too long can be stopped: this
process leads its own process group (snarkjs's node processes included), and the relayer kills
the group. SIGTERM (also sent by the kernel when the relayer dies) kills the whole group at once,
so no node process outlives a proof nobody waits for. Exit 0 once the checked proof is published.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from prover.prove import load_prover
from prover.witness import load_inputs
from statesync.errors import ZkStateSyncError

from ..proving import prove_checked


def _kill_group(_signum: int, _frame: FrameType | None) -> None:
    os.killpg(os.getpgrp(), signal.SIGKILL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bridge.relayer.prove_worker")
    parser.add_argument("--circuit", required=True)
    parser.add_argument("--preset", required=True)
    parser.add_argument("--inputs", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--keys", type=Path, default=None)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _kill_group)
    try:
        prover = load_prover(args.circuit, args.preset, keys=args.keys)
        checked = prove_checked(prover, load_inputs(args.inputs), args.out, replace=True)
    except ZkStateSyncError as exc:
        print(
            json.dumps({"level": "error", "event": "prove_worker.failed", "message": str(exc)[:4000]}), file=sys.stderr
        )
        return 1
    print(json.dumps({"event": "prove_worker.done", "seconds": dict(checked.result.seconds)}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
