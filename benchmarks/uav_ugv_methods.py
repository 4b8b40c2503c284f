"""`bcd-sca` against the classical baselines of `uav-ugv` on `paper-default` (docs/families/uav-ugv.md §7, §9).

    python benchmarks/uav_ugv_methods.py [--seeds 0-4] [--time-limit 60] [--out benchmarks/results/uav_ugv_methods.md]

Per (method, seed): status, objective J, sum rate, QoS satisfaction, backhaul outages, C5 violations, wall and CPU
seconds (time.process_time of this process; cvxpy/CLARABEL and HiGHS run single-threaded here). bcd-sca runs
with the given per-instance time limit (60 s = the `reduced` budget). The summary table gives mean ± std over the
seeds; the per-seed rows follow.
"""
from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

METHODS = ("bcd-sca", "static-kmeans", "ugv-static", "greedy-myopic", "hover-home", "random")
METRICS = ("objective", "sum_rate_mbps", "qos_satisfaction", "backhaul_outages", "safety_violations")


def seeds_of(text: str) -> list[int]:
    a, _, b = text.partition("-")
    return list(range(int(a), int(b) + 1)) if b else [int(s) for s in text.split(",")]


def main() -> None:
    import optkit

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0-4")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--scenario", default="paper-default")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/uav_ugv_methods.md"))
    args = ap.parse_args()
    rows = []
    for seed in seeds_of(args.seeds):
        inst = optkit.make_instance("uav-ugv", args.scenario, seed)
        for method in METHODS:
            opts = {"time_limit": args.time_limit} if method == "bcd-sca" else {}
            t0, c0 = time.perf_counter(), time.process_time()
            sol = optkit.solve(inst, method, **opts)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            ev = optkit.evaluate(inst, sol)
            rows.append({"method": method, "seed": seed, "status": str(sol.status), "wall_s": wall, "cpu_s": cpu,
                         **{m: ev.metrics[m] for m in METRICS}})
            print(rows[-1], flush=True)
    lines = [f"# uav-ugv: bcd-sca against the baselines ({args.scenario})", "",
             f"Command: `python benchmarks/uav_ugv_methods.py --seeds {args.seeds} --time-limit {args.time_limit:g}`. "
             "Measured on a shared, loaded 2-core machine (other agents' jobs running): wall seconds include waiting "
             "for a core, CPU seconds (process time) are given beside them.", "",
             f"Platform: {platform.platform()}, Python {platform.python_version()}.", "",
             "| method | seeds | " + " | ".join(METRICS) + " | wall_s | cpu_s | statuses |",
             "|---|---|" + "---|" * (len(METRICS) + 3)]
    for method in METHODS:
        sel = [r for r in rows if r["method"] == method]
        cells = []
        for m in (*METRICS, "wall_s", "cpu_s"):
            v = np.array([r[m] for r in sel], dtype=float)
            cells.append(f"{v.mean():.4g} ± {v.std(ddof=1) if v.size > 1 else 0:.3g}")
        statuses = ", ".join(f"{s}: {sum(r['status'] == s for r in sel)}" for s in sorted({r["status"] for r in sel}))
        lines.append(f"| {method} | {len(sel)} | " + " | ".join(cells) + f" | {statuses} |")
    lines += ["", "Per seed:", "", "| method | seed | status | " + " | ".join(METRICS) + " | wall_s | cpu_s |",
              "|---|---|---|" + "---|" * (len(METRICS) + 2)]
    for r in rows:
        lines.append(f"| {r['method']} | {r['seed']} | {r['status']} | "
                     + " | ".join(f"{r[m]:.4g}" for m in (*METRICS, "wall_s", "cpu_s")) + " |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
