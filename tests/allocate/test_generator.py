"""Generator and instance of the allocate family (docs/families/allocate.md §3.1, §3.2, §3.4, §10 "Generator")."""
from __future__ import annotations

import dataclasses
import functools
import json

import numpy as np
import pytest

import optkit
from optkit.errors import InputError, ValidationError
from optkit.formulations.allocate.instance import AllocateInstance
from optkit.formulations.allocate.network import canonical_links
from optkit.scenarios import load_scenario, scenario_ids

FAMILY = "allocate"
REQ_FIELDS = ("req_ue", "req_service", "req_entry", "req_slots", "req_bw", "req_demand", "req_latency")
CHAN_FIELDS = ("sigma_ray", "e_chan", "Q")


@functools.lru_cache(maxsize=None)
def make(preset: str, seed: int = 0, point: str | None = None, **overrides) -> AllocateInstance:
    return optkit.make_instance(FAMILY, preset, seed, point=point, overrides=overrides or None)


def all_points():
    """(preset, point label or None) for every preset and every sweep point of datasets/allocate."""
    out = []
    for sid in scenario_ids(FAMILY):
        sc = load_scenario(FAMILY, sid)
        out += [(sid, p.label) for p in sc.points] if sc.points else [(sid, None)]
    return out


def field_names():
    return [f.name for f in dataclasses.fields(AllocateInstance)]


