"""Benchmark of the primal side of the exact `allocate` method (docs/families/allocate.md §7.1): the model of §5.2
without MIP start against the configurations with the primal phase and the exact reductions, one HiGHS thread.

    python benchmarks/allocate_primal.py --out benchmarks/results/allocate_primal
    python benchmarks/allocate_primal.py --check-reductions --seeds 0,1,2,3,4,5,6,7,8,9 --out OUT

Cells: `small` and `paper-default` seeds 0-4 (--scenarios, --seeds), configurations (--configs) `default` (the
model of §5.2 without primal phase), `primal` (with the primal phase), `primal-reduced` (primal phase and the exact
reductions: the method's defaults) and `reduced`, time limits 30 s and 120 s (--limits). The shorter limits of a
configuration without primal phase are read from the trajectory of its longest run (HiGHS is deterministic with one
thread, so the first 30 s of a 120 s run are the 30 s run); the others run at every limit because the primal phase
scales with the limit.
Per row: incumbent, bound and gap at the limit, time to the first incumbent and its value, time to the proof
(optimal only), wall and CPU seconds of the worker (build, primal phase and solve), the end of the primal phase and
the value of its plan (the MIP start), which of plan and solver incumbent is the answer, the evaluator's objective
and accepted count.
Writes OUT.csv and OUT.md and prints each row as it finishes.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import time
from pathlib import Path

COLUMNS = ["scenario", "seed", "config", "limit_s", "status", "incumbent", "bound", "gap", "first_s", "first_value",
           "proof_s", "wall_s", "cpu_s", "primal_s", "start_value", "answer", "evaluator", "accepted"]
PLAIN = {"z_continuous": False, "poa_from_routes": False, "aggregate_routes": False}     # the model of §5.2 as is
REDUCED = {"z_continuous": True, "poa_from_routes": True, "aggregate_routes": True}    # the exact reductions of §7.1
CONFIGS = {"default": {"warm_start": False, **PLAIN}, "primal": {"warm_start": True, **PLAIN},
           "reduced": {"warm_start": False, **REDUCED}, "primal-reduced": {"warm_start": True, **REDUCED}}


def run_cell(args) -> list[dict]:
    scenario, seed, config, limits = args
    import optkit
    from optkit.formulations.allocate import milp

    inst = optkit.make_instance("allocate", scenario, seed)
    rows = []
    single = not CONFIGS[config]["warm_start"]      # no primal phase: one run at the longest limit
    runs = [max(limits)] if single else sorted(limits)
    for limit in runs:
        cpu, wall = time.process_time(), time.perf_counter()
        solution = milp.solve(inst, time_limit=limit, threads=1, **CONFIGS[config])
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        ev = optkit.evaluate(inst, solution).metrics
        trajectory = solution.info["trajectory"]
        first = next(((t, inc) for t, inc, _ in trajectory if inc is not None), (None, None))
        stages = solution.info.get("primal") or {}
        base = {"scenario": scenario, "seed": seed, "config": config, "first_s": first[0], "first_value": first[1],
                "start_value": max((v[0] for v in stages.values()), default=None),
                "primal_s": max((v[1] for v in stages.values()), default=None),
                "answer": solution.info.get("answer")}
        rows.append({**base, "limit_s": limit, "status": str(solution.status), "incumbent": solution.objective,
                     "bound": solution.bound, "gap": solution.gap,
                     "proof_s": solution.runtime_s if str(solution.status) == "optimal" else None,
                     "wall_s": wall, "cpu_s": cpu, "evaluator": ev["objective"], "accepted": ev["accepted"]})
        if single:                  # the shorter limits, read from the trajectory of this run
            for short in sorted(set(limits) - {limit}):
                rows.append({**base, **at_time(trajectory, short), "limit_s": short, "wall_s": None, "cpu_s": None,
                             "evaluator": None, "accepted": None})
    return rows


def at_time(trajectory, limit: float) -> dict:
    """Incumbent, bound and gap of a trajectory [[t, incumbent, bound], ...] at `limit` seconds."""
    incumbent = bound = None
    for t, inc, bnd in trajectory:
        if t > limit:
            break
        incumbent = inc if inc is not None else incumbent
        bound = bnd if bnd is not None else bound
    gap = None if incumbent is None or bound is None or abs(incumbent) < 1e-10 else abs(bound - incumbent) / abs(
        incumbent)
    proven = gap is not None and gap <= 1e-4
    return {"status": "optimal" if proven else "time_limit", "incumbent": incumbent, "bound": bound, "gap": gap,
            "proof_s": next((t for t, inc, bnd in trajectory if inc is not None and bnd is not None
                             and abs(bnd - inc) <= 1e-4 * max(abs(inc), 1e-10)), None) if proven else None}


def check_reductions(seed: int, time_limit: float, gap: float) -> dict:
    """The default model and the model with every exact reduction, both solved to a proof on `tiny` seed `seed`."""
    import optkit
    from optkit.formulations.allocate import milp

    inst = optkit.make_instance("allocate", "tiny", seed)
    row = {"seed": seed}
    for name, options in (("default", CONFIGS["default"]), ("reduced", CONFIGS["reduced"])):
        cpu = time.process_time()
        solution = milp.solve(inst, time_limit=time_limit, gap=gap, threads=1, **options)
        row[f"{name}_status"] = str(solution.status)
        row[f"{name}_objective"] = solution.objective
        row[f"{name}_cpu_s"] = time.process_time() - cpu
        row[f"{name}_variables"] = solution.info["variables"]
        row[f"{name}_integer"] = solution.info["integer_variables"]
    both = row["default_status"] == row["reduced_status"] == "optimal"
    row["same_optimum"] = both and abs(row["default_objective"] - row["reduced_objective"]) <= 2 * gap * max(
        1.0, abs(row["default_objective"]))
    return row


def fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", default="small,paper-default", help="comma-separated presets")
    parser.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated seeds")
    parser.add_argument("--configs", default="default,primal", help=f"comma-separated: {', '.join(CONFIGS)}")
    parser.add_argument("--limits", default="30,120", help="comma-separated time limits in seconds")
    parser.add_argument("--jobs", type=int, default=1, help="cells solved at once (default 1)")
    parser.add_argument("--out", type=Path, default=Path("bench-out/allocate_primal"), help="output path stem")
    parser.add_argument("--check-reductions", action="store_true",
                        help="instead: default vs reduced model to a proof on tiny --seeds (600 s each, gap 1e-4; "
                        "the optima must agree within twice the gap)")
    args = parser.parse_args()
    import pandas as pd

    if args.check_reductions:
        seeds = [int(x) for x in args.seeds.split(",")]
        with mp.get_context("spawn").Pool(args.jobs) as pool:
            rows = []
            for row in pool.starmap(check_reductions, [(seed, 600.0, 1e-4) for seed in seeds]):
                rows.append(row)
                print(" ".join(f"{k}={fmt(v)}" for k, v in row.items()), flush=True)
        keys = list(rows[0])
        lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
        lines += ["| " + " | ".join(fmt(r[k]) for k in keys) + " |" for r in rows]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
        print(f"wrote {args.out.with_suffix('.md')}")
        return

    limits = [float(x) for x in args.limits.split(",")]
    todo = [(s, int(seed), c, limits) for s in args.scenarios.split(",") for seed in args.seeds.split(",")
            for c in args.configs.split(",")]
    print(f"{len(todo)} cells, limits {limits}, {args.jobs} job(s)", flush=True)
    rows = []
    with mp.get_context("spawn").Pool(args.jobs) as pool:
        for cell_rows in pool.imap(run_cell, todo):
            for row in cell_rows:
                rows.append(row)
                print(" ".join(f"{k}={fmt(row[k])}" for k in COLUMNS), flush=True)
    table = pd.DataFrame(rows, columns=COLUMNS).sort_values(["scenario", "limit_s", "seed", "config"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out.with_suffix(".csv"), index=False)
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(fmt(None if pd.isna(v) else v) for v in r) + " |"
              for r in table[COLUMNS].itertuples(index=False)]
    lines += ["", "| scenario | config | limit_s | proven | median gap | max gap | empty incumbents |",
              "|---|---|---|---|---|---|---|"]
    for (s, c, lim), g in table.groupby(["scenario", "config", "limit_s"]):
        empty = int((g.accepted == 0).sum()) if g.accepted.notna().all() else "-"
        lines.append(f"| {s} | {c} | {lim:g} | {int((g.status == 'optimal').sum())}/{len(g)} | "
                     f"{fmt(g.gap.median())} | {fmt(g.gap.max())} | {empty} |")
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[-len(table.groupby(['scenario', 'config', 'limit_s'])) - 2:]))
    print(f"wrote {args.out.with_suffix('.csv')} and {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
