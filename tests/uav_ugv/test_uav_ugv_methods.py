"""MILPs, Hungarian association, SCA, BCD and the lattice reference of `uav-ugv` (§10 checks 13, 14, 17, 18, 20,
21, 25–28): exact methods against brute force, rules against the exact ones, honest statuses."""
from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

import optkit
from optkit.formulations.uav_ugv import association as assoc
from optkit.formulations.uav_ugv import channel, milp, routing, sca
from optkit.formulations.uav_ugv.evaluator import Plan, evaluate, score, slot_channels


def _slot(inst, rng, U=2, K=6):
    q = np.column_stack([rng.uniform(800, 2200, (U, 2)), rng.uniform(30, 150, U)])
    users = rng.uniform(500, 2500, (K, 2))
    S = channel.access_power(inst, q, users)
    return S, channel.spectral_efficiency(inst, S)


def _brute_force(inst, SE, eligible):
    U, K = SE.shape
    best = -np.inf
    for serve in itertools.product(np.nonzero(eligible)[0], repeat=K):
        best = max(best, assoc.slot_value(inst, SE, np.array(serve)))
    return best


@pytest.mark.parametrize("seed", range(4))
def test_association_milp_equals_brute_force(tiny, seed):          # check 13
    inst = dataclasses.replace(tiny, qos_weight=[1000.0, 10.0][seed % 2])
    rng = np.random.default_rng(seed)
    U, K = (2, 7) if seed < 2 else (3, 5)
    _, SE = _slot(inst, rng, U=U, K=K)
    feasible = np.ones((U, U), dtype=bool)
    if seed == 3:
        feasible[:, 2] = False                                       # UAV 2 has no backhaul
    eligible = feasible.any(axis=0)
    expected = _brute_force(inst, SE, eligible)
    for form in ("disaggregated", "compact"):
        res = milp.association_milp(inst, SE, feasible, form=form, time_limit=30)
        assert res["status"] == "optimal"
        assert res["value"] == pytest.approx(expected, rel=1e-6, abs=1e-6)
        assert res["bound"] >= expected - 1e-6 * max(1, abs(expected))


@pytest.mark.parametrize("seed", range(3))
def test_hungarian_sizes_exact_for_fixed_sizes(tiny, seed):         # check 13
    rng = np.random.default_rng(10 + seed)
    S, SE = _slot(tiny, rng, U=3, K=8)
    sizes = np.array([3, 4, 1])
    serve, value = assoc.assign_for_sizes(tiny, SE, sizes)
    assert np.array_equal(np.bincount(serve, minlength=3), sizes)
    res = milp.association_milp(tiny, SE, np.ones((3, 3), dtype=bool), fixed_sizes=sizes)
    assert res["value"] == pytest.approx(value, rel=1e-6)
    eligible = np.ones(3, dtype=bool)
    e28 = assoc.greedy_ls(tiny, S, SE, eligible)
    hs, vhs = assoc.hungarian_sizes(tiny, SE, eligible, e28)
    free = milp.association_milp(tiny, SE, np.ones((3, 3), dtype=bool))
    assert free["value"] >= vhs - 1e-6 >= assoc.slot_value(tiny, SE, e28) - 2e-6


def test_full_mode_without_qos_is_max_sinr(tiny):                  # check 14
    inst = dataclasses.replace(tiny, bandwidth_sharing="full", qos_weight=0.0)
    rng = np.random.default_rng(3)
    S, SE = _slot(inst, rng, U=3, K=8)
    res = milp.association_milp(inst, SE, np.ones((3, 3), dtype=bool))
    best = np.argmax(SE, axis=0)
    assert res["value"] == pytest.approx(assoc.slot_value(inst, SE, best), rel=1e-9)


def test_association_milp_optimal_at_k20(quick):                   # check 27 (K = 20 part)
    q = routing.kmeans_plan(quick, 0)
    S, SE, snr = slot_channels(quick, q, routing.dp_routes(quick, q))
    res = milp.association_milp(quick, SE[6], snr[6] >= quick.snr_min_linear, time_limit=30)
    assert res["status"] == "optimal" and res["gap"] is not None and res["gap"] <= 1e-4


