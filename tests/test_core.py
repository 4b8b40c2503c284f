"""Core pieces that know no family: seeds, registry, scenarios, Instance JSON helpers, optkit.api."""
from __future__ import annotations

import dataclasses
import json
import zlib

import numpy as np
import pytest

from optkit import api, registry, seeds
from optkit.errors import InputError, OptkitError, UnknownNameError, ValidationError
from optkit.instance import (
    Instance,
    check_finite,
    check_int,
    check_shape,
    read_instance_family,
    write_text_atomic,
)
from optkit.scenarios import load_scenario, merge, scenario_ids


# ---------------------------------------------------------------- seeds


def test_stream_is_deterministic():
    a = seeds.stream(7, 1, 2).random(50)
    b = seeds.stream(7, 1, 2).random(50)
    assert np.array_equal(a, b)


def test_stream_matches_seed_sequence_spawn_key():
    expected = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy=7, spawn_key=(3, 4)))).random(5)
    assert np.array_equal(seeds.stream(7, 3, 4).random(5), expected)
    # numpy integers are accepted as seed and key
    assert np.array_equal(seeds.stream(np.int64(7), np.int32(3), 4).random(5), expected)


@pytest.mark.parametrize("other", [(7, 1, 3), (7, 2, 2), (8, 1, 2), (7, 12), (7, 1), (7, 1, 2, 0)])
def test_streams_of_different_keys_are_independent(other):
    base = seeds.stream(7, 1, 2).random(20000)
    draws = seeds.stream(*other).random(20000)
    assert not np.array_equal(base, draws)
    assert abs(np.corrcoef(base, draws)[0, 1]) < 0.05


def test_drawing_from_one_stream_does_not_shift_another():
    first = seeds.stream(0, 5).random(10)
    seeds.stream(0, 6).random(1000)
    assert np.array_equal(seeds.stream(0, 5).random(10), first)


def test_method_key_is_crc32_of_the_id():
    assert seeds.method_key("random") == zlib.crc32(b"random")
    assert seeds.method_key("ddqn-csac") == zlib.crc32(b"ddqn-csac")
    assert seeds.method_key("random") != seeds.method_key("greedy")


def test_method_stream_key_is_100_crc32_method_seed():
    got = seeds.method_stream(11, "random", 3).integers(0, 2**62, size=8)
    want = seeds.stream(11, 100, zlib.crc32(b"random"), 3).integers(0, 2**62, size=8)
    assert np.array_equal(got, want)
    # default method seed is 0
    assert np.array_equal(seeds.method_stream(11, "random").random(4), seeds.stream(11, 100, zlib.crc32(b"random"), 0).random(4))


def test_method_streams_differ_by_method_seed_method_and_instance_seed():
    ref = seeds.method_stream(1, "random", 0).random(100)
    for other in (seeds.method_stream(1, "random", 1), seeds.method_stream(1, "greedy", 0),
                  seeds.method_stream(2, "random", 0), seeds.stream(1, 100)):
        assert not np.array_equal(ref, other.random(100))


# ---------------------------------------------------------------- registry


@pytest.mark.parametrize("name", ["allocate", "ddqn-csac", "offline-dp", "p2", "p2-lattice", "a1-b2-c3"])
def test_kebab_case_ids_accepted(name):
    registry._check_id("method", name)


@pytest.mark.parametrize("name", ["ddqn_csac", "Allocate", "-x", "x-", "a--b", "a b", "", "é", "x.y"])
def test_non_kebab_ids_rejected(name):
    with pytest.raises(ValueError, match="kebab-case"):
        registry._check_id("method", name)


def _spec(**kw):
    base = dict(family="allocate", id="fake-x", kind="heuristic", knowledge="online",
                entry="nowhere:nothing", description="")
    base.update(kw)
    return registry.MethodSpec(**base)


