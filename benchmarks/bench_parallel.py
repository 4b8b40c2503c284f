"""Speed-up of the local process-pool executor of `optkit bench` (target: 2 processes >= 1.8x faster than 1).

    python benchmarks/bench_parallel.py --method sca --scenario sweep-requests --points 30 --seeds 0-39 \
        --out benchmarks/results/bench_parallel

Runs the same cells with --jobs 1 and --jobs 2 into fresh temporary directories (nothing cached), checks that
both give the same rows (timing columns aside), and writes OUT.md with the wall times and the ratio. Pick cells
of at least a second each: with millisecond cells the pool's start-up (one fresh interpreter per process)
dominates. Learners train on a cache miss; point OPTKIT_CACHE at a warm cache to time decisions only.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

TIMING = {"decision_s", "wall_s", "runtime_s", "runtime_frame_ms", "train_s"}


def timed_run(sweep, jobs: int):
    from optkit.bench import run_sweep

    with tempfile.TemporaryDirectory(prefix=f"optkit-par{jobs}-") as tmp:
        start = time.perf_counter()
        df = run_sweep(sweep, tmp, jobs=jobs, progress=False)
        return time.perf_counter() - start, df


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="sca")
    parser.add_argument("--scenario", default="small")
    parser.add_argument("--seeds", default="0-39")
    parser.add_argument("--points", default=None, help="sweep point labels, comma-separated")
    parser.add_argument("--time-limit", type=float, default=None)
    parser.add_argument("--out", default="bench-out/bench_parallel")
    args = parser.parse_args()

    from optkit.bench import ID_COLUMNS, make_sweep

    points = args.points.split(",") if args.points else None
    sweep = make_sweep("allocate", [args.scenario], args.method, args.seeds, time_limit=args.time_limit,
                       points=points)
    n_cells = len(sweep.cells())
    t1, df1 = timed_run(sweep, 1)
    t2, df2 = timed_run(sweep, 2)

    def comparable(df):
        return df.drop(columns=[c for c in df.columns if c in TIMING]).sort_values(ID_COLUMNS).reset_index(drop=True)

    same = comparable(df1).equals(comparable(df2))
    mean_cell = float(df1["wall_s"].mean())
    lines = [
        f"# Local executor speed-up ({args.method} on {args.scenario}"
        f"{' points ' + args.points if args.points else ''}, seeds {args.seeds}, {n_cells} cells)",
        "",
        f"Machine: {os.cpu_count()} logical CPUs. Mean cell wall time with one process: {mean_cell:.2f} s.",
        "",
        "| jobs | wall s | speed-up |",
        "|---:|---:|---:|",
        f"| 1 | {t1:.1f} | 1.00 |",
        f"| 2 | {t2:.1f} | {t1 / t2:.2f} |",
        "",
        f"Rows identical (timing columns aside): {'yes' if same else 'NO'}.",
    ]
    text = "\n".join(lines) + "\n"
    out = Path(args.out).with_suffix(".md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
