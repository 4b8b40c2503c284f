"""Cost model of the `uav-ugv` family (docs/families/uav-ugv.md §7.0, D41): environment step at K = 100 and SCA
subproblem at `paper-default`.

    python benchmarks/uav_ugv_step.py [--episodes 8] [--solves 4] [--seeds 0,1] [--out benchmarks/results/uav_ugv_step.md]

Environment step: `UavUgvEnv.step` (safety layer E25–E26, E27, E28 with incremental gains, reward, state with its
grids) on `paper-default` seeds, depot start, under the `random` policy and under `hover-home` (all-zero actions).
SCA: one subproblem build + CLARABEL solve (`sca.build_and_solve`) at the `static-kmeans` plan with E27–E28
associations, trust radius 200 m, and the E29 correction. Wall seconds (time.perf_counter) and CPU seconds
(time.process_time) per step / per solve; targets ≤ 2 ms per step and ≤ 4 s per SCA solve.
"""
from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np


def step_times(seed: int, episodes: int, policy: str) -> tuple[list, list]:
    import optkit
    from optkit.formulations.uav_ugv.env import UavUgvEnv

    inst = optkit.make_instance("uav-ugv", "paper-default", seed)
    env = UavUgvEnv(inst)
    rng = np.random.default_rng(seed)
    wall, cpu = [], []
    for _ in range(episodes):
        env.reset()
        for _ in range(inst.n_slots):
            a = rng.uniform(-1, 1, env.action_dim) if policy == "random" else np.zeros(env.action_dim)
            t0, c0 = time.perf_counter(), time.process_time()
            env.step(a)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    return wall, cpu


def sca_times(seed: int, solves: int) -> tuple[list, list, list]:
    import optkit
    from optkit.formulations.uav_ugv import routing, sca
    from optkit.formulations.uav_ugv.evaluator import score

    inst = optkit.make_instance("uav-ugv", "paper-default", seed)
    q = routing.kmeans_plan(inst, 0)
    w = routing.dp_routes(inst, q)
    sc = score(inst, q, w)
    fixed = sca.fixed_from_plan(inst, q, w, sc.alpha, sc.x)
    wall, cpu, status = [], [], []
    for _ in range(solves):
        t0, c0 = time.perf_counter(), time.process_time()
        _, info = sca.build_and_solve(inst, fixed, q, 200.0)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        status.append(f"{info['solver']}:{info['status']}")
    return wall, cpu, status


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=8)
    ap.add_argument("--solves", type=int, default=4)
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/uav_ugv_step.md"))
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for policy in ("random", "hover-home"):
        wall, cpu = [], []
        for seed in seeds:
            w, c = step_times(seed, args.episodes, policy)
            wall += w
            cpu += c
        rows.append((f"env step, {policy}", len(wall), 1e3 * np.mean(wall), 1e3 * np.percentile(wall, 90),
                     1e3 * np.mean(cpu), "ms", "≤ 2 ms", ""))
    wall, cpu, status = [], [], []
    for seed in seeds:
        w, c, s = sca_times(seed, args.solves)
        wall += w
        cpu += c
        status += s
    rows.append(("SCA subproblem (build + solve)", len(wall), np.mean(wall), np.percentile(wall, 90), np.mean(cpu),
                 "s", "≤ 4 s", ", ".join(sorted(set(status)))))
    lines = [
        "# uav-ugv cost model: environment step and SCA subproblem (paper-default)",
        "",
        f"Command: `python benchmarks/uav_ugv_step.py --episodes {args.episodes} --solves {args.solves} "
        f"--seeds {args.seeds}`. Paper-default (U = M = 4, K = 100, N = 25), depot start; "
        f"seeds {args.seeds}. Measured on a shared, loaded 2-core machine (other jobs running): wall times include "
        "waiting for a core, so CPU seconds (process time) are given beside them.",
        "",
        f"Platform: {platform.platform()}, Python {platform.python_version()}.",
        "",
        "| what | samples | mean wall | p90 wall | mean CPU | unit | target | solver |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, n, mean, p90, cpu_mean, unit, target, solver in rows:
        lines.append(f"| {name} | {n} | {mean:.3g} | {p90:.3g} | {cpu_mean:.3g} | {unit} | {target} | {solver} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
