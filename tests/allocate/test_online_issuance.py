"""Preset `online` and the predictable issuance of Decision D27 (docs/families/allocate.md §3.1, §3.2, §3.4, §10)."""
from __future__ import annotations

import functools

import numpy as np
import pytest

import optkit
from optkit.errors import InputError
from optkit.seeds import stream

FAMILY = "allocate"
ISSUE_FIELDS = ("req_ue", "req_entry")
REQ_FIELDS = ("req_service", "req_slots", "req_bw", "req_latency")


@functools.lru_cache(maxsize=None)
def make(preset: str, seed: int, **overrides):
    return optkit.make_instance(FAMILY, preset, seed, overrides=overrides or None)


def test_online_preset_sizes_and_durations():
    inst = make("online", 0)
    assert (inst.grid_rows, inst.grid_cols, inst.n_core, inst.n_rsu, inst.n_uav) == (4, 4, 2, 4, 4)
    assert (inst.R, inst.C, inst.T, inst.issuance) == (10, 4, 10, "propensity")
    durations = np.concatenate([make("online", s).service_dur for s in range(10)])
    assert durations.min() == 3 and durations.max() == 8
    assert make("online-iid", 0).issuance == "iid"


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_iid_is_the_permutation_draw_and_propensity_changes_only_ue_and_entry(seed):
    iid, prop = make("online-iid", seed), make("online", seed)
    np.testing.assert_array_equal(iid.req_ue, stream(seed, 4).permutation(iid.n_ues)[:iid.R])   # §3.2 stream (4,)
    assert iid.hist_events.shape == (0, 2)
    for name in REQ_FIELDS:
        np.testing.assert_array_equal(getattr(iid, name), getattr(prop, name))
    assert iid.req_demand == prop.req_demand
    np.testing.assert_array_equal(iid.ue_area, prop.ue_area)
    np.testing.assert_array_equal(iid.Q, prop.Q)
    assert len(set(prop.req_ue.tolist())) == prop.R
    dur = prop.service_dur[prop.req_service]
    assert np.all(prop.req_entry >= 0) and np.all(prop.req_entry <= prop.T - dur)
    events = prop.hist_events
    assert events.shape == (round(prop.R * prop.H / prop.T), 2)
    assert len(set(events[:, 0].tolist())) == len(events)
    assert np.all((events[:, 1] >= -prop.H) & (events[:, 1] <= -1))


def test_fewer_requests_are_the_first_requests_and_history_events():
    small, big = make("online", 3, R=5), make("online", 3)
    np.testing.assert_array_equal(small.req_ue, big.req_ue[:5])
    np.testing.assert_array_equal(small.req_entry, big.req_entry[:5])
    np.testing.assert_array_equal(small.hist_events, big.hist_events[:len(small.hist_events)])


@pytest.mark.slow
def test_heavy_ues_and_hot_spots_are_over_represented_and_frame0_share_is_about_a_fifth():
    heavy_share, hot_share, frame0 = [], [], []
    for seed in range(200):
        inst = make("online", seed)
        rng = stream(seed, 10)                                   # the hidden draws of stream (10,)
        hot = rng.choice(inst.A, 2, replace=False)
        heavy = rng.uniform(size=inst.n_ues) < 0.2
        heavy_share.append(heavy[inst.req_ue].mean())
        areas = inst.ue_area[inst.req_ue, inst.req_entry + inst.H]
        hot_share.append(np.isin(areas, hot).mean())
        frame0.append((inst.req_entry == 0).mean())
    assert np.mean(heavy_share) > 0.4                             # 20 % of the UEs issue about half the requests
    assert np.mean(hot_share) > 2 * 2 / 16                        # two hot spots of 16 areas: far above 1/8
    assert 0.15 <= np.mean(frame0) <= 0.25


def test_bad_issuance_is_an_input_error():
    with pytest.raises(InputError, match="issuance"):
        make("online", 0, issuance="poisson")
    with pytest.raises(InputError, match="issue_heavy_share"):
        make("online", 0, issue_heavy_share=1.5)
