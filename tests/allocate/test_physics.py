"""Checks of the allocate system model (docs/families/allocate.md §10) against hand-computed values."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optkit.errors import InputError
from optkit.formulations.allocate import generator as G
from optkit.formulations.allocate import physics as P

# §3.5 table constants, written out here (the module itself has no defaults for them)
UAV = dict(induced_coeff=0.08, drag_coeff=0.05, air_density=1.225, rotor_disk_area=0.6, frontal_area=0.25)
CARRIER_HZ = 2e9
D0 = 1.0
NU = 3.4
P_TX_DBM = 23.0
N0_DBM_HZ = -174.0
DF_HZ = 30e3
# the physics table of a preset, as the generator reads it (channel_slot_quality)
PHYSICS = dict(uav_altitude_m=100.0, pathloss_exp=NU, ref_distance_m=D0, tx_power_dbm=P_TX_DBM,
               noise_psd_dbm_hz=N0_DBM_HZ, subcarrier_hz=DF_HZ, snr_threshold=1.0)
MOBILITY = dict(grid_rows=4, grid_cols=4, cell_side_m=2000.0, road_spacing_m=500.0, road_offset_m=250.0,
                speed_range=(8.0, 14.0), frame_s=60.0, p_straight=0.5, p_turn=0.25)


# ------------------------------------------------------------------ conversions and constants
def test_unit_conversions():
    assert P.dbm_to_w(23.0) == pytest.approx(0.19952623, rel=1e-6)
    assert P.dbm_to_w(30.0) == pytest.approx(1.0)
    assert P.db_to_lin(10.0) == pytest.approx(10.0)
    assert P.lin_to_db(100.0) == pytest.approx(20.0)
    assert P.w_to_dbm(1.0) == pytest.approx(30.0)
    x = np.array([-7.0, 0.0, 3.3])
    np.testing.assert_allclose(P.lin_to_db(P.db_to_lin(x)), x, rtol=1e-12, atol=1e-12)


def test_free_space_gain_and_path_loss():
    k0 = P.free_space_gain(CARRIER_HZ, D0)
    assert P.lin_to_db(k0) == pytest.approx(-38.47, abs=0.01)
    # free-space path loss at 1 km: -10 log10(K0 (D0/d)^2)
    fspl_db = -P.lin_to_db(k0 * (D0 / 1000.0) ** 2)
    assert fspl_db == pytest.approx(98.47, abs=0.01)


def test_noise_power():
    noise_w = P.dbm_to_w(N0_DBM_HZ) * DF_HZ
    assert P.w_to_dbm(noise_w) == pytest.approx(-129.23, abs=0.005)


# ------------------------------------------------------------------ E8-E11 channel
def _gamma_db(distance_m, atten_db=0.0, r=1.0, chi=0.0, eta=2.0):
    k0 = P.free_space_gain(CARRIER_HZ, D0)
    h = P.channel_gain(r, chi, eta, atten_db, distance_m, pathloss_exp=NU, k0=k0, ref_distance_m=D0)
    g = P.snr(h, tx_power_w=P.dbm_to_w(P_TX_DBM), noise_psd_w_per_hz=P.dbm_to_w(N0_DBM_HZ), subcarrier_hz=DF_HZ)
    return P.lin_to_db(h), P.lin_to_db(g)


def test_snr_example():
    h_db, g_db = _gamma_db(1000.0)
    assert h_db == pytest.approx(-140.47, abs=0.01)
    assert g_db == pytest.approx(11.76, abs=0.01)
    assert P.realized_quality(1.0, 0.0, P.db_to_lin(g_db), 1.0) == 1  # NLoS slot, γ >= Q̂
    _, g5 = _gamma_db(1000.0, atten_db=5.0)
    assert g5 == pytest.approx(6.76, abs=0.01)


def test_zero_db_distance():
    k0 = P.free_space_gain(CARRIER_HZ, D0)
    lin = P.dbm_to_w(P_TX_DBM) * k0 / (P.dbm_to_w(N0_DBM_HZ) * DF_HZ)
    d_star = D0 * lin ** (1.0 / NU)
    assert d_star == pytest.approx(2217.7, abs=0.1)
    assert _gamma_db(d_star)[1] == pytest.approx(0.0, abs=1e-9)
    assert _gamma_db(2217.7)[1] == pytest.approx(0.0, abs=1e-3)  # 2217.7 is rounded


def test_channel_gain_broadcasts_and_factors():
    # chi·eta = 10 dB of shadowing multiplies by 10; attenuation 3 dB divides by 10^0.3
    base = P.channel_gain(1.0, 0.0, 4.0, 0.0, 500.0, pathloss_exp=NU, k0=1.0, ref_distance_m=D0)
    kw = dict(pathloss_exp=NU, k0=1.0, ref_distance_m=D0)
    assert P.channel_gain(1.0, 2.5, 4.0, 0.0, 500.0, **kw) == pytest.approx(10 * base)
    assert P.channel_gain(1.0, 0.0, 4.0, 3.0, 500.0, **kw) == pytest.approx(base / 10 ** 0.3)
    assert P.channel_gain(0.5, 0.0, 4.0, 0.0, 500.0, **kw) == pytest.approx(0.5 * base)
    out = P.channel_gain(np.ones((3, 1)), np.zeros((1, 4)), 2.0, 0.0, np.full(4, 200.0), pathloss_exp=NU, k0=1.0,
                         ref_distance_m=D0)
    assert out.shape == (3, 4)
    assert np.all(out == pytest.approx(200.0 ** -NU))


def test_rayleigh_mean():
    rng = np.random.default_rng(12345)
    r = 0.5 * rng.rayleigh(1.0, size=1_000_000)
    assert abs(r.mean() - 0.6267) <= 0.002
    # the gain uses the amplitude as is: with every other factor neutral H == R
    h = P.channel_gain(r[:10], 0.0, 3.0, 0.0, D0, pathloss_exp=NU, k0=1.0, ref_distance_m=D0)
    np.testing.assert_allclose(h, r[:10], rtol=1e-12)


def test_realized_quality():
    los = np.array([0.1, 0.5, 0.5, 0.9, 0.3])
    theta = np.array([0.3, 0.5, 0.4, 0.4, 0.2])
    gamma = np.array([0.0, 0.0, 1.0, 0.999, 5.0])
    q = P.realized_quality(los, theta, gamma, 1.0)
    assert q.dtype == np.uint8
    assert q.tolist() == [1, 1, 1, 0, 1]  # LoS, LoS (u == θ), NLoS γ == Q̂, NLoS γ < Q̂, NLoS γ > Q̂


def test_separation():
    assert P.separation(0.5, 0.5, 2000.0, 100.0) == pytest.approx(100.0)
    assert P.separation(0.0, 1.0, 2000.0, 100.0) == pytest.approx(math.sqrt(2 * 1000.0 ** 2 + 100.0 ** 2))
    assert P.separation(0.75, 0.5, 2000.0, 0.0) == pytest.approx(500.0)
    assert P.separation(np.zeros((2, 3)), 0.5, 2000.0, 100.0).shape == (2, 3)


def test_channel_quality_calibration():
    """Per-slot success pooled over weather in [0.95, 0.98], non-increasing with the weather state."""
    rng = np.random.default_rng(7)
    A, S = 64, 10_000
    k0 = P.free_space_gain(CARRIER_HZ, D0)
    draws = dict(sigma=rng.uniform(0.2, 0.8, A), los_uniform=rng.random((A, S)),
                 rayleigh_unit=rng.rayleigh(1.0, (A, S)),
                 chi=rng.standard_normal((A, S)), x_uniform=rng.random((A, S)), y_uniform=rng.random((A, S)),
                 theta=rng.uniform(0.2, 0.8, A))
    zeta, eta = [0.0, 2.5, 5.0], [2.0, 3.0, 4.5]
    means = []
    for w in range(3):  # common draws, only the weather state changes
        q = G.channel_slot_quality(
            **draws, slot_atten_db=np.full(S, zeta[w]), slot_shadow_db=np.full(S, eta[w]), cell_side_m=2000.0,
            ph=PHYSICS, k0=k0)
        assert q.shape == (A, S) and q.dtype == np.uint8
        means.append(q.mean())
    assert means[0] >= means[1] >= means[2]
    assert 0.95 <= np.mean(means) <= 0.98


def test_channel_quality_matches_composition():
    rng = np.random.default_rng(3)
    A, T, K = 3, 2, 4
    draws = dict(los_uniform=rng.random((A, T * K)), rayleigh_unit=rng.rayleigh(1.0, (A, T * K)),
                 chi=rng.standard_normal((A, T * K)), x_uniform=rng.random((A, T * K)),
                 y_uniform=rng.random((A, T * K)))
    sigma, theta, weather = rng.uniform(0.2, 0.8, A), rng.uniform(0.2, 0.8, A), np.array([0, 2])
    zeta, eta = np.array([0.0, 2.5, 5.0]), np.array([2.0, 3.0, 4.5])
    common = dict(pathloss_exp=NU, k0=P.free_space_gain(CARRIER_HZ, D0), ref_distance_m=D0)
    radio = dict(tx_power_w=P.dbm_to_w(P_TX_DBM), noise_psd_w_per_hz=P.dbm_to_w(N0_DBM_HZ), subcarrier_hz=DF_HZ)
    slot_weather = np.repeat(weather, K)  # Ω of every slot (E12)
    q = G.channel_slot_quality(sigma=sigma, theta=theta, slot_atten_db=zeta[slot_weather],
                               slot_shadow_db=eta[slot_weather], cell_side_m=2000.0, ph=PHYSICS,
                               k0=common["k0"], **draws)
    for a in range(A):
        for tau in range(T * K):
            w = weather[tau // K]
            d = P.separation(draws["x_uniform"][a, tau], draws["y_uniform"][a, tau], 2000.0, 100.0)
            h = P.channel_gain(sigma[a] * draws["rayleigh_unit"][a, tau], draws["chi"][a, tau], eta[w], zeta[w], d,
                               **common)
            g = P.snr(h, **radio)
            assert q[a, tau] == P.realized_quality(draws["los_uniform"][a, tau], theta[a], g, 1.0)


# ------------------------------------------------------------------ E1 / E3 geometry
def test_geometry_2x3():
    cheb = np.array([[0, 1, 2, 1, 1, 2],
                     [1, 0, 1, 1, 1, 1],
                     [2, 1, 0, 2, 1, 1],
                     [1, 1, 2, 0, 1, 2],
                     [1, 1, 1, 1, 0, 1],
                     [2, 1, 1, 2, 1, 0]])
    got = P.chebyshev_matrix(2, 3)
    assert got.dtype.kind == "i"
    np.testing.assert_array_equal(got, cheb)
    r2, r5 = math.sqrt(2), math.sqrt(5)
    dist = np.array([[0, 1, 2, 1, r2, r5],
                     [1, 0, 1, r2, 1, r2],
                     [2, 1, 0, r5, r2, 1],
                     [1, r2, r5, 0, 1, 2],
                     [r2, 1, r2, 1, 0, 1],
                     [r5, r2, 1, 2, 1, 0]])
    np.testing.assert_allclose(P.centre_distance_matrix(2, 3, 10.0), 10.0 * dist, rtol=1e-12)
    centres = np.array([[5, 5], [15, 5], [25, 5], [5, 15], [15, 15], [25, 15]], dtype=float)
    np.testing.assert_allclose(P.area_centres(2, 3, 10.0), centres)
    # centres are mapped back to their own area
    np.testing.assert_array_equal(P.area_of_xy(centres, 2, 3, 10.0), np.arange(6))


def test_area_of_xy_borders():
    xy = np.array([[0.0, 0.0], [2000.0, 0.0], [0.0, 2000.0], [8000.0, 8000.0], [8000.0, 0.0], [0.0, 8000.0],
                   [7999.9, 4000.0], [1999.999, 1999.999], [4250.0, 6000.0]])
    np.testing.assert_array_equal(P.area_of_xy(xy, 4, 4, 2000.0), [0, 1, 4, 15, 3, 12, 11, 0, 14])
    # non-square grid: 2 rows x 3 cols, region [0, 30] x [0, 20]
    np.testing.assert_array_equal(P.area_of_xy([[30.0, 20.0], [30.0, 0.0], [0.0, 20.0], [29.0, 10.0]], 2, 3, 10.0),
                                  [5, 2, 3, 5])
    assert P.area_of_xy(np.zeros((2, 5, 2)), 4, 4, 2000.0).shape == (2, 5)
    for bad in ([-1e-9, 10.0], [10.0, 8000.0001], [np.nan, 1.0]):
        with pytest.raises(InputError):
            P.area_of_xy(bad, 4, 4, 2000.0)


# ------------------------------------------------------------------ E4 / E5 UAV energy
def test_uav_power_and_move_energy():
    p = P.uav_propulsion_power(5.0, 10.0, **UAV)
    hover = P.uav_propulsion_power(5.0, 0.0, **UAV)
    assert hover == pytest.approx(0.73771, abs=5e-6)
    assert p - hover == pytest.approx(7.65625, rel=1e-12)
    assert p == pytest.approx(8.39396, abs=5e-6)
    dist = P.centre_distance_matrix(4, 4, 2000.0)
    lam = P.uav_move_energy([p], [10.0], dist, 1.0)
    assert lam.shape == (1, 16, 16)
    assert lam[0, 0, 1] == pytest.approx(1678.79, abs=0.005)
    assert dist[0, 5] == pytest.approx(2828.43, abs=0.005)
    assert lam[0, 0, 5] == pytest.approx(2374.17, abs=0.005)
    assert np.all(np.diag(lam[0]) == 0.0)
    np.testing.assert_allclose(lam[0], lam[0].T, rtol=0, atol=0)
    np.testing.assert_allclose(lam[0], dist * (p / 10.0), rtol=1e-12)  # proportional to dist(a, a')
    # energy scale (D25): 1 kJ = 1 eu
    np.testing.assert_allclose(P.uav_move_energy([p], [10.0], dist, 1e-3), 1e-3 * lam, rtol=1e-12)
    # weight as force (W·g newtons)
    hover_f = P.uav_propulsion_power(5.0, 0.0, **UAV, weight_as_force=True, gravity=9.81)
    assert hover_f == pytest.approx(22.667, abs=5e-4)
    p_f = P.uav_propulsion_power(5.0, 10.0, **UAV, weight_as_force=True, gravity=9.81)
    assert P.uav_move_energy(p_f, 10.0, dist, 1.0)[0, 0, 1] == pytest.approx(6064.61, abs=0.01)


def test_uav_energy_vectorized():
    w, v = np.array([4.0, 5.0, 6.0]), np.array([8.0, 10.0, 12.0])
    p = P.uav_propulsion_power(w, v, **UAV)
    assert p.shape == (3,)
    assert p[1] == pytest.approx(P.uav_propulsion_power(5.0, 10.0, **UAV))
    lam = P.uav_move_energy(p, v, P.centre_distance_matrix(3, 3, 2000.0), 1e-3)
    assert lam.shape == (3, 9, 9)
    for n in range(3):
        assert lam[n, 0, 1] == pytest.approx(1e-3 * 2000.0 / v[n] * p[n])
    with pytest.raises(InputError):
        P.uav_move_energy(p, np.array([1.0, 0.0, 1.0]), np.zeros((2, 2)), 1.0)


# ------------------------------------------------------------------ E2 mobility
def _on_road(xy, offset=250.0, spacing=500.0, tol=1e-6):
    def on(c):
        r = np.mod(c - offset, spacing)
        return np.minimum(r, spacing - r) <= tol
    return on(xy[..., 0]) | on(xy[..., 1])


def test_road_coordinates():
    np.testing.assert_allclose(P.road_coordinates(8000.0, 500.0, 250.0), 250.0 + 500.0 * np.arange(16))
    np.testing.assert_allclose(P.road_coordinates(1000.0, 500.0, 0.0), [0.0, 500.0, 1000.0])
    np.testing.assert_allclose(P.road_coordinates(1000.0, 400.0, -100.0), [300.0, 700.0])


def test_mobility_statistics():
    n_ue, n_frames = 2000, 14
    xy = np.empty((n_ue, n_frames, 2))
    speeds = np.empty(n_ue)
    for u in range(n_ue):
        xy[u], speeds[u] = P.manhattan_mobility(np.random.default_rng([2024, u]), n_frames=n_frames, **MOBILITY)
    assert np.all((speeds >= 8.0) & (speeds < 14.0))
    assert np.all((xy >= 0.0) & (xy <= 8000.0))  # never leaves the region
    assert np.all((xy >= 250.0 - 1e-9) & (xy <= 7750.0 + 1e-9))  # never beyond the outermost roads
    assert np.all(_on_road(xy))
    areas = P.area_of_xy(xy, 4, 4, 2000.0)
    change = np.mean(areas[:, 1:] != areas[:, :-1])
    assert 0.20 <= change <= 0.33  # §10 and E3: ≈ 0.26
    i, j = areas // 4, areas % 4
    diag = np.mean((i[:, 1:] != i[:, :-1]) & (j[:, 1:] != j[:, :-1]))
    assert diag < 0.02  # E3: ≈ 0.005
    # travelled path >= Manhattan distance between consecutive records
    step = np.abs(np.diff(xy, axis=1)).sum(axis=2)
    assert np.all(step <= speeds[:, None] * 60.0 + 1e-6)


def test_mobility_deterministic_and_shapes():
    a, va = P.manhattan_mobility(np.random.default_rng(5), n_frames=14, **MOBILITY)
    b, vb = P.manhattan_mobility(np.random.default_rng(5), n_frames=14, **MOBILITY)
    assert a.shape == (14, 2) and va == vb
    np.testing.assert_array_equal(a, b)
    # frame 0 is the initial state: a prefix of a longer run is the shorter run
    c, _ = P.manhattan_mobility(np.random.default_rng(5), n_frames=30, **MOBILITY)
    np.testing.assert_array_equal(c[:14], a)
    assert P.manhattan_mobility(np.random.default_rng(5), n_frames=0, **MOBILITY)[0].shape == (0, 2)


def test_mobility_initial_draw_order():
    seed = 11
    xy, v = P.manhattan_mobility(np.random.default_rng(seed), n_frames=1, **MOBILITY)
    rng = np.random.default_rng(seed)
    v_ref = rng.uniform(8.0, 14.0)
    axis = int(rng.integers(2))
    road = 250.0 + 500.0 * int(rng.integers(16))
    s = rng.uniform(250.0, 7750.0)
    assert v == v_ref
    expected = (s, road) if axis == 0 else (road, s)
    np.testing.assert_array_equal(xy[0], expected)


def test_mobility_exact_path_on_small_grid():
    """2x2 cells of 1000 m, roads at 0, 500, ..., 2000 on both axes, speed exactly 100 m/s.

    With 10 s frames the UE travels 1000 m per frame and crosses two intersections in most frames;
    recording every 1 s instead from the same stream must give the same trajectory (the turn draws
    are consumed in time order whatever the recording times).
    """
    kw = dict(grid_rows=2, grid_cols=2, cell_side_m=1000.0, road_spacing_m=500.0, road_offset_m=0.0,
              speed_range=(100.0, 100.0), p_straight=0.5, p_turn=0.25)
    fine, v = P.manhattan_mobility(np.random.default_rng(9), n_frames=101, frame_s=1.0, **kw)
    coarse, _ = P.manhattan_mobility(np.random.default_rng(9), n_frames=11, frame_s=10.0, **kw)
    assert v == 100.0
    np.testing.assert_allclose(coarse, fine[::10], atol=1e-9)
    assert np.all(_on_road(fine, offset=0.0))
    assert np.all((fine >= 0.0) & (fine <= 2000.0))
    # exact speed along the road: each step of 1 s covers 100 m unless an intersection (turn) is crossed,
    # in which case the L1 step is still 100 m (travel along the grid) and the L2 step is shorter
    l1 = np.abs(np.diff(fine, axis=0)).sum(axis=1)
    np.testing.assert_allclose(l1, 100.0, atol=1e-9)


def test_mobility_stationary_and_minimal_grid():
    """Two roads per axis (a square loop of side 1000 m on the region border): a UE with speed 0 stays
    where it was drawn; a moving one circulates on the loop without leaving it."""
    kw = dict(grid_rows=1, grid_cols=1, cell_side_m=1000.0, road_spacing_m=1000.0, road_offset_m=0.0,
              p_straight=0.5, p_turn=0.25)
    for seed in range(20):
        xy, _ = P.manhattan_mobility(np.random.default_rng(seed), n_frames=3, frame_s=5.0, speed_range=(0.0, 0.0), **kw)
        assert np.all(xy == xy[0])
        # on the square road loop of side 1000 m, the UE circulates: L1 step 500 m per frame
        xy, _ = P.manhattan_mobility(np.random.default_rng(seed), n_frames=30, frame_s=5.0, speed_range=(100.0, 100.0),
                                     **kw)
        assert np.all(_on_road(xy, offset=0.0, spacing=1000.0))
        assert np.all((xy >= 0.0) & (xy <= 1000.0))


class _FixedRng:
    """Minimal generator stub replaying chosen draws (to force a start exactly on an intersection)."""

    def __init__(self, uniforms, integers, randoms):
        self.u, self.i, self.r = list(uniforms), list(integers), list(randoms)

    def uniform(self, lo, hi):
        return self.u.pop(0)

    def integers(self, n):
        return self.i.pop(0)

    def random(self):
        return self.r.pop(0)


def test_mobility_start_exactly_on_corner_heading_out():
    # 4x4 grid of 2 km, roads 250 + 500k. Start: speed 10, horizontal road y=250, x=250 (corner), heading -x.
    rng = _FixedRng(uniforms=[10.0, 250.0], integers=[0, 0, 0], randoms=[0.99, 0.1])
    xy, v = P.manhattan_mobility(rng, n_frames=2, **MOBILITY)
    # at the corner heading -x: straight (-x) and left (-y) leave the grid, only right (+y) remains
    # (whatever u); at (250, 750) heading +y, left (-x) is off grid: straight 2/3, right 1/3, u = 0.1 -> straight
    np.testing.assert_allclose(xy[0], [250.0, 250.0])
    np.testing.assert_allclose(xy[1], [250.0, 750.0 + 100.0])  # 600 m north, one intersection passed at 500 m
    rng = _FixedRng(uniforms=[10.0, 250.0], integers=[0, 0, 0], randoms=[0.0, 0.9])  # u = 0.9 -> right (+x)
    xy, v = P.manhattan_mobility(rng, n_frames=2, **MOBILITY)
    np.testing.assert_allclose(xy[1], [350.0, 750.0])
    assert rng.r == []  # exactly two turn draws: at t = 0 and at the intersection (250, 750)


def test_mobility_turn_choice_mapping():
    # start mid-road on y = 250 heading +x at x = 500, speed 10: intersection (750, 250) reached at 25 s.
    # At (750, 250) heading +x: straight (+x), left (+y), right (-y, off grid) -> weights 0.5/0.25 renormalised
    # to 2/3, 1/3; u = 0.7 selects left (+y).
    rng = _FixedRng(uniforms=[10.0, 500.0], integers=[0, 0, 1], randoms=[0.7])
    xy, _ = P.manhattan_mobility(rng, n_frames=2, grid_rows=4, grid_cols=4, cell_side_m=2000.0, road_spacing_m=500.0,
                                 road_offset_m=250.0, speed_range=(10.0, 10.0), frame_s=30.0, p_straight=0.5,
                                 p_turn=0.25)
    np.testing.assert_allclose(xy, [[500.0, 250.0], [750.0, 300.0]])
    rng = _FixedRng(uniforms=[10.0, 500.0], integers=[0, 0, 1], randoms=[0.6])  # u = 0.6 < 2/3: straight
    xy, _ = P.manhattan_mobility(rng, n_frames=2, grid_rows=4, grid_cols=4, cell_side_m=2000.0, road_spacing_m=500.0,
                                 road_offset_m=250.0, speed_range=(10.0, 10.0), frame_s=30.0, p_straight=0.5,
                                 p_turn=0.25)
    np.testing.assert_allclose(xy, [[500.0, 250.0], [800.0, 250.0]])


def test_mobility_rejects_bad_layout():
    with pytest.raises(InputError):
        P.manhattan_mobility(np.random.default_rng(0), n_frames=3, grid_rows=1, grid_cols=1, cell_side_m=400.0,
                             road_spacing_m=500.0, road_offset_m=250.0, speed_range=(8.0, 14.0), frame_s=60.0,
                             p_straight=0.5, p_turn=0.25)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1), rows=st.integers(1, 5), cols=st.integers(1, 5),
       offset=st.sampled_from([0.0, 100.0, 250.0]), frame_s=st.sampled_from([1.0, 60.0, 300.0]))
def test_mobility_property_on_roads(seed, rows, cols, offset, frame_s):
    kw = dict(grid_rows=rows, grid_cols=cols, cell_side_m=1000.0, road_spacing_m=500.0, road_offset_m=offset,
              speed_range=(8.0, 14.0), p_straight=0.5, p_turn=0.25)
    xy, v = P.manhattan_mobility(np.random.default_rng(seed), n_frames=12, frame_s=frame_s, **kw)
    xs = P.road_coordinates(cols * 1000.0, 500.0, offset)
    ys = P.road_coordinates(rows * 1000.0, 500.0, offset)
    assert np.all(_on_road(xy, offset=offset))
    assert np.all((xy[:, 0] >= xs[0] - 1e-9) & (xy[:, 0] <= xs[-1] + 1e-9))
    assert np.all((xy[:, 1] >= ys[0] - 1e-9) & (xy[:, 1] <= ys[-1] + 1e-9))
    step = np.abs(np.diff(xy, axis=0)).sum(axis=1)
    assert np.all(step <= v * frame_s + 1e-6)
    P.area_of_xy(xy, rows, cols, 1000.0)  # inside the region


# ------------------------------------------------------------------ E12 weather
def test_weather_chain():
    rng = np.random.default_rng(0)
    w = P.weather_chain(rng, 50_000, stay_prob=0.8)
    assert w.dtype.kind == "i" and set(np.unique(w)) == {0, 1, 2}
    stay = np.mean(w[1:] == w[:-1])
    assert stay == pytest.approx(0.8, abs=0.01)
    changed = w[1:] != w[:-1]
    frm, to = w[:-1][changed], w[1:][changed]
    for s in range(3):  # from each state the two other states are equally likely
        counts = np.bincount(to[frm == s], minlength=3)
        assert counts[s] == 0
        others = [c for k, c in enumerate(counts) if k != s]
        assert abs(others[0] - others[1]) / sum(others) < 0.06
    np.testing.assert_allclose(np.bincount(w) / len(w), 1 / 3, atol=0.03)
    # Ω^0 is uniform: first draw is rng.integers(3)
    firsts = [int(P.weather_chain(np.random.default_rng(s), 1, stay_prob=0.8)[0]) for s in range(3000)]
    np.testing.assert_allclose(np.bincount(firsts, minlength=3) / 3000, 1 / 3, atol=0.04)


def test_weather_chain_draw_order():
    rng = np.random.default_rng(42)
    w = P.weather_chain(rng, 6, stay_prob=0.8)
    ref = np.random.default_rng(42)
    cur = int(ref.integers(3))
    exp = [cur]
    for _ in range(5):
        u = ref.random()
        if u >= 0.8:
            others = [s for s in range(3) if s != cur]
            cur = others[int((u - 0.8) / 0.2 * 2)]
        exp.append(cur)
    assert w.tolist() == exp
    assert P.weather_chain(np.random.default_rng(1), 0, stay_prob=0.8).shape == (0,)
    assert np.all(P.weather_chain(np.random.default_rng(1), 20, stay_prob=1.0) == P.weather_chain(
        np.random.default_rng(1), 1, stay_prob=1.0)[0])


# ------------------------------------------------------------------ E16 / E17 MAC helpers
def test_bayes_update():
    prev = np.array([[0.5, 0.5], [0.2, 0.9]])
    obs = np.array([[0.8, 0.0], [1.0, 0.3]])
    mask = np.array([[True, False], [True, True]])
    out = P.bayes_update(prev, obs, mask, 0.3)
    np.testing.assert_allclose(out, [[0.59, 0.5], [0.44, 0.72]], rtol=1e-12)
    # broadcasting mask per area (observed areas) over channels
    out2 = P.bayes_update(np.full((3, 2), 0.5), np.ones((3, 2)), np.array([True, False]), 0.3)
    np.testing.assert_allclose(out2, [[0.65, 0.5]] * 3)
    q = np.array([[1, 1, 0, 1, 0, 0, 0, 1]], dtype=np.uint8)
    np.testing.assert_allclose(P.frame_observation(q, 0, 4), [0.75])
    np.testing.assert_allclose(P.frame_observation(q, 1, 4), [0.25])


def test_hedged_block_length_hand_cases():
    K, beta = 10, 0.99
    assert int(P.hedged_block_length(3, 1.0, K, beta)) == 3
    # q = 0.9, Ť = 3: P[Bin(4) >= 3] = 0.9477, P[Bin(5) >= 3] = 0.99144 -> 5
    assert int(P.hedged_block_length(3, 0.9, K, beta)) == 5
    # Ť = 9, q = 0.9: P[Bin(10) >= 9] = 0.736 < 0.99 -> none -> K
    assert int(P.hedged_block_length(9, 0.9, K, beta)) == K
    # tiny q is floored at 0.05: P[Bin(10, 0.05) >= 3] ≈ 0.0115 -> K
    assert int(P.hedged_block_length(3, 1e-9, K, beta)) == K
    assert int(P.hedged_block_length(3, 0.0, K, beta)) == K
    # Ť > K -> K ; Ť = 0 -> 0
    assert int(P.hedged_block_length(12, 1.0, K, beta)) == K
    assert int(P.hedged_block_length(0, 0.5, K, beta)) == 0
    # floor matters: q = 0 with floor 1 behaves as q = 1
    assert int(P.hedged_block_length(4, 0.0, K, beta, floor=1.0)) == 4
    # vectorized over requests
    out = P.hedged_block_length(np.array([3, 3, 9, 12]), np.array([1.0, 0.9, 0.9, 1.0]), K, beta)
    assert out.dtype == np.int64 and out.tolist() == [3, 5, 10, 10]


def test_hedged_block_length_monotone_in_q():
    q = np.linspace(0.0, 1.0, 201)
    for req in range(1, 11):
        b = P.hedged_block_length(np.full(q.shape, req), q, 10, 0.99)
        assert np.all(np.diff(b) <= 0)
        assert np.all((b >= req) & (b <= 10))


@settings(max_examples=60, deadline=None)
@given(req=st.integers(1, 10), q=st.floats(0.0, 1.0), beta=st.floats(0.5, 0.999))
def test_hedged_block_length_definition(req, q, beta):
    from scipy.stats import binom

    K = 10
    b = int(P.hedged_block_length(req, q, K, beta))
    qq = max(q, 0.05)
    ok = [bb for bb in range(req, K + 1) if binom.sf(req - 1, bb, qq) >= beta]
    assert b == (ok[0] if ok else K)
