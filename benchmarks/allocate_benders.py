"""The decomposition of benders.py against the monolithic `allocate` (docs/families/allocate.md §7.8).

    python benchmarks/allocate_benders.py --time-limit 120 --out benchmarks/results/allocate_benders

Cells: `small` seeds 0-4 and `tiny` seeds 0-3 (or --cells SCENARIO:SEED,...), each solved by both with one HiGHS
thread, one after the other in the same worker: `allocate` through optkit.solve with its default options, the
decomposition by calling benders.solve (it is not a registered method). Per run: status, incumbent, bound, gap, wall and CPU seconds
(time.process_time of the worker: build, solve and everything else the method does), time to proof (the wall time
of a run that ends optimal), and the evaluator's objective of the decoded record. Writes OUT.csv and OUT.md.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import subprocess
import time
from pathlib import Path

METHODS = ("allocate", "allocate-benders")
COLUMNS = ["scenario", "seed", "method", "status", "incumbent", "bound", "gap", "wall_s", "cpu_s", "proof_s",
           "evaluator_objective", "iterations"]


def default_cells() -> list[tuple[str, int]]:
    return [("small", s) for s in range(5)] + [("tiny", s) for s in range(4)]


def run_cell(args) -> list[dict]:
    scenario, seed, time_limit = args
    import optkit
    from optkit.formulations.allocate import benders

    inst = optkit.make_instance("allocate", scenario, seed)
    rows = []
    for method in METHODS:
        cpu, wall = time.process_time(), time.perf_counter()
        if method == "allocate":
            solution = optkit.solve(inst, method, time_limit=time_limit, threads=1)
        else:
            solution = benders.solve(inst, time_limit=time_limit, threads=1)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        evaluation = optkit.evaluate(inst, solution)
        rows.append({
            "scenario": scenario, "seed": seed, "method": method, "status": str(solution.status),
            "incumbent": solution.objective, "bound": solution.bound, "gap": solution.gap, "wall_s": wall,
            "cpu_s": cpu, "proof_s": wall if str(solution.status) == "optimal" else None,
            "evaluator_objective": evaluation.metrics["objective"],
            "iterations": solution.info.get("iterations"),
        })
    return rows


def fmt(value) -> str:
    if value is None or value != value:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) >= 1 else f"{value:.3g}"
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per method and cell (default 120)")
    parser.add_argument("--jobs", type=int, default=1, help="cells solved at once (default 1)")
    parser.add_argument("--cells", default=None, help="SCENARIO:SEED,... (default small 0-4 and tiny 0-3)")
    parser.add_argument("--out", type=Path, default=Path("bench-out/allocate_benders"), help="output path stem")
    args = parser.parse_args()
    import pandas as pd

    cells = default_cells() if args.cells is None else [
        (c.split(":")[0], int(c.split(":")[1])) for c in args.cells.split(",")]
    todo = [(scenario, seed, args.time_limit) for scenario, seed in cells]
    print(f"{len(todo)} cells x {len(METHODS)} methods, time limit {args.time_limit:g} s, {args.jobs} job(s)",
          flush=True)
    rows = []
    with mp.get_context("spawn").Pool(args.jobs) as pool:
        for i, cell_rows in enumerate(pool.imap(run_cell, todo), 1):
            rows += cell_rows
            for row in cell_rows:
                print(f"[{i}/{len(todo)}] " + " ".join(f"{k}={fmt(row[k])}" for k in COLUMNS), flush=True)
    table = pd.DataFrame(rows, columns=COLUMNS)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out.with_suffix(".csv"), index=False)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    lines = [f"`allocate` (monolithic MILP, its default options) against `allocate-benders` (benders.py), "
             f"{args.time_limit:g} s "
             f"per method and cell, one HiGHS thread, at commit {commit or '?'} on {platform.machine()} "
             f"({mp.cpu_count()} cores, shared)", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(fmt(r[c]) for c in COLUMNS) + " |" for r in rows]
    lines.append("")
    for scenario in dict.fromkeys(s for s, _ in cells):
        part = table[table.scenario == scenario]
        counts = ", ".join(f"`{m}` {int((part[part.method == m].status == 'optimal').sum())}/"
                           f"{len(part[part.method == m])}" for m in METHODS)
        lines.append(f"`{scenario}`: proven optimal within the limit: {counts}")
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[-len(set(s for s, _ in cells)):]))
    print(f"wrote {args.out.with_suffix('.csv')} and {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
