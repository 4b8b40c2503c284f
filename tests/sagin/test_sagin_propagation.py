"""docs/families/sagin.md §10 checks 1-12 and 18-19: path loss, antennas, satellite geometry, noise, fading,
buildings/LoS."""
import math

import numpy as np
import pytest

from optkit.formulations.sagin import antennas as A
from optkit.formulations.sagin import buildings as B
from optkit.formulations.sagin import pathloss as P
from optkit.formulations.sagin import radio
from optkit.formulations.sagin.generator import generate
from optkit.scenarios import load_scenario

EL = dict(g_max=8.0, theta_3db=65.0, phi_3db=65.0, sla_v=30.0, a_m=30.0)
SN = dict(x_pass=1000.0, y_track=1000.0, altitude=550e3, ground_speed=7500.0, earth_radius=6.371e6)


@pytest.fixture(scope="module")
def paper():
    return generate(load_scenario("sagin", "paper-default").params, 0, "paper-default")


def test_pathloss_sanity_values():
    assert P.fspl_db(550e3, 2.185) == pytest.approx(154.05, abs=0.01)                       # check 1
    assert P.pl_uma_av_los(1000.0, 6.7) == pytest.approx(110.52, abs=0.01)                   # check 2
    assert P.pl_uma_av_los(1000.0, 4.9) == pytest.approx(107.80, abs=0.01)
    assert P.pl_uma_av_nlos_raw(1000.0, 100.0, 6.7) == pytest.approx(127.46, abs=0.01)       # check 3
    assert P.pl_uma_av_nlos_raw(1000.0, 100.0, 4.9) == pytest.approx(124.75, abs=0.01)
    assert P.pl_uma_av_nlos_raw(50.0, 300.0, 6.7) == pytest.approx(80.16, abs=0.01)          # check 4
    assert P.pl_uma_av_los(50.0, 6.7) == pytest.approx(81.90, abs=0.01)
    assert P.pl_uma_av_nlos(50.0, 300.0, 6.7) == pytest.approx(81.90, abs=0.01)
    d, h = np.meshgrid(np.geomspace(10, 4000, 60), np.linspace(22.6, 300, 40))
    for fc in (4.9, 6.7):
        assert np.all(P.pl_uma_av_nlos(d, h, fc) >= P.pl_uma_av_los(d, fc))
    assert P.sigma_sf_los(100.0) == pytest.approx(2.40, abs=0.005)                           # check 5


def test_los_probability():
    assert P.p_los_uma_av(1000.0, 50.0) == pytest.approx(0.772, abs=5e-4)                    # check 6
    assert 460 * math.log10(50) - 700 == pytest.approx(81.53, abs=0.01)
    assert 4300 * math.log10(50) - 3800 == pytest.approx(3505.6, abs=0.1)
    assert P.p_los_uma_av(1000.0, 150.0) == 1.0
    assert P.p_los_uma_av(50.0, 50.0) == 1.0                                                  # d_2D <= d_1


def test_element_and_composite_gain():
    assert A.element_gain_db(90.0, 0.0, **EL) == pytest.approx(8.0)                           # check 7
    assert A.element_gain_db(90.0, 65.0, **EL) == pytest.approx(-4.0)
    th, ph = np.meshgrid(np.linspace(0, 180, 181), np.linspace(-180, 180, 181))
    assert A.element_gain_db(th, ph, **EL).min() == pytest.approx(-22.0)
    assert A.bs_gain_db(100.0, 0.0, 10.0, 4, 2, **EL) == pytest.approx(16.75, abs=0.005)     # check 8
    theta = np.linspace(0, 180, 18001)
    g_gn = A.bs_gain_db(theta, 0.0, 10.0, 4, 2, **EL)
    g_an = A.bs_gain_db(theta, 0.0, -10.0, 4, 2, **EL)
    assert g_gn.max() == pytest.approx(16.79, abs=0.005) and theta[g_gn.argmax()] == pytest.approx(98.5, abs=0.05)
    assert theta[g_an.argmax()] == pytest.approx(81.5, abs=0.05)
    np.testing.assert_allclose(g_an, g_gn[::-1], atol=1e-9)                                   # mirror image
    g_all = A.bs_gain_db(th, ph, 10.0, 4, 2, **EL)
    assert g_all.max() <= 8 + 10 * math.log10(8) + 1e-9


def test_satellite_gain():
    assert A.upa_gain_db(0.0, 0.0, 8, 8) == pytest.approx(10 * math.log10(64))               # check 9
    assert A.upa_gain_db(0.25, 0.0, 8, 8) < -100.0
    u = np.linspace(-1, 1, 41)
    np.testing.assert_allclose(A.upa_gain_db(u, 0.3, 8, 8), A.upa_gain_db(0.3, u, 8, 8))
    np.testing.assert_allclose(A.upa_gain_db(u, 0.1, 8, 8), A.upa_gain_db(-u, 0.1, 8, 8))


def _sat(dt):
    q = np.array([1000.0, 1000.0, 100.0])
    p, psi = P.sat_positions(np.array(30.0 + dt), [30.0], **SN)
    u, v, d = P.direction_cosines(q, p[0], psi[0])
    return d, P.elevation_deg(q, p[0]), A.upa_gain_db(u, v, 8, 8), u