@pytest.mark.parametrize("kw, message", [
    ({"id": "fake_x"}, "kebab-case"),
    ({"kind": "magic"}, "kind"),
    ({"knowledge": "psychic"}, "knowledge"),
])
def test_register_method_rejects_bad_specs_without_registering(kw, message):
    before = dict(registry._METHODS)
    with pytest.raises(ValueError, match=message):
        registry.register_method(_spec(**kw))
    assert registry._METHODS == before


def test_register_family_rejects_non_kebab_id():
    registry.load_plugins()
    before = dict(registry._FAMILIES)
    with pytest.raises(ValueError, match="kebab-case"):
        registry.register_family(dataclasses.replace(registry.get_family("allocate"), id="Bad_Family"))
    assert registry._FAMILIES == before


def test_family_alias_resolves(monkeypatch):
    registry.load_plugins()
    monkeypatch.setattr(registry, "_FAMILIES", dict(registry._FAMILIES))
    monkeypatch.setattr(registry, "_ALIASES", dict(registry._ALIASES))
    registry.register_family(dataclasses.replace(registry.get_family("allocate"), id="fake-fam", aliases=("p9",)))
    assert registry.get_family("p9").id == "fake-fam"
    assert registry.get_family("fake-fam").id == "fake-fam"


def test_unknown_family_is_an_input_error_listing_known():
    with pytest.raises(UnknownNameError) as info:
        registry.get_family("nosuch")
    assert isinstance(info.value, InputError) and isinstance(info.value, OptkitError)
    assert "nosuch" in str(info.value) and "allocate" in str(info.value)
    with pytest.raises(InputError):
        registry.family_api("nosuch")
    with pytest.raises(InputError):
        registry.methods("nosuch")


def test_unknown_method_is_an_input_error_listing_known():
    with pytest.raises(UnknownNameError) as info:
        registry.get_method("allocate", "nosuch")
    assert isinstance(info.value, InputError)
    assert "nosuch" in str(info.value) and "random" in str(info.value) and "allocate" in str(info.value)


def test_parse_method_list_all_and_comma_lists():
    every = registry.parse_method_list("allocate", "all")
    assert [m.id for m in every] == [m.id for m in registry.methods("allocate")]
    assert {"allocate", "random"} <= {m.id for m in every}
    assert [m.id for m in registry.parse_method_list("allocate", "random, allocate")] == ["random", "allocate"]
    assert [m.id for m in registry.parse_method_list("allocate", " random ,")] == ["random"]


@pytest.mark.parametrize("text", ["", "  ", ",", " , ,"])
def test_parse_method_list_empty_is_input_error(text):
    with pytest.raises(InputError, match="--methods"):
        registry.parse_method_list("allocate", text)


def test_parse_method_list_unknown_name():
    with pytest.raises(UnknownNameError, match="nosuch"):
        registry.parse_method_list("allocate", "random,nosuch")


def test_allocate_methods_kind_and_knowledge():
    by_id = {m.id: m for m in registry.methods("allocate")}
    assert (by_id["allocate"].kind, by_id["allocate"].knowledge) == ("exact", "oracle")
    assert (by_id["random"].kind, by_id["random"].knowledge) == ("heuristic", "online")


def test_every_registered_method_and_family_is_well_formed():
    fams = registry.families()
    assert fams, "no family registered"
    for fam in fams:
        assert registry._ID.match(fam.id)
        assert fam.default_scenario in scenario_ids(fam.id)
        assert fam.test_scenario in scenario_ids(fam.id)
        assert "paper-default" in scenario_ids(fam.id)
        assert registry.get_method(fam.id, fam.reference_method).kind == "exact"
    for m in registry.methods():
        assert registry._ID.match(m.id), m
        assert m.kind in registry.KINDS and m.knowledge in registry.KNOWLEDGE, m
        assert m.family in {f.id for f in fams}, m
        module, _, attr = m.entry.partition(":")
        assert module and attr, f"entry '{m.entry}' must be 'module:function'"


# ---------------------------------------------------------------- scenarios


def _all_presets():
    return [(f.id, s) for f in registry.families() for s in scenario_ids(f.id)]


