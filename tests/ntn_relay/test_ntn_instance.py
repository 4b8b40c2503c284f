"""ntn-relay instances: validation rules of §3.5 (check 26), the seed rule (check 25), JSON round trip, and bad input
through the command line (one line, exit 2)."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from typer.testing import CliRunner

from optkit.api import make_instance
from optkit.cli import app
from optkit.errors import ValidationError
from optkit.formulations.ntn_relay.instance import NtnRelayInstance

runner = CliRunner()


def make(preset="smoke", seed=0, point=None, **overrides):
    return make_instance("ntn-relay", preset, seed, point=point, overrides=overrides or None)


@pytest.mark.parametrize("overrides, field", [
    ({"fso_apr": 0.0}, "fso_apr"), ({"fso_apr": 1.5}, "fso_apr"),
    ({"visibility_km": 0.0}, "visibility_km"), ({"visibility_km": -5.0}, "visibility_km"),
    ({"bandwidth_hz": 0.0}, "bandwidth_hz"), ({"dt_s": -1.0}, "dt_s"),
    ({"K": 0}, "K"), ({"accel_levels": 0}, "accel_levels"), ({"a_max_mps2": -0.1}, "a_max_mps2"),
    ({"v_min_mps": 0.0}, "v_min_mps"), ({"v_min_mps": 120.0}, "v_min_mps"),
    ({"uav_init_vel_mps": [[200.0, 0.0], [30.0, 0.0]]}, "uav_init_vel_mps"),
    ({"uav_init_vel_mps": [[1.0, 0.0], [30.0, 0.0]]}, "uav_init_vel_mps"),
    ({"relay_init_xy_km": [[5000.0, 1500.0], [2000.0, 2500.0]]}, "relay_init_xy_km"),
    ({"n_candidates": 0}, "n_candidates"), ({"n_candidates": 23}, "n_candidates"),
    ({"relay_init_xy_km": [[2000.0, 1500.0]]}, "relay_init_xy_km"),
    ({"uav_init_vel_mps": [[30.0, 0.0]]}, "uav_init_vel_mps"),
    ({"path_template": "S-D"}, "relay_kind"), ({"relay_kind": "none"}, "relay_kind"),
    ({"reward_mode": "fair", "K": 1}, "reward_mode"),
    ({"link_mode": "laser"}, "link_mode"), ({"path_template": "S-X-D"}, "path_template"),
    ({"reward_mode": "profit"}, "reward_mode"),
    ({"sats_per_lane": 0}, "sats_per_lane"), ({"sat_altitude_km": -550.0}, "sat_altitude_km"),
    ({"bogus": 1}, "bogus"),
])
def test_each_rule_names_its_field(overrides, field):
    with pytest.raises(ValidationError) as err:
        make(**overrides)
    assert err.value.field == field


def test_warning_cases_warn_and_build():
    with pytest.warns(UserWarning, match="n_candidates"):
        inst = make(n_candidates=3)
    assert inst.n_candidates == 3
    with pytest.warns(UserWarning, match="D_max"):
        make(relay_init_xy_km=[[2000.0, 500.0], [2000.0, 3500.0]])
    with warnings.catch_warnings():                    # the mobility presets start within D_max (check 23)
        warnings.simplefilter("error")
        make("mobility-k1")
        make("mobility-k2")


def test_seed_rule():
    a, b = make("paper-default", 0), make("paper-default", 3)
    fa, fb = json.loads(a.to_json())["fields"], json.loads(b.to_json())["fields"]
    assert fa.pop("seed") == 0 and fb.pop("seed") == 3 and fa == fb
    r0 = json.loads(make("random-k2", 0).to_json())["fields"]
    for key in ("randomize", "preset", "seed"):
        r0.pop(key), fa.pop(key, None)
    assert r0 == fa                                    # seed 0 of random-k2 is the deterministic layout
    layouts = {tuple(np.ravel(make("random-k2", s).relay_init_xy_km)) for s in range(1, 11)}
    assert len(layouts) == 10
    inst = make("random-k2", 4)
    xy = np.asarray(inst.relay_init_xy_km)
    assert 100.0 <= np.linalg.norm(xy[0] - xy[1]) <= 0.8 * 1498.96229
    assert np.allclose(np.linalg.norm(inst.uav_init_vel_mps, axis=1), (2250 / (3 * 9.26e-4)) ** 0.25)


def test_json_round_trip_and_auto_resolution():
    inst = make("sat-only", point="88")
    assert inst.K == 1 and inst.n_candidates == 8
    back = NtnRelayInstance.from_json(inst.to_json())
    assert back.to_json() == inst.to_json()
    d = make("paper-default")
    assert d.lane_phase_km[1] == pytest.approx(1976.633 / 2, rel=1e-6) and d.relay_init_xy_km == (
        (2000.0, 1500.0), (2000.0, 2500.0))
    assert make("paper-default", K=3).relay_init_xy_km[1] == (2000.0, 2000.0)


def run(*args):
    return runner.invoke(app, list(args))


@pytest.mark.parametrize("args, needle", [
    (["-s", "no-such-preset"], "unknown scenario"),
    (["-s", "smoke", "-m", "no-such-method"], "unknown method"),
    (["-s", "smoke", "-m", "sca-dinkelbach", "-O", "objective=profit"], "objective"),
    (["-s", "smoke", "-m", "sca-dinkelbach", "-O", "sca_iters=0"], "sca_iters"),
    (["-s", "smoke", "-m", "static-loiter", "-O", "loiter_radius_km=-1"], "loiter_radius_km"),
])
def test_bad_cli_input_exits_2(args, needle):
    res = run("solve", "-f", "ee-max", *args)
    assert res.exit_code == 2, res.output
    assert needle in res.output


@pytest.mark.parametrize("field, value, needle", [
    ("visibility_km", -1.0, "visibility_km"), ("fso_apr", 2.0, "fso_apr"), ("n_candidates", 40, "n_candidates"),
    ("bandwidth_hz", -1e9, "bandwidth_hz"), ("sats_per_lane", 0, "sats_per_lane"),
])
def test_bad_instance_file_exits_2(tmp_path, field, value, needle):
    path = tmp_path / "smoke.json"
    assert run("instance", "-f", "ntn-relay", "-s", "smoke", "-o", str(path)).exit_code == 0
    data = json.loads(path.read_text())
    data["fields"][field] = value
    path.write_text(json.dumps(data))
    res = run("solve", "-f", "ntn-relay", "--instance", str(path))
    assert res.exit_code == 2, res.output
    assert needle in res.output and len(res.output.strip().splitlines()) == 1


def test_solve_by_alias_runs_the_reference():
    res = run("solve", "-f", "ee-max", "-s", "smoke", "--format", "json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["method"] == "static-loiter" and out["status"] == "feasible"
    assert out["metrics"]["ee_kbit_per_j"] > 200
