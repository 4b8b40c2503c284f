"""The classical methods of `ntn-relay` on one preset (docs/families/ntn-relay.md §7.10, §7.11, §8; target:
sca-dinkelbach on paper-default within 15 minutes on 2 cores, its EE as a fraction of reachable-ub and above
static-loiter and greedy-onestep).

    python benchmarks/ntn_methods.py [--presets paper-default,mobility-k1,mobility-k2] [--budget paper] [--sca-time-limit 900]
        [--methods static-loiter,greedy-onestep,straight-line,sca-dinkelbach,reachable-ub]
        [--out benchmarks/results/ntn_methods.md]

Each method runs once (all are deterministic) and is scored by the evaluator; the table gives EE, sum throughput,
average power, EE / EE_UB (reachable-ub at 5 km), UB / SAT-Ground, feasibility, wall-clock and CPU seconds, and
for sca-dinkelbach its iteration counts (Dinkelbach, BCD, SCA solves, rejected steps) and time-out flag.
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import time
from pathlib import Path

from optkit.api import evaluate, make_instance, solve
from optkit.formulations.ntn_relay import model as M
from optkit.formulations.ntn_relay.bounds import reachable_upper_bound


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="paper-default")
    parser.add_argument("--methods", default="static-loiter,greedy-onestep,straight-line,sca-dinkelbach")
    parser.add_argument("--budget", default="paper")
    parser.add_argument("--sca-time-limit", type=float, default=900.0,
                        help="wall-clock safety net of sca-dinkelbach in s (0: none, the iteration caps bind)")
    parser.add_argument("--out", default="benchmarks/results/ntn_methods.md")
    args = parser.parse_args()
    lines = [
        "# ntn-relay classical methods", "",
        f"`python benchmarks/ntn_methods.py --presets {args.presets} --methods {args.methods} --budget {args.budget} "
        f"--sca-time-limit {args.sca_time_limit:g}`; "
        f"{platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} cores shared with other jobs "
        "(wall clock inflated by the load; CPU seconds beside it). EE_UB: reachable-ub on a 5 km lattice at V_max; "
        "UB/SG: its mean sum rate over cooperative SAT-Ground.", "",
        "| preset | method | status | EE kbit/J | sum Mbit/s | power W | EE / EE_UB | feasible | wall s | CPU s | "
        "iterations (Dink., BCD, solves, rejected) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for preset in args.presets.split(","):
        inst = make_instance("ntn-relay", preset, 0)
        w = M.world(inst)
        t0, c0 = time.perf_counter(), cpu_s()
        ub = reachable_upper_bound(w, 5.0) if inst.has_uav_between_lanes else None
        if ub is not None:
            lines.append(f"| {preset} | reachable-ub | bound | {ub.ee_kbit_per_j:.1f} (EE_UB) | "
                         f"{ub.rate.mean() / 1e6:.2f} (UB/SG {ub.rate.mean() / w.mu_r():.3f}) | – | 1 | – | "
                         f"{time.perf_counter() - t0:.1f} | {cpu_s() - c0:.1f} | – |")
        else:
            lines.append(f"| {preset} | reachable-ub | not applicable ({inst.path_template}, relay {inst.relay_kind}) "
                         "| – | – | – | – | – | – | – | – |")
        print(lines[-1], flush=True)
        for method in args.methods.split(","):
            t0, c0 = time.perf_counter(), cpu_s()
            kwargs = {"budget": args.budget, "time_limit": args.sca_time_limit or None} if method.startswith("sca") \
                else {}
            sol = solve(inst, method, **kwargs)
            wall, cpu = time.perf_counter() - t0, cpu_s() - c0
            m = evaluate(inst, sol).metrics
            it = sol.info.get("iterations")
            iters = (f"{it['dinkelbach']}, {it['bcd']}, {it['solves']}, {it['rejected']}"
                     + (" (timed out)" if sol.info.get("timed_out") else "")) if it else "–"
            lines.append(f"| {preset} | {method} | {sol.status} | {m['ee_kbit_per_j']:.1f} | {m['sum_tput_mbps']:.2f} | "
                         f"{m['avg_uav_power_w']:.2f} | "
                         f"{'–' if ub is None else format(m['ee_kbit_per_j'] / ub.ee_kbit_per_j, '.3f')} | "
                         f"{int(m['n_dist_violations'] == 0)} | {wall:.1f} | {cpu:.1f} | {iters} |")
            print(lines[-1], flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