@pytest.mark.parametrize("family, sid", _all_presets())
def test_every_preset_loads(family, sid):
    sc = load_scenario(family, sid)
    assert sc.id == sid and sc.family == family and sc.description
    points = sc.expand()
    assert points and all(isinstance(p.params, dict) and p.params for p in points)
    if sc.points:
        labels = [p.label for p in points]
        assert sc.sweep_name and len(set(labels)) == len(labels) and all(labels)
    else:
        assert [p.label for p in points] == [""]


def test_allocate_has_the_documented_presets():
    assert {"tiny", "small", "paper-default", "paper-literal-energy", "sweep-nodes"} <= set(scenario_ids("allocate"))


def test_preset_merges_over_defaults():
    tiny = load_scenario("allocate", "tiny").params
    defaults = load_scenario("allocate", "paper-default").params
    assert tiny["grid"] == [3, 3] and tiny["R"] == 4
    assert tiny["K"] == defaults["K"]                          # not overridden: from _defaults.toml
    assert tiny["ranges"] == defaults["ranges"]                # nested tables survive
    assert tiny["physics"] == defaults["physics"]


def test_sweep_expand_merges_point_params():
    sc = load_scenario("allocate", "sweep-nodes")
    points = {p.label: p.params for p in sc.expand()}
    assert sc.sweep_name == "N" and list(points) == ["6", "10", "14", "18", "23"]
    assert points["14"]["grid"] == [5, 5] and points["14"]["n_uav"] == 6
    assert points["6"]["n_core"] == 1 and points["6"]["grid"] == [4, 4]
    for params in points.values():                             # everything else is the base preset
        assert params["R"] == sc.params["R"] and params["ranges"] == sc.params["ranges"]
    channels = {p.label: p.params for p in load_scenario("allocate", "sweep-channels").expand()}
    assert channels["2"]["C"] == 2 and channels["8"]["C"] == 8
    assert all(p["R"] == 10 for p in channels.values())       # from the preset's own [params]


def test_expand_does_not_share_state_with_the_scenario():
    sc = load_scenario("allocate", "tiny")
    [point] = sc.expand()
    point.params["ranges"]["cap"][0] = -1.0
    point.params["R"] = 999
    assert sc.expand()[0].params["R"] == 4
    assert sc.expand()[0].params["ranges"]["cap"][0] != -1.0


def test_unknown_scenario_lists_known_ones():
    with pytest.raises(UnknownNameError) as info:
        load_scenario("allocate", "nosuch")
    msg = str(info.value)
    assert isinstance(info.value, InputError)
    assert "nosuch" in msg and "tiny" in msg and "small" in msg and "paper-default" in msg


def test_merge_recursion():
    base = {"a": 1, "n": {"x": 1, "y": {"p": 1, "q": 2}}, "l": [1, 2, 3]}
    over = {"n": {"y": {"q": 20, "r": 30}, "z": 5}, "l": [9], "b": 2}
    out = merge(base, over)
    assert out == {"a": 1, "b": 2, "l": [9], "n": {"x": 1, "y": {"p": 1, "q": 20, "r": 30}, "z": 5}}
    assert base == {"a": 1, "n": {"x": 1, "y": {"p": 1, "q": 2}}, "l": [1, 2, 3]}   # not mutated
    out["n"]["y"]["p"] = 100
    over["l"].append(10)
    assert base["n"]["y"]["p"] == 1 and out["l"] == [9]                            # deep copies
    # a dict replaces a scalar and a scalar replaces a dict
    assert merge({"k": 1}, {"k": {"x": 1}}) == {"k": {"x": 1}}
    assert merge({"k": {"x": 1}}, {"k": 3}) == {"k": 3}


# ---------------------------------------------------------------- Instance base JSON helpers


@dataclasses.dataclass(frozen=True, eq=False)
class ToyInstance(Instance):
    family = "toy"

    n: int
    name: str
    weight: float
    flag: bool
    nested: tuple
    a_int32: np.ndarray
    a_u8: np.ndarray
    a_bool: np.ndarray
    a_f32: np.ndarray
    a_empty: np.ndarray
    a_scalar: np.ndarray


