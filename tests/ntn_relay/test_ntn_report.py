"""ntn-relay experiments through the runner and their report figures (§9: EXP-F7 link curves with the crossover,
time series with peak and worst throughput)."""
from __future__ import annotations

from typer.testing import CliRunner

from optkit.cli import app
from optkit.experiments import experiment_ids, load_experiment

runner = CliRunner()

PART_A = ("ntn-t2-direct", "ntn-t2-sat-only", "ntn-t2-sat-ground", "ntn-t3-ground", "ntn-t3-uav", "ntn-ref-k1",
          "ntn-ref-random", "ntn-t4-objectives", "ntn-f6-links", "ntn-f7-link-curves", "ntn-sens", "ntn-pred-hap",
          "ntn-pred-ground", "ntn-pred-sat-only")
K1_CHECK = "smoke-k1"


def test_experiments_are_declared_with_their_budgets():
    ids = experiment_ids()
    for exp in PART_A:
        assert exp in ids
        for budget in ("check", "smoke", "quick", "paper"):
            load_experiment(exp, budget)
    assert load_experiment("ntn-ref-random", "paper").seeds == "1-10"
    assert load_experiment("ntn-ref-random", "quick").seeds == "1-3"
    assert list(load_experiment("ntn-t3-uav", "check").scenarios) == ["smoke"]
    assert list(load_experiment("ntn-ref-k1", "check").scenarios) == [K1_CHECK]


def test_link_curves_and_time_series_reach_the_report(tmp_path):
    out = tmp_path / "f7"
    res = runner.invoke(app, ["bench", "--experiment", "ntn-f7-link-curves", "--budget", "check", "-o", str(out)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["report", str(out)])
    assert res.exit_code == 0, res.output
    text = (out / "report.md").read_text()
    assert "crossover: **1998.76 km**" in text.replace("RF/FSO crossover", "crossover")
    assert (out / "figures" / "link-curves-direct.png").is_file()

    out = tmp_path / "t3"
    res = runner.invoke(app, ["bench", "--experiment", "ntn-t3-ground", "--budget", "check", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert runner.invoke(app, ["report", str(out)]).exit_code == 0
    text = (out / "report.md").read_text()
    assert "### Throughput, `sat-ground-k2`" in text and "peak Mbit/s" in text and "worst Mbit/s" in text
    assert "| sat-ground-coop | 51.36 |" in text
    assert (out / "figures" / "time-series-sat-ground-k2.png").is_file()
