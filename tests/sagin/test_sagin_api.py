"""sagin through the core: registration and aliases, the references as methods, §6.5 comparison in the CLI and the
bench (per-cell records for the report), Gymnasium registration, and bad input (one line, exit 2).

Section (§), equation (E) and decision (D) numbers refer to docs/families/sagin.md.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from optkit import registry
from optkit.api import make_instance, solve
from optkit.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


def last_json(res) -> dict:
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def instance_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("sagin-cli") / "ref-tiny.json"
    res = run("instance", "-f", "sagin", "-s", "ref-tiny", "-o", str(path))
    assert res.exit_code == 0, res.output
    return path


@pytest.fixture(scope="module")
def reference_run():
    return last_json(run("solve", "-f", "p2-lattice", "-s", "ref-tiny", "--format", "json"))


@pytest.mark.parametrize("alias", ["p0", "p1", "p2", "p2-lattice", "sagin"])
def test_aliases_select_the_family(alias):
    assert registry.get_family(alias).id == "sagin"


def test_reference_solves_ref_tiny_by_alias(reference_run):
    out = reference_run
    assert out["method"] == "lattice-dp" and out["status"] == "optimal"
    m = out["metrics"]
    assert m["success"] == 1.0 and m["direction_violations"] == 0 and m["ref_is_lattice_value"] == 1.0
    # against itself: J*_L (the DP's own value, `method_objective`; it bounds lattice paths only, so no `bound`) vs
    # the evaluator's J, equal up to tick rounding (check 29)
    j_l = out["method_objective"]
    assert out["bound"] is None and out["gap"] is None and out["method_bound"] == j_l
    assert m["gap_ref"] == pytest.approx(j_l - m["objective"]) and m["frac_ref"] == pytest.approx(m["objective"] / j_l)
    assert abs(m["objective"] - j_l) <= 0.02 * (abs(j_l) + 1)


def test_baseline_is_compared_with_the_reference(reference_run):
    m = last_json(run("solve", "-f", "sagin", "-s", "ref-tiny", "-m", "sl", "--format", "json"))["metrics"]
    ref, j_l = reference_run["metrics"], reference_run["method_objective"]   # §6.5: J* = J*_L, segment gains
    assert m["gap_ref"] == pytest.approx(j_l - m["objective"])
    assert m["frac_ref"] == pytest.approx(m["objective"] / j_l)
    assert m["time_ratio_ref"] == pytest.approx(ref["flight_time_s"] / m["flight_time_s"])
    assert m["time_ratio_ref"] > 1.0          # the straight line is the shortest path: the lattice path is longer


def test_milp_reference_equals_dp_through_the_method_interface():
    inst = make_instance("sagin", "ref-tiny", 0)
    dp, milp = solve(inst, "lattice-dp"), solve(inst, "p2l-milp", time_limit=120)
    assert dp.status == milp.status == "optimal"
    assert milp.objective == pytest.approx(dp.objective, rel=1e-6)                 # check 26
    node = solve(inst, "lattice-dp", gain_mode="node")
    assert node.info["gain_mode"] == "node" and np.isfinite(node.objective)


def test_bench_keeps_a_record_per_cell(tmp_path):
    from optkit.bench import benchmark, read_records

    df = benchmark("sagin", "ref-tiny", methods="sl,lattice-dp", seeds="0", out=tmp_path)
    assert set(df["method"]) == {"sl", "lattice-dp"} and (df["status"] != "error").all(), df["message"].tolist()
    ref = df[df["method"] == "lattice-dp"].iloc[0]
    sl = df[df["method"] == "sl"].iloc[0]
    j_l = ref["method_objective"]                                     # the DP's lattice value, §6.5 yardstick
    assert ref["frac_ref"] == pytest.approx(ref["objective"] / j_l) and ref["ref_is_lattice_value"] == 1.0
    assert sl["frac_ref"] == pytest.approx(sl["objective"] / j_l)
    assert sl["gap_ref"] == pytest.approx(j_l - sl["objective"])
    assert np.isnan(sl["frac_bound"])                                # the lattice optimum bounds P2-L only
    records = {r["method"]: r["record"] for r in read_records(tmp_path)}
    assert set(records) == {"sl", "lattice-dp"}
    inst = make_instance("sagin", "ref-tiny", 0)
    for method, rec in records.items():
        pos = np.asarray(rec["positions"][0])
        assert np.allclose(pos[0], inst.starts_test[0]) and np.allclose(pos[-1], inst.uav_destination)
        assert len(rec["serving"][0]) == pos.shape[0] - 1
        assert rec["uavs"][0]["objective"] == pytest.approx(df[df["method"] == method].iloc[0]["objective"])
    assert records["lattice-dp"]["lattice_values"][0] == pytest.approx(ref["method_objective"])


def test_gymnasium_registration():
    import gymnasium

    import optkit.envs  # noqa: F401 - registers the environments

    env = gymnasium.make("optkit/Sagin-v0", scenario="ref-tiny")
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    multi = gymnasium.make("optkit/SaginMulti-v0", scenario="ref-tiny")
    obs, _ = multi.reset(seed=0)
    assert multi.observation_space.contains(obs)


def _edited(instance_file, tmp_path, edit) -> str:
    data = json.loads(instance_file.read_text())
    edit(data["fields"])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    return str(path)


def _empty_bs_set(f):
    for net in ("gn", "an"):
        f[f"{net}_sites_xy"] = {"__ndarray__": [], "dtype": "<f8", "shape": [0, 2]}
    f["sn_n_sats"] = 0


def _nan_fading(f):
    f["fading_re"]["__ndarray__"][0][0] = None


@pytest.mark.parametrize("edit, needle", [
    (lambda f: f.update(uav_speed=-5.0), "uav_speed"),
    (lambda f: f.update(uav_destination=[1400.0, 1600.0, 500.0]), "uav_destination"),
    (_empty_bs_set, "sites_xy"),
    (_nan_fading, "fading_re"),
    (lambda f: f.update(uav_step_length=float("nan")), "uav_step_length"),
])
def test_bad_instance_fields_exit_2(instance_file, tmp_path, edit, needle):
    res = run("solve", "-f", "sagin", "--instance", _edited(instance_file, tmp_path, edit), "-m", "sl",
              "--no-reference")
    assert res.exit_code == 2, res.output
    assert needle in res.output and "Traceback" not in res.output


@pytest.mark.parametrize("args, needle", [
    (["-m", "lattice-dp", "-O", "gain_mode=bogus"], "gain_mode"),
    (["-m", "sl", "-O", "gain_mode=node"], "does not take"),
    (["-m", "ddqn_csac"], "unknown method"),
    (["-s", "no-such-preset"], "no-such-preset"),
])
def test_bad_options_exit_2(args, needle):
    res = run("solve", "-f", "sagin", *(["-s", "ref-tiny"] if "-s" not in args else []), *args)
    assert res.exit_code == 2, res.output
    assert needle in res.output


def test_negative_speed_preset_override_is_refused(tmp_path):
    from optkit.errors import InputError

    with pytest.raises(InputError, match="uav_speed"):
        make_instance("sagin", "ref-tiny", 0, overrides={"uav": {"speed": -1.0}})
