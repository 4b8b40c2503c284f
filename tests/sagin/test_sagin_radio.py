"""Received power, SINR and rate (docs/families/sagin.md §4.5, §10 checks 13-17), the hand-computed 1-UAV 2-BS case
and the cached radio map against the exact backend (§4.6)."""
import math

import numpy as np
import pytest

from optkit.formulations.sagin import antennas as A
from optkit.formulations.sagin import radio
from optkit.formulations.sagin.generator import generate
from optkit.scenarios import load_scenario, merge


def _points(rng, n, lo=(0, 0, 100), hi=(2000, 2000, 300)):
    return rng.uniform(lo, hi, size=(n, 3))


def test_link_rates_hand_computed_two_bs():
    # two co-channel BSs, J = 2 NLoS draws: h_0 = |Z_0|² = (1, 2), h_1 = (1, 0); p = (4, 1) mW, σ² = 1 mW, W = 1 MHz
    z = np.array([[1.0, 1.0], [math.sqrt(2.0), 0.0]])
    h_los, h_nlos = radio.fading_gains(z, 15.0)
    r = radio.link_rates(np.array([[4.0, 1.0]]), np.array([[False, False]]), h_los, h_nlos, [np.array([0, 1])],
                         np.array([1.0, 1.0]), np.array([1e6, 1e6]))
    # SINR_0 = (4/(1+1), 8/(0+1)) = (2, 8); SINR_1 = (1/(4+1), 0/(8+1)) = (0.2, 0)
    assert r[0, 0] == pytest.approx((math.log2(3) + math.log2(9)) / 2, rel=1e-12)
    assert r[0, 1] == pytest.approx(math.log2(1.2) / 2, rel=1e-12)
    # different networks do not interfere; LoS draws use the Rician gain
    r2 = radio.link_rates(np.array([[4.0, 1.0]]), np.array([[True, False]]), h_los, h_nlos,
                          [np.array([0]), np.array([1])], np.array([1.0, 1.0]), np.array([1e6, 2e6]))
    assert r2[0, 0] == pytest.approx(np.log2(1 + 4 * h_los[:, 0]).mean(), rel=1e-12)
    assert r2[0, 1] == pytest.approx(2 * np.log2(1 + h_nlos[:, 1]).mean(), rel=1e-12)


def test_model_one_uav_two_sectors_assembled_by_hand():
    over = {"gn": {"sites_xy": [[1000.0, 1000.0]], "sector_azimuths": [0.0, 180.0]}, "an": {"sites_xy": []},
            "sn": {"n_sats": 0, "pass_times": []}, "buildings": {"beta": 0.0}, "channel": {"n_draws": 8}}
    inst = generate(merge(load_scenario("sagin", "paper-default").params, over), 0, "custom")
    assert inst.n_bs == 2 and inst.building_centers.shape == (0, 2)
    q = np.array([[1300.0, 1000.0, 100.0]])
    d3 = math.hypot(300.0, 75.0)
    theta = math.degrees(math.atan2(300.0, 75.0))
    el = dict(g_max=8.0, theta_3db=65.0, phi_3db=65.0, sla_v=30.0, a_m=30.0)
    g = [A.bs_gain_db(theta, 0.0, 10.0, 4, 2, **el), A.bs_gain_db(theta, 180.0, 10.0, 4, 2, **el)]
    pl = 28.0 + 22 * math.log10(d3) + 20 * math.log10(6.7)                 # LoS: no buildings
    p = np.array([10 ** ((46.0 + gi - pl) / 10) for gi in g])
    sigma2 = 10 ** ((-174 + 60 + 9) / 10)
    k = 10 ** 1.5
    h = np.abs(math.sqrt(k / (k + 1)) + math.sqrt(1 / (k + 1)) * inst.fading_z) ** 2
    expect = [np.log2(1 + p[0] * h[:, 0] / (p[1] * h[:, 1] + sigma2)).mean(),
              np.log2(1 + p[1] * h[:, 1] / (p[0] * h[:, 0] + sigma2)).mean()]
    model = radio.RadioModel(inst)
    np.testing.assert_allclose(model.rates(q, 0.0)[0], expect, rtol=1e-9)
    np.testing.assert_allclose(model.links(q, 0.0).rsrp_dbm[0], 46.0 + np.array(g) - pl, rtol=1e-12)
    gamma = model.large_scale_sinr(q, 0.0)[0]
    assert gamma[0] == pytest.approx(p[0] / (p[1] + sigma2), rel=1e-9)