def _toy(**kw):
    base = dict(
        n=3, name="toy", weight=0.1, flag=True, nested=[[1, 2], [3]],
        a_int32=np.arange(6, dtype=np.int32).reshape(2, 3),
        a_u8=np.array([[[0, 1], [1, 0]]], dtype=np.uint8),
        a_bool=np.array([True, False]),
        a_f32=np.array([0.1, 1e-30, -2.5], dtype=np.float32),
        a_empty=np.zeros((0, 3)),
        a_scalar=np.array(1.0 / 3.0),
    )
    base.update(kw)
    return ToyInstance(**base)


def test_instance_freezes_lists_and_arrays():
    src = np.arange(3)
    inst = _toy(a_int32=src, nested=[[1, 2], [3, [4]]])
    assert inst.nested == ((1, 2), (3, (4,)))
    assert isinstance(inst.nested, tuple) and isinstance(inst.nested[1][1], tuple)
    assert not inst.a_int32.flags.writeable
    with pytest.raises(ValueError):
        inst.a_int32[0] = 10
    src[0] = 99                                   # the instance holds its own copy
    assert inst.a_int32[0] == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        inst.n = 4


def test_instance_json_round_trip_keeps_dtype_shape_and_values():
    inst = _toy()
    data = json.loads(inst.to_json())
    assert data["optkit_instance"] == 1 and data["family"] == "toy"
    assert data["fields"]["a_int32"] == {"__ndarray__": [[0, 1, 2], [3, 4, 5]], "dtype": "<i4", "shape": [2, 3]}
    back = ToyInstance.from_json(inst.to_json())
    for f in dataclasses.fields(ToyInstance):
        a, b = getattr(inst, f.name), getattr(back, f.name)
        if isinstance(a, np.ndarray):
            assert b.dtype == a.dtype and b.shape == a.shape and np.array_equal(a, b), f.name
            assert not b.flags.writeable
        else:
            assert type(a) is type(b) and a == b, f.name
    assert back.nested == ((1, 2), (3,))
    assert back.to_json() == inst.to_json()


def test_instance_save_load(tmp_path):
    path = tmp_path / "sub" / "toy.json"
    inst = _toy()
    inst.save(path)
    assert read_instance_family(path) == "toy"
    assert ToyInstance.load(path).to_json() == inst.to_json()
    assert [p.name for p in path.parent.iterdir()] == ["toy.json"]


def test_instance_to_json_refuses_nan():
    with pytest.raises(ValueError):
        _toy(weight=float("nan")).to_json()


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.__setitem__("family", "other"), "family"),
    (lambda d: d.pop("optkit_instance"), "optkit_instance"),
    (lambda d: d.pop("fields"), "fields"),
    (lambda d: d.__setitem__("fields", [1]), "fields"),
    (lambda d: d["fields"].pop("weight"), "weight"),
    (lambda d: d["fields"].__setitem__("extra", 1), "extra"),
    (lambda d: d["fields"].__setitem__("weight", {"x": 1}), "tagged arrays"),
    (lambda d: d["fields"]["a_int32"].__setitem__("shape", [7]), "malformed array"),
    (lambda d: d["fields"]["a_int32"].__setitem__("dtype", "nosuch"), "malformed array"),
    (lambda d: d["fields"]["a_int32"].pop("dtype"), "malformed array"),
])
def test_instance_from_dict_rejects_bad_documents(mutate, message):
    data = json.loads(_toy().to_json())
    mutate(data)
    with pytest.raises(InputError, match=message):
        ToyInstance.from_dict(data)


def test_instance_from_json_rejects_malformed_json():
    with pytest.raises(InputError, match="not valid JSON"):
        ToyInstance.from_json('{"family": ')


