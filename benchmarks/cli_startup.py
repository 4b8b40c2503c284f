"""Start-up time of the command line: `optkit --help`, `optkit list` and `optkit list -f F -m M` (target: `optkit
--help` under 0.5 s), with the plugin discovery that `optkit list` does.

    python benchmarks/cli_startup.py --repeat 7 --out benchmarks/results/cli_startup

Each command runs `--repeat` times in a fresh interpreter; the table gives the median and the minimum wall time
and the number of families and methods discovery found.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path


def wall_times(args: list[str], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "optkit.cli", *args], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/cli_startup"))
    args = parser.parse_args()
    from optkit import registry

    families, methods = registry.families(), registry.methods()
    first = families[0]
    commands = [["--help"], ["list"], ["list", "-f", first.id, "-m", first.reference_method]]
    lines = [f"# CLI start-up ({len(families)} families, {len(methods)} methods discovered)", "",
             f"{args.repeat} runs each, fresh interpreter per run; `python benchmarks/cli_startup.py --repeat "
             f"{args.repeat}`.", "", "| command | median [s] | min [s] |", "|---|---|---|"]
    for command in commands:
        times = wall_times(command, args.repeat)
        lines.append(f"| `optkit {' '.join(command)}` | {statistics.median(times):.3f} | {min(times):.3f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
