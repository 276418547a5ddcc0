"""Start-up time of the command line against the floor of its own dependencies.

Prints, for each command, the median wall time of N runs in a fresh interpreter, the floor
(``python -c "import typer, rich.console, pydantic"``) and the ratio. Targets (issue 11):
``--version``/``--help`` within 2.5x the floor, an ad hoc ``dose`` within 5x.

    python benchmarks/bench_cli.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

FLOOR = [sys.executable, "-c", "import typer, rich.console, pydantic"]
CLI = [sys.executable, "-m", "ruxtrack"]
DOSE = ["dose", "--regimen", "jakafi-us-agvhd", "--day", "5", "--current-dose", "5 mg BID",
        "--platelets", "85", "--anc", "2.1", "--bilirubin", "1.0"]  # fmt: skip
COMMANDS: dict[str, tuple[list[str], float]] = {
    "--version": (["--version"], 2.5),
    "--help": (["--help"], 2.5),
    "dose (ad hoc)": (DOSE, 5.0),
}


def _time(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    _time(FLOOR, 1)  # warm the file cache
    floor = _time(FLOOR, args.runs)
    print(f"{'command':<16} {'seconds':>8} {'floor':>7} {'ratio':>6} {'target':>7}")
    for name, (argv, target) in COMMANDS.items():
        t = _time(CLI + argv, args.runs)
        ok = "ok" if t / floor <= target else "OVER"
        print(f"{name:<16} {t:8.3f} {floor:7.3f} {t / floor:6.2f} {target:6.1f}x {ok}")


if __name__ == "__main__":
    main()
