"""`allocate-benders`, the Benders decomposition of benders.py (docs/families/allocate.md §7.8): the same optimum as the monolithic MILP, valid cuts (the master bound never below the
optimum), honest statuses under short limits, and records the evaluator scores exactly. Micro instances prove in
a few seconds with either method."""
from __future__ import annotations

import numpy as np
import pytest

import optkit
from optkit.formulations.allocate import benders, milp
from optkit.formulations.allocate.evaluator import VIOLATIONS, evaluate_decisions
from optkit.solution import Status
from optkit.solver import solve_model

MICRO = {"grid": [2, 2], "n_core": 1, "n_rsu": 1, "n_uav": 1, "R": 3, "T": 2, "C": 2, "n_ues": 6,
         "n_services": 3, "n_functions": 4}
# two UAVs, so that the plan-specific cuts (one UAV kept, the others free) and UAV relevance are exercised;
# with one channel and four requests some frames are infeasible (feasibility cuts, minimal infeasible subsets)
DUO = {**MICRO, "n_uav": 2}
CROWDED = {**MICRO, "n_uav": 2, "R": 4, "C": 1}


def micro(seed):
    return optkit.make_instance("allocate", "tiny", seed, overrides=MICRO)


def duo(seed):
    return optkit.make_instance("allocate", "tiny", seed, overrides=DUO)


def crowded(seed):
    return optkit.make_instance("allocate", "tiny", seed, overrides=CROWDED)


def monolithic(inst):
    solution = optkit.solve(inst, "allocate", time_limit=60, gap=1e-9, threads=1)
    assert solution.status == Status.OPTIMAL, solution.info
    return solution.objective


def check_record(inst, solution):
    """The evaluator reproduces the verified incumbent exactly and finds no violation."""
    ev = evaluate_decisions(inst, solution.decisions)
    assert ev.metrics["objective"] == pytest.approx(solution.objective, rel=1e-9, abs=1e-9)
    assert ev.metrics["objective"] == pytest.approx(solution.info["objective_cleaned"], rel=1e-9, abs=1e-9)
    assert all(ev.metrics[k] == 0 for k in VIOLATIONS), ev.violations


CASES = [(micro, 0), (micro, 3), (duo, 1), (duo, 2), (duo, 5), (crowded, 0), (crowded, 2)]


@pytest.mark.parametrize("make, seed", CASES)
def test_same_optimum_as_the_monolithic_model(make, seed):
    inst = make(seed)
    solution = benders.solve(inst, time_limit=60, gap=1e-9, threads=1)
    assert solution.status == Status.OPTIMAL, solution.info
    if make is crowded:
        assert solution.info["feasibility_cuts"] > 0
    assert solution.objective == pytest.approx(monolithic(inst), abs=1e-6)
    assert solution.bound >= solution.objective
    check_record(inst, solution)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [2, 3])
def test_same_optimum_on_tiny(seed):
    inst = optkit.make_instance("allocate", "tiny", seed)
    solution = optkit.solve(inst, "allocate-benders", threads=1)
    assert solution.status == Status.OPTIMAL
    reference = optkit.solve(inst, "allocate", threads=1)
    assert reference.status == Status.OPTIMAL
    tol = 1e-4 * abs(reference.objective)
    assert solution.objective == pytest.approx(reference.objective, abs=2 * tol)
    assert solution.bound >= reference.objective - 1e-6 and reference.bound >= solution.objective - 1e-6
    check_record(inst, solution)


@pytest.mark.parametrize("make, seed", [(duo, 1), (crowded, 2)])
def test_every_master_bound_is_above_the_optimum(make, seed):
    """Valid cuts: after 1, 2, ... master solves the bound (and every bound of the trajectory) stays above the
    true optimum, and the incumbent below it."""
    inst = make(seed)
    best = monolithic(inst)
    for k in (1, 2, 3):
        solution = benders.solve(inst, time_limit=60, gap=1e-9, threads=1, max_iterations=k)
        assert solution.bound >= best - 1e-6
        assert all(b >= best - 1e-6 for _, _, b in solution.info["trajectory"])
        if solution.objective is not None:
            assert solution.objective <= best + 1e-6
        if solution.status != Status.OPTIMAL:
            assert solution.info["message"] == "stopped at max_iterations"


def test_honest_status_under_a_short_limit():
    """Stopped early on `small`: never optimal, the bound above the incumbent, the gap their distance, and the
    record scores the incumbent (or is empty without one)."""
    inst = optkit.make_instance("allocate", "small", 0)
    solution = benders.solve(inst, time_limit=4, threads=1)
    assert solution.status == Status.TIME_LIMIT
    ev = evaluate_decisions(inst, solution.decisions)
    if solution.objective is None:
        assert solution.gap is None and ev.metrics["accepted"] == 0
    else:
        check_record(inst, solution)
        assert solution.bound >= solution.objective
        assert solution.gap == pytest.approx((solution.bound - solution.objective) / abs(solution.objective))


def test_frame_energy_with_the_plan_fixed_matches_the_monolithic_model():
    """The subproblems and the plan patterns are exact: fixing the optimal acceptance and UAV areas in the full
    model gives back the decomposition's objective, and every UAV area that matters to no request of a frame is
    equivalent (moving it leaves that frame's energy unchanged)."""
    inst = crowded(0)
    solution = benders.solve(inst, time_limit=60, gap=1e-9, threads=1)
    data = milp.build_data(inst)
    model = milp.build_model(inst, data)
    x = np.zeros(inst.R, dtype=np.int64)
    for r, _t in solution.decisions.service:
        x[r] = 1
    areas = np.asarray(solution.decisions.uav_area)
    for r in range(inst.R):
        model.X[r].fix(int(x[r]))
    for t in range(inst.T):
        for j, n in enumerate(inst.uavs):
            for a in range(inst.A):
                model.S[t, n, a].fix(1 if a == areas[t, j] else 0)
    report = solve_model(model, rel_gap=1e-9)
    assert report.objective == pytest.approx(solution.objective, abs=1e-6)

    frames = benders.FrameProblems(inst, data, "highs", 1)
    for t in range(inst.T):
        requests = [r for r in frames.active[t] if x[r]]
        exact = frames.solve(t, requests, frames.pattern(t, requests, areas[t]), None)
        rel = frames.relevant(t, requests)
        for j, n in enumerate(inst.uavs):
            if not requests or int(areas[t, j]) in rel[n]:
                continue
            for a in sorted(set(range(inst.A)) - rel[n]):
                pinned = tuple(a if i == j else int(areas[t, i]) for i in range(inst.n_uav))
                other = benders.FrameProblems(inst, data, "highs", 1).solve(t, requests, pinned, None)
                assert other.energy == pytest.approx(exact.energy, abs=1e-6)


def test_registration():
    from optkit import registry

    spec = registry.get_method("allocate", "allocate-benders")
    assert spec.kind == "exact" and spec.knowledge == "oracle" and not spec.seeded
