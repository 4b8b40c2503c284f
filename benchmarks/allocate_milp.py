"""Benchmark of the exact `allocate` MILP (docs/families/allocate.md §8): size, build/solve time, status, gap, LP bound.

    python benchmarks/allocate_milp.py --time-limit 600 --jobs 2 --out bench-out/allocate_milp

Cells: `small` and `paper-default` seeds 0-4, `paper-literal-energy` seed 0, every sweep point at seed 0.
Writes OUT.csv and OUT.md (a markdown table) and prints each row as it finishes. One HiGHS thread per cell;
cpu_s is the worker's CPU time of build + solve (comparable on a loaded machine; solve_s is wall time).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import subprocess
import sys
import time
from pathlib import Path

COLUMNS = ["scenario", "point", "seed", "variables", "integer_variables", "constraints", "build_s", "solve_s",
           "cpu_s", "build_share", "status", "incumbent", "bound", "gap", "lp_bound", "evaluator_objective",
           "accepted"]


def cells(quick: bool, only: set | None = None) -> list[tuple[str, str | None, int]]:
    from optkit.scenarios import load_scenario

    seeds = range(2) if quick else range(5)
    out = [("small", None, s) for s in seeds] + [("paper-default", None, s) for s in seeds]
    out.append(("paper-literal-energy", None, 0))
    for sweep in ("sweep-requests", "sweep-nodes", "sweep-channels"):
        out += [(sweep, p.label, 0) for p in load_scenario("allocate", sweep).points]
    return [c for c in out if only is None or c[0] in only]


def run_cell(args) -> dict:
    scenario, point, seed, time_limit = args
    import optkit
    from optkit.formulations.allocate import milp

    inst = optkit.make_instance("allocate", scenario, seed, point=point)
    cpu = time.process_time()
    solution = milp.solve(inst, time_limit=time_limit, threads=1)
    cpu = time.process_time() - cpu    # CPU s of build + solve in this worker (robust to a shared machine)
    solution.info["lp_bound"] = lp_bound(inst, time_limit)
    evaluation = optkit.evaluate(inst, solution)
    info = solution.info
    total = info["build_s"] + info["solve_s"]
    return {
        "scenario": scenario, "point": point or "", "seed": seed, "variables": info["variables"],
        "integer_variables": info["integer_variables"], "constraints": info["constraints"],
        "build_s": info["build_s"], "solve_s": info["solve_s"], "cpu_s": cpu,
        "build_share": info["build_s"] / total,
        "status": str(solution.status), "incumbent": solution.objective, "bound": solution.bound,
        "gap": solution.gap, "lp_bound": info.get("lp_bound"),
        "evaluator_objective": evaluation.metrics["objective"], "accepted": evaluation.metrics["accepted"],
    }


def lp_bound(inst, time_limit: float) -> float | None:
    """LP relaxation of the default model (not counted in cpu_s)."""
    from optkit.formulations.allocate import milp

    return milp.lp_relaxation_bound(milp.build_model(inst, milp.build_data(inst)), time_limit=time_limit)


def help_seconds() -> float:
    """Wall time of `optkit --help` in a fresh interpreter (target < 0.5 s)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "optkit.cli", "--help"], check=True, capture_output=True)
    return time.perf_counter() - start


def fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-limit", type=float, default=600.0, help="seconds per cell (default 600)")
    parser.add_argument("--jobs", type=int, default=1, help="cells solved at once (default 1)")
    parser.add_argument("--quick", action="store_true", help="seeds 0-1 only")
    parser.add_argument("--only", default=None, help="comma-separated scenarios to keep (default: all cells)")
    parser.add_argument("--out", type=Path, default=Path("bench-out/allocate_milp"), help="output path stem")
    args = parser.parse_args()
    import pandas as pd

    only = set(args.only.split(",")) if args.only else None
    todo = [(s, p, seed, args.time_limit) for s, p, seed in cells(args.quick, only)]
    print(f"{len(todo)} cells, time limit {args.time_limit:g} s, {args.jobs} job(s)", flush=True)
    rows = []
    with mp.get_context("spawn").Pool(args.jobs) as pool:
        for i, row in enumerate(pool.imap(run_cell, todo), 1):
            rows.append(row)
            print(f"[{i}/{len(todo)}] " + " ".join(f"{k}={fmt(row[k])}" for k in COLUMNS), flush=True)
    table = pd.DataFrame(rows, columns=COLUMNS)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out.with_suffix(".csv"), index=False)
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(fmt(r[c]) for c in COLUMNS) + " |" for r in rows]
    small = table[table.scenario == "small"]
    lines += [""] if small.empty else ["", f"`small`: median solve {small.solve_s.median():.2f} s "
              f"(build + solve {small.cpu_s.median():.2f} CPU s), median build share "
              f"{small.build_share.median():.1%}, proven optimal {int((small.status == 'optimal').sum())}/{len(small)}"]
    lines += [f"`optkit --help`: {help_seconds():.2f} s"]
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[-2:]))
    print(f"wrote {args.out.with_suffix('.csv')} and {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