@pytest.mark.slow
def test_association_milp_time_limit_at_k100(paper):               # check 27 (K = 100 part)
    from optkit.formulations.uav_ugv.reference import assoc_milp_plan

    q = routing.kmeans_plan(paper, 0)
    w = routing.dp_routes(paper, q)
    res = assoc_milp_plan(paper, q, w, slots=[13], time_limit=5.0)
    rec = res["records"][12]
    assert rec["milp_status"] in ("time_limit", "feasible") and rec["milp_status"] != "optimal"
    assert rec["value"] >= max(rec["e28"], rec["hungarian_sizes"]) - 1e-9
    assert rec["bound"] is None or rec["bound"] >= rec["value"] - 1e-6


def test_ugv_milp_checks(tiny):                                    # checks 20, 28
    q = routing.kmeans_plan(tiny, 0)
    N, U, W = tiny.n_slots, tiny.n_uavs, tiny.n_waypoints
    free = milp.ugv_milp(tiny, np.ones((N, U, W), dtype=bool), time_limit=60)
    assert free["status"] == "optimal" and free["outages"] == 0
    feas = routing.waypoint_snr_db(tiny, q) >= tiny.snr_min_backhaul_db
    with_g7 = milp.ugv_milp(tiny, feas, time_limit=60)
    without = milp.ugv_milp(tiny, feas, symmetry=False, time_limit=60)
    assert with_g7["status"] == without["status"] == "optimal"
    assert with_g7["outages"] == without["outages"]
    plan = Plan(q=q, ugv_wp=with_g7["routes"], x=with_g7["x"])
    ev = evaluate(tiny, plan)
    assert ev.feasible and ev.metrics["backhaul_outages"] == with_g7["outages"]
    dp = evaluate(tiny, Plan(q=q, ugv_wp=routing.dp_routes(tiny, q)))
    assert dp.metrics["backhaul_outages"] >= with_g7["outages"]


def test_ugv_milp_fewer_ugvs_than_uavs():                          # check 20 (M < U)
    inst = optkit.make_instance("uav-ugv", "tiny-exact", 1, overrides={"n_ugvs": 1})
    N, U, W = inst.n_slots, inst.n_uavs, inst.n_waypoints
    res = milp.ugv_milp(inst, np.ones((N, U, W), dtype=bool), time_limit=60)
    assert res["outages"] >= (U - inst.n_ugvs) * N


def _brute_lattice(inst, J, points, home_ids):
    """Best (1/N) Σ J over all joint lattice trajectories of N ≤ 3 slots that return home."""
    from optkit.formulations.uav_ugv.safety import lattice_move_vectors

    moves = lattice_move_vectors(inst)
    index = {tuple(np.round(p, 6)): i for i, p in enumerate(points)}

    def nbrs(i):
        out = []
        for m in moves:
            key = tuple(np.round(points[i] + m, 6))
            if key in index:
                out.append(index[key])
        return out

    N = inst.n_slots
    best = -np.inf
    start = tuple(home_ids)
    frontier = [(start, 0.0)]
    for n in range(1, N + 1):
        nxt = []
        for (a, b), val in frontier:
            for a2 in nbrs(a):
                for b2 in nbrs(b):
                    if a2 != b2:
                        nxt.append(((a2, b2), val + J[a2, b2]))
        frontier = nxt
    for state, val in frontier:
        if state == start:
            best = max(best, val / N)
    return best


def test_grid_dp_equals_brute_force():                             # check 21
    from optkit.formulations.uav_ugv.grid_dp import lattice, solve_grid

    inst = optkit.make_instance("uav-ugv", "tiny-exact", 2, overrides={"n_slots": 3})
    res = solve_grid(inst)
    points, _ = lattice(inst)
    assert points.shape[0] == 363 and res["J"].shape == (363, 363) and np.isinf(np.diag(res["J"])).all()
    home_ids = [int(np.argmin(np.linalg.norm(points - h, axis=1))) for h in inst.uav_home]
    assert res["value"] == pytest.approx(_brute_lattice(inst, res["J"], points, home_ids), rel=1e-12)


def test_grid_dp_bounds_lattice_plans():                           # check 21
    from optkit.formulations.uav_ugv.env import rollout

    ref = optkit.solve(optkit.make_instance("uav-ugv", "tiny-exact", 0), "ref-grid-dp")
    inst = optkit.make_instance("uav-ugv", "tiny-exact-lattice", 0)
    rng = np.random.default_rng(0)
    for _ in range(3):
        plan = rollout(inst, lambda env: rng.uniform(-1, 1, env.action_dim))
        ev = evaluate(inst, Plan(q=plan.q, ugv_wp=plan.ugv_wp))
        if ev.metrics["safety_violations"] == 0:
            assert ev.metrics["objective"] <= ref.bound + 1e-9


