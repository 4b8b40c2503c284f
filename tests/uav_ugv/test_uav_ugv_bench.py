"""The Part A experiments run through `optkit bench --experiment … --budget` and `optkit report` draws the
family's tables and figures (§9)."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from optkit.cli import app
from optkit.experiments import experiment_ids, load_experiment

PART_A = ("uav-ugv-users", "uav-ugv-fraction-opt", "uav-ugv-assoc-gap", "uav-ugv-backhaul", "uav-ugv-literal-rate",
          "uav-ugv-qos-weight")


@pytest.mark.parametrize("budget", ["check", "smoke", "quick", "fast", "reduced", "paper"])
def test_every_experiment_loads_at_every_budget(budget):
    assert set(PART_A) <= set(experiment_ids())
    for exp in PART_A:
        e = load_experiment(exp, budget)
        assert e.family == "uav-ugv" and e.scenarios


def test_backhaul_experiment_runs_and_reports(tmp_path):
    out = tmp_path / "run"
    runner = CliRunner()
    result = runner.invoke(app, ["bench", "--experiment", "uav-ugv-backhaul", "--budget", "check", "--out", str(out),
                                 "--no-progress"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["report", str(out)])
    assert result.exit_code == 0, result.output
    text = (out / "report.md").read_text()
    assert "### Backhaul: parked vs routed UGVs" in text
    assert "| quick | ugv-static | 1 |" in text and "P-G status" in text
    assert list((out / "figures").glob("uav-ugv-snapshot-*.png"))


def test_unknown_budget_exit_2():
    result = CliRunner().invoke(app, ["bench", "--experiment", "uav-ugv-backhaul", "--budget", "huge"])
    assert result.exit_code == 2
