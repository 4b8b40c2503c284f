"""Declared instance fields (optkit.fields) and the failures the issue measured: every one is exit 2 with one line
naming the field, the value and the rule, or an estimate for oversize work."""
from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from optkit.cli import app
from optkit.errors import ValidationError
from optkit.fields import Field, estimate_check, human_bytes, validate_fields

FIELDS = (
    Field("n", "int", 1, 100),
    Field("speed", "float", 0.0, 340.0, low_open=True, unit="m/s"),
    Field("on", "bool"),
    Field("mode", "str", choices=("a", "b")),
    Field("pair", "list", 0.0, 1.0, shape=(2,)),
    Field("rows", "nested", 0, 9, element="int"),
    Field("x", "array", -1.0, 1.0, shape=("n", 2), dtype="float64"),
    Field("k", "array", 0, None, shape=("m",), dtype="int64"),
)


def good(**changes) -> dict:
    value = {"n": 2, "speed": 10.0, "on": True, "mode": "a", "pair": (0.1, 0.9), "rows": ((1, 2), (3,)),
             "x": np.zeros((2, 2)), "k": np.arange(3, dtype=np.int64)}
    value.update(changes)
    return value


def fails(value, sizes=None) -> ValidationError:
    with pytest.raises(ValidationError) as exc:
        validate_fields(value, FIELDS, sizes if sizes is not None else {"m": 3})
    return exc.value


def test_valid_values_pass_and_sizes_may_be_computed():
    validate_fields(good(), FIELDS, {"m": 3})
    validate_fields(good(), FIELDS, lambda v: {"m": len(v["k"])})


@pytest.mark.parametrize("changes,field,words", [
    ({"n": 2.0}, "n", ["2.0", "integer"]),
    ({"n": True}, "n", ["integer"]),
    ({"n": 2**70}, "n", [str(2**70)[:10], "[1, 100]"]),
    ({"speed": 1e30}, "speed", ["1e+30", "(0, 340] m/s"]),
    ({"speed": 0.0}, "speed", ["0.0", "(0, 340]"]),
    ({"speed": float("nan")}, "speed", ["nan", "finite"]),
    ({"speed": [1.0, 2.0]}, "speed", ["number"]),
    ({"speed": "10"}, "speed", ["number"]),
    ({"on": 1}, "on", ["true or false"]),
    ({"mode": "c"}, "mode", ["'c'", "'a', 'b'"]),
    ({"pair": (0.1, 0.2, 0.3)}, "pair", ["2 entries"]),
    ({"pair": (0.1, 2.0)}, "pair", ["2.0", "[0, 1]"]),
    ({"rows": ((1, 2.5),)}, "rows", ["lists of ints"]),
    ({"x": np.zeros((2, 2), dtype=np.float16)}, "x", ["'<f2'", "float64"]),
    ({"x": np.array([["a", "b"], ["c", "d"]])}, "x", ["'<U1'", "float64"]),
    ({"x": np.zeros((3, 2))}, "x", ["(3, 2)", "(2, 2)"]),
    ({"x": np.array([[0.0, 0.0], [0.0, np.inf]])}, "x", ["entry [1, 1]", "inf"]),
    ({"k": np.array([0, -1, 2], dtype=np.int64)}, "k", ["entry [1] = -1", ">= 0"]),
])
def test_one_line_names_field_value_and_rule(changes, field, words):
    error = fails(good(**changes))
    assert error.field == field
    text = str(error)
    assert "\n" not in text and text.startswith(f"{field}: ")
    for word in words:
        assert word in text, f"{word!r} not in {text!r}"


def test_estimate_check_gives_the_estimate():
    estimate_check("h", "the lattice", 2**30)
    with pytest.raises(ValidationError) as exc:
        estimate_check("h", "the lattice", 398 * 2**40)
    assert exc.value.field == "h" and "398 TiB" in str(exc.value) and "limit 8 GiB" in str(exc.value)
    assert human_bytes(1536) == "1.5 KiB"