def _sca_case(inst, jitter_seed=0):
    q = routing.kmeans_plan(inst, 0)
    w = routing.dp_routes(inst, q)
    rng = np.random.default_rng(jitter_seed)
    q[:, 1:-1, :2] += rng.normal(0, 40, q[:, 1:-1, :2].shape)
    q[:, 1:-1, 2] = rng.uniform(50, 140, q[:, 1:-1, 2].shape)
    q = np.clip(q, [0, 0, inst.uav_zmin], [inst.area_x, inst.area_y, inst.uav_zmax])
    sc = score(inst, q, w)
    return q, w, sc


def test_sca_surrogate_first_order_and_minorant(quick):            # check 17
    q, w, sc = _sca_case(quick)
    fixed = sca.fixed_from_plan(quick, q, w, sc.alpha, sc.x)
    cs = sca.surrogate_constants(quick, fixed, q)
    assert sca.surrogate_value(quick, cs, q, q) == pytest.approx(sca.smooth_merit(quick, fixed, q), rel=1e-12)
    eps = 1e-3
    for u, n, a in [(0, 3, 0), (0, 3, 2), (1, 5, 1), (1, 5, 2), (0, 7, 2), (1, 2, 0)]:
        plus, minus = q.copy(), q.copy()
        plus[u, n, a] += eps
        minus[u, n, a] -= eps
        true = (sca.smooth_merit(quick, fixed, plus) - sca.smooth_merit(quick, fixed, minus)) / (2 * eps)
        sur = (sca.surrogate_value(quick, cs, q, plus) - sca.surrogate_value(quick, cs, q, minus)) / (2 * eps)
        assert sur == pytest.approx(true, rel=1e-6, abs=1e-9)
    # the per-user η terms, weighted by the merit's derivatives, are E29's g_c
    G = sca.eta_gradients(quick, fixed, q)
    b = cs["b"]
    se = sca._se(quick, sca._powers(quick, q, cs["n_idx"], cs["k_idx"]), cs["u_idx"])
    weight = 1e-6 * b / quick.n_slots * (1 + quick.qos_weight * (b * se < quick.rate_min_bps))
    g = np.zeros_like(q)
    np.add.at(g, (slice(None), 1 + cs["n_idx"]), np.transpose(weight[:, None, None] * G, (1, 0, 2)))
    assert np.allclose(g, sca.correction(quick, fixed, q), rtol=1e-12, atol=1e-15)
    rng = np.random.default_rng(1)
    n_idx, k_idx, u_idx = cs["n_idx"], cs["k_idx"], cs["u_idx"]
    for _ in range(20):                                   # the minorant of the frozen-η SE (η at q^r)
        q2 = q.copy()
        q2[:, 1:-1] += rng.normal(0, [300, 300, 40], q2[:, 1:-1].shape)
        q2 = np.clip(q2, [0, 0, quick.uav_zmin], [quick.area_x, quick.area_y, quick.uav_zmax])
        lb = sca.surrogate_se(cs, q2 / sca.KM)
        frozen = sca._se(quick, sca._powers(quick, q2, n_idx, k_idx, freeze=q), u_idx)
        assert np.all(lb <= frozen + 1e-9)


def test_eta_gradient_finite_differences(quick):                  # E29 / the C1 ball's η path
    rng = np.random.default_rng(3)
    ground = rng.uniform(0, 3000, (8, 2))
    uav = np.column_stack([rng.uniform(0, 3000, (8, 2)), rng.uniform(30, 150, 8)])

    def eta(p):
        d = np.linalg.norm(p - np.column_stack([ground, np.zeros(8)]), axis=1)
        return channel.excess_db(quick, channel.elevation_deg(p[:, 2], d))

    g = sca.eta_gradient(quick, uav[:, 0] - ground[:, 0], uav[:, 1] - ground[:, 1], uav[:, 2])
    for a in range(3):
        step = np.zeros(3)
        step[a] = 1e-4
        fd = (eta(uav + step) - eta(uav - step)) / 2e-4
        assert np.allclose(g[:, a], fd, rtol=1e-5, atol=1e-10)


