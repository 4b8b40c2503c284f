"""sca-dinkelbach (§5.3, §5.5; §10 checks 15, 16): surrogates below the exact rates (property-based), the energy
majorant, DCP and Clarabel status of the subproblem, monotone Dinkelbach parameter, solver failures as rejected
steps."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optkit.api import evaluate, make_instance, solve
from optkit.formulations.ntn_relay import model as M
from optkit.heuristics.ntn_relay import sca
from optkit.solution import Status

pytestmark = pytest.mark.filterwarnings("ignore:The problem includes expressions:UserWarning")


@pytest.fixture(scope="module")
def smoke_world():
    return M.world(make_instance("ntn-relay", "smoke", 0))


coord = st.floats(min_value=0.0, max_value=4000.0, allow_nan=False)
point = st.tuples(coord, coord)


@settings(max_examples=60, deadline=None)
@given(sat=point, ref=point, q=point, m=st.integers(1, 2))
def test_surrogates_lower_bound_the_exact_rates(smoke_world, sat, ref, q, m):
    w = smoke_world
    b = w.inst.bandwidth_hz / m
    dh = w.inst.sat_altitude_km - w.inst.uav_altitude_km
    p, q_r, q = np.array(sat), np.array(ref), np.array(q)
    d = np.sqrt(np.sum((q - p) ** 2) + dh ** 2)
    d_r = np.sqrt(np.sum((q_r - p) ** 2) + dh ** 2)
    exact_rf, exact_fso = w.link.rf(b, d) / 1e6, w.link.fso(b, d) / 1e6
    hybrid = max(exact_rf, exact_fso)
    lb_rf = sca.rf_lower_bound(w, b, p, q_r, q, dh)
    lb_fso = sca.fso_lower_bound(w, b, p, q_r, q, dh)
    tol = 1e-9 * max(1.0, hybrid)
    assert lb_rf <= exact_rf + tol and lb_fso <= exact_fso + tol and max(lb_rf, lb_fso) <= hybrid + tol
    # tight at the iterate
    assert sca.rf_lower_bound(w, b, p, q_r, q_r, dh) == pytest.approx(w.link.rf(b, d_r) / 1e6, rel=1e-12)
    assert sca.fso_lower_bound(w, b, p, q_r, q_r, dh) == pytest.approx(w.link.fso(b, d_r) / 1e6, rel=1e-12,
                                                                       abs=1e-300)


def test_fso_surrogate_uses_the_prefactor():
    w1 = M.world(make_instance("ntn-relay", "smoke", 0))
    w2 = M.world(make_instance("ntn-relay", "smoke", 0, overrides={"fso_rate_prefactor": 1.0}))
    g1, dg1 = sca.fso_surrogate(w1, 1e9, np.array([1500.0]))
    g2, dg2 = sca.fso_surrogate(w2, 1e9, np.array([1500.0]))
    assert g2 == pytest.approx(2 * g1) and dg2 == pytest.approx(2 * dg1)


@settings(max_examples=40, deadline=None)
@given(speed=st.floats(5.0, 100.0), heading=st.floats(0, 6.28), ax=st.floats(-1, 1), ay=st.floats(-1, 1),
       shrink=st.floats(0.5, 1.0), extra=st.floats(0.0, 5.0))
def test_energy_majorant(smoke_world, speed, heading, ax, ay, shrink, extra):
    w = smoke_world
    v = np.array([[speed * np.cos(heading), speed * np.sin(heading)]])
    a = np.array([[ax, ay]])
    v_next = v + 10.0 * a
    t = np.array([shrink * speed])                                    # any t ≤ ‖v‖
    wv = np.sum(a ** 2, axis=1) / t + extra                            # any w ≥ ‖a‖²/t
    exact = 10.0 * w.power(v, a)[0] + 0.5 * 10.0 * (np.sum(v_next ** 2) - np.sum(v ** 2))
    bound = sca.energy_upper_bound(w, np.vstack([v, v_next]), a, t, wv)
    assert bound >= exact - 1e-9 * abs(exact)
    # equal at t = ‖v‖, w = ‖a‖²/t when a ⊥ v
    a_perp = np.array([[-v[0, 1], v[0, 0]]]) / speed * 0.7
    v_next = v + 10.0 * a_perp
    exact = 10.0 * w.power(v, a_perp)[0] + 0.5 * 10.0 * (np.sum(v_next ** 2) - np.sum(v ** 2))
    tight = sca.energy_upper_bound(w, np.vstack([v, v_next]), a_perp, np.array([speed]),
                                   np.sum(a_perp ** 2, axis=1) / speed)
    assert tight == pytest.approx(exact, rel=1e-12)


def test_subproblem_is_dcp_and_solves_optimal_from_loiter(smoke_world):
    import cvxpy as cp

    w = smoke_world
    it = sca.make_iterate(w, M.loiter_accels(w))
    sub = sca.build_subproblem(w, it, it.ee, 1.0, 50.0)
    assert sub.problem.is_dcp()
    sub.problem.solve(solver=cp.CLARABEL)
    assert sub.problem.status == "optimal"
    # the optimum of the surrogate problem is at least its value at the iterate (a feasible point)
    assert sub.problem.value >= -1e-6


def test_dinkelbach_is_monotone_and_records_its_iterations(smoke_world):
    inst = smoke_world.inst
    best, info = sca.sca_dinkelbach(inst, caps=(2, 1, 2))
    accepted = info["accepted_ee_kbit_per_j"]
    assert all(b >= a for a, b in zip(accepted, accepted[1:]))
    assert np.all(np.diff(info["eta_history"]) >= 0)
    assert best.ee / 1000 >= info["start_ee_kbit_per_j"]
    it = info["iterations"]
    assert 1 <= it["dinkelbach"] <= 2 and it["solves"] <= 2 * 1 * 2 and it["sca"] == it["solves"]
    # F(η) on a fixed set of solutions is strictly decreasing in η
    loiter = sca.make_iterate(smoke_world, M.loiter_accels(smoke_world))
    sols = [loiter, best]
    etas = np.linspace(0, 2 * best.ee, 7)
    F = [max(s.value(1.0, e) for s in sols) for e in etas]
    assert np.all(np.diff(F) < 0)


def test_solver_failure_is_a_rejected_step(monkeypatch, smoke_world):
    import cvxpy as cp

    def broken(self, *args, **kwargs):
        raise cp.error.SolverError("injected")

    monkeypatch.setattr(cp.Problem, "solve", broken)
    inst = smoke_world.inst
    sol = solve(inst, "sca-dinkelbach", budget="check")
    assert sol.status == Status.FEASIBLE
    assert sol.info["iterations"]["solver_failures"] >= 1 and sol.info["iterations"]["rejected"] >= 1
    # nothing was accepted: the static-loiter start is returned
    loiter = solve(inst, "static-loiter")
    assert evaluate(inst, sol).metrics["ee_kbit_per_j"] == pytest.approx(
        evaluate(inst, loiter).metrics["ee_kbit_per_j"], rel=1e-12)


def test_sca_improves_on_loiter_and_the_discrete_variant_uses_the_action_set(smoke_world):
    inst = smoke_world.inst
    cont = solve(inst, "sca-dinkelbach", budget="check")
    ev = evaluate(inst, cont)
    assert ev.feasible and ev.metrics["ee_kbit_per_j"] > evaluate(inst, solve(inst, "static-loiter")).metrics[
        "ee_kbit_per_j"]
    disc = solve(inst, "sca-dinkelbach-discrete", budget="check")
    ev = evaluate(inst, disc)
    assert ev.metrics["continuous_actions"] == 0.0 and ev.feasible


@pytest.mark.slow
def test_one_sca_step_on_paper_default_raises_ee():
    # check 16: one SCA step from static-loiter on paper-default (η = EE of the start) raises the exact EE
    import cvxpy as cp

    w = M.world(make_instance("ntn-relay", "paper-default", 0))
    it = sca.make_iterate(w, M.loiter_accels(w))
    sub = sca.build_subproblem(w, it, it.ee, 1.0, 50.0)
    assert sub.problem.is_dcp()
    sub.problem.solve(solver=cp.CLARABEL)
    assert sub.problem.status == "optimal"
    step = sca.make_iterate(w, np.stack([a.value for a in sub.acc], axis=1))
    assert step.ee > it.ee
