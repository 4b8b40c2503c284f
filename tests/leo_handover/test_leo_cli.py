"""leo-handover through the command line: the main job, method options, training options, bad input (exit 2)."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from optkit.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


@pytest.fixture(scope="module")
def instance_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("leo-cli") / "smoke.json"
    res = run("instance", "-f", "leo-handover", "-s", "smoke", "-o", str(path))
    assert res.exit_code == 0, res.output
    return path


def test_solve_reference_by_alias_gives_minimum_handovers():
    res = run("solve", "-f", "handover", "-s", "smoke", "--format", "json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["method"] == "offline-dp" and out["status"] == "optimal"
    m = out["metrics"]
    assert m["handovers"] == m["h_min"] and m["eta_ho"] == 1.0 and m["frac_opt"] == 1.0


def test_method_option_reaches_the_method():
    lex = json.loads(run("solve", "-f", "leo-handover", "-s", "smoke", "--format", "json").stdout.splitlines()[-1])
    res = run("solve", "-f", "leo-handover", "-s", "smoke", "-O", "lam=0", "--format", "json")
    assert res.exit_code == 0, res.output
    greedy = json.loads(res.stdout.splitlines()[-1])
    # λ = 0 maximizes Σq without caring for handovers: more handovers and more reward than the lexicographic schedule
    assert greedy["metrics"]["reward"] > lex["metrics"]["reward"]
    assert greedy["metrics"]["handovers"] > lex["metrics"]["handovers"]
    assert greedy["metrics"]["eta_g"] == pytest.approx(1.0)


@pytest.mark.parametrize("args, needle", [
    (["-m", "offline-dp", "-O", "lam=-1"], "lam"),
    (["-m", "offline-dp", "-O", "lam"], "KEY=VALUE"),
    (["-m", "offline-dp", "-O", "lam=1", "-O", "lam=2"], "more than once"),
    (["-m", "mrt", "-O", "lam=1"], "does not take"),
    (["-m", "offline-dp", "-O", "seed=3"], "own flag"),
    (["-m", "dqn-listingA"], "unknown method"),
])
def test_bad_options_exit_2(args, needle):
    res = run("solve", "-f", "leo-handover", "-s", "smoke", *args)
    assert res.exit_code == 2, res.output
    assert needle in res.output


@pytest.mark.parametrize("field, value, needle", [
    ("alt_min_km", 100.0, "alt_min_km"),
    ("terminal_speed_mps", -5.0, "terminal_speed_mps"),
    ("n_candidates", 0, "n_candidates"),
    ("footprint_metric", "bogus", "footprint_metric"),
    ("alt_km", None, "alt_km"),
])
def test_bad_instance_fields_exit_2(instance_file, tmp_path, field, value, needle):
    data = json.loads(instance_file.read_text())
    if field == "alt_km":
        data["fields"]["alt_km"]["__ndarray__"][0] = None        # NaN in an orbit array
    else:
        data["fields"][field] = value
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    res = run("solve", "-f", "leo-handover", "--instance", str(path), "-m", "mrt", "--no-reference")
    assert res.exit_code == 2, res.output
    assert needle in res.output


def test_malformed_world_file_exit_2(tmp_path, instance_file):
    path = tmp_path / "cut.json"
    path.write_text(instance_file.read_text()[:500])
    res = run("solve", "-f", "leo-handover", "--instance", str(path))
    assert res.exit_code == 2 and "not valid JSON" in res.output


def test_instance_file_round_trip_scores_like_the_preset(instance_file):
    from_file = run("solve", "-f", "leo-handover", "--instance", str(instance_file), "-m", "mrt", "--format", "json",
                    "--no-reference")
    from_preset = run("solve", "-f", "leo-handover", "-s", "smoke", "-m", "mrt", "--format", "json", "--no-reference")
    assert from_file.exit_code == 0 and from_preset.exit_code == 0
    a = json.loads(from_file.stdout.splitlines()[-1])["metrics"]
    b = json.loads(from_preset.stdout.splitlines()[-1])["metrics"]
    assert a == b


def test_train_takes_episode_and_base_seed_options(cache_dir):
    res = run("train", "-f", "leo-handover", "-s", "smoke", "-m", "qlearning", "--budget", "smoke",
              "-O", "episodes=3", "-O", "base_seed=0")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["episodes"] == 3 and out["cache_hit"] is False
    again = json.loads(run("train", "-f", "leo-handover", "-s", "smoke", "-m", "qlearning", "--budget", "smoke",
                           "-O", "episodes=3").stdout.strip().splitlines()[-1])
    assert again["cache_hit"] is True and again["path"] == out["path"]
    bad = run("train", "-f", "leo-handover", "-s", "smoke", "-m", "qlearning", "-O", "lam=1")
    assert bad.exit_code == 2 and "does not take" in bad.output
