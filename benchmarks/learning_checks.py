"""Learning checks of the learners of one family (ARCHITECTURE.md, "Learners must demonstrably learn").

    python benchmarks/learning_checks.py --family allocate            # the published measurement
    python benchmarks/learning_checks.py --family allocate --quick    # smallest run answering every check

Imports `benchmarks/learning/<pkg>.py` (interface: benchmarks/learning/__init__.py), calls `run(quick)` and writes
its (title, table) pairs as markdown to `benchmarks/results/learning_<pkg>.md` (`--out` to write elsewhere), with the
wall and CPU seconds of the run: the machine is shared, so CPU time is the figure to compare.
"""
from __future__ import annotations

import argparse
import importlib
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from learning import cpu_clock  # noqa: E402


def to_markdown(df) -> str:
    """A DataFrame as a GitHub table (floats with 4 significant digits), without the tabulate dependency."""
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        cells = []
        for v in row:
            if isinstance(v, float):
                cells.append(f"{v:.4g}")
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_results(pkg: str, sections: list, out: Path, *, quick: bool, clock: dict, intro: str, command: str) -> None:
    parts = [f"# Learning checks: `{pkg.replace('_', '-')}`", ""]
    if intro:
        parts += [intro.strip(), ""]
    parts += [f"Command: `{command}{' --quick' if quick else ''}`. Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} "
              f"on a shared {platform.machine()} machine (other jobs running: compare `cpu_s`, not `wall_s`): "
              f"wall {clock['wall_s']:.0f} s, cpu {clock['cpu_s']:.0f} s.", ""]
    for title, table in sections:
        parts += [f"## {title}", "", to_markdown(table), ""]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(parts))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", required=True, help="family package name or id (allocate, sagin, leo-handover)")
    parser.add_argument("--quick", action="store_true", help="smallest run that answers every check")
    parser.add_argument("--out", default=None, help="results file (default benchmarks/results/learning_<pkg>.md)")
    args = parser.parse_args(argv)
    pkg = args.family.replace("-", "_")
    module = importlib.import_module(f"learning.{pkg}")
    clock: dict = {}
    with cpu_clock(clock):
        sections = module.run(args.quick)
    out = Path(args.out) if args.out else ROOT / "results" / f"learning_{pkg}.md"
    command = getattr(module, "COMMAND", f"python benchmarks/learning_checks.py --family {pkg}")
    write_results(pkg, sections, out, quick=args.quick, clock=clock, intro=getattr(module, "INTRO", ""),
                  command=command)
    print(f"wrote {out} (wall {clock['wall_s']:.0f} s, cpu {clock['cpu_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
