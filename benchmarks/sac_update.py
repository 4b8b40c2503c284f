"""Milliseconds per SAC / CSAC gradient step (`SACLearner.update()`), torch backend (autograd + torch Adam) against the
numpy backend (learners/numpy_sac.py), at the sagin sizes: actor 24-128-64-(3, 3), twin critics 27-128-64-1,
batch 128, one thread (`optkit.learners.training.single_thread`).

    python benchmarks/sac_update.py [--steps 200] [--rounds 7] [--out benchmarks/results/sac_update.md]

Each variant (SAC; CSAC with K = 2 constraints in "penalised_reward" and in "cost_critics" mode) builds one learner
per backend from the same seeds on the same 2 000 random transitions, warms up 20 steps, then times `--rounds`
rounds of `--steps` updates, alternating the backends round by round (so a busy machine slows both alike); the
table gives the median round (min in brackets), in wall-clock time and in the process's CPU time (less sensitive to
other jobs on a shared machine). The replay sampling and the multiplier step are included, as in training. The
projected time is for the sagin paper budget of 900 000 gradient steps at the CPU-time median (what one otherwise
idle core achieves).
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from optkit.learners.sac import SACConfig, SACLearner
from optkit.learners.training import single_thread

OBS_DIM, ACT_DIM, BUDGET = 24, 3, 900_000
VARIANTS = (("SAC", 0, "penalised_reward"), ("CSAC penalised_reward, K = 2", 2, "penalised_reward"),
            ("CSAC cost_critics, K = 2", 2, "cost_critics"))


def build(backend: str, n_costs: int, mode: str) -> SACLearner:
    cfg = SACConfig(update_backend=backend, constraint_mode=mode, cost_limits=(0.0, 0.01)[:n_costs])
    learner = SACLearner(OBS_DIM, ACT_DIM, cfg, rng=0, torch_seed=0, n_costs=n_costs)
    rng = np.random.default_rng(1)
    n = 2000
    learner.observe_batch(rng.normal(size=(n, OBS_DIM)), rng.uniform(-1, 1, (n, ACT_DIM)), rng.normal(size=n),
                          rng.normal(size=(n, OBS_DIM)), rng.random(n) < 0.05,
                          rng.random((n, n_costs)) if n_costs else None)
    for _ in range(20):
        learner.update()
    return learner


def time_round(learner: SACLearner, steps: int) -> tuple[float, float]:
    """(wall-clock, CPU) milliseconds per update over `steps` consecutive updates."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        learner.update()
    return (time.perf_counter() - wall) / steps * 1e3, (time.process_time() - cpu) / steps * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--out", default="benchmarks/results/sac_update.md")
    args = ap.parse_args()

    rows = []
    with single_thread():
        for label, n_costs, mode in VARIANTS:
            learners = {b: build(b, n_costs, mode) for b in ("torch", "numpy")}
            times = {b: [] for b in learners}
            for _ in range(args.rounds):
                for backend, learner in learners.items():
                    times[backend].append(time_round(learner, args.steps))
            med = {b: np.median(t, axis=0) for b, t in times.items()}          # (wall, cpu)
            low = {b: np.min(t, axis=0) for b, t in times.items()}
            rows.append((label, med, low))
            print(f"{label}: torch {med['torch'][0]:.2f} ms, numpy {med['numpy'][0]:.2f} ms, "
                  f"x{med['torch'][0] / med['numpy'][0]:.1f} (CPU time x{med['torch'][1] / med['numpy'][1]:.1f})",
                  flush=True)

    lines = ["# SAC / CSAC gradient step: torch vs numpy backend", "",
             f"`python benchmarks/sac_update.py --steps {args.steps} --rounds {args.rounds}`", "",
             f"`SACLearner({OBS_DIM}, {ACT_DIM}, SACConfig(...))`: actor {OBS_DIM}-128-64-({ACT_DIM}, {ACT_DIM}), twin "
             f"critics {OBS_DIM + ACT_DIM}-128-64-1 with Polyak targets, automatic α, batch 128, one thread; "
             f"one `update()` = replay sample + critics + (cost critics) + actor + α + targets + multipliers. "
             f"Median of {args.rounds} rounds of {args.steps} updates, backends alternating (min in brackets).", "",
             "| variant | torch, wall (ms / update) | numpy, wall | speed-up | torch, CPU | numpy, CPU | speed-up, "
             "CPU | 900 000 steps, torch (CPU) | 900 000 steps, numpy (CPU) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for label, med, low in rows:
        t, n, tl, nl = med["torch"], med["numpy"], low["torch"], low["numpy"]
        lines.append(f"| {label} | {t[0]:.2f} ({tl[0]:.2f}) | {n[0]:.2f} ({nl[0]:.2f}) | {t[0] / n[0]:.1f}x "
                     f"| {t[1]:.2f} ({tl[1]:.2f}) | {n[1]:.2f} ({nl[1]:.2f}) | {t[1] / n[1]:.1f}x "
                     f"| {t[1] * BUDGET / 6e4:.0f} min | {n[1] * BUDGET / 6e4:.0f} min |")
    lines += ["", f"Machine: {platform.platform()}, Python {platform.python_version()}, numpy {np.__version__}, "
                  f"torch {torch.__version__}, {os.cpu_count()} CPUs (shared with other jobs; load average "
                  f"{os.getloadavg()[0]:.2f} at the end).", ""]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
