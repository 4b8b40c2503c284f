"""ntn-relay system model against hand-computed values (docs/families/ntn-relay.md §10, Part A checks 1-13, 18, 24,
25, 29)."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from optkit.api import make_instance
from optkit.formulations.ntn_relay import links as L
from optkit.formulations.ntn_relay import model as M


def make(preset="smoke", seed=0, point=None, **overrides):
    return make_instance("ntn-relay", preset, seed, point=point, overrides=overrides or None)


@pytest.fixture(scope="module")
def default():
    return M.world(make("paper-default"))


def static_rates(w, **kw):
    pts = w.relay_points(np.broadcast_to(w.q0, (w.N, w.K, 2)))
    return M.exact_association(w, pts, **kw)


# --- check 1, 2, 3, 18: orbit, periodicity, candidates -------------------------------------------------------
def test_kepler(default):
    o = default.orbit
    assert o.period_s == pytest.approx(5730.34, rel=1e-6)
    assert o.v_l == pytest.approx(7.58872, rel=1e-5)
    assert o.n_slots == 573
    assert o.circumference == pytest.approx(43485.93, rel=1e-6)
    assert o.spacing == pytest.approx(1976.633, rel=1e-6)


def test_sat_motion_and_periodicity(default):
    s, o = default.s, default.orbit
    step = np.diff(s, axis=1)
    small = np.abs(step) < o.spacing                    # ignore the wrap-around jumps
    assert np.all(step[0][small[0]] > 0) and np.all(step[1][small[1]] < 0)       # lane 1 +y, lane 2 −y
    # slot N is one period later up to v_L |N δt − T|
    shifted = M.sat_along_track(default.inst, dataclasses.replace(o, n_slots=2 * o.n_slots))
    gap = np.abs(shifted[:, o.n_slots:] - shifted[:, :o.n_slots])
    gap = np.minimum(gap, o.circumference - gap)
    assert gap.max() <= o.v_l * abs(o.n_slots * 10.0 - o.period_s) + 1e-9


@pytest.mark.parametrize("sats, expected", [(22, 2), (44, 4), (88, 8)])
def test_candidates_inside_segment(sats, expected):
    w = M.world(make("sat-only", point=str(sats)))
    assert w.cand.shape[2] == expected
    y = np.take_along_axis(w.s, w.cand, axis=2)
    assert np.all(y >= 0.0) and np.all(y <= 4000.0)
    assert np.all(np.diff(y, axis=2) > 0)                # listed in increasing s


def test_candidate_windows_force_handovers(default):
    # check 18: a SAT is a candidate for at most 53 consecutive slots; every candidate-restricted policy hands over
    # at least ceil(N/53) − 1 = 10 times per path and lane
    for lane in range(2):
        member = np.zeros((default.N, default.inst.sats_per_lane), dtype=bool)
        np.put_along_axis(member, default.cand[lane], True, axis=1)
        longest = 0
        for i in range(member.shape[1]):
            runs = np.diff(np.flatnonzero(np.diff(np.concatenate([[0], member[:, i].astype(int), [0]]))))[::2]
            longest = max(longest, runs.max(initial=0))
        assert longest <= math.ceil(2 * default.orbit.spacing / (default.orbit.v_l * 10.0))
    a1, a2, _ = static_rates(default)
    assert np.all(np.count_nonzero(a1[1:] != a1[:-1], axis=0) >= 10)
    assert np.all(np.count_nonzero(a2[1:] != a2[:-1], axis=0) >= 10)


# --- checks 4-7: links -----------------------------------------------------------------------------------------
def test_rf_rate():
    g0 = 1e10
    assert L.rate_rf(1.0, 1000.0, g0) == pytest.approx(math.log2(1.01), rel=1e-9)
    assert L.rate_rf(1.0, 5656.854, g0) == pytest.approx(4.50772e-4, rel=1e-5)
    d = np.linspace(100, 6000, 500)
    assert np.all(np.diff(L.rate_rf(1e9, d, g0)) < 0)
    assert L.rate_rf(0.5e9, d, g0) == pytest.approx(L.rate_rf(1e9, d, g0) / 2, rel=1e-14)


def test_kim_visibility():
    assert L.kim_exponent(100) == 1.6 and L.kim_exponent(10) == 1.3
    assert L.fso_attenuation(100, 1550) == pytest.approx(0.00745120, rel=1e-5)
    assert L.fso_attenuation(10, 1550) == pytest.approx(0.101676, rel=1e-5)
    assert L.kim_exponent(3) == pytest.approx(0.16 * 3 + 0.34) and L.kim_exponent(0.8) == pytest.approx(0.3)
    assert L.kim_exponent(0.4) == 0.0


def test_lmw_constants():
    assert L.lmw_mu(0.1) == pytest.approx(9.99544, rel=1e-5)
    assert L.lmw_kappa(0.1) == pytest.approx(0.432589, rel=1e-5)
    assert L.lmw_kappa(0.2) == pytest.approx(0.426237, rel=1e-5)
    assert L.lmw_kappa(0.5) == pytest.approx(0.234199, rel=1e-5)
    assert L.lmw_kappa(1.0) == pytest.approx(0.0585498, rel=1e-5)
    # continuous at ½, and → e/(2π) as α → 0 (μ = 1/α below 1e-6)
    assert L.lmw_kappa(0.5 - 2e-6) == pytest.approx(L.lmw_kappa(0.5), rel=1e-5)
    assert L.lmw_kappa(1e-7) == pytest.approx(math.e / (2 * math.pi), rel=1e-4)
    # the root satisfies its equation, also where the series branch is used (μ < 1e-3, α close to ½)
    for alpha in (0.01, 0.1, 0.3, 0.4999):
        mu = L.lmw_mu(alpha)
        assert 1 / mu - math.exp(-mu) / (1 - math.exp(-mu)) == pytest.approx(alpha, rel=1e-8)


def test_fso_rates_and_crossover():
    link = L.LinkModel(1e10, L.fso_attenuation(100, 1550), L.lmw_kappa(0.1), 10 ** 5.5, 0.5, "hybrid")
    assert link.fso(1.0, 1000.0) == pytest.approx(6.91638, rel=1e-5)
    assert link.fso(1.0, 1500.0) == pytest.approx(1.62190, rel=1e-5)
    assert link.fso(1.0, 2000.0) == pytest.approx(0.00354070, rel=1e-5)
    assert L.crossover_km(link) == pytest.approx(1998.76, rel=1e-5)
    d = np.linspace(100, 6000, 300)
    hy, is_fso = link.rate(1.0, d)
    assert np.array_equal(hy, np.maximum(link.rf(1.0, d), link.fso(1.0, d)))
    assert np.array_equal(is_fso, d < 1998.76)
    # far FSO stays positive and finite (log1p, no underflow to NaN)
    far = link.fso(1e9, 5657.0)
    assert 0 < far < 1e-9 and np.isfinite(far)


# --- checks 8-10: energy and dynamics ----------------------------------------------------------------------------
def test_fixed_wing_power(default):
    assert default.v_star == pytest.approx(29.9994, rel=1e-5) and default.p_min == pytest.approx(100.002, rel=1e-5)
    P = default.power
    assert P([100.0, 0.0], [0.0, 0.0]) == pytest.approx(948.5, rel=1e-4)
    assert P([3.0, 0.0], [0.0, 0.0]) == pytest.approx(750.025, rel=1e-5)
    assert P([30.0, 0.0], [0.0, 1.0]) == pytest.approx(100.783, rel=1e-5)
    assert P([30.0, 0.0], [1.0, 0.0]) == pytest.approx(P([30.0, 0.0], [0.0, 0.0]), rel=1e-14)


def test_straight_flight_energy_and_telescoping(default):
    accel = np.zeros((default.N, 2, 2))
    traj = M.simulate(default, accel)
    E, aero = M.slot_energy(default, traj)
    assert E[:, 0].sum() == pytest.approx(573 * 10 * default.power([30.0, 0.0], [0.0, 0.0]), rel=1e-12)
    assert E[:, 0].sum() == pytest.approx(573011, rel=1e-5)
    assert np.allclose(np.linalg.norm(traj.v, axis=-1), 30.0)
    rng = np.random.default_rng(0)
    acc = M.clip_norm(rng.normal(size=(default.N, 2, 2)), 1.0)
    traj = M.simulate(default, acc)
    E, aero = M.slot_energy(default, traj)
    kin = (E - aero).sum(axis=0)
    assert kin == pytest.approx(0.5 * 10 * (np.sum(traj.v[-1] ** 2, axis=1) - np.sum(traj.v[0] ** 2, axis=1)),
                                rel=1e-9)
    assert np.all(aero >= 10 * default.p_min * (1 - 1e-12))


def test_action_set_and_dynamics(default):
    A = default.accels
    assert A.shape == (9, 2) and len({tuple(a) for a in A}) == 9
    assert np.all(np.linalg.norm(A, axis=1) <= 1.0 + 1e-12)
    assert np.allclose(A[8], [1 / math.sqrt(2), 1 / math.sqrt(2)])          # index jx·L + jy = 2·3 + 2
    r = default.step(default.q0, default.v0, np.zeros((2, 2)))
    assert np.allclose(r.q, default.q0 + 1e-3 * default.v0 * 10) and np.allclose(r.v, default.v0)
    # speed floor: a near-reversal from 5 m/s (to −2.5 m/s) is rescaled to V_min = 3 m/s, the realized acceleration replaces the command
    r = default.step(np.zeros((1, 2)) + 2000, np.array([[5.0, 0.0]]), np.array([[-0.75, 0.0]]))
    assert np.linalg.norm(r.v) == pytest.approx(3.0) and r.speed_clips == 1
    assert r.v[0, 0] == pytest.approx(-3.0) and r.a_eff[0, 0] == pytest.approx(-0.8)


# --- checks 11-13, 24: rates, overlap, association ------------------------------------------------------------
def test_overlap_splits_bandwidth(default):
    n = 100
    a1 = np.full((default.N, 2), default.cand[0, n, 0])
    a2 = np.stack([default.cand[1, :, 0], default.cand[1, :, 1]], axis=1)
    pts = default.relay_points(np.broadcast_to(default.q0, (default.N, 2, 2)))
    shared = M.path_rates(default, pts, a1, a2)
    alone = M.path_rates(default, pts, np.stack([a1[:, 0], np.full(default.N, -1)], axis=1), a2)
    assert np.all(shared.m1 == 2)
    assert shared.caps[n, 0, 0] == pytest.approx(alone.caps[n, 0, 0] / 2, rel=1e-12)   # S1 on B/2
    assert shared.caps[n, 0, 1] == pytest.approx(alone.caps[n, 0, 1] / 2, rel=1e-12)   # 1U on B/2
    assert alone.rate[n, 1] == 0.0                                         # missing association: rate 0
    assert np.all(shared.rate <= shared.caps.min(axis=-1) + 0)             # information causality
    # the sum rate of a joint association never exceeds the sum of the paths' full-bandwidth rates
    none = np.full(default.N, -1)
    full = [M.path_rates(default, pts, np.stack([a1[:, 0], none], axis=1), np.stack([a2[:, 0], none], axis=1)).rate[:, 0],
            M.path_rates(default, pts, np.stack([none, a1[:, 1]], axis=1), np.stack([none, a2[:, 1]], axis=1)).rate[:, 1]]
    assert np.all(shared.rate.sum(axis=1) <= full[0] + full[1])
    assert np.any(shared.rate.sum(axis=1) < full[0] + full[1])


def test_ground_tables_equal_direct_computation(default):
    # check 29: the table-based ground hops equal the direct E15 computation
    i = default.inst
    for lane, table, pos in ((0, default.ground1, i.src_pos_km), (1, default.ground2, i.dst_pos_km)):
        d = np.linalg.norm(default.sat_xyz[lane] - np.asarray(pos), axis=-1)
        for m in (1, 2):
            direct = default.link.rate(i.bandwidth_hz / m, d)[0]
            assert np.allclose(table[..., m - 1], direct, rtol=1e-12, atol=0)


@pytest.mark.parametrize("preset, point, expected", [
    ("direct", None, 0.4508), ("sat-only", "22", 2.309), ("sat-ground-k1", None, 5.284),
    ("sat-ground-k2", None, 51.36),
])
def test_regression_throughputs(preset, point, expected):
    w = M.world(make(preset, point=point))
    _, _, R = M.exact_association(w)
    assert R.mean() / 1e6 == pytest.approx(expected, rel=1e-3)


def test_regression_noncooperative_ground_relays():
    from optkit.api import evaluate, solve

    inst = make("sat-ground-k2")
    assert evaluate(inst, solve(inst, "sat-ground-noncoop")).metrics["sum_tput_mbps"] == pytest.approx(28.84, rel=1e-3)


def test_regression_static_uavs_and_link_modes(default):
    assert static_rates(default)[2].mean() / 1e6 == pytest.approx(53.39, rel=1e-3)
    rf = static_rates(M.world(make("paper-default", link_mode="rf")))[2] / 1e6
    assert rf.mean() == pytest.approx(5.006, rel=1e-3) and rf.max() == pytest.approx(6.27, rel=1e-3)
    fso = static_rates(M.world(make("paper-default", link_mode="fso")))[2] / 1e6
    assert fso.mean() == pytest.approx(51.45, rel=1e-3) and fso.min() == pytest.approx(0.039, rel=2e-2)
    assert default.mu_r() / 1e6 == pytest.approx(51.36, rel=1e-3)
    assert default.mu_e() == pytest.approx(2000.04, rel=1e-6)
    assert default.mu_r() * 10 / default.mu_e() / 1000 == pytest.approx(256.8, rel=1e-3)        # EE_μ


def test_enumeration_brute_force_and_tie_order():
    w = M.world(make("smoke", K=3))
    rng = np.random.default_rng(1)
    n = rng.integers(0, w.N, 6)
    pts = w.relay_points(rng.uniform(1500, 2500, (6, 3, 2)))
    alpha, beta = M.hop_tables(w, n, pts)
    values, index, cc1, cc2 = M.best_joint(alpha, beta)
    from optkit.formulations.ntn_relay.association import slot_value

    for p in range(6):
        every = [slot_value(alpha[p], beta[p], a, b) for a, b in zip(cc1, cc2)]
        assert values[p] == pytest.approx(max(every), rel=1e-12)
        assert index[p] == int(np.argmax(every))                          # lowest lexicographic tuple on ties


def test_inter_relay_distance():
    q = np.array([[[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]]])
    assert M.inter_relay_distance(None, q)[0] == pytest.approx(5.0)
    assert M.inter_relay_distance(None, q[:, :1])[0] == 0.0


@pytest.mark.parametrize("preset, method, expected", [
    ("predecessor-sat-only", "sat-only", 1.009e-3), ("predecessor-ground-relay", "sat-ground-coop", 2.44e-3),
    ("predecessor-single-hap", "static-loiter", 2.44e-3), ("direct", "direct", 4.5077e-4),
])
def test_predecessor_spectral_efficiencies(preset, method, expected):
    # EXP-PRED (D52): order of magnitude and ordering; direct within 1e-4 relative
    from optkit.api import evaluate, solve

    inst = make(preset)
    value = evaluate(inst, solve(inst, method)).metrics["sum_tput_mbps"] * 1e6 / inst.bandwidth_hz
    assert value == pytest.approx(expected, rel=1e-4 if preset == "direct" else 5e-3)
