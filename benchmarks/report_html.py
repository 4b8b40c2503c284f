"""report.html of real runs in headless Chromium: one experiment per family through `optkit bench`, `optkit report`,
then the page opened offline in Debian's `chromium` (the browser check of tests/test_report_html.py).

    python benchmarks/report_html.py [--experiments ID:BUDGET,...] [--out benchmarks/results/report_html.md]

Per experiment: rows written, charts on the page, charts with drawn marks, console lines (errors or warnings the
page logged; target 0), page size, and the wall seconds of bench and report.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_report_html import chart_segments, chromium, drawn_marks, open_in_chromium  # noqa: E402

#: experiment:budget, one per family, each at its smallest budget.
EXPERIMENTS = ("allocate-sweep-requests:smoke", "sagin-reference:check", "leo-test:quick", "ntn-f7-link-curves:check",
               "uav-ugv-fraction-opt:quick")


def run(cmd: list[str]) -> float:
    """Run an optkit command; its wall seconds (a failure stops the benchmark with the command's stderr)."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "optkit.cli", *cmd], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", default=",".join(EXPERIMENTS))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "report_html.md")
    args = parser.parse_args()
    if chromium() is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    import pandas as pd

    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        for item in args.experiments.split(","):
            experiment, _, budget = item.partition(":")
            out = scratch / experiment
            bench_s = run(["bench", "--experiment", experiment, "--budget", budget or "quick", "-o", str(out)])
            report_s = run(["report", str(out)])
            page = out / "report.html"
            dom, console = open_in_chromium(page, scratch / f"{experiment}-browser")
            charts = chart_segments(dom)
            rows.append({"experiment": experiment, "budget": budget or "quick",
                         "rows": len(pd.read_parquet(out / "results.parquet")),
                         "charts": len(charts), "charts drawn": sum(drawn_marks(s) > 0 for s in charts.values()),
                         "console lines": len(console), "page KiB": round(page.stat().st_size / 1024),
                         "bench s": round(bench_s, 1), "report s": round(report_s, 1)})
            print(rows[-1], flush=True)
            for line in console:
                print(f"  console: {line}", flush=True)
    table = pd.DataFrame(rows)
    header = "| " + " | ".join(table.columns) + " |\n|" + "---|" * len(table.columns) + "\n"
    body = "".join("| " + " | ".join(str(v) for v in row) + " |\n" for row in table.itertuples(index=False))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        "# report.html of real runs in headless Chromium\n\n"
        f"`python benchmarks/report_html.py --experiments {args.experiments}`: one experiment per family through "
        "`optkit bench` and `optkit report`, the page opened offline in Debian's chromium (console captured, DOM after the scripts "
        "ran). Target: 0 console lines, every chart drawn. Wall seconds on a 2-core machine shared with other jobs.\n\n"
        + header + body)
    print(header + body)


if __name__ == "__main__":
    main()
