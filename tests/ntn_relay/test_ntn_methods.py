"""ntn-relay methods: association exactness (MILP = enumeration = brute force), SAT-Ground cooperation, the
reachable bound above every method, lattice DP, greedy and straight-line rules (§10 checks 13, 14, 21, 27, 28)."""
from __future__ import annotations

import numpy as np
import pytest

from optkit.api import evaluate, make_instance, solve
from optkit.formulations.ntn_relay import model as M
from optkit.formulations.ntn_relay.association import milp_slot, slot_value
from optkit.formulations.ntn_relay.bounds import reachable_upper_bound
from optkit.formulations.ntn_relay.reference import lattice_dp
from optkit.heuristics.ntn_relay.baselines import mean_static_rate, straight_line_targets
from optkit.solution import Status


def make(preset="smoke", seed=0, point=None, **overrides):
    return make_instance("ntn-relay", preset, seed, point=point, overrides=overrides or None)


@pytest.mark.parametrize("K", [2, 3])
def test_milp_equals_enumeration_and_brute_force(K):
    w = M.world(make("smoke", K=K))
    rng = np.random.default_rng(K)
    slots = rng.integers(0, w.N, 6)
    pts = w.relay_points(rng.uniform(1000, 3000, (6, K, 2)))
    alpha, beta = M.hop_tables(w, slots, pts)
    values, _, cc1, cc2 = M.best_joint(alpha, beta)
    for p in range(6):
        brute = max(slot_value(alpha[p], beta[p], a, b) for a, b in zip(cc1, cc2))
        c1, c2, value, report = milp_slot(alpha[p], beta[p])
        assert report.status == Status.OPTIMAL
        assert value == pytest.approx(brute, rel=1e-6) and values[p] == pytest.approx(brute, rel=1e-12)
        assert slot_value(alpha[p], beta[p], c1, c2) == pytest.approx(value, rel=1e-12)


def test_milp_route_of_the_method_equals_enumeration():
    inst = make("smoke", n_slots_override=4)
    a = solve(inst, "static-loiter")
    b = solve(inst, "static-loiter", association="milp")
    assert evaluate(inst, a).metrics["sum_tput_mbps"] == pytest.approx(evaluate(inst, b).metrics["sum_tput_mbps"],
                                                                         rel=1e-9)


def test_cooperation_beats_noncooperation_slot_by_slot():
    inst = make("sat-ground-k2", n_slots_override=120)
    coop, non = solve(inst, "sat-ground-coop"), solve(inst, "sat-ground-noncoop")
    assert coop.status == Status.OPTIMAL and non.status == Status.FEASIBLE
    s_coop = np.array(evaluate(inst, coop).details["tput_series_mbps"])
    s_non = np.array(evaluate(inst, non).details["tput_series_mbps"])
    assert np.all(s_coop >= s_non - 1e-9) and s_coop.mean() > s_non.mean()


def test_direct_is_constant_and_has_no_handover():
    inst = make("direct", n_slots_override=50)
    ev = evaluate(inst, solve(inst, "direct"))
    series = np.array(ev.details["tput_series_mbps"])
    assert np.all(series == series[0]) and ev.metrics["handovers"] == 0
    assert series[0] == pytest.approx(0.45077, rel=1e-4)


def test_upper_bound_above_every_method():
    inst = make("smoke")
    w = M.world(inst)
    ub = reachable_upper_bound(w, grid_km=5.0)
    methods = ("static-loiter", "greedy-onestep", "straight-line", "hungarian-assoc", "sca-dinkelbach")
    for method in methods:
        sol = solve(inst, method, budget="check") if method.startswith("sca") else solve(inst, method)
        ev = evaluate(inst, sol)
        assert ev.metrics["n_out_of_candidates"] == 0
        series = np.array(ev.details["tput_series_mbps"]) * 1e6
        assert np.all(ub.rate >= series * (1 - 1e-12)), method
        assert ub.ee_kbit_per_j >= ev.metrics["ee_kbit_per_j"], method
    # check 27: the energy bound uses V_min and the initial speeds
    assert ub.energy_lb_j == pytest.approx(2 * w.N * 10 * w.p_min + 0.5 * 10 * 2 * (3.0 ** 2 - 30.0 ** 2))
    # the method reports the bound above its incumbent
    sol = solve(inst, "reachable-ub", grid_km=10.0)
    assert sol.bound >= sol.objective


def test_lattice_dp_beats_staying_and_is_scored():
    inst = make("mobility-k1", n_slots_override=60)
    w = M.world(inst)
    path, value, stay = lattice_dp(w)
    assert value >= stay - 1e-6
    assert np.all(np.abs(np.diff(path, axis=0)).sum(axis=1) <= 3.0 + 1e-9)     # one lattice move per stage
    sol = solve(inst, "lattice-dp")
    assert sol.status == Status.FEASIBLE and evaluate(inst, sol).feasible
    assert solve(make("smoke"), "lattice-dp").status == Status.ERROR          # K = 2: not its class


def test_greedy_keeps_speed_and_minimizes_power_without_throughput():
    # check 21 (D35): mean speed ≥ 0.8 V*; with w_R = 0 the average power stays ≤ 1.1 P_min
    inst = make("smoke")
    m = evaluate(inst, solve(inst, "greedy-onestep")).metrics
    assert m["mean_speed_mps"] >= 0.8 * 30.0
    inst = make("smoke", w_R=0.0)
    m = evaluate(inst, solve(inst, "greedy-onestep")).metrics
    assert m["avg_uav_power_w"] <= 1.1 * 100.002 and m["mean_speed_mps"] >= 0.8 * 30.0


def test_straight_line_second_target_maximizes_the_joint_sum():
    # check 28 (D47), brute force on a 50 km grid with the first target fixed
    w = M.world(make("paper-default"))
    targets = straight_line_targets(w, grid_km=50.0)
    reach = 1e-3 * w.v_star * w.N * 10.0
    offs = np.arange(-int(reach // 50), int(reach // 50) + 1) * 50.0
    grid = np.array([[x, y] for x in offs for y in offs if np.hypot(x, y) <= reach + 1e-9]) + w.q0[1]
    best, best_value = None, -np.inf
    for p in grid:
        pts = w.relay_points(np.broadcast_to(np.stack([targets[0], p]), (w.N, 2, 2)))
        value = M.exact_association(w, pts)[2].mean()
        if value > best_value + 1e-9:
            best, best_value = p, value
    assert np.allclose(targets[1], best)
    assert mean_static_rate(w, targets[None])[0] == pytest.approx(best_value, rel=1e-12)


def test_methods_refuse_the_wrong_template_with_a_status():
    inst = make("direct", n_slots_override=10)
    for method in ("static-loiter", "greedy-onestep", "sat-only", "sca-dinkelbach", "reachable-ub"):
        sol = solve(inst, method)
        assert sol.status in (Status.ERROR, Status.FEASIBLE)
    assert solve(inst, "sat-only").status == Status.ERROR
    assert solve(inst, "sca-dinkelbach").status == Status.ERROR
