"""Benchmark of the exact `allocate` methods (docs/families/allocate.md §8): size, build/solve time, status, gap,
LP bound, and the search over time (time to the first incumbent, incumbent and bound at 30 / 120 / 600 s, time to
the proof).

    python benchmarks/allocate_milp.py --time-limit 600 --jobs 2 --out bench-out/allocate_milp
    python benchmarks/allocate_milp.py -O warm_start=false --only small --time-limit 120 --out bench-out/plain

Cells: `small` and `paper-default` seeds 0-4, `paper-literal-energy` seed 0, every sweep point at seed 0.
Writes OUT.csv and OUT.md (a markdown table) and prints each row as it finishes. One HiGHS thread per cell;
cpu_s is the worker's CPU time of build + solve (comparable on a loaded machine; solve_s is wall time). The
columns over time come from the method's `info["trajectory"]` (elapsed s, incumbent, bound) and are "-" for a
method that does not record one; `inc@T` / `bound@T` are the last values recorded at or before T seconds.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import subprocess
import sys
import time
from pathlib import Path

CHECKPOINTS = (30.0, 120.0, 600.0)
COLUMNS = ["scenario", "point", "seed", "variables", "integer_variables", "constraints", "build_s", "solve_s",
           "cpu_s", "build_share", "status", "incumbent", "bound", "gap", "lp_bound", "evaluator_objective",
           "accepted", "t_first_s", *[f"{k}@{t:g}" for t in CHECKPOINTS for k in ("inc", "bound")], "t_proof_s"]


def cells(quick: bool, only: set | None = None) -> list[tuple[str, str | None, int]]:
    from optkit.scenarios import load_scenario

    seeds = range(2) if quick else range(5)
    out = [("small", None, s) for s in seeds] + [("paper-default", None, s) for s in seeds]
    out.append(("paper-literal-energy", None, 0))
    for sweep in ("sweep-requests", "sweep-nodes", "sweep-channels"):
        out += [(sweep, p.label, 0) for p in load_scenario("allocate", sweep).points]
    return [c for c in out if only is None or c[0] in only]


def over_time(trajectory, status: str, runtime_s: float) -> dict:
    """Time to the first incumbent, the incumbent and bound at each checkpoint, and the time to the proof (the
    method's runtime when it proved optimality) from a trajectory [(elapsed s, incumbent, bound), ...]."""
    out = {"t_first_s": None, "t_proof_s": runtime_s if status == "optimal" else None}
    out.update({f"{k}@{t:g}": None for t in CHECKPOINTS for k in ("inc", "bound")})
    if not trajectory:
        return out
    out["t_first_s"] = next((t for t, inc, _ in trajectory if inc is not None), None)
    for checkpoint in CHECKPOINTS:
        seen = [(inc, bound) for t, inc, bound in trajectory if t <= checkpoint]
        out[f"inc@{checkpoint:g}"] = next((inc for inc, _ in reversed(seen) if inc is not None), None)
        out[f"bound@{checkpoint:g}"] = next((b for _, b in reversed(seen) if b is not None), None)
    return out


def run_cell(args) -> dict:
    scenario, point, seed, time_limit, method, options = args
    import optkit
    from optkit import registry

    inst = optkit.make_instance("allocate", scenario, seed, point=point)
    spec = registry.get_method("allocate", method)
    kwargs = spec.bind({"time_limit": time_limit, "threads": 1 if spec.takes("threads") else None, **options})
    cpu = time.process_time()
    solution = spec.load()(inst, seed=0, **kwargs)
    cpu = time.process_time() - cpu    # CPU s of build + solve in this worker (robust to a shared machine)
    solution.info["lp_bound"] = lp_bound(inst, time_limit)
    evaluation = optkit.evaluate(inst, solution)
    info = solution.info
    total = (info.get("build_s") or 0.0) + (info.get("solve_s") or solution.runtime_s)
    return {
        "scenario": scenario, "point": point or "", "seed": seed, "variables": info.get("variables"),
        "integer_variables": info.get("integer_variables"), "constraints": info.get("constraints"),
        "build_s": info.get("build_s"), "solve_s": info.get("solve_s", solution.runtime_s), "cpu_s": cpu,
        "build_share": (info.get("build_s") or 0.0) / total if total else None,
        "status": str(solution.status), "incumbent": solution.objective, "bound": solution.bound,
        "gap": solution.gap, "lp_bound": info.get("lp_bound"),
        "evaluator_objective": evaluation.metrics["objective"], "accepted": evaluation.metrics["accepted"],
        **over_time(info.get("trajectory"), str(solution.status), solution.runtime_s),
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
    parser.add_argument("--method", default="allocate", help="exact method of the family (default allocate)")
    parser.add_argument("--option", "-O", action="append", default=[], help="method option KEY=VALUE (repeatable)")
    args = parser.parse_args()
    import pandas as pd

    from optkit import registry
    from optkit.cli import parse_options

    options = parse_options(args.option)
    registry.get_method("allocate", args.method).bind(options)          # a bad option fails before any cell
    only = set(args.only.split(",")) if args.only else None
    todo = [(s, p, seed, args.time_limit, args.method, options) for s, p, seed in cells(args.quick, only)]
    print(f"{len(todo)} cells of {args.method} {options or ''}, time limit {args.time_limit:g} s, "
          f"{args.jobs} job(s)", flush=True)
    rows = []
    with mp.get_context("spawn").Pool(args.jobs) as pool:
        for i, row in enumerate(pool.imap(run_cell, todo), 1):
            rows.append(row)
            print(f"[{i}/{len(todo)}] " + " ".join(f"{k}={fmt(row[k])}" for k in COLUMNS), flush=True)
    table = pd.DataFrame(rows, columns=COLUMNS)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out.with_suffix(".csv"), index=False)
    lines = [f"`{args.method}` {' '.join(args.option)} at {args.time_limit:g} s per cell, one HiGHS thread", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
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
