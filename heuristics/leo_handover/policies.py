"""Classical baselines of `leo-handover` (§7.1 `distance`, §7.2): rules over the candidate slots of the
environment, plus `distance-all`, which picks among all eligible satellites (not an environment policy).

Ties: baselines prefer the lower satellite ID; `score-greedy` takes the lowest valid slot (§6.5).

Section (§), equation (E) and decision (D) numbers refer to docs/families/leo-handover.md.
"""
from __future__ import annotations

import time

import numpy as np

from optkit.formulations.leo_handover.env import (argbest_slot, curve_record, instance_env, kept_slot, nearest_slot,
                                                  rollout, sticky_nearest_slot, training_env)
from optkit.formulations.leo_handover.episode import episode_table, evaluation_specs, instance_scaler
from optkit.formulations.leo_handover.evaluator import Decisions
from optkit.formulations.leo_handover.generator import normalized_params, training_specs
from optkit.solution import Solution, Status

FAMILY = "leo-handover"


def nearest(env, obs, info) -> int:
    """`distance`: minimum slant range."""
    return nearest_slot(env)


def max_elevation(env, obs, info) -> int:
    t = env.table
    return argbest_slot(env, lambda p, j: (-t.el_deg[p], j))


def sticky_nearest(env, obs, info) -> int:
    return sticky_nearest_slot(env)


def max_remaining(env, obs, info) -> int:
    """`mrt-every-step`: largest remaining visibility time (window end, E16), then higher El, then lower ID."""
    t = env.table
    return argbest_slot(env, lambda p, j: (-t.end[p], -t.el_deg[p], j))


def mrt(env, obs, info) -> int:
    """Keep the serving satellite while it is eligible (it is then always a candidate, §4.5), else max remaining."""
    kept = kept_slot(env)
    return kept if kept >= 0 else max_remaining(env, obs, info)


def score_greedy(env, obs, info) -> int:
    """Myopic argmax of the reward E20-E22 (lowest slot on ties): the exact P1 optimum when transitions do not
    depend on the action (§5.1)."""
    pairs = env.candidate_pairs()
    values = np.array([env.table.reward[p] if p >= 0 else -np.inf for p in pairs])
    return int(np.argmax(values))


POLICIES = {"distance": nearest, "max-elevation": max_elevation, "sticky-nearest": sticky_nearest, "mrt": mrt,
            "mrt-every-step": max_remaining, "score-greedy": score_greedy}


def _solution(method: str, srv: list, runtime: float, info: dict | None = None) -> Solution:
    return Solution(family=FAMILY, method=method, status=Status.FEASIBLE, decisions=Decisions(tuple(srv)),
                    runtime_s=runtime, info=info or {})


def run_policy(inst, method: str, policy) -> Solution:
    """Roll a slot policy out on every test episode."""
    env = instance_env(inst)
    srv, seconds = [], 0.0
    for spec in evaluation_specs(inst):
        s, dt = rollout(env, spec, policy)
        srv.append(s)
        seconds += dt
    return _solution(method, srv, seconds)


def _entry(method: str):
    policy = POLICIES[method]

    def solve(inst, *, seed: int = 0, time_limit: float | None = None) -> Solution:
        return run_policy(inst, method, policy)

    solve.__name__ = solve.__qualname__ = f"solve_{method.replace('-', '_')}"
    solve.__doc__ = (f"`{method}` on every test episode (time_limit is accepted and unused): "
                     f"{policy.__doc__ or policy.__name__}")
    return solve


def solve_distance(inst, *, seed: int = 0, time_limit: float | None = None,
                   training_curve: bool = False) -> Solution:
    """`distance` on every test episode (time_limit is accepted and unused: microseconds per step). training_curve: also roll it out on the learners' training episodes of
    run seed `seed` (stream [S, 300, seed]) and return their G, f_HO and LD as info["curve"] (EXP-1)."""
    solution = run_policy(inst, "distance", nearest)
    if training_curve:
        params = normalized_params(inst.params())
        env = training_env(params, inst.seed)
        curve = []
        for e, spec in enumerate(training_specs(params, inst.seed, seed)):
            srv, _ = rollout(env, spec, nearest)
            steps = int(np.count_nonzero(srv >= 0))
            record = curve_record(env, steps)
            curve.append({"episode": e, "return": record["reward"], "steps": steps, **record})
        solution.info["curve"] = curve
    return solution


solve_max_elevation = _entry("max-elevation")
solve_sticky_nearest = _entry("sticky-nearest")
solve_mrt = _entry("mrt")
solve_mrt_every_step = _entry("mrt-every-step")
solve_score_greedy = _entry("score-greedy")


def solve_random(inst, *, seed: int = 0, time_limit: float | None = None) -> Solution:
    """A uniformly random valid slot; episode i draws from the stream [S, 700, i] (method seed ν ≠ 0 appends ν)."""
    env = instance_env(inst)
    srv, seconds = [], 0.0
    for i, spec in enumerate(evaluation_specs(inst)):
        entropy = [int(inst.seed), 700, i] + ([int(seed)] if seed else [])
        rng = np.random.default_rng(np.random.SeedSequence(entropy))

        def policy(env, obs, info):
            return int(rng.choice(np.flatnonzero(info["mask"])))

        s, dt = rollout(env, spec, policy)
        srv.append(s)
        seconds += dt
    return _solution("random", srv, seconds)


def solve_distance_all(inst, *, seed: int = 0, time_limit: float | None = None) -> Solution:
    """Nearest satellite among all of E(k) (not only the M candidates); lower ID on ties."""
    orbits, params, scaler = inst.orbits(), inst.params(), instance_scaler(inst)
    srv, seconds = [], 0.0
    for spec in evaluation_specs(inst):
        table = episode_table(orbits, params, scaler, spec)
        start = time.perf_counter()
        s = np.full(table.L, -1, dtype=np.int64)
        step = table.step
        order = np.lexsort((table.sat, table.range_km, step))          # per step: nearest first, then lower ID
        first = np.ones(order.size, dtype=bool)
        first[1:] = step[order][1:] != step[order][:-1]
        s[step[order][first]] = table.sat[order][first]
        seconds += time.perf_counter() - start
        srv.append(s)
    return _solution("distance-all", srv, seconds)