def test_read_instance_family_errors(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        read_instance_family(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    with pytest.raises(InputError, match="not valid JSON"):
        read_instance_family(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(InputError, match="family"):
        read_instance_family(bad)


def test_write_text_atomic_leaves_no_temp_file(tmp_path):
    target = tmp_path / "deep" / "er" / "out.json"
    write_text_atomic(target, "first")
    write_text_atomic(target, "second")
    assert target.read_text() == "second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.json"]

def test_write_text_atomic_failure_leaves_nothing_and_is_input_error(tmp_path):
    target = tmp_path / "out.json"
    target.mkdir()
    with pytest.raises(InputError):
        write_text_atomic(target, "text")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_validation_helpers():
    check_finite("x", [1.0, 2.0], positive=True)
    check_finite("x", [], positive=True)
    with pytest.raises(ValidationError, match="x: must be finite"):
        check_finite("x", [1.0, float("nan")])
    with pytest.raises(ValidationError, match="must be > 0"):
        check_finite("x", [0.0], positive=True)
    with pytest.raises(ValidationError, match=">= 0"):
        check_finite("x", -1.0, min_value=0.0)
    check_shape("x", np.zeros((2, 3)), (2, 3))
    with pytest.raises(ValidationError, match=r"x: must have shape \(3, 2\), got \(2, 3\)"):
        check_shape("x", np.zeros((2, 3)), (3, 2))
    check_int("x", np.int64(3), min_value=0)
    for bad in (True, 1.0, "1"):
        with pytest.raises(ValidationError, match="integer"):
            check_int("x", bad)
    with pytest.raises(ValidationError, match=">= 1"):
        check_int("x", 0, min_value=1)
    err = ValidationError("cap", "must be > 0")
    assert (err.field, err.rule, str(err)) == ("cap", "must be > 0", "cap: must be > 0")
    assert isinstance(err, InputError)

@pytest.mark.parametrize("value", ["abc", ["1", "x"], {"a": 1}])
def test_check_finite_mistyped_value_is_validation_error(value):
    with pytest.raises(ValidationError, match="x:"):
        check_finite("x", value)


# ---------------------------------------------------------------- optkit.api


def test_make_instance_default_scenario_and_determinism():
    fam = registry.get_family("allocate")
    inst = api.make_instance("allocate")
    assert inst.preset == fam.default_scenario and inst.seed == 0 and inst.family == "allocate"
    a = api.make_instance("allocate", "tiny", 3)
    b = api.make_instance("allocate", "tiny", 3)
    c = api.make_instance("allocate", "tiny", 4)
    assert a.to_json() == b.to_json() != c.to_json()
    assert a.preset == "tiny" and a.seed == 3


def test_make_instance_sweep_point():
    inst = api.make_instance("allocate", "sweep-nodes", 0, point="6")
    assert inst.preset == "sweep-nodes:6"
    assert (inst.n_core, inst.n_rsu, inst.n_uav) == (1, 3, 2)


def test_sweep_preset_requires_point():
    with pytest.raises(InputError) as info:
        api.make_instance("allocate", "sweep-nodes", 0)
    msg = str(info.value)
    assert msg.startswith("--point:") and "sweep-nodes" in msg
    assert all(label in msg for label in ("6", "10", "14", "18", "23"))


def test_unknown_point_and_point_on_plain_preset():
    with pytest.raises(InputError, match=r"--point: '99' is not a point of 'sweep-nodes'"):
        api.make_instance("allocate", "sweep-nodes", 0, point="99")
    with pytest.raises(InputError, match="--point: scenario 'tiny' is not a sweep"):
        api.make_instance("allocate", "tiny", 0, point="6")


def test_make_instance_unknown_names():
    with pytest.raises(UnknownNameError, match="formulation 'nosuch'"):
        api.make_instance("nosuch", "tiny", 0)
    with pytest.raises(UnknownNameError, match="scenario"):
        api.make_instance("allocate", "nosuch", 0)


@pytest.mark.parametrize("overrides, field", [
    ({"R": -1}, "R"),
    ({"alpha": float("nan")}, "alpha"),
    ({"alpha": -1.0}, "alpha"),
    ({"ranges": {"cap": [-5.0, 1.0]}}, "cap"),
    ({"ranges": {"cap": [float("nan"), 1.0]}}, "cap"),
    ({"physics": {"air_density": -1.0}}, "air_density"),
    ({"T": 2.5}, "T"),
    ({"nosuch": 1}, "nosuch"),
    ({"grid": [0, 3]}, "grid"),
    pytest.param({"cell_side_m": "x"}, "cell_side_m"),
    pytest.param({"physics": {"drag_coeff": "x"}}, "drag_coeff"),
    pytest.param({"uav_weight_as_force": "no"}, "uav_weight_as_force"),
])
def test_make_instance_rejects_bad_parameters(overrides, field):
    with pytest.raises(InputError) as info:
        api.make_instance("allocate", "tiny", 0, overrides=overrides)
    assert field in str(info.value)


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True])
def test_make_instance_rejects_bad_seed(seed):
    with pytest.raises(InputError, match="seed"):
        api.make_instance("allocate", "tiny", seed)