def test_every_family_declares_every_instance_field():
    """Each declared field exists on the instance, and each instance field of the three families is declared."""
    import dataclasses

    from optkit.api import make_instance
    from optkit.formulations.allocate import schema as allocate
    from optkit.formulations.leo_handover import schema as leo
    from optkit.formulations.sagin import schema as sagin
    from optkit.formulations.sagin.instance import KINDS

    declared = {"allocate": {f.name for f in allocate.FIELDS}, "leo-handover": {f.name for f in leo.FIELDS},
                "sagin": {f.name for f in sagin.param_fields(KINDS) + sagin.DERIVED}}
    family_checked = {"leo-handover": {"state_features"},     # a list of names, checked by the family
                      "sagin": {n for n, k in KINDS.items() if k not in ("f", "i", "b", "s", "fl", "i2", "f3",
                                                                       "xy", "xyz", "box")}}
    for family, test_preset in (("allocate", "tiny"), ("leo-handover", "smoke"), ("sagin", "ref-tiny")):
        names = {f.name for f in dataclasses.fields(make_instance(family, test_preset, 0))}
        assert declared[family] <= names, family
        assert names - declared[family] <= family_checked.get(family, set()), (family, names - declared[family])


# ---------------------------------------------------------------- the measured failures, through the CLI

def solve_file(tmp_path, family, preset, change, *extra):
    from optkit.api import make_instance

    data = json.loads(make_instance(family, preset, 0).to_json())
    change(data["fields"])
    path = tmp_path / "inst.json"
    path.write_text(json.dumps(data))
    method = {"allocate": "random", "sagin": "sl", "leo-handover": "distance"}[family]
    args = ["solve", "-f", family, "--instance", str(path), "--format", "json", "--time-limit", "5", *extra]
    if "-m" not in extra:
        args += ["-m", method, "--no-reference"]
    return CliRunner().invoke(app, args)


def _set(name, value):
    return lambda f: f.__setitem__(name, value)


def _tag(name, tag):
    return lambda f: f[name].__setitem__("dtype", tag)


def _entry(name, value):
    def change(f):
        f[name]["__ndarray__"][0] = value
    return change


def _flip_first_wireless(f):
    flags = f["link_wireless"]["__ndarray__"]
    flags[-1] = not flags[-1]


@pytest.mark.parametrize("family,preset,change,field", [
    ("leo-handover", "smoke", _tag("incl_deg", "<U3"), "incl_deg"),
    ("leo-handover", "smoke", _tag("alt_km", "<f2"), "alt_km"),
    ("leo-handover", "smoke", _set("terminal_speed_mps", 1e30), "terminal_speed_mps"),
    ("leo-handover", "smoke", _entry("episodes", [0, 10, 2**70]), "episodes"),
    ("allocate", "tiny", _set("n_functions", 1e30), "n_functions"),
    ("allocate", "tiny", _set("carrier_hz", 1e39), "carrier_hz"),
    ("allocate", "tiny", _set("air_density", 1e308), "air_density"),
    ("allocate", "tiny", _set("alpha", [0.001]), "alpha"),
    ("allocate", "tiny", _entry("weather", float("inf")), "weather"),
    ("allocate", "tiny", _flip_first_wireless, "link_wireless"),
    ("allocate", "tiny", _tag("cap", "<i8"), "cap"),
    ("sagin", "ref-tiny", _set("ref_kappa0", 2**31), "ref_kappa0"),
    ("sagin", "ref-tiny", _set("ref_h", 0.5), "ref_h"),
    ("sagin", "ref-tiny", _set("sn_fc", 1e30), "sn_fc"),
])
def test_measured_bad_files_exit_2_naming_the_field(tmp_path, family, preset, change, field):
    result = solve_file(tmp_path, family, preset, change)
    assert result.exit_code == 2, result.output
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and field in errors[0], result.stderr
    assert "Traceback" not in result.output


def test_oversize_lattice_is_refused_with_its_estimate(tmp_path):
    result = solve_file(tmp_path, "sagin", "ref-tiny", _set("ref_h", 1.0), "-m", "lattice-dp")
    assert result.exit_code == 2, result.output
    assert "ref_h: the lattice reference" in result.stderr and "would need about" in result.stderr


@pytest.mark.parametrize("tag,values,ok", [
    ("<f8", [1, 2], True),                 # integers are exact in float64
    ("<i8", [1.0, 2.0], True),
    ("<i8", [1.5, 2.0], False),            # would truncate
    ("<f4", [0.1], False),                 # would round
    ("<f2", [1.0], False),                 # half precision is never an optkit array
    ("<U3", [1.0], False),
    ("|b1", [1, 0], False),                # numbers are not booleans
    ("|b1", [True, False], True),
    ("<i8", [2**70], False),
])
def test_loader_never_changes_array_values(tag, values, ok):
    from optkit.errors import InputError
    from optkit.instance import _from_jsonable

    raw = {"__ndarray__": values, "dtype": tag, "shape": [len(values)]}
    if ok:
        assert _from_jsonable(raw).tolist() == values
    else:
        with pytest.raises(InputError):
            _from_jsonable(raw)
