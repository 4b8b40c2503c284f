"""Environment step of `ntn-relay` (docs/families/ntn-relay.md §7.1 compute budget, D40; target ≤ 0.3 ms per step at
K = 2 on one core), with the plain step it replaces beside it.

    python benchmarks/ntn_env_step.py [--preset paper-default] [--episodes 3] [--out benchmarks/results/ntn_env_step.md]

For K = 2 and K = 4 (the preset with K overridden) it plays --episodes full episodes of random actions and reports
µs per step, wall clock and CPU time (the CPU time is the figure to compare on a shared machine):
- `table`: `RelayEnv.step` + its observation: ground hops read from the per-instance tables, 2·K·I' UAV-hop
  distances per step;
- `plain`: the same slot computed directly (all 4·K hop distances and rates, E5 and E6 through the model functions,
  observation distances to every candidate recomputed, ground ones included).
Both see the same actions; the summed reward of the table step is checked against the evaluator's episode reward.
The share of a learner update in a training step belongs to the learners (Part B) and is not measured here.
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

from optkit.api import evaluate, make_instance
from optkit.formulations.ntn_relay.env import SCALE_KM, RelayEnv, plain_step


def plain_observe(env: RelayEnv, q, v, n: int, last_aero) -> np.ndarray:
    """The observation of §7.1 with every distance recomputed (no tables)."""
    w, inst = env.w, env.inst
    n = min(n, w.N - 1)
    p = np.stack([w.sat_xyz[0, n, w.cand[0, n]], w.sat_xyz[1, n, w.cand[1, n]]])          # (2, C, 3)
    relay = w.relay_points(q)
    rows = []
    for k in range(env.K):
        d = np.concatenate([np.linalg.norm(p[0] - np.asarray(inst.src_pos_km), axis=-1),
                            np.linalg.norm(p[0] - relay[k], axis=-1), np.linalg.norm(p[1] - relay[k], axis=-1),
                            np.linalg.norm(p[1] - np.asarray(inst.dst_pos_km), axis=-1)])
        energy = (last_aero[k] - inst.dt_s * w.p_min) / (inst.dt_s * w.p_min) if n > 0 else 0.0
        rows.append(np.concatenate([p.reshape(-1) / SCALE_KM, q[k] / SCALE_KM, v[k] / inst.v_max_mps,
                                    d / SCALE_KM, [energy, n / w.N]]))
    return np.array(rows)


def run(preset: str, K: int, episodes: int) -> dict:
    inst = make_instance("ntn-relay", preset, 0, overrides={"K": K})
    env = RelayEnv(inst)
    w = env.w
    rng = np.random.default_rng(0)
    actions = rng.integers(0, env.n_actions, (episodes, w.N, K))
    out = {"K": K, "N": w.N}
    # table step
    wall = cpu = 0.0
    total = 0.0
    for e in range(episodes):
        env.reset()
        t0, c0 = time.perf_counter(), time.process_time()
        total = 0.0
        for n in range(w.N):
            _, r, _, _ = env.step(actions[e, n])
            total += r
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
    steps = episodes * w.N
    out["table_us"], out["table_cpu_us"] = 1e6 * wall / steps, 1e6 * cpu / steps
    out["reward_gap"] = abs(total - evaluate(inst, env.decisions()).metrics["episode_reward"])
    # plain step
    wall = cpu = 0.0
    for e in range(episodes):
        q, v, last = w.q0.copy(), w.v0.copy(), np.zeros(K)
        t0, c0 = time.perf_counter(), time.process_time()
        for n in range(w.N):
            ca, cb, acc = env.decode(actions[e, n])
            _, q, v, last = plain_step(w, q, v, n, w.cand[0, n, ca], w.cand[1, n, cb], w.accels[acc])
            plain_observe(env, q, v, n + 1, last)
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
    out["plain_us"], out["plain_cpu_us"] = 1e6 * wall / steps, 1e6 * cpu / steps
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="paper-default")
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/ntn_env_step.md")
    args = parser.parse_args()
    rows = [run(args.preset, K, args.episodes) for K in (2, 4)]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "# ntn-relay environment step (D40: target ≤ 300 µs per step at K = 2)", "",
        f"`python benchmarks/ntn_env_step.py --preset {args.preset} --episodes {args.episodes}`; "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores, load average {load:.1f} at the end of the run (a shared machine: compare the CPU "
        "columns). Random actions, the same for both steps; one step = rates, dynamics, energy, reward and the next "
        "observation of all K agents.", "",
        "| K | N | table step µs (wall) | table step µs (CPU) | plain step µs (wall) | plain step µs (CPU) | "
        "speed-up (CPU) | episode reward − evaluator's (abs.) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['K']} | {r['N']} | {r['table_us']:.0f} | {r['table_cpu_us']:.0f} | {r['plain_us']:.0f} | "
                     f"{r['plain_cpu_us']:.0f} | {r['plain_cpu_us'] / r['table_cpu_us']:.1f}× | "
                     f"{r['reward_gap']:.1e} |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
