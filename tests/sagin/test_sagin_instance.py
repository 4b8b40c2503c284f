"""Instance schema, validation errors, deterministic generation and exact JSON round trip for every preset.

Section (§), equation (E) and decision (D) numbers refer to docs/families/sagin.md.
"""
import dataclasses
import math

import numpy as np
import pytest

from optkit.errors import ValidationError
from optkit.formulations.sagin.generator import STREAMS, generate, streams
from optkit.formulations.sagin.instance import SaginInstance
from optkit.scenarios import load_scenario, merge, scenario_ids

PRESETS = ["paper-default", "sweep-speed", "sweep-uavs", "ref-tiny", "ref-small", "ref-medium", "quick", "check-1uav",
           "env-suburban", "env-urban", "env-dense", "env-highrise",
           "area-beam", "quick-area-beam"]              # the D43 sensitivity (toolkit addition)


def _params(preset="paper-default", **groups):
    return merge(load_scenario("sagin", preset).params, groups)


def test_every_spec_preset_is_shipped():
    assert sorted(scenario_ids("sagin")) == sorted(PRESETS)


@pytest.mark.parametrize("preset", PRESETS)
def test_deterministic_generation_and_exact_round_trip(preset):
    for point in load_scenario("sagin", preset).expand():
        a = generate(point.params, 3, preset)
        b = generate(point.params, 3, preset)
        assert a.to_json() == b.to_json()                                         # check 16 (bitwise)
        back = SaginInstance.from_json(a.to_json())
        assert back.to_json() == a.to_json()
        for f in dataclasses.fields(SaginInstance):
            x, y = getattr(a, f.name), getattr(back, f.name)
            if isinstance(x, np.ndarray):
                assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y), f.name
            else:
                assert x == y and type(x) is type(y), f.name
        assert back.params() == a.params()
        assert generate(back.params(), 3, preset).to_json() == a.to_json()


def test_seed_streams_follow_spec_order():
    inst = generate(_params(), 7, "paper-default")
    children = np.random.SeedSequence(7).spawn(6)
    assert STREAMS == ("buildings", "fading", "train", "test", "field", "misc")
    h = np.minimum(np.random.default_rng(children[0]).rayleigh(50.0, 1200), 90.0)
    assert np.array_equal(inst.building_heights, h)                   # no building stands on a default site
    rng = np.random.default_rng(children[1])
    re = rng.standard_normal((256, 20)) / math.sqrt(2)
    assert np.array_equal(inst.fading_re, re)
    assert np.array_equal(streams(7)["test"].uniform(50, 1950), np.random.default_rng(children[3]).uniform(50, 1950))
    other = generate(_params(), 8, "paper-default")
    assert not np.array_equal(other.fading_re, inst.fading_re)


def test_preset_contents():
    tiny = generate(_params("ref-tiny"), 0, "ref-tiny")
    assert tiny.starts_test.tolist() == [[600.0, 800.0, 100.0]] and tiny.uav_max_steps == 200
    paper = generate(_params(), 0, "paper-default")
    assert np.array_equal(tiny.building_heights, paper.building_heights)      # world as paper-default
    assert np.array_equal(tiny.fading_re, paper.fading_re)
    assert tiny.ref_h_max == 70 // 7 - 1
    small = generate(_params("ref-small"), 0, "ref-small")
    offs = (small.starts_test - np.asarray(small.uav_destination)) / 200.0
    assert np.array_equal(offs, np.round(offs)) and np.all(small.starts_test[:, 2] == 100.0)
    assert np.all(np.abs(small.starts_test - paper.starts_test) <= 100.0)
    assert paper.ref_h_max == 105 // 7 - 1
    quick = generate(_params("quick"), 0, "quick")
    assert quick.starts_test.shape == (4, 3) and quick.fading_re.shape == (64, 20)
    assert np.array_equal(quick.starts_test, paper.starts_test[:4])
    d = np.hypot(*(paper.starts_test[:, :2] - np.asarray(paper.uav_destination)[:2]).T)
    assert np.all((d >= 500) & (d <= 2000)) and np.all(paper.starts_test[:, 2] == 100.0)
    speeds = [generate(p.params, 0, "sweep-speed").step_duration for p in load_scenario("sagin", "sweep-speed").expand()]
    assert speeds == pytest.approx([2.0, 1.0, 2 / 3, 0.5])
    hr = generate(_params("env-highrise"), 0, "env-highrise")
    assert (hr.buildings_alpha, hr.buildings_beta, hr.buildings_gamma, hr.buildings_h_cap) == (0.5, 300.0, 50.0, 90.0)


@pytest.mark.parametrize("override, field", [
    ({"uav": {"speed": -10.0}}, "uav_speed"),
    ({"uav": {"destination": [2500.0, 1600.0, 100.0]}}, "uav_destination"),
    ({"uav": {"destination": [1400.0, 1600.0, 50.0]}}, "uav_destination"),
    ({"gn": {"sites_xy": []}, "an": {"sites_xy": []}, "sn": {"n_sats": 0, "pass_times": []}}, "gn_sites_xy"),
    ({"gn": {"tx_power": float("nan")}}, "gn_tx_power"),
    ({"area": {"x_max": float("nan")}}, "area_x_max"),
    ({"buildings": {"h_cap": 120.0}}, "buildings_h_cap"),
    ({"sn": {"pass_times": [30.0]}}, "sn_pass_times"),
    ({"channel": {"rate_backend": "magic"}}, "channel_rate_backend"),
    ({"channel": {"shadowing": "yes"}}, "channel_shadowing"),
    ({"channel": {"los_mode": "street"}}, "channel_los_mode"),
    ({"uav": {"n_uavs": 0}}, "uav_n_uavs"),
    ({"uav": {"starts": [[600.0, 800.0, 100.0]]}}, "uav_starts"),
    ({"extra": {"x": 1}}, "extra.x"),
    ({"uav": {"colour": "red"}}, "uav.colour"),
])
def test_validation_errors_name_the_field(override, field):
    with pytest.raises(ValidationError) as err:
        generate(_params(**override), 0, "paper-default")
    assert err.value.field == field


def test_instance_validate_rejects_nan_and_bad_derived_arrays():
    inst = generate(_params("quick"), 0, "quick")
    with pytest.raises(ValidationError) as err:
        dataclasses.replace(inst, uav_speed=float("nan")).validate()
    assert err.value.field == "uav_speed"
    re = np.array(inst.fading_re); re[0, 0] = np.nan
    with pytest.raises(ValidationError) as err:
        dataclasses.replace(inst, fading_re=re).validate()
    assert err.value.field == "fading_re"
    with pytest.raises(ValidationError) as err:
        dataclasses.replace(inst, starts_test=np.array(inst.starts_test) + [0, 0, 500.0]).validate()
    assert err.value.field == "starts_test"
    missing = load_scenario("sagin", "quick").params
    del missing["uav"]["speed"]
    with pytest.raises(ValidationError) as err:
        generate(missing, 0, "quick")
    assert err.value.field == "uav.speed"


def test_training_starts_blocks():
    from optkit.formulations.sagin.generator import training_starts

    inst = generate(_params("quick"), 2, "quick")
    a = training_starts(inst, 3)
    assert a.shape == (3, 4, 3)
    assert np.array_equal(training_starts(inst, 1)[0], a[0])                 # episode e = e-th block of draws
    assert not np.array_equal(a[0], a[1]) and not np.array_equal(a[0], inst.starts_test)
    d = np.hypot(*(a[..., :2] - np.asarray(inst.uav_destination)[:2]).reshape(-1, 2).T)
    assert np.all((d >= 500) & (d <= 2000))
