"""The primal side of the exact method `allocate` (docs/families/allocate.md §7.1, formulations/allocate/primal.py):
the constructive plan is feasible for the MILP and its values are a MIP start the solver accepts, read_plan inverts
plan_values, the polish steps never lose value and keep the record valid, and the method's answer stays honest
(status, bound, gap). Micro and tiny instances with short limits keep the module within seconds."""
from __future__ import annotations

import time

import numpy as np
import pyomo.environ as pyo
import pytest

import optkit
from optkit.formulations.allocate import milp, primal
from optkit.formulations.allocate.evaluator import VIOLATIONS, evaluate_decisions
from optkit.solution import Status
from optkit.solver import solve_model

MICRO = {"grid": [2, 2], "n_core": 1, "n_rsu": 1, "n_uav": 1, "R": 3, "T": 2, "C": 2, "n_ues": 6,
         "n_services": 3, "n_functions": 4}


def micro(seed, **extra):
    return optkit.make_instance("allocate", "tiny", seed, overrides={**MICRO, **extra})


def check_plan(inst, data, plan):
    """A plan is a feasible point of the MILP with its objective, and its record scores that objective."""
    m = milp.build_model(inst, data)
    primal.plan_values(inst, data, m, plan)
    assert primal.violated_rows(m) == []
    assert pyo.value(m.obj) == pytest.approx(plan.objective, abs=1e-9)
    decisions, cleaned = milp.extract_decisions(inst, data, m)
    ev = evaluate_decisions(inst, decisions)
    assert all(ev.metrics[k] == 0 for k in VIOLATIONS), ev.violations
    assert ev.metrics["objective"] == pytest.approx(plan.objective, abs=1e-9)
    assert cleaned == pytest.approx(plan.objective, abs=1e-9)
    return m


@pytest.mark.parametrize("scenario, seed", [("tiny", 0), ("tiny", 3), ("small", 0), ("small", 4),
                                            ("paper-default", 2)])
def test_constructive_plan_is_a_feasible_point_that_serves_requests(scenario, seed):
    """The coverage-maximising UAV areas and the greedy service give a feasible MILP point; on these instances it
    accepts requests (paper-default seed 2 is where the solver's own first incumbent served nothing)."""
    inst = optkit.make_instance("allocate", scenario, seed)
    data = milp.build_data(inst)
    plan = primal.constructive_plan(inst, data)
    check_plan(inst, data, plan)
    assert len(plan.accepted) > 0 and plan.objective > 0


@pytest.mark.parametrize("options", [{}, {"movement": "compact"}, {"tighten": False},
                                     {"z_continuous": True, "poa_from_routes": True, "aggregate_routes": True}])
def test_plan_values_and_read_plan_are_inverse(options):
    inst = optkit.make_instance("allocate", "tiny", 1)
    data = milp.build_data(inst, **options)
    plan = primal.constructive_plan(inst, data)
    m = check_plan(inst, data, plan)
    back = primal.read_plan(inst, data, m)
    assert back.accepted == plan.accepted and back.route == plan.route and back.hosts == plan.hosts
    assert back.channels == plan.channels and back.placement == plan.placement
    assert np.array_equal(back.uav_area, plan.uav_area) and back.objective == pytest.approx(plan.objective)


def test_mip_start_is_the_solvers_first_incumbent():
    """HiGHS accepts the plan's values as its first incumbent (also with S pinned by bounds, as polish does)."""
    inst = optkit.make_instance("allocate", "small", 1)
    data = milp.build_data(inst)
    plan = primal.constructive_plan(inst, data)
    for pinned in (False, True):
        m = milp.build_model(inst, data)
        if pinned:
            primal.fix_areas(inst, m, plan.uav_area)
        primal.plan_values(inst, data, m, plan)
        report = solve_model(m, time_limit=2, threads=1, warm_start=True)
        first = next(inc for _, inc, _ in report.trajectory if inc is not None)
        assert first >= plan.objective - 1e-6
        assert report.objective >= plan.objective - 1e-6


@pytest.mark.parametrize("seed", [0, 2])
def test_polish_steps_never_lose_value_and_stay_feasible(seed):
    inst = optkit.make_instance("allocate", "tiny", seed)
    data = milp.build_data(inst)
    m = milp.build_model(inst, data)
    plan = primal.constructive_plan(inst, data)
    frames = primal.polish_frames(inst, data, plan, deadline=time.perf_counter() + 20)
    assert frames.objective >= plan.objective - 1e-12 and frames.accepted == plan.accepted
    assert np.array_equal(frames.uav_area, plan.uav_area)
    fixed = primal.polish(inst, data, m, frames, time_limit=20)
    assert fixed.objective >= frames.objective - 1e-12 and np.array_equal(fixed.uav_area, frames.uav_area)
    moved = primal.polish_frames(inst, data, fixed, deadline=time.perf_counter() + 20, free=True)
    assert moved.objective >= fixed.objective - 1e-12 and moved.accepted == fixed.accepted
    for p in (frames, fixed, moved):
        check_plan(inst, data, p)
    assert all(v.bounds == (0, 1) and not v.fixed for v in m.S.values())         # polish leaves S free again