def test_sca_steps_accepted_and_monotone(quick):                   # checks 17, 18
    q, w, sc = _sca_case(quick, 2)
    fixed = sca.fixed_from_plan(quick, q, w, sc.alpha, sc.x)
    q_new, info = sca.build_and_solve(quick, fixed, q, 200.0)
    assert info["dcp"] and info["status"] in ("optimal", "optimal_inaccurate")
    cs = sca.surrogate_constants(quick, fixed, q)                   # the CVXPY objective = its NumPy twin
    assert sca.surrogate_value(quick, cs, q, q_new) == pytest.approx(info["value"], rel=1e-4, abs=1e-3)
    res = sca.sca(quick, q, w, sc.alpha, sc.x, max_solves=5)
    assert res["accepted"] >= 1
    assert np.all(np.diff(res["history"]) > 0)
    ev = evaluate(quick, Plan(q=res["q"], ugv_wp=w, alpha=sc.alpha, x=sc.x))
    assert ev.feasible and ev.metrics["merit"] == pytest.approx(res["merit"])


def test_sca_solver_failures_are_rejected_steps(quick):            # check 26
    q, w, sc = _sca_case(quick)
    fixed = sca.fixed_from_plan(quick, q, w, sc.alpha, sc.x)
    q_new, info = sca.build_and_solve(quick, fixed, q, 100.0, solver_options={"CLARABEL": {"no_such_opt": 1}})
    assert "CLARABEL_error" in info and info["solver"] == "SCS" and q_new is not None
    bad = {"CLARABEL": {"no_such_opt": 1}, "SCS": {"no_such_opt": 1}}
    res = sca.sca(quick, q, w, sc.alpha, sc.x, max_solves=2, solver_options=bad)
    assert res["accepted"] == 0 and res["rejected"] == 2 and np.array_equal(res["q"], q)


def test_bcd_monotone_and_above_its_start(quick):                  # check 18
    sol = optkit.solve(quick, "bcd-sca", time_limit=60, outer_iters=2, sca_solves=3)
    hist = sol.info["merit_history"]
    assert np.all(np.diff(hist) >= 0)
    start = optkit.evaluate(quick, optkit.solve(quick, "static-kmeans")).metrics["merit"]
    ev = optkit.evaluate(quick, sol)
    assert ev.feasible and ev.metrics["merit"] >= start - 1e-9 and ev.metrics["merit"] == pytest.approx(hist[-1])


def test_bcd_backhaul_recovery_removes_an_outage(quick):
    from optkit.heuristics.uav_ugv.bcd import backhaul_recovery

    q = routing.kmeans_plan(quick, 0)
    w = routing.dp_routes(quick, q)
    sc = score(quick, q, w)
    assert np.argwhere(sc.outage).tolist() == [[4, 1]]               # UAV 1 at its turning point (slot 5) only
    q2 = backhaul_recovery(quick, q, w, sc.x)
    assert np.argwhere(np.any(q2 != q, axis=-1)).tolist() == [[1, 5]]
    assert q2[1, 5, 2] == q[1, 5, 2]                                 # horizontal move
    free = np.nonzero(~sc.x[4].any(axis=1))[0]
    snr_db = 10 * np.log10(channel.backhaul_snr(quick, q2[:, 5], np.asarray(quick.waypoints)[w[free, 5]]))
    assert snr_db[:, 1].max() == pytest.approx(quick.snr_min_backhaul_db + sca.C1_MARGIN_DB, abs=1e-6)
    before = evaluate(quick, Plan(q=q, ugv_wp=w))
    after = evaluate(quick, Plan(q=q2, ugv_wp=w))
    assert after.feasible and after.metrics["backhaul_outages"] == 0
    assert after.metrics["merit"] > before.metrics["merit"]
    assert backhaul_recovery(quick, q2, w, score(quick, q2, w).x) is None


def test_bcd_time_limit_status(quick):
    sol = optkit.solve(quick, "bcd-sca", time_limit=0.01)
    assert str(sol.status) == "time_limit"


@pytest.mark.slow
def test_sca_progress_paper_default(paper):                        # check 25
    q = routing.kmeans_plan(paper, 0)
    w = routing.dp_routes(paper, q)
    sc = score(paper, q, w)
    res = sca.sca(paper, q, w, sc.alpha, sc.x, max_solves=6)
    assert res["accepted"] >= 1 and res["merit"] > res["history"][0]


@pytest.mark.slow
def test_ugv_static_has_outages_on_paper_default():                # check 24 (5 of the 20 seeds)
    outages = [optkit.evaluate(inst, optkit.solve(inst, "ugv-static")).metrics["backhaul_outages"]
               for inst in (optkit.make_instance("uav-ugv", "paper-default", s) for s in range(5))]
    assert sum(o > 0 for o in outages) >= 4
