"""Optional random fields (docs/families/sagin.md E10 probabilistic LoS, E11 correlated shadowing): statistics of the
AR(1) field, the LoS share against P_LoS, the shadowing term in the link budget, determinism and the default drawing
nothing."""
from __future__ import annotations

import numpy as np
import pytest

from optkit.api import make_instance
from optkit.formulations.sagin import pathloss
from optkit.formulations.sagin.fields import FIELD_SPACING, SIGMA_SF_SN_DB, Raster, ar1_filter
from optkit.formulations.sagin.radio import RadioModel


def test_ar1_filter_keeps_unit_variance_and_lag_correlation():
    rng = np.random.default_rng(0)
    a = float(np.exp(-FIELD_SPACING / 50.0))                        # the default shadow_corr = 50 m
    field = rng.standard_normal((4000, 200)).astype(np.float32)
    ar1_filter(field, a, axis=1)
    assert field.var() == pytest.approx(1.0, abs=0.03)
    assert field.var(axis=0)[0] == pytest.approx(1.0, abs=0.1)      # stationary from the first sample on
    lag1 = np.mean(field[:, 1:] * field[:, :-1])
    assert lag1 == pytest.approx(a, abs=0.02)
    lag5 = np.mean(field[:, 5:] * field[:, :-5])
    assert lag5 == pytest.approx(a ** 5, abs=0.02)                 # exp(−d / shadow_corr) at d = 50 m


def test_raster_covers_the_area_and_interpolates_its_nodes():
    inst = make_instance("sagin", "quick", 0)
    r = Raster(inst)
    assert r.shape == (201, 201, 21)
    fields = np.random.default_rng(1).standard_normal((2, *r.shape))
    nodes = np.array([[0.0, 0.0, 100.0], [1230.0, 40.0, 170.0], [2000.0, 2000.0, 300.0]])
    idx = np.round((nodes - r.lo) / FIELD_SPACING).astype(int)
    assert np.allclose(r.trilinear(fields, nodes), fields[:, idx[:, 0], idx[:, 1], idx[:, 2]].T)
    mid = np.array([[5.0, 0.0, 100.0]])                            # halfway between two x nodes
    assert np.allclose(r.trilinear(fields, mid)[0], fields[:, :2, 0, 0].mean(axis=1))


def test_default_instance_draws_no_field():
    assert RadioModel(make_instance("sagin", "ref-tiny", 0)).fields is None


def test_probabilistic_los_share_follows_p_los():
    inst = make_instance("sagin", "quick", 0, overrides={"channel": {"los_mode": "probabilistic"}})
    model = RadioModel(inst)
    rng = np.random.default_rng(2)
    q = np.column_stack([rng.uniform(0, 2000, 4000), rng.uniform(0, 2000, 4000), np.full(4000, 100.0)])
    los = model.links(q, np.zeros(len(q))).los[:, :model.n_t]
    d2 = np.linalg.norm(q[:, None, :2] - model.bs_pos[None, :, :2], axis=2)
    p = pathloss.p_los_uma_av(d2, 100.0)
    assert p.min() < 0.9                                           # far links are not certain LoS at 100 m
    sd = np.sqrt(np.sum(p * (1 - p))) / p.size
    assert abs(los.mean() - p.mean()) < 5 * sd                     # E10: 1[U < P_LoS] with U uniform
    above = q.copy()
    above[:, 2] = 150.0
    assert model.links(above, np.zeros(len(q))).los[:, :model.n_t].all()       # P_LoS = 1 above 100 m


def test_shadowing_enters_the_link_budget_in_db():
    plain = make_instance("sagin", "ref-tiny", 0)
    shadow = make_instance("sagin", "ref-tiny", 0, overrides={"channel": {"shadowing": True}})
    m0, m1 = RadioModel(plain), RadioModel(shadow)
    q = np.array([[600.0, 800.0, 100.0], [1000.0, 1000.0, 100.0], [1234.0, 1567.0, 100.0]])
    t = np.array([0.0, 30.0, 60.0])
    s0, s1 = m0.links(q, t), m1.links(q, t)
    assert np.array_equal(s0.los, s1.los)
    z_t = m1.fields.shadowing_db(q, slice(0, m1.n_t))
    sigma = np.where(s0.los[:, :m1.n_t], pathloss.sigma_sf_los(q[:, 2:3]), 6.0)
    assert np.allclose(s0.rsrp_dbm[:, :m1.n_t] - s1.rsrp_dbm[:, :m1.n_t], sigma * z_t)
    z_s = m1.fields.shadowing_db(q, slice(m1.n_t, m1.n_bs))
    avail = s0.available[:, m1.n_t:]
    diff = (s0.rsrp_dbm[:, m1.n_t:] - s1.rsrp_dbm[:, m1.n_t:])[avail]
    assert np.allclose(diff, (SIGMA_SF_SN_DB * z_s)[avail])
    again = RadioModel(make_instance("sagin", "ref-tiny", 0, overrides={"channel": {"shadowing": True}}))
    assert np.array_equal(again.rates(q, t), m1.rates(q, t))       # frozen per seed: common random numbers
    other = RadioModel(make_instance("sagin", "ref-tiny", 1, overrides={"channel": {"shadowing": True}}))
    assert not np.array_equal(other.fields.shadow, m1.fields.shadow)