def test_frame_polish_is_the_frame_optimum():
    """With X and S fixed the frames are independent: polishing every frame equals the whole-horizon optimum with
    X and S fixed."""
    inst = optkit.make_instance("allocate", "tiny", 1)
    data = milp.build_data(inst)
    plan = primal.constructive_plan(inst, data)
    frames = primal.polish_frames(inst, data, plan, deadline=time.perf_counter() + 60, gap=1e-9)
    m = milp.build_model(inst, data)
    primal.fix_areas(inst, m, plan.uav_area)
    for r in range(inst.R):
        m.X[r].setlb(1.0 if r in plan.accepted else 0.0)
        m.X[r].setub(1.0 if r in plan.accepted else 0.0)
    report = solve_model(m, rel_gap=1e-9, threads=1)
    assert report.status == Status.OPTIMAL
    assert frames.objective == pytest.approx(report.objective, abs=1e-6)


def test_primal_phase_reports_progress_and_keeps_to_its_deadline():
    inst = optkit.make_instance("allocate", "small", 2)
    data = milp.build_data(inst)
    m = milp.build_model(inst, data)
    seen = []
    start = time.perf_counter()
    plan, stages = primal.primal_phase(inst, data, m, deadline=start + 3.0, clock=start,
                                       progress=lambda *a: seen.append(a))
    assert time.perf_counter() - start < 3.0 + 2.5          # one HiGHS call may overshoot its limit a little
    assert "constructive" in stages and plan.objective == pytest.approx(max(v[0] for v in stages.values()))
    assert seen and all(b is None and g is None for _, _, b, g in seen)
    assert [inc for _, inc, _, _ in seen] == sorted(inc for _, inc, _, _ in seen)


def test_method_answers_honestly_under_a_short_limit():
    """A time-limited run returns an incumbent that is at least the primal plan, never empty, with the solver's
    bound and a gap consistent with them; its record scores its objective; the trajectory is in method time."""
    inst = optkit.make_instance("allocate", "paper-default", 2)
    calls = []
    solution = milp.solve(inst, time_limit=6, threads=1, progress=lambda *a: calls.append(a))
    assert solution.status == Status.TIME_LIMIT
    start = max(v[0] for v in solution.info["primal"].values())
    assert solution.objective >= start - 1e-9 > 0
    if solution.bound is None:               # a slow machine may stop before the solver's first bound
        assert solution.gap is None
    else:
        assert solution.bound >= solution.objective
        assert solution.gap == pytest.approx((solution.bound - solution.objective) / abs(solution.objective))
    ev = evaluate_decisions(inst, solution.decisions)
    assert ev.metrics["accepted"] > 0 and all(ev.metrics[k] == 0 for k in VIOLATIONS)
    assert ev.metrics["objective"] >= solution.objective - 1e-6
    trajectory = solution.info["trajectory"]
    assert trajectory and [t for t, _, _ in trajectory] == sorted(t for t, _, _ in trajectory)
    assert len(calls) == len(trajectory) and trajectory[-1][0] <= solution.runtime_s


@pytest.mark.parametrize("seed", range(3))
def test_optimum_unchanged_with_the_primal_phase(seed):
    """Where the model proves its optimum, the method's defaults (primal phase and exact reductions) change neither
    the status nor the optimum of the model of §5.2."""
    inst = micro(seed)
    plain = milp.solve(inst, time_limit=60, gap=1e-9, warm_start=False, z_continuous=False, poa_from_routes=False,
                       aggregate_routes=False)
    started = milp.solve(inst, time_limit=60, gap=1e-9)
    assert plain.status == started.status == Status.OPTIMAL
    assert started.objective == pytest.approx(plain.objective, abs=1e-6)
    assert started.info["answer"] in ("solver incumbent", "primal plan")


@pytest.mark.parametrize("case", ["open", "proven", "failed"])
def test_status_when_the_answer_is_the_primal_plan(monkeypatch, case):
    """When the main solve returns no incumbent, the answer is the primal plan with the solver's bound: optimal only
    if that bound is within the gap of the plan, time_limit with bound and gap otherwise, feasible (no bound) when
    the solver failed."""
    import optkit.solver as solver_module
    from optkit.solver import SolveReport

    real = solver_module.solve_model
    seen = {}

    def main_solve_without_incumbent(model, **kwargs):
        if kwargs.get("progress") is None:           # the primal phase's solves run for real
            return real(model, **kwargs)
        value = pyo.value(model.obj)                  # the MIP start's objective
        seen["start"] = value
        status, bound = {"open": (Status.TIME_LIMIT, value + 1.0), "proven": (Status.TIME_LIMIT, value),
                         "failed": (Status.ERROR, None)}[case]
        return SolveReport(status=status, termination="maxTimeLimit" if bound is not None else "error",
                           objective=None, bound=bound, gap=None, solve_s=0.0, solver="highs", has_solution=False)

    monkeypatch.setattr(solver_module, "solve_model", main_solve_without_incumbent)
    inst = optkit.make_instance("allocate", "tiny", 1)
    solution = milp.solve(inst, time_limit=5, threads=1)
    assert solution.info["answer"] == "primal plan"
    assert solution.objective == pytest.approx(seen["start"]) and solution.objective > 0
    expected = {"open": Status.TIME_LIMIT, "proven": Status.OPTIMAL, "failed": Status.FEASIBLE}[case]
    assert solution.status == expected
    if case == "open":
        assert solution.gap == pytest.approx(1.0 / solution.objective)
    if case == "failed":
        assert solution.bound is None and solution.gap is None
    ev = evaluate_decisions(inst, solution.decisions)
    assert ev.metrics["objective"] == pytest.approx(solution.objective, abs=1e-9)
