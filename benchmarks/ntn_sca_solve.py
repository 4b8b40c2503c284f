"""One SCA subproblem of `sca-dinkelbach` (docs/families/ntn-relay.md §5.5, D41, D42): build and Clarabel solve time,
status and peak memory of the constant-data CVXPY model (no DPP parameters) from the static-loiter start.

    python benchmarks/ntn_sca_solve.py [--slots 60,573] [--out benchmarks/results/ntn_sca_solve.md]

For each slot count N (preset paper-default with n_slots_override = N; 573 is the full period) it builds the
subproblem at η = EE of the start, solves it once, and reports the model size, build and solve wall and CPU
seconds, the solver status, the process's peak resident memory after the solve, and the exact EE before and after
the step (re-simulated, association re-optimized).
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import time
import warnings
from pathlib import Path

import numpy as np

from optkit.api import make_instance
from optkit.formulations.ntn_relay import model as M
from optkit.heuristics.ntn_relay import sca


def cpu_s() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def main() -> None:
    import cvxpy as cp

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", default="60,573")
    parser.add_argument("--out", default="benchmarks/results/ntn_sca_solve.md")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    lines = ["# ntn-relay: one SCA subproblem (constant data, centred variables, scaled objective)", "",
             f"`python benchmarks/ntn_sca_solve.py --slots {args.slots}`; {platform.machine()}, Python "
             f"{platform.python_version()}, cvxpy {cp.__version__}, {os.cpu_count()} cores shared with other jobs "
             f"(load average {load:.1f} at the start; compare the CPU columns).", "",
             "| N | variables | constraints | build s (wall / CPU) | solve s (wall / CPU) | status | peak RSS MB | "
             "EE before → after kbit/J |", "|---|---|---|---|---|---|---|---|"]
    for n in (int(x) for x in args.slots.split(",")):
        inst = make_instance("ntn-relay", "paper-default", 0, overrides={"n_slots_override": n})
        w = M.world(inst)
        it = sca.make_iterate(w, M.loiter_accels(w))
        t0, c0 = time.perf_counter(), cpu_s()
        sub = sca.build_subproblem(w, it, it.ee, 1.0, 50.0)
        build = (time.perf_counter() - t0, cpu_s() - c0)
        t0, c0 = time.perf_counter(), cpu_s()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            sub.problem.solve(solver=cp.CLARABEL)
        solve = (time.perf_counter() - t0, cpu_s() - c0)
        step = sca.make_iterate(w, np.stack([a.value for a in sub.acc], axis=1))
        n_vars = sum(v.size for v in sub.problem.variables())
        n_cons = sum(c.size for c in sub.problem.constraints)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        lines.append(f"| {n} | {n_vars} | {n_cons} | {build[0]:.1f} / {build[1]:.1f} | {solve[0]:.1f} / {solve[1]:.1f} | "
                     f"{sub.problem.status} | {rss:.0f} | {it.ee / 1000:.1f} → {step.ee / 1000:.1f} |")
        print(lines[-1], flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
