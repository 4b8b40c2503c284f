"""Association optimality gap of `uav-ugv` per number of users K (docs/families/uav-ugv.md §8.2, spec §8.2).

    python benchmarks/uav_ugv_assoc_gap.py [--ks 20,40,60,80,100] [--seeds 0] [--slots 5,10,15,20,25]
                                           [--time-limit 30] [--out benchmarks/results/uav_ugv_assoc_gap.md]

For each K (a point of `sweep-users`, rest as `paper-default`) and seed: the `static-kmeans` trajectory with its DP
UGV routes and x by E27; on each chosen slot the exact P-A MILP (disaggregated form, HiGHS through the project's
solver wrapper, one thread, `--time-limit` s per slot) against the rules E28 (`greedy-ls`) and `hungarian-sizes`.
J_best is the better of the MILP incumbent and the rules (what `ref-assoc-milp` returns). Ratios are
J_rule / J_best when J_best > 0 and J_best / J_rule otherwise (≤ 1 either way, 1 = as good as the best known);
"rule / bound" is the better rule's slot value over the MILP's dual bound (≤ 1; a certificate when the MILP did
not close). Wall and CPU seconds of the MILP solves are given: the machine is a shared, loaded 2-core one.
"""
from __future__ import annotations

import argparse
import math
import platform
import time
from pathlib import Path

import numpy as np


def main() -> None:
    import optkit
    from optkit.bench.sweep import parse_seeds
    from optkit.formulations.uav_ugv import routing
    from optkit.formulations.uav_ugv.reference import assoc_milp_plan
    from optkit.formulations.uav_ugv.report import rule_ratio

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ks", default="20,40,60,80,100")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--slots", default="5,10,15,20,25")
    ap.add_argument("--time-limit", type=float, default=30.0)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/uav_ugv_assoc_gap.md"))
    args = ap.parse_args()
    slots = parse_seeds(args.slots, "--slots")
    rows = []
    for K in parse_seeds(args.ks, "--ks"):
        for seed in parse_seeds(args.seeds):
            inst = optkit.make_instance("uav-ugv", "sweep-users", seed, point=str(K))
            q = routing.kmeans_plan(inst, 0)
            routes = routing.dp_routes(inst, q)
            c0 = time.process_time()
            res = assoc_milp_plan(inst, q, routes, slots=slots, time_limit=args.time_limit)
            cpu = (time.process_time() - c0) / max(1, len(slots))
            for rec in res["records"]:
                if rec.get("milp_status") is None:
                    continue
                best = rec["value"]
                rule = max(rec["e28"], rec["hungarian_sizes"])
                bound = rec.get("bound")
                row = {"K": K, "seed": seed, "slot": rec["slot"], "status": rec["milp_status"],
                       "milp": rec.get("milp_value"), "best": best, "bound": bound,
                       "e28": rule_ratio(rec["e28"], best), "hs": rule_ratio(rec["hungarian_sizes"], best),
                       "rule_bound": rule_ratio(rule, bound) if bound is not None else math.nan,
                       "source": rec["source"], "solve_s": rec.get("solve_s", math.nan), "cpu_s": cpu}
                rows.append(row)
                print(row, flush=True)
    fmt = lambda v: "–" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.4g}"  # noqa: E731
    lines = ["# uav-ugv: association optimality gap per number of users (static-kmeans trajectories)", "",
             f"Command: `python benchmarks/uav_ugv_assoc_gap.py --ks {args.ks} --seeds {args.seeds} --slots "
             f"{args.slots} --time-limit {args.time_limit:g}`. Presets `sweep-users:<K>` (rest as paper-default); "
             "P-A disaggregated form, HiGHS, 1 thread, the time limit per slot. Ratios as defined in the script's "
             "docstring (J_rule / J_best, 1 = as good as the best known; rule / bound = better rule over the MILP "
             "dual bound). Measured on a shared, loaded 2-core machine: solve wall seconds include waiting for a "
             "core; CPU seconds per slot (process time, MILP and rules) are given beside them.", "",
             f"Platform: {platform.platform()}, Python {platform.python_version()}.", "",
             "| K | slots | MILP optimal | MILP time_limit | best from MILP | E28 ratio mean (min) | "
             "hungarian-sizes ratio mean (min) | rule / bound mean (min) | solve wall s mean | CPU s per slot |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for K in parse_seeds(args.ks, "--ks"):
        sel = [r for r in rows if r["K"] == K]
        if not sel:
            continue
        col = lambda key: np.array([r[key] for r in sel], dtype=float)  # noqa: E731
        mm = lambda v: f"{np.nanmean(v):.4f} ({np.nanmin(v):.4f})" if np.isfinite(v).any() else "–"  # noqa: E731
        lines.append(f"| {K} | {len(sel)} | {sum(r['status'] == 'optimal' for r in sel)} | "
                     f"{sum(r['status'] == 'time_limit' for r in sel)} | {sum(r['source'] == 'milp' for r in sel)} | "
                     f"{mm(col('e28'))} | {mm(col('hs'))} | {mm(col('rule_bound'))} | "
                     f"{np.nanmean(col('solve_s')):.3g} | {np.nanmean(col('cpu_s')):.3g} |")
    lines += ["", "Per slot:", "", "| K | seed | slot | MILP status | J_MILP | J_best | bound | source | E28 ratio | "
              "hungarian-sizes ratio | rule / bound | solve wall s |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['K']} | {r['seed']} | {r['slot']} | {r['status']} | {fmt(r['milp'])} | {fmt(r['best'])} | "
                     f"{fmt(r['bound'])} | {r['source']} | {fmt(r['e28'])} | {fmt(r['hs'])} | {fmt(r['rule_bound'])} | "
                     f"{fmt(r['solve_s'])} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
