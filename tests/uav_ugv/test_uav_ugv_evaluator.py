"""Association rules E27–E28 and the evaluator of `uav-ugv` (§10 checks 11, 12, 15, 16, 19, 29)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import optkit
from optkit.errors import InputError
from optkit.formulations.uav_ugv import association as assoc
from optkit.formulations.uav_ugv import channel, routing
from optkit.formulations.uav_ugv.env import UavUgvEnv, rollout
from optkit.formulations.uav_ugv.evaluator import Plan, evaluate, hard_checks
from optkit.solution import Solution, Status


def _random_slot(inst, rng, U=3, K=12):
    q = np.column_stack([rng.uniform(0, 3000, (U, 2)), rng.uniform(30, 150, U)])
    users = rng.uniform(0, 3000, (K, 2))
    S = channel.access_power(inst, q, users)
    return S, channel.spectral_efficiency(inst, S)


def _total(inst, SE, serve):
    return assoc.slot_value(inst, SE, serve)


@pytest.mark.parametrize("seed", range(5))
def test_gain_matrix_equals_brute_force(quick, seed):              # check 12
    rng = np.random.default_rng(seed)
    S, SE = _random_slot(quick, rng)
    U, K = SE.shape
    eligible = np.array([True, True, seed % 2 == 0])
    serve = assoc.max_power(S, eligible)
    gains = assoc.move_gains(quick, SE, serve, eligible)
    base = _total(quick, SE, serve)
    for k in range(K):
        for v in range(U):
            if not eligible[v] or v == serve[k]:
                assert gains[k, v] == -np.inf
                continue
            moved = serve.copy()
            moved[k] = v
            assert gains[k, v] == pytest.approx(_total(quick, SE, moved) - base, rel=1e-9, abs=1e-9)


def test_greedy_ls_serves_everyone_and_improves(quick):
    rng = np.random.default_rng(1)
    for _ in range(5):
        S, SE = _random_slot(quick, rng, K=20)
        eligible = np.array([True, False, True])
        serve = assoc.greedy_ls(quick, S, SE, eligible)
        assert np.all(serve >= 0) and not np.any(serve == 1)
        assert _total(quick, SE, serve) >= _total(quick, SE, assoc.max_power(S, eligible)) - 1e-9
        assert assoc.move_gains(quick, SE, serve, eligible).max() <= assoc.GAIN_TOL
    S, SE = _random_slot(quick, rng)
    assert np.all(assoc.greedy_ls(quick, S, SE, np.zeros(3, dtype=bool)) == -1)


def test_hungarian_x_minimizes_outages(quick):
    gamma = quick.snr_min_linear
    snr = np.array([[2.0, 0.5], [3.0, 0.1]]) * gamma            # UGV 0 alone can serve UAV 1? no: only UAV 0 feasible
    x = assoc.hungarian_x(quick, snr)
    assert x.sum() == 1 and x[:, 0].sum() == 1
    snr = np.array([[2.0, 1.5], [3.0, 0.1]]) * gamma            # both UAVs servable only if UGV 0 takes UAV 1
    x = assoc.hungarian_x(quick, snr)
    assert x[0, 1] and x[1, 0] and not assoc.outages(quick, snr, x).any()


def test_hover_home_constant(quick):                               # check 11
    sol = optkit.solve(quick, "hover-home")
    ev = evaluate(quick, sol)
    assert ev.metrics["uav_path_km"] == 0 and ev.metrics["ugv_path_km"] == 0
    rewards = np.array(ev.details["rewards"])
    assert np.allclose(rewards, rewards[0])
    assert ev.metrics["objective"] == pytest.approx(rewards[0])


def test_all_outage_slot(quick):                                   # check 15
    inst = dataclasses.replace(quick, snr_min_backhaul_db=500.0)
    ev = evaluate(inst, optkit.solve(inst, "hover-home"))
    K = inst.n_users
    assert ev.metrics["sum_rate_mbps"] == 0 and ev.metrics["qos_satisfaction"] == 0
    assert ev.metrics["objective"] == pytest.approx(-inst.qos_weight * K * inst.rate_min_bps * 1e-6)
    assert ev.metrics["backhaul_outages"] == inst.n_uavs * inst.n_slots
    assert ev.metrics["unserved_user_slots"] == K * inst.n_slots


def test_no_qos_target_means_objective_is_sum_rate(quick):         # check 16
    inst = dataclasses.replace(quick, qos_weight=0.0)
    ev = evaluate(inst, optkit.solve(inst, "static-kmeans"))
    assert ev.metrics["objective"] == pytest.approx(ev.metrics["sum_rate_mbps"])


def test_rollout_rewards_reproduced(quick):                        # check 19
    rng = np.random.default_rng(0)
    env = UavUgvEnv(quick)
    for _ in range(quick.n_slots):
        env.step(rng.uniform(-1, 1, env.action_dim))
    ev = evaluate(quick, env.plan())
    assert np.allclose(ev.details["rewards"], env.rewards, rtol=1e-9, atol=1e-9)
    assert ev.metrics["assoc_repairs"] == 0


def test_hard_check_failure_is_infeasible_with_metrics(quick):
    plan = optkit.solve(quick, "static-kmeans").decisions
    bad = Plan(q=plan.q.copy(), ugv_wp=plan.ugv_wp.copy())
    bad.q[0, 3, :2] += 1000.0                                      # a jump longer than V Δ
    bad.ugv_wp[0, 2] = quick.n_waypoints - 1                       # unreachable waypoint
    ev = evaluate(quick, bad)
    assert not ev.feasible and "C3_uav_speed_m" in ev.violations and "C6_C7_ugv_reach" in ev.violations
    assert np.isfinite(ev.metrics["objective"])


def test_wrong_shapes_are_input_errors(quick):
    plan = optkit.solve(quick, "hover-home").decisions
    with pytest.raises(InputError, match="plan.q"):
        evaluate(quick, Plan(q=plan.q[:, :-1], ugv_wp=plan.ugv_wp))
    with pytest.raises(InputError, match="plan.alpha"):
        evaluate(quick, Plan(q=plan.q, ugv_wp=plan.ugv_wp, alpha=np.zeros((2, 2), dtype=bool)))
    with pytest.raises(InputError, match="plan.ugv_wp"):
        evaluate(quick, Plan(q=plan.q, ugv_wp=plan.ugv_wp.astype(float)))


def test_supplied_alpha_is_repaired(quick):                        # check 12 (D29)
    plan = optkit.solve(quick, "static-kmeans").decisions
    N, U, K = quick.n_slots, quick.n_uavs, quick.n_users
    empty = np.zeros((N, U, K), dtype=bool)
    ev = evaluate(quick, Plan(q=plan.q, ugv_wp=plan.ugv_wp, alpha=empty))
    plain = evaluate(quick, Plan(q=plan.q, ugv_wp=plan.ugv_wp))
    assert ev.metrics["assoc_repairs"] == N * K - plain.metrics["unserved_user_slots"]
    assert ev.metrics["unserved_user_slots"] == plain.metrics["unserved_user_slots"]


def test_common_association_metrics(tiny):                        # check 29
    sol = optkit.solve(tiny, "ref-assoc-milp")
    plan = sol.decisions
    ev = evaluate(tiny, plan)
    stripped = evaluate(tiny, Plan(q=plan.q, ugv_wp=plan.ugv_wp, x=plan.x))
    for name in ("sum_rate_mbps", "objective", "qos_satisfaction"):
        assert ev.metrics[f"{name}_e28"] == pytest.approx(stripped.metrics[name])
        assert stripped.metrics[f"{name}_e28"] == pytest.approx(stripped.metrics[name])
    assert ev.metrics["objective"] >= ev.metrics["objective_e28"] - 1e-9


def test_rewards_scale_all_outage(quick):                          # check 23 (all-outage part)
    inst = dataclasses.replace(quick, n_users=100, users=np.random.default_rng(0).uniform(0, 3000, (100, 2)),
                               snr_min_backhaul_db=500.0)
    env = UavUgvEnv(inst)
    _, r, _, info = env.step(np.zeros(env.action_dim))
    assert info["r_train"] == pytest.approx(-10.0)


def test_decisions_codec_round_trip(tiny):
    plan = optkit.solve(tiny, "ref-assoc-milp").decisions
    back = Plan.from_jsonable(plan.to_jsonable())
    assert back.to_jsonable() == plan.to_jsonable()


def test_state_dimension(paper):
    env = UavUgvEnv(paper)
    s = env.reset()
    assert s.shape == (257,) and np.all(np.isfinite(s))


def _greedy_ls_full(inst, S, SE, eligible):
    """E28 with the whole gain matrix recomputed after every move (the definition)."""
    serve = assoc.max_power(S, eligible)
    for _ in range(SE.shape[1]):
        gains = assoc.move_gains(inst, SE, serve, eligible)
        k, v = divmod(int(np.argmax(gains)), gains.shape[1])
        if not gains[k, v] > assoc.GAIN_TOL:
            break
        serve[k] = v
    return serve


@pytest.mark.parametrize("seed", range(6))
def test_incremental_greedy_ls_equals_definition(paper, seed):
    rng = np.random.default_rng(seed)
    S, SE = _random_slot(paper, rng, U=4, K=100)
    eligible = np.array([True, True, True, seed % 3 != 0])
    assert np.array_equal(assoc.greedy_ls(paper, S, SE, eligible), _greedy_ls_full(paper, S, SE, eligible))
