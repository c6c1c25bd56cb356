"""Run one command and write its wall, CPU and peak RSS figures as JSON: `python -S peak.py OUT CMD...`.

Linux carries a process's peak RSS across exec, and a forked child starts from its parent's:
a node process started straight from the benchmark (a Python process of ~230 MB with galois
loaded) would report at least that much. Started from this small launcher, whose own peak is a
few MB, the command's ru_maxrss is its own. Standard library only, and run with -S, to stay small.
"""

import json
import os
import sys
import time


def main() -> None:
    out, argv = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        except OSError as exc:
            print(f"cannot run {argv[0]}: {exc}", file=sys.stderr)
        os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    exit_code = os.waitstatus_to_exitcode(status)
    figures = {
        "seconds": round(time.perf_counter() - start, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # KiB on Linux
    }
    with open(out, "w") as f:
        json.dump(figures, f)
    sys.exit(exit_code)


if __name__ == "__main__":
    main()
