"""Per-environment-step cost of the sagin learners' training loop (docs/families/sagin.md §7.1 step 9, §9).

Runs `ddqn-csac` on one training instance (default paper-default seed 0, 32 UAVs, cached backend) and times, per
synchronous environment step once both warm-ups are over: acting (both levels, Switch scoring), the env step, storing
the transitions, one DDQN gradient step and one CSAC gradient step. Prints the means and the extrapolated training
time for E episodes of L steps.

    python benchmarks/sagin_learner_step.py [--preset paper-default] [--steps 300] [--method ddqn-csac]
"""
from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np

from optkit.formulations.sagin.env import SaginEnv
from optkit.formulations.sagin.generator import generate, training_starts
from optkit.learners import harness
from optkit.learners.sagin import ddqn_csac, drl
from optkit.learners.training import deterministic
from optkit.scenarios import load_scenario


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="paper-default")
    ap.add_argument("--method", default="ddqn-csac")
    ap.add_argument("--steps", type=int, default=300, help="timed environment steps after the warm-up")
    ap.add_argument("--episodes", type=int, default=3000, help="E for the extrapolation")
    ap.add_argument("--episode-steps", type=int, default=250, help="mean steps per episode for the extrapolation")
    args = ap.parse_args()
    inst = generate(load_scenario("sagin", args.preset).params, 0, args.preset)
    config = harness.load_config("sagin", args.method, "paper")
    module = drl if args.method == "drl" else ddqn_csac
    env = SaginEnv(inst, inst.channel_rate_backend)
    agent = module.Agent(module.config_of(config), env.obs_dim, 0, 0)
    starts = training_starts(inst, 50)
    times, timed, e = defaultdict(float), 0, 0
    with deterministic(0):
        while timed < args.steps:
            env.reset(starts[e % len(starts)])
            e += 1
            while not env.done and timed < args.steps:
                idx = np.flatnonzero(env.active)
                learning = all(m is None or m.ready for m in (getattr(agent, "top", None), agent.low))
                t0 = time.perf_counter()
                act = agent.act(env, idx, 0.3)
                t1 = time.perf_counter()
                res = env.step(act["top"], act["direction"], act["target"])
                t2 = time.perf_counter()
                agent.observe(env, idx, act, res)
                t3 = time.perf_counter()
                if getattr(agent, "top", None) is not None:
                    agent.top.update()
                t4 = time.perf_counter()
                if agent.low is not None:
                    agent.low.update()
                t5 = time.perf_counter()
                if learning:
                    for key, dt in (("act", t1 - t0), ("env step", t2 - t1), ("store", t3 - t2),
                                    ("top update", t4 - t3), ("lower update", t5 - t4)):
                        times[key] += dt
                    timed += 1
    total = sum(times.values()) / timed
    print(f"{args.method} on {args.preset} ({inst.uav_n_uavs} UAVs, {env.backend} backend), {timed} steps:")
    for key, value in times.items():
        print(f"  {key:13s} {value / timed * 1e3:7.3f} ms")
    print(f"  {'total':13s} {total * 1e3:7.3f} ms per environment step")
    hours = total * args.episodes * args.episode_steps / 3600
    print(f"extrapolated: {args.episodes} episodes x {args.episode_steps} steps = {hours:.2f} h on one core")


if __name__ == "__main__":
    main()