def test_load_instance_round_trip_and_family_mismatch(tmp_path):
    inst = api.make_instance("allocate", "tiny", 2)
    path = tmp_path / "inst.json"
    inst.save(path)
    assert api.load_instance(path).to_json() == inst.to_json()
    assert api.load_instance(path, "allocate").to_json() == inst.to_json()
    data = json.loads(path.read_text())
    data["family"] = "leo-handover"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(data))
    with pytest.raises(InputError, match="'leo-handover' instance, not 'allocate'"):
        api.load_instance(other, "allocate")
    with pytest.raises(InputError, match="missing field"):          # a registered family, another schema
        api.load_instance(other)
    data["family"] = "no-such-family"
    other.write_text(json.dumps(data))
    with pytest.raises(UnknownNameError):
        api.load_instance(other)
    with pytest.raises(InputError, match="cannot read"):
        api.load_instance(tmp_path / "missing.json", "allocate")


def test_method_options_rejects_options_a_method_does_not_take():
    spec = registry.get_method("allocate", "random")
    with pytest.raises(InputError, match="--gap: method 'random' does not take this option"):
        api.method_options(spec, {"gap": 0.1})
    with pytest.raises(InputError, match="--export-model"):
        api.method_options(spec, {"export_model": "m.lp"})
    assert api.method_options(spec, {"time_limit": None, "gap": None, "solver": None}) == {}
    assert api.method_options(spec, {"time_limit": 5.0}) == {"time_limit": 5.0}
    exact = registry.get_method("allocate", "allocate")
    assert api.method_options(exact, {"gap": 0.1, "solver": "highs", "threads": None}) == {"gap": 0.1, "solver": "highs"}


def test_api_solve_and_evaluate_random():
    from optkit.solution import Solution, Status

    fam_api = registry.family_api("allocate")
    inst = api.make_instance("allocate", "tiny", 1)
    sol = api.solve(inst, "random", seed=0)
    assert isinstance(sol, Solution) and sol.status == Status.FEASIBLE and sol.method == "random"
    assert "wall_s" in sol.info
    ev = api.evaluate(inst, sol)
    assert {m.id for m in fam_api.metrics} <= set(ev.metrics)
    with pytest.raises(InputError, match="--gap"):
        api.solve(inst, "random", gap=0.1)
    with pytest.raises(UnknownNameError):
        api.solve(inst, "nosuch")


def test_worst_status_orders_from_optimal_to_error():
    from optkit.solution import Status, worst_status

    assert worst_status([Status.OPTIMAL, Status.TIME_LIMIT, Status.FEASIBLE], Status.OPTIMAL) == Status.TIME_LIMIT
    assert worst_status([Status.INFEASIBLE, Status.ERROR], Status.OPTIMAL) == Status.ERROR
    assert worst_status([], Status.ERROR) == Status.ERROR
