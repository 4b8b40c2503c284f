"""Mobility, arrival, switches (docs/families/sagin.md §4.7, §10 checks 20-22) and learner rewards/costs (§4.8, check
31 part)."""
import numpy as np
import pytest

from optkit.formulations.sagin import mobility as M

BOX = np.array([[0.0, 0.0, 100.0], [2000.0, 2000.0, 300.0]])
QF = np.array([1400.0, 1600.0, 100.0])


def test_direction_projection_always_points_toward_destination():            # check 21
    rng = np.random.default_rng(0)
    q = rng.uniform(BOX[0], BOX[1], (500, 3))
    a = rng.normal(size=(500, 3)) * rng.choice([1e-9, 1.0, 50.0], size=(500, 1))
    v, proj = M.project_direction(a, q, QF, 0.05)
    xh = M.toward(q, QF)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0)
    assert np.all((v * xh).sum(1) > 0)
    assert np.all((v * xh).sum(1)[proj] > 0)
    small = np.linalg.norm(a, axis=1) < M.ZERO_ACTION
    np.testing.assert_allclose(v[small], xh[small])
    ok = ~proj & ~small
    np.testing.assert_allclose(v[ok], a[ok] / np.linalg.norm(a[ok], axis=1, keepdims=True))


def test_straight_line_flight_steps_and_arrival():                           # checks 20, 22
    q = np.array([[600.0, 800.0, 100.0]])
    path = [q[0]]
    for _ in range(300):
        v, proj = M.project_direction(QF - q, q, QF, 0.05)
        assert not proj.any()
        q, out, _ = M.move(q, v, 10.0, BOX)
        assert not out.any()
        path.append(q[0])
        if M.arrived(q, QF, 30.0)[0]:
            break
    if M.final_segment_needed(q, QF)[0]:
        path.append(QF.copy())
    path = np.array(path)
    tau, t = M.step_durations(path, 10.0)
    assert np.allclose(tau[:-1], 1.0) and tau[-1] <= 3.0
    assert np.array_equal(path[-1], QF)
    assert t[-1] == pytest.approx(np.linalg.norm(path[0] - QF) / 10.0, rel=1e-9)
    assert M.count_switches(np.zeros(len(tau), dtype=int)) == 0


def test_boundary_clipping_and_switch_count():
    q, out, _ = M.move(np.array([[5.0, 1000.0, 100.0]]), np.array([[-1.0, 0.0, 0.0]]), 10.0, BOX)
    assert out[0] and q[0, 0] == 0.0
    assert M.count_switches(np.array([[3, 3, 4, 4, 3], [1, 1, 1, 1, 1]])).tolist() == [2, 0]


def test_rewards_costs_objective():
    rng = np.random.default_rng(1)
    rate = rng.uniform(0, 12, 100)
    rr = M.rate_reward(rate, 0.0, 10.0)
    assert rr.min() >= 0 and rr.max() <= 1
    d0, dn = 1000.0, rng.uniform(0, 1000, 100)
    shifted = M.lower_reward(rr, dn, d0, 1.0, 1.0, True)
    paper = M.lower_reward(rr, dn, d0, 1.0, 1.0, False)
    assert np.all(shifted <= 0) and np.allclose(paper - shifted, 2.0)
    np.testing.assert_allclose(shifted, -(1 - rr) - dn / d0)
    np.testing.assert_allclose(M.top_reward(rr, rr > 0.5, 1.0, 1.0), rr - (rr > 0.5))
    g_qos, g_bnd = M.costs(np.array([1.0, 3.0]), np.array([True, False]), 2.0, 1.0)
    assert g_qos.tolist() == [0.5, -0.5] and g_bnd.tolist() == [1.0, 0.0]
    assert M.costs(np.array([1.0]), np.array([False]), 0.0, 1.0)[0].tolist() == [0.0]
    tau = np.array([1.0, 1.0, 0.5])
    j, rbar = M.objective(np.array([2.0, 4.0, 6.0]), tau, 1, 2.5, (1.0, 0.1, 0.01))
    assert rbar == pytest.approx((2 + 4 + 3) / 2.5) and j == pytest.approx(rbar - 0.1 - 0.025)
    j_eq, r_eq = M.objective(np.array([2.0, 4.0]), np.ones(2), 0, 2.0, (1.0, 0.1, 0.01))
    assert r_eq == pytest.approx(3.0)                                          # equal τ: step average


def test_check32b_floor_projection_is_not_a_boundary_event():                # D47
    q = np.array([[1000.0, 1000.0, 100.0]])
    q1, out, floor = M.move(q, np.array([[0.0, 0.0, -1.0]]), 10.0, BOX)     # straight down at the floor
    assert not out[0] and floor[0] and np.array_equal(q1, q)                 # projected, no cost, stays at z_min
    _, g_bnd = M.costs(np.array([5.0]), out, 2.0, 1.0)
    assert g_bnd[0] == 0.0
    for v in ([[0.0, 0.0, 1.0]], [[-1.0, 0.0, 0.0]]):                       # ceiling and x still leave the box
        start = np.array([[5.0, 1000.0, 295.0]])
        _, out, floor = M.move(start, np.array(v), 10.0, BOX)
        assert out[0] and not floor[0]
    # with q_f on the floor, floor projection keeps every projected direction strictly approaching q_f
    rng = np.random.default_rng(3)
    q = np.column_stack([rng.uniform(0, 2000, 500), rng.uniform(0, 2000, 500), np.full(500, 100.0)])
    v, _ = M.project_direction(rng.normal(size=(500, 3)), q, QF, 0.05)
    q1, _, floor = M.move(q, v, 10.0, BOX)
    assert floor.any() and np.all(((q1 - q) * (QF - q)).sum(axis=1) > 0.0)