def same_value(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    return type(a) is type(b) and a == b


# ---------------------------------------------------------------------------------------------- presets
def test_preset_list_is_the_documented_one():
    assert set(scenario_ids(FAMILY)) == {"paper-default", "paper-literal-energy", "small", "tiny",
                                         "sweep-requests", "sweep-nodes", "sweep-channels", "online", "online-iid"}


# §3.4 table: (grid, n_core, n_rsu, n_uav, R, C, T) per preset point.
EXPECTED_SIZES = {
    ("paper-default", None): ((4, 4), 2, 4, 4, 15, 10, 10),
    ("paper-literal-energy", None): ((4, 4), 2, 4, 4, 15, 10, 10),
    ("small", None): ((4, 4), 2, 4, 4, 7, 4, 6),
    ("tiny", None): ((3, 3), 1, 2, 2, 4, 2, 4),
    ("online", None): ((4, 4), 2, 4, 4, 10, 4, 10),
    ("online-iid", None): ((4, 4), 2, 4, 4, 10, 4, 10),
    **{("sweep-requests", str(r)): ((4, 4), 2, 4, 4, r, 10, 10) for r in (7, 10, 15, 20, 25, 30)},
    **{("sweep-channels", str(c)): ((4, 4), 2, 4, 4, 10, c, 10) for c in range(2, 9)},
    ("sweep-nodes", "6"): ((4, 4), 1, 3, 2, 15, 10, 10),
    ("sweep-nodes", "10"): ((4, 4), 2, 4, 4, 15, 10, 10),
    ("sweep-nodes", "14"): ((5, 5), 2, 6, 6, 15, 10, 10),
    ("sweep-nodes", "18"): ((5, 5), 2, 8, 8, 15, 10, 10),
    ("sweep-nodes", "23"): ((6, 6), 3, 10, 10, 15, 10, 10),
}


def test_every_preset_point_is_covered_by_the_size_table():
    assert set(all_points()) == set(EXPECTED_SIZES)


@pytest.mark.parametrize("preset,point", sorted(EXPECTED_SIZES, key=str))
def test_every_preset_point_generates_validates_and_matches_spec_table(preset, point):
    grid, n_core, n_rsu, n_uav, R, C, T = EXPECTED_SIZES[(preset, point)]
    for seed in (0, 1):
        inst = make(preset, seed, point)
        assert inst.validate() is inst
        assert (inst.grid_rows, inst.grid_cols) == grid
        assert (inst.n_core, inst.n_rsu, inst.n_uav, inst.R, inst.C, inst.T) == (n_core, n_rsu, n_uav, R, C, T)
        assert inst.K == 10 and inst.seed == seed
        assert inst.preset == (preset if point is None else f"{preset}:{point}")
        tiny = preset == "tiny"
        assert (inst.n_ues, inst.n_services, inst.n_functions) == ((10, 4, 6) if tiny else (50, 20, 32))
        assert inst.uav_energy_scale == (1.0 if preset == "paper-literal-energy" else 0.001)
        assert inst.alpha == 0.001


# ---------------------------------------------------------------------------------------------- reproducibility
@pytest.mark.parametrize("preset", ["tiny", "small", "paper-default"])
def test_same_seed_gives_bit_identical_instance(preset):
    a = optkit.make_instance(FAMILY, preset, 3)
    b = optkit.make_instance(FAMILY, preset, 3)
    assert a is not b
    assert a.to_json() == b.to_json()
    for name in field_names():
        assert same_value(getattr(a, name), getattr(b, name)), name


@pytest.mark.parametrize("preset", ["tiny", "paper-default"])
def test_different_seeds_give_different_instances(preset):
    a, b = make(preset, 0), make(preset, 1)
    assert a.to_json() != b.to_json()
    # every random component changes, not just one
    for name in ("cap", "link_lat", "Q", "ue_xy", "req_bw", "theta_los", "sigma_ray", "uav_speed"):
        assert not np.array_equal(getattr(a, name), getattr(b, name)), name


# ---------------------------------------------------------------------------------------------- nesting (§3.2)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fewer_requests_are_the_first_requests(seed):
    small, big = make("paper-default", seed, R=7), make("paper-default", seed, R=15)
    assert small.R == 7 and big.R == 15
    for name in REQ_FIELDS:
        assert same_value(getattr(small, name), getattr(big, name)[:7]), name
    for name in set(field_names()) - set(REQ_FIELDS):
        assert same_value(getattr(small, name), getattr(big, name)), name


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fewer_channels_are_the_first_channels(seed):
    small, big = make("paper-default", seed, C=4), make("paper-default", seed, C=10)
    assert small.C == 4 and big.C == 10
    np.testing.assert_array_equal(small.sigma_ray, big.sigma_ray[:4])
    np.testing.assert_array_equal(small.e_chan, big.e_chan[:4])
    np.testing.assert_array_equal(small.Q, big.Q[:4])
    assert small.Q.dtype == big.Q.dtype == np.uint8
    for name in set(field_names()) - set(CHAN_FIELDS) - {"C"}:
        assert same_value(getattr(small, name), getattr(big, name)), name


@pytest.mark.parametrize("seed", [0, 4])
def test_mobility_does_not_depend_on_R_or_C(seed):
    ref = make("paper-default", seed)
    for other in (make("paper-default", seed, R=7), make("paper-default", seed, R=30),
                  make("paper-default", seed, C=2), make("paper-default", seed, R=3, C=5)):
        np.testing.assert_array_equal(other.ue_area, ref.ue_area)
        np.testing.assert_array_equal(other.ue_xy, ref.ue_xy)


def test_shorter_horizon_keeps_the_service_stream_and_clips_durations():
    """D24: the duration draw is always made then clipped, so T=6 (`small`) sees the same services as T=10."""
    for seed in range(3):
        short, full = make("small", seed), make("paper-default", seed)
        assert short.service_funcs == full.service_funcs
        np.testing.assert_array_equal(short.service_dur, np.minimum(full.service_dur, 6))
        assert np.any(full.service_dur > 6)          # the clip is really exercised


@pytest.mark.parametrize("preset,T", [("tiny", 4), ("small", 6)])
def test_service_durations_clipped_to_horizon(preset, T):
    durs = np.concatenate([make(preset, s).service_dur for s in range(10)])
    assert durs.min() >= 3 and durs.max() == T      # draws U{3..10} clipped to T
    if preset == "tiny":
        assert set(durs.tolist()) == {3, 4}


# ---------------------------------------------------------------------------------------------- structure
@pytest.mark.parametrize("preset,point", sorted(EXPECTED_SIZES, key=str))
def test_structural_rules_on_every_preset(preset, point):
    for seed in range(3):
        inst = make(preset, seed, point)
        A = inst.A
        # RSUs in distinct areas
        rsu_areas = inst.node_area[list(inst.rsus)]
        assert len(set(rsu_areas.tolist())) == inst.n_rsu
        assert inst.node_area.min() >= 0 and inst.node_area.max() < A
        # Δ_r ⊆ {0..T-1}
        for r in range(inst.R):
            frames = inst.active_frames(r)
            assert len(frames) == inst.service_dur[inst.req_service[r]] >= 1
            assert frames.start >= 0 and frames.stop <= inst.T
        # D5: capacities decreasing, energies increasing, inside the U ranges
        assert np.all(np.diff(inst.cap) <= 0) and np.all(np.diff(inst.e_node) >= 0)
        assert np.all((inst.cap >= 25) & (inst.cap < 70))
        assert np.all((inst.e_node >= 12) & (inst.e_node < 36))
        assert np.all((inst.link_cap >= 10) & (inst.link_cap < 30))
        assert np.all((inst.link_energy >= 5) & (inst.link_energy < 8))
        assert np.all((inst.link_lat >= 4) & (inst.link_lat < 16))
        assert np.all((inst.uav_weight >= 4) & (inst.uav_weight < 6))
        assert np.all((inst.uav_speed >= 8) & (inst.uav_speed < 12))
        assert np.all((inst.e_chan >= 2) & (inst.e_chan < 8))
        assert np.all((inst.theta_los >= 0.2) & (inst.theta_los < 0.8))
        assert np.all((inst.sigma_ray >= 0.2) & (inst.sigma_ray < 0.8))
        # requests: distinct UEs, attributes in range
        assert len(set(inst.req_ue.tolist())) == inst.R
        assert np.all((inst.req_slots >= 3) & (inst.req_slots <= 9))
        assert np.all((inst.req_bw >= 2) & (inst.req_bw < 8))
        assert np.all((inst.req_latency >= 50) & (inst.req_latency < 100))
        for r in range(inst.R):
            assert len(inst.req_demand[r]) == len(inst.funcs(r))
            assert all(8 <= d < 20 for d in inst.req_demand[r])
        for funcs in inst.service_funcs:
            assert 2 <= len(funcs) <= 4 and len(set(funcs)) == len(funcs)
            assert all(0 <= f < inst.n_functions for f in funcs)
        # links: the canonical list of §3.3 for this topology
        ends, wireless = canonical_links(inst.node_area, inst.n_core, inst.n_rsu, inst.n_uav,
                                         inst.grid_rows, inst.grid_cols)
        np.testing.assert_array_equal(inst.link_ends, ends)
        np.testing.assert_array_equal(inst.link_wireless, wireless)
        # weather, quality, UE areas
        assert set(inst.weather.tolist()) <= {0, 1, 2}
        assert inst.Q.dtype == np.uint8 and set(np.unique(inst.Q).tolist()) <= {0, 1}
        assert inst.ue_area.shape == (inst.n_ues, inst.H + inst.T)
        assert inst.ue_area.min() >= 0 and inst.ue_area.max() < A


# ---------------------------------------------------------------------------------------------- channel quality (§10)
def test_per_slot_success_probability_and_weather_monotonicity():
    hits, counts = np.zeros(3), np.zeros(3)
    total, n = 0, 0
    for seed in range(20):
        inst = make("paper-default", seed)
        slot_weather = np.repeat(inst.weather, inst.K)          # (T*K,)
        total += int(inst.Q.sum())
        n += inst.Q.size
        for w in range(3):
            sel = inst.Q[:, :, slot_weather == w]
            hits[w] += sel.sum()
            counts[w] += sel.size
    mean = total / n
    assert 0.95 <= mean <= 0.98, mean
    assert np.all(counts > 0)                                  # every weather state occurs in 20 seeds
    cond = hits / counts
    assert cond[0] >= cond[1] >= cond[2], cond
    assert cond[0] - cond[2] > 0.02, cond                      # weather really matters (≈0.99 vs ≈0.93)


# ---------------------------------------------------------------------------------------------- JSON round trip
@pytest.mark.parametrize("preset", ["tiny", "small", "sweep-nodes"])
def test_json_round_trip_is_exact(preset):
    inst = make(preset, 2, "23" if preset == "sweep-nodes" else None)
    text = inst.to_json()
    back = AllocateInstance.from_json(text)
    assert back.to_json() == text
    for name in field_names():
        a, b = getattr(inst, name), getattr(back, name)
        assert same_value(a, b), name
        if isinstance(a, np.ndarray):
            assert not b.flags.writeable, name
    assert isinstance(back.service_funcs, tuple) and all(isinstance(s, tuple) for s in back.service_funcs)
    assert isinstance(back.req_demand[0], tuple) and isinstance(back.req_demand[0][0], float)
    # derived quantities agree too
    np.testing.assert_array_equal(back.move_energy, inst.move_energy)


def test_json_round_trip_via_file(tmp_path):
    inst = make("tiny", 5)
    path = tmp_path / "inst.json"
    inst.save(path)
    assert AllocateInstance.load(path).to_json() == inst.to_json()
    assert optkit.load_instance(path, family=FAMILY).to_json() == inst.to_json()


# ---------------------------------------------------------------------------------------------- immutability
def test_instance_is_immutable():
    inst = make("tiny", 0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        inst.T = 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        inst.cap = np.zeros(inst.N)
    for name in field_names():
        value = getattr(inst, name)
        if isinstance(value, np.ndarray):
            assert not value.flags.writeable, name
    with pytest.raises(ValueError):
        inst.cap[0] = 1.0
    with pytest.raises(ValueError):
        inst.Q[0, 0, 0] = 0
    assert isinstance(inst.service_funcs, tuple) and isinstance(inst.req_demand, tuple)


def test_instance_copies_the_arrays_it_is_given():
    inst = make("tiny", 0)
    cap = np.array(inst.cap) + 1.0
    other = dataclasses.replace(inst, cap=cap)
    cap[0] = -5.0
    assert other.cap[0] == inst.cap[0] + 1.0
    assert not other.cap.flags.writeable


# ---------------------------------------------------------------------------------------------- validate()
def _nan_cap(inst):
    cap = np.array(inst.cap)
    cap[1] = np.nan
    return {"cap": cap}


def _negative_link_cap(inst):
    lc = np.array(inst.link_cap)
    lc[0] = -1.0
    return {"link_cap": lc}


def _bad_q_shape(inst):
    return {"Q": np.array(inst.Q)[:, :, :-1]}


def _dup_req_ue(inst):
    ue = np.array(inst.req_ue)
    ue[1] = ue[0]
    return {"req_ue": ue}


def _r_above_n_ues(inst):
    return {"n_ues": inst.R - 1}


@pytest.mark.parametrize("mutate,field", [
    (_nan_cap, "cap"),
    (_negative_link_cap, "link_cap"),
    (_bad_q_shape, "Q"),
    (_dup_req_ue, "req_ue"),
    (_r_above_n_ues, "R"),
])
def test_validate_names_the_broken_field(mutate, field):
    inst = make("tiny", 0)
    assert inst.validate() is inst
    bad = dataclasses.replace(inst, **mutate(inst))
    with pytest.raises(ValidationError) as exc:
        bad.validate()
    assert exc.value.field == field
    assert isinstance(exc.value, InputError)
    assert str(exc.value).startswith(field)


# ---------------------------------------------------------------------------------------------- generate() errors
@pytest.mark.parametrize("overrides,needle", [
    ({"bogus_param": 1}, "bogus_param"),
    ({"R": -1}, "R"),
    ({"T": 4.5}, "T"),
    ({"T": "4"}, "T"),
    ({"n_rsu": 10}, "n_rsu"),          # tiny has 3x3 = 9 areas
    ({"R": 11}, "R"),                  # tiny has 10 UEs
])
def test_generate_rejects_bad_parameters(overrides, needle):
    with pytest.raises(InputError) as exc:
        optkit.make_instance(FAMILY, "tiny", 0, overrides=overrides)
    assert needle in str(exc.value)


@pytest.mark.parametrize("seed", [-1, 1.5, True, "0"])
def test_generate_rejects_bad_seed(seed):
    with pytest.raises(InputError):
        optkit.make_instance(FAMILY, "tiny", seed)


def test_generate_boundary_parameters_are_accepted():
    inst = optkit.make_instance(FAMILY, "tiny", 0, overrides={"n_rsu": 9, "R": 10})
    assert inst.n_rsu == 9 and inst.R == 10
    assert sorted(inst.node_area[list(inst.rsus)].tolist()) == list(range(9))


# ---------------------------------------------------------------------------------------------- from_json errors
def _json_dict(inst) -> dict:
    return json.loads(inst.to_json())


def test_from_json_rejects_malformed_text():
    text = make("tiny", 0).to_json()
    for bad in (text[:-10], "not json", "", "[1, 2]", "null"):
        with pytest.raises(InputError):
            AllocateInstance.from_json(bad)


def test_from_json_rejects_other_family():
    data = _json_dict(make("tiny", 0))
    data["family"] = "knapsack"
    with pytest.raises(InputError) as exc:
        AllocateInstance.from_json(json.dumps(data))
    assert "family" in str(exc.value)


@pytest.mark.parametrize("name", ["Q", "req_ue", "alpha", "seed"])
def test_from_json_rejects_missing_field(name):
    data = _json_dict(make("tiny", 0))
    del data["fields"][name]
    with pytest.raises(InputError) as exc:
        AllocateInstance.from_json(json.dumps(data))
    assert name in str(exc.value)


def test_from_json_rejects_unknown_field():
    data = _json_dict(make("tiny", 0))
    data["fields"]["extra"] = 1
    with pytest.raises(InputError):
        AllocateInstance.from_json(json.dumps(data))


def _float_node_area(data):
    arr = data["fields"]["node_area"]
    arr["dtype"] = "<f8"
    arr["__ndarray__"] = [float(x) + 0.5 for x in arr["__ndarray__"]]


@pytest.mark.parametrize("name,value", [
    ("T", "4"),
    ("T", 4.0),
    ("C", None),
    ("cap", "fast"),
    ("req_ue", {"not": "an array"}),
    ("node_area", _float_node_area),
    ("service_funcs", 3),
    ("service_funcs", [[0, 1.5]]),
    ("req_demand", 3),
    ("alpha", "x"),
    ("alpha", "0.001"),
    ("cell_side_m", "wide"),
    ("cell_side_m", "2000"),
    ("seed", "zero"),
    ("seed", -1),
    ("preset", 5),
    ("uav_weight_as_force", "no"),
])
def test_from_json_rejects_wrong_typed_field(name, value):
    data = _json_dict(make("tiny", 0))
    if callable(value):
        value(data)
    else:
        data["fields"][name] = value
    with pytest.raises(InputError):
        AllocateInstance.from_json(json.dumps(data))

@pytest.mark.parametrize("name,value", [
    ("req_ue", None),
    ("req_ue", 3),
    ("link_ends", None),
    ("alpha", [0.001]),
    ("cell_side_m", [[1.0, 2.0]]),
])
def test_from_json_wrong_typed_field_is_an_input_error(name, value):
    data = _json_dict(make("tiny", 0))
    data["fields"][name] = value
    with pytest.raises(InputError):
        AllocateInstance.from_json(json.dumps(data))


# ---------------------------------------------------------------------------------------------- degenerate sizes (§10)
@pytest.mark.parametrize("overrides", [{"n_uav": 0}, {"R": 0}, {"n_rsu": 0}, {"n_rsu": 0, "n_uav": 0}, {"H": 0},
                                       {"wireless_range_cells": 0}])
def test_degenerate_instances_generate_and_round_trip(overrides):
    inst = optkit.make_instance(FAMILY, "tiny", 1, overrides=overrides)
    assert inst.validate() is inst
    for key, value in overrides.items():
        assert (inst.R if key == "R" else getattr(inst, key)) == value
    text = inst.to_json()
    back = AllocateInstance.from_json(text)
    assert back.to_json() == text
    for name in field_names():
        assert same_value(getattr(inst, name), getattr(back, name)), name
    assert back.link_ends.shape == (inst.L, 2)