def test_rate_monotonicity_and_bounds(quick):                                   # checks 13-15
    rng = np.random.default_rng(2)
    model = radio.radio_model(quick)
    s = model.links(_points(rng, 50), rng.uniform(0, 200, 50))
    base = radio.link_rates(s.p_mw, s.los, model.h_los, model.h_nlos, model.groups, model.noise, model.bandwidth)
    up = s.p_mw.copy(); up[:, 0] *= 2
    r_up = radio.link_rates(up, s.los, model.h_los, model.h_nlos, model.groups, model.noise, model.bandwidth)
    assert np.all(r_up[:, 0] > base[:, 0]) and np.all(r_up[:, 1:9] < base[:, 1:9])
    np.testing.assert_array_equal(r_up[:, 9:], base[:, 9:])
    hmax = np.where(s.los[:, None, :], model.h_los[None], model.h_nlos[None]).max(axis=1)
    bound = model.bandwidth / 1e6 * np.log2(1 + s.p_mw * hmax / model.noise)
    assert np.all(base >= 0) and np.all(base <= bound + 1e-12)
    assert np.all(base[~s.available] == 0)
    alone = radio.link_rates(s.p_mw, s.los, model.h_los, model.h_nlos, [np.array([b]) for b in range(20)],
                             model.noise, model.bandwidth)
    single = model.bandwidth / 1e6 * np.log2(1 + s.p_mw[:, None, :] * np.where(
        s.los[:, None, :], model.h_los[None], model.h_nlos[None]) / model.noise).mean(axis=1)
    np.testing.assert_allclose(alone, single, rtol=1e-12)
    p = np.array([[1e6], [1e9]])
    r = radio.link_rates(p, np.array([[True], [True]]), model.h_los[:, :1], model.h_nlos[:, :1], [np.array([0])],
                         np.array([1.0]), np.array([1e6]))
    assert r[1, 0] - r[0, 0] == pytest.approx(math.log2(1e3), rel=1e-3)


def test_time_dependence_and_visibility(quick):                                # check 17, E15
    model = radio.radio_model(quick)
    q = np.array([[1000.0, 1000.0, 100.0]] * 3)
    r = model.rates(q, np.array([30.0, 40.0, 400.0]))
    np.testing.assert_array_equal(r[0, :18], r[1, :18])
    np.testing.assert_array_equal(r[0, :18], r[2, :18])
    assert r[0, 18] > r[1, 18] > 0 and r[0, 18] > 2.0
    assert r[2, 18] == 0 and r[2, 19] == 0                                     # both satellites below 10°
    rsrp, avail = model.satellite(q, np.array([30.0, 40.0, 400.0]))
    assert not avail[2].any() and np.all(np.isneginf(rsrp[2]))


def test_area_fixed_beam_is_slowly_varying(quick):
    area = generate(merge(load_scenario("sagin", "quick").params, {"sn": {"beam_mode": "area_fixed"}}), 0, "q")
    q = np.array([[1000.0, 1000.0, 100.0]] * 2)
    g_nadir = radio.radio_model(quick).satellite(q, np.array([30.0, 90.0]))[0][:, 0]
    g_fixed = radio.radio_model(area).satellite(q, np.array([30.0, 90.0]))[0][:, 0]
    assert g_fixed[0] == pytest.approx(g_nadir[0], abs=1e-9)
    assert g_fixed[0] - g_fixed[1] < 5.0 < g_nadir[0] - g_nadir[1]


def test_same_seed_same_rates():                                               # check 16
    params = load_scenario("sagin", "quick").params
    a, b = generate(params, 4, "quick"), generate(params, 4, "quick")
    rng = np.random.default_rng(0)
    q, t = _points(rng, 100), rng.uniform(0, 200, 100)
    assert np.array_equal(radio.RadioModel(a).rates(q, t), radio.RadioModel(b).rates(q, t))


def test_cached_map_within_documented_tolerance(quick):
    model = radio.radio_model(quick)
    box = np.array([[700.0, 900.0, 100.0], [1000.0, 1200.0, 300.0]])
    cached = radio.CachedRadioMap(model, box)
    assert cached.rate_grid.shape == (31, 31, 21, 18)
    rng = np.random.default_rng(11)
    q, t = _points(rng, 1000, box[0], box[1]), rng.uniform(0, 200, 1000)
    exact = model.rates(q, t)
    approx = cached.rates(q, t)
    np.testing.assert_array_equal(approx[:, 18:], exact[:, 18:])               # SN always exact
    err = np.abs(approx[:, :18] - exact[:, :18])
    assert np.mean(err <= radio.CACHED_TOLERANCE_MBPS) >= radio.CACHED_TOLERANCE_SHARE
    best = np.abs(approx[:, :18].max(axis=1) - exact[:, :18].max(axis=1))     # the serving-candidate rate
    assert np.mean(best <= radio.CACHED_TOLERANCE_MBPS) >= radio.CACHED_TOLERANCE_SHARE
    node = np.array([[700.0, 900.0, 100.0], [1000.0, 1200.0, 300.0]])         # raster nodes are exact
    np.testing.assert_allclose(cached.terrestrial_rates(node), model.terrestrial_rates(node), rtol=1e-12)
    np.testing.assert_allclose(cached.terrestrial_rsrp(node), model.terrestrial(node)[0], rtol=1e-12)


def test_rate_normalisation(quick):
    r_min, r_max = radio.rate_normalisation(quick)
    assert r_min == 0.0
    rng = np.random.default_rng(3)
    q = _points(rng, 300)
    assert r_max >= radio.radio_model(quick).rates(q[:50], 0.0)[:, :18].max() * 0.9
    assert r_max > 5.0