def test_satellite_geometry():
    d, el, g, _ = _sat(0.0)                                                                   # check 10
    assert d == pytest.approx(549.9e3, abs=1.0) and el == pytest.approx(90.0)
    d, el, g, _ = _sat(60.0)
    assert d / 1e3 == pytest.approx(722.7, abs=0.05)
    assert el == pytest.approx(47.5, abs=0.05) and g == pytest.approx(1.6, abs=0.05)
    assert _sat(221.0)[1] > 10.0 > _sat(223.0)[1]
    e_a, e_c, e_n = P.sat_frame(np.array(0.0))
    np.testing.assert_allclose(e_n, [0, 0, -1], atol=1e-15)


def test_satellite_link_budget():
    d, _, g, _ = _sat(0.0)                                                                    # check 10b
    noise_dbm = 10 * math.log10(radio.noise_mw(1e6, 7.0))
    snr = 46 + g - P.pl_sat(d, 2.185, 0.0, 0.0) - noise_dbm
    assert snr == pytest.approx(17.0, abs=0.05)
    assert _sat(0.0)[2] - _sat(8.0)[2] == pytest.approx(3.0, abs=0.3)
    assert abs(_sat(19.0)[3]) == pytest.approx(0.25, abs=0.005)


def test_noise_and_rician_draws(paper):
    assert 10 * math.log10(radio.noise_mw(1e6, 9.0)) == pytest.approx(-105.0, abs=0.05)       # check 11
    assert 10 * math.log10(radio.noise_mw(1e6, 7.0)) == pytest.approx(-107.0, abs=0.05)
    assert 10 ** (paper.channel_rician_k_db / 10) == pytest.approx(31.62, abs=0.005)          # check 12
    h_los, h_nlos = radio.fading_gains(paper.fading_z, paper.channel_rician_k_db)
    J = h_los.shape[0]
    assert np.all(np.abs(h_los.mean(axis=0) - 1) <= 3 / math.sqrt(J))
    assert np.all(np.abs(h_nlos.mean(axis=0) - 1) <= 3 / math.sqrt(J) * 3)   # Exp(1): std 1, three sigma per BS
    g_los, g_nlos = radio.fading_gains(np.array([[1.0, 1j]]), 0.0)          # K = 1: |√.5 + √.5 Z|²
    np.testing.assert_allclose(g_los, [[2.0, 1.0]])
    np.testing.assert_allclose(g_nlos, [[1.0, 1.0]])


def test_building_layout_defaults(paper):
    centres, width = B.layout(0, 2000, 0, 2000, 0.3, 300, 3, 20)                              # check 18
    assert centres.shape == (1200, 2) and width == pytest.approx(31.62, abs=0.005)
    n = paper.building_centers.shape[0]
    assert n <= 1200 and n * paper.building_width ** 2 / 4e6 <= 0.3 + 1e-12
    assert paper.building_heights.max() <= 90.0
    sites = np.concatenate([paper.gn_sites_xy, paper.an_sites_xy])
    assert not B.on_site_mask(paper.building_centers, paper.building_width, sites, 2.0).any()


def test_site_removal():
    centres = np.array([[100.0, 100.0], [200.0, 100.0]])
    mask = B.on_site_mask(centres, 20.0, np.array([[111.5, 100.0]]), 2.0)
    assert mask.tolist() == [True, False]


def test_los_hand_built_layout():
    centres, width, heights = np.array([[100.0, 100.0]]), 20.0, np.array([60.0])             # check 19
    los = lambda a, b: bool(B.segment_los(np.array([a]), np.array([b]), centres, width, heights)[0])
    assert los([100, 100, 70], [100, 100, 200])          # vertical segment above the roof
    assert not los([0, 100, 50], [200, 100, 50])         # horizontal at 50 m through a 60 m building
    assert los([0, 100, 60], [200, 100, 60])             # grazing the roof at exactly roof height
    assert los([50, 100, 20], [130, 100, 100])           # touches the roof edge (x = 90) at exactly 60 m
    assert not los([50, 100, 19], [130, 100, 100])       # 0.5 m lower at the edge: blocked
    assert los([0, 80, 50], [200, 80, 50]) and los([0, 90, 50], [200, 90, 50])   # passes beside / on a face
    sl = B.SiteLos(np.array([50.0, 100.0, 20.0]), centres, width, heights)
    assert sl.los(np.array([[130.0, 100.0, 100.0]]))[0] and not sl.los(np.array([[130.0, 100.0, 99.0]]))[0]
    assert sl.critical_height(np.array([[130.0, 100.0]]))[0] == pytest.approx(100.0)


def test_site_los_equals_literal_e3(paper):
    rng = np.random.default_rng(5)
    q = np.c_[rng.uniform(0, 2000, (400, 2)), rng.uniform(100, 300, 400)]
    q[:50, 2] = 100.0
    model = radio.radio_model(paper)
    for sl in model.site_los:
        lit = B.segment_los(np.tile(sl.site, (q.shape[0], 1)), q, paper.building_centers, paper.building_width,
                            paper.building_heights)
        np.testing.assert_array_equal(lit, sl.los(q))
