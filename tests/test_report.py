"""`optkit report`: report.md numbers equal hand-computed ones, missing and error cells are listed, figures are PNGs.

Most tests build a results directory by hand (manifest.json + rows.jsonl in the runner's format, with made-up
method ids besides the reference); one runs the real runner on `tiny` with the fast `random` method.
"""
from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from optkit import bench, registry
from optkit.cli import app
from optkit.errors import InputError
from optkit.report import format_stat, metric_stats, radar_values, write_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
POINTS = ["7", "10", "15"]
METHODS = ["allocate", "random", "greedy-fake"]


def metric_ids():
    return [m.id for m in registry.family_api("allocate").metrics]


def fake_metrics(rng) -> dict:
    values = {m: float(rng.uniform(1, 100)) for m in metric_ids()}
    values["acc_pct"] = float(rng.uniform(0, 100))
    values["accepted"] = float(rng.integers(1, 6))
    return values


def make_row(cell: dict, rng, *, status="feasible", message="", gap=float("nan"), bound=float("nan")) -> dict:
    row = dict(cell, status=status, message=message, method_objective=float("nan"), bound=bound, gap=gap,
               decision_s=0.5, train_s=0.0, solver="", feasible=status != "error", wall_s=0.6)
    if status == "error":
        row.update({m: float("nan") for m in metric_ids()})
    else:
        row.update(fake_metrics(rng))
    row.update(optkit_version="0.1.0", git_rev="abc1234", python="3.11", platform="test", v_numpy="2.0")
    return row


def write_results(out: Path, *, methods=METHODS, points=POINTS, seeds=(0, 1, 2), scenario="sweep-requests",
                  sweep_name="R", drop=(), errors=(), curves=False) -> list[dict]:
    """A results directory in the runner's format; `drop`/`errors`: (point, seed, method) cells left out / failed.

    Returns the rows written (before the runner's reference columns are added)."""
    out.mkdir(parents=True, exist_ok=True)
    pts = [[p, sweep_name] for p in points]
    sweep = {"family": "allocate", "scenarios": [scenario], "methods": list(methods), "configs": [],
             "seeds": list(seeds), "method_seeds": [0], "budget": "quick", "time_limit": 30.0, "experiment": None,
             "points": {scenario: pts}}
    cells = [{"family": "allocate", "scenario": scenario, "point": p, "seed": s, "method": m, "config": "",
              "method_seed": 0} for p in points for s in seeds for m in methods]
    manifest = {"optkit_version": "0.1.0", "sweep": sweep, "points": {scenario: pts}, "cells": cells}
    (out / bench.MANIFEST).write_text(json.dumps(manifest))
    rng = np.random.default_rng(7)
    rows = []
    for cell in cells:
        key = (cell["point"], cell["seed"], cell["method"])
        if key in drop:
            continue
        if key in errors:
            rows.append(make_row(cell, rng, status="error", message=f"RuntimeError: boom at {key[0]}/{key[1]}"))
        elif cell["method"] == "allocate":
            slow = cell["seed"] == 1 and cell["point"] == points[0]
            row = make_row(cell, rng, status="time_limit" if slow else "optimal", gap=0.05 if slow else 0.0)
            row["bound"] = row["objective"] * (1 + row["gap"])
            rows.append(row)
        else:
            rows.append(make_row(cell, rng))
    writer = bench.RowWriter(out / bench.ROWS)
    for row in rows:
        writer.append(row)
    writer.close()
    if curves:
        write_curves(out)
    return rows


def write_curves(out: Path) -> None:
    import pandas as pd

    folder = out / bench.CURVES
    folder.mkdir(exist_ok=True)
    for config in ("lr-0.001", "lr-0.01"):
        for ms in (0, 1):
            episodes = np.arange(300)
            rng = np.random.default_rng(ms)
            frame = pd.DataFrame({"episode": episodes, "return": np.log1p(episodes) + rng.normal(0, 0.5, 300),
                                  "r_hl": episodes / 300 + rng.normal(0, 0.1, 300)})
            frame["method"], frame["config"], frame["scenario"], frame["point"] = "perfect", config, "tiny", ""
            frame["method_seed"] = ms
            frame.to_csv(folder / f"perfect__{config}__tiny__-__ms{ms}.csv", index=False)


def table_row(report: str, heading: str, method: str) -> list[str]:
    """Cells of the row of `method` in the first table after the line `heading`."""
    lines = report.splitlines()
    start = lines.index(heading)
    for line in lines[start:]:
        if line.startswith(f"| {method} |"):
            return [c.strip() for c in line.strip("|").split(" | ")]
    raise AssertionError(f"no row {method} under {heading}")


def header_of(report: str, heading: str) -> list[str]:
    lines = report.splitlines()
    start = lines.index(heading)
    line = next(line for line in lines[start:] if line.startswith("| method |"))
    return [c.strip() for c in line.strip("|").split(" | ")]


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, path
    assert len(data) > 5000, (path, len(data))


# ----------------------------------------------------------------------------------------------- numbers

def test_metric_stats_and_format():
    mean, std, n = metric_stats([1.0, 2.0, float("nan"), 4.0])
    assert n == 3 and mean == pytest.approx(7 / 3) and std == pytest.approx(statistics.stdev([1, 2, 4]))
    assert format_stat(*metric_stats([2.5])) == "2.5"
    assert format_stat(*metric_stats([])) == "–"
    assert format_stat(*metric_stats([1.0, 3.0])) == f"2 ± {math.sqrt(2):.4g}"


def test_means_equal_hand_computed(tmp_path):
    rows = write_results(tmp_path)
    report = write_report(tmp_path).read_text()
    header = header_of(report, "#### R = 10")
    for method in METHODS:
        cells = table_row(report, "#### R = 10", method)
        assert cells[header.index("n")] == "3/3"
        for metric in ("acc_pct", "energy_per_request", "latency_ms", "objective"):
            values = [r[metric] for r in rows if r["method"] == method and r["point"] == "10"]
            expected = f"{statistics.mean(values):.4g} ± {statistics.stdev(values):.4g}"
            title = next(h for h in header if h.split(" ")[0] == metric)
            assert cells[header.index(title)] == expected, (method, metric)


def test_frac_opt_against_reference_and_flag(tmp_path):
    rows = write_results(tmp_path)
    report = write_report(tmp_path).read_text()
    ref = {(r["point"], r["seed"]): r for r in rows if r["method"] == "allocate"}
    mine = [r for r in rows if r["method"] == "random" and r["point"] == "10"]
    frac = [r["efficiency"] / ref[(r["point"], r["seed"])]["efficiency"] for r in mine]
    bound = [r["objective"] / ref[(r["point"], r["seed"])]["bound"] for r in mine]
    header = header_of(report, "#### R = 10")
    cells = table_row(report, "#### R = 10", "random")
    assert cells[header.index("frac_opt")] == f"{statistics.mean(frac):.4g} ± {statistics.stdev(frac):.4g}"
    assert cells[header.index("frac_bound")] == f"{statistics.mean(bound):.4g} ± {statistics.stdev(bound):.4g}"
    # point 7 has a time-limited reference (gap 5 %): flagged (gap above 1 %)
    assert "**1 flagged reference instance(s)**" in report
    assert "| sweep-requests | 7 | 1 | time_limit | 5.00 % |" in report
    assert "frac_opt ‡" in header_of(report, "#### R = 7")
    assert "frac_opt ‡" not in header


def test_missing_cells_listed_and_means_marked(tmp_path):
    rows = write_results(tmp_path, drop={("15", 2, "random"), ("15", 0, "random")})
    report = write_report(tmp_path).read_text()
    assert "**MISSING: 2 of 27 cells**" in report
    assert "| sweep-requests | 15 | random | 2 | 0, 2 |" in report
    cells = table_row(report, "#### R = 15", "random")
    header = header_of(report, "#### R = 15")
    assert cells[header.index("n")] == "1/3 †"
    value = next(r["acc_pct"] for r in rows if r["method"] == "random" and r["point"] == "15")
    assert cells[header.index("acc_pct [%]")] == f"{value:.4g} †"
    counts = table_row(report, "## Statuses per method", "random")
    assert counts[-2:] == ["2", "9"]            # missing, expected


def test_error_message_and_status_counts(tmp_path):
    write_results(tmp_path, errors={("10", 1, "greedy-fake")})
    report = write_report(tmp_path).read_text()
    assert "RuntimeError: boom at 10/1" in report
    status_header = header_of(report, "## Statuses per method")
    counts = table_row(report, "## Statuses per method", "greedy-fake")
    assert counts[status_header.index("error")] == "1"
    assert counts[status_header.index("feasible")] == "8"
    assert table_row(report, "## Statuses per method", "allocate")[status_header.index("time_limit")] == "1"
    assert table_row(report, "#### R = 10", "greedy-fake")[1] == "2/3 †"


def test_what_ran_section(tmp_path):
    write_results(tmp_path)
    report = write_report(tmp_path).read_text()
    for text in ("| family | allocate |", "| methods | allocate (reference), random, greedy-fake |", "| seeds | 0-2 |",
                 "| time limit | 30.0 s |", "| git revision | abc1234 |", "numpy 2.0", "| budget | quick |"):
        assert text in report, text


# ----------------------------------------------------------------------------------------------- figures

def test_figures_are_pngs(tmp_path):
    write_results(tmp_path, curves=True)
    write_report(tmp_path)
    figures = tmp_path / "figures"
    names = {p.name for p in figures.glob("*.png")}
    assert names == {"sweep-sweep-requests.png", "radar-sweep-requests.png", "heat-sweep-requests.png",
                     "runtime-sweep-requests.png", "convergence-perfect.png"}
    for path in figures.glob("*.png"):
        assert_png(path)
    report = (tmp_path / "report.md").read_text()
    assert "![convergence-perfect.png](figures/convergence-perfect.png)" in report
    assert "moving average over 3 episode(s)" in report      # 1 % of 300 episodes


def test_radar_normalisation(tmp_path):
    write_results(tmp_path)
    res = __import__("optkit.report", fromlist=["load_results"]).load_results(tmp_path)
    axes, raw, scores, _ = radar_values(res, "sweep-requests")
    assert axes == ["acc_pct", "efficiency", "latency_acc_ms"]
    for i, metric in enumerate(axes):
        values = {s: v[i] for s, v in raw.items()}
        higher = metric in ("acc_pct", "efficiency")
        best = (max if higher else min)(values, key=values.get)
        worst = (min if higher else max)(values, key=values.get)
        assert scores[best][i] == pytest.approx(1.0) and scores[worst][i] == pytest.approx(0.0)


def test_radar_draws_the_optimum_outward(tmp_path):
    """The exact optimum serves the most requests with the most energy in all: on the allocate radar it is the best
    on acceptance and on accepted requests per energy (outward), although its energy per offered request is the
    highest; a method that accepts nothing has no latency of accepted requests (a gap, not a score)."""
    write_results(tmp_path, methods=["allocate", "random", "greedy-fake"], points=["7"], seeds=[0, 1])
    rows = [json.loads(line) for line in (tmp_path / bench.ROWS).read_text().splitlines()]
    plan = {"allocate": (6, 600.0, 20.0), "random": (1, 150.0, 10.0), "greedy-fake": (0, 40.0, None)}
    with open(tmp_path / bench.ROWS, "w") as fh:
        for row in rows:
            accepted, energy, latency = plan[row["method"]]
            row.update(accepted=accepted, acc_pct=100 * accepted / 7, energy_total=energy,
                       energy_per_request=energy / 7, efficiency=accepted / energy, latency_acc_ms=latency)
            fh.write(json.dumps(row) + "\n")
    res = __import__("optkit.report", fromlist=["load_results"]).load_results(tmp_path)
    axes, raw, scores, _ = radar_values(res, "sweep-requests")
    ref = ("allocate", "")
    assert scores[ref][axes.index("acc_pct")] == 1.0 and scores[ref][axes.index("efficiency")] == 1.0
    assert raw[ref][axes.index("efficiency")] == pytest.approx(0.01)
    assert scores[("random", "")][axes.index("latency_acc_ms")] == 1.0          # lower latency: outward
    assert scores[ref][axes.index("latency_acc_ms")] == 0.0
    assert math.isnan(scores[("greedy-fake", "")][axes.index("latency_acc_ms")])


def test_degenerate_inputs_do_not_crash(tmp_path):
    # one seed, one point, one method that always fails: tables and figures degrade, nothing crashes
    one = tmp_path / "one"
    write_results(one, methods=["allocate", "random"], points=["7"], seeds=[0], errors={("7", 0, "random")})
    report = write_report(one).read_text()
    assert table_row(report, "#### R = 7", "random")[1] == "0/1 †"
    assert "radar-sweep-requests.png`: radar of 'sweep-requests' needs at least 2 methods" in report
    for path in (one / "figures").glob("*.png"):
        assert_png(path)
    # NaN metrics everywhere but acceptance; a plain preset (not a sweep); no rows at all
    nan = tmp_path / "nan"
    write_results(nan, methods=["random", "greedy-fake"], points=[""], scenario="tiny", sweep_name="")
    rows = [json.loads(line) for line in (nan / bench.ROWS).read_text().splitlines()]
    with open(nan / bench.ROWS, "w") as fh:
        for row in rows:
            fh.write(json.dumps({k: (None if k in ("latency_ms", "efficiency") else v) for k, v in row.items()}) + "\n")
    report = write_report(nan).read_text()
    assert "`sweep-tiny.png`: scenario 'tiny' is not a sweep" in report
    assert "The reference method `allocate` was not run" in report
    empty = tmp_path / "empty"
    write_results(empty, drop={(p, s, m) for p in POINTS for s in (0, 1, 2) for m in METHODS})
    report = write_report(empty).read_text()
    assert "**MISSING: 27 of 27 cells**" in report


def test_real_run_on_tiny(tmp_path):
    sweep = bench.make_sweep("allocate", ["tiny"], "random", "0-1")
    bench.run_sweep(sweep, tmp_path, progress=False)
    # a learner-style curve next to the real rows
    write_curves(tmp_path)
    path = write_report(tmp_path)
    report = path.read_text()
    df = bench.results_frame(bench.read_rows(tmp_path), "allocate", {"tiny": [["", ""]]})
    values = df["acc_pct"].tolist()
    cells = table_row(report, "### Scenario `tiny`", "random")
    assert f"{statistics.mean(values):.4g} ± {statistics.stdev(values):.4g}" in cells
    assert_png(tmp_path / "figures" / "convergence-perfect.png")
    assert_png(tmp_path / "figures" / "heat-tiny.png")


# ----------------------------------------------------------------------------------------------- CLI

def test_cli_report(tmp_path):
    write_results(tmp_path)
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report.md").is_file()


def test_cli_report_not_a_results_directory(tmp_path):
    (tmp_path / "x.txt").write_text("hello")
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "not a results directory" in lines[0]
    with pytest.raises(InputError, match="is not a directory"):
        write_report(tmp_path / "nope")
    (tmp_path / bench.MANIFEST).write_text("{not json")
    with pytest.raises(InputError, match="not an optkit manifest"):
        write_report(tmp_path)


# ----------------------------------------------------------------------------------------------- issue-13 report parts

def test_paired_comparisons_hand_computed(tmp_path):
    from optkit.report import load_results
    from optkit.report.results import bootstrap_interval, paired_comparisons

    rows = write_results(tmp_path, points=["7"], seeds=tuple(range(6)))
    res = load_results(tmp_path)
    pairs = paired_comparisons(res, "sweep-requests", "7", "objective")
    value = {(r["method"], r["seed"]): r["objective"] for r in rows}
    means = {m: statistics.mean(value[(m, s)] for s in range(6)) for m in METHODS}
    order = sorted(METHODS, key=lambda m: -means[m])                    # objective: higher is better
    assert [(p["a"][0], p["b"][0]) for p in pairs] == list(zip(order, order[1:]))
    for p in pairs:
        diffs = [value[(p["a"][0], s)] - value[(p["b"][0], s)] for s in range(6)]
        assert p["seeds"] == list(range(6)) and p["mean"] == pytest.approx(statistics.mean(diffs))
        assert min(diffs) <= p["low"] <= p["mean"] <= p["high"] <= max(diffs)
        resolved = p["low"] > 0
        assert p["verdict"] == (f"{p['a'][0]} better" if resolved else "not resolved")
    # constant differences: the interval is the difference itself; one seed: no interval
    assert bootstrap_interval([2.0, 2.0, 2.0]) == (2.0, 2.0)
    assert all(math.isnan(x) for x in bootstrap_interval([1.0]))
    lo, hi = bootstrap_interval([1.0, 2.0, 3.0, 4.0])
    assert 1.0 <= lo < 2.5 < hi <= 4.0 and bootstrap_interval([1.0, 2.0, 3.0, 4.0]) == (lo, hi)   # reproducible
    report = write_report(tmp_path).read_text()
    assert "## Paired comparisons of the method ordering" in report
    assert "`sweep-requests`, R = 7, objective (higher is better):" in report
    assert "`sweep-requests`, R = 7, acc_pct [%] (higher is better):" in report


def test_paired_comparison_lower_is_better_orders_and_decides(tmp_path):
    from optkit.report import load_results
    from optkit.report.results import paired_comparisons

    write_results(tmp_path, methods=["allocate", "random"], points=["7"], seeds=tuple(range(5)))
    rows = [json.loads(line) for line in (tmp_path / bench.ROWS).read_text().splitlines()]
    with open(tmp_path / bench.ROWS, "w") as fh:
        for row in rows:
            row["latency_ms"] = 10.0 + row["seed"] + (5.0 if row["method"] == "random" else 0.0)
            fh.write(json.dumps(row) + "\n")
    res = load_results(tmp_path)
    (pair,) = paired_comparisons(res, "sweep-requests", "7", "latency_ms")
    assert pair["a"] == ("allocate", "") and pair["mean"] == pytest.approx(-5.0)
    assert pair["low"] == pytest.approx(-5.0) and pair["high"] == pytest.approx(-5.0)
    assert pair["verdict"] == "allocate better"
    # the same clear difference on 4 seeds: the interval is shown, the ordering is not decided
    drop = {("7", 4, m) for m in ("allocate", "random")}
    write_results(tmp_path / "four", methods=["allocate", "random"], points=["7"], seeds=tuple(range(5)), drop=drop)
    rows = [json.loads(line) for line in (tmp_path / "four" / bench.ROWS).read_text().splitlines()]
    with open(tmp_path / "four" / bench.ROWS, "w") as fh:
        for row in rows:
            row["latency_ms"] = 10.0 + row["seed"] + (5.0 if row["method"] == "random" else 0.0)
            fh.write(json.dumps(row) + "\n")
    (pair,) = paired_comparisons(load_results(tmp_path / "four"), "sweep-requests", "7", "latency_ms")
    assert pair["seeds"] == [0, 1, 2, 3] and pair["verdict"] == "not resolved (fewer than 5 seeds)"


def test_acceptance_counts_beside_percentages(tmp_path):
    write_results(tmp_path, methods=["allocate", "random"], points=["7"], seeds=(0, 1))
    rows = [json.loads(line) for line in (tmp_path / bench.ROWS).read_text().splitlines()]
    accepted = {("allocate", 0): 5, ("allocate", 1): 6, ("random", 0): 1, ("random", 1): 0}
    with open(tmp_path / bench.ROWS, "w") as fh:
        for row in rows:
            n = accepted[(row["method"], row["seed"])]
            row.update(accepted=n, acc_pct=100 * n / 7)
            fh.write(json.dumps(row) + "\n")
    report = write_report(tmp_path).read_text()
    assert "## Accepted requests (counts beside the percentages and ratios)" in report
    cells = table_row(report, "## Accepted requests (counts beside the percentages and ratios)", "random")
    assert cells[1:6] == ["2", "1 / 14", f"{100 / 14:.4g} ± {statistics.stdev([100 / 7, 0]):.4g}", "11 / 14",
                          f"{1 / 11:.4g}"]
    cells = table_row(report, "## Accepted requests (counts beside the percentages and ratios)", "allocate")
    assert cells[2] == "11 / 14" and cells[5] == "1"


def test_validation_curves_beside_training_curves(tmp_path):
    import pandas as pd

    from optkit.report import Figures, curve_columns, load_results
    from optkit.report.figures import convergence_figures

    write_results(tmp_path, curves=True)
    for path in sorted((tmp_path / bench.CURVES).glob("*.csv")):
        frame = pd.read_csv(path)
        frame["val_return"] = np.where(frame["episode"] % 50 == 49, 7.0, np.nan)
        frame["val_pl_steps"] = np.where(frame["episode"] % 50 == 49, 3.0, np.nan)
        frame.to_csv(path, index=False)
    frame = pd.read_csv(path)
    columns, paired = curve_columns(frame)
    assert columns == ["return", "r_hl", "val_pl_steps"] and paired == {"return": "val_return"}
    figs = Figures(tmp_path / "figures")
    figs.folder.mkdir()
    convergence_figures(load_results(tmp_path), figs, [])
    (name, caption, _), = figs.written
    assert name == "convergence-perfect.png" and "greedy validation score" in caption
    chart = figs.charts[name]
    val = [t for t in chart.data if t.name and t.name.endswith("greedy validation")]
    assert len(val) == 2 and list(val[0].x) == [49.0, 99.0, 149.0, 199.0, 249.0, 299.0] and set(val[0].y) == {7.0}
    # without validation columns: no validation trace and no caption sentence
    write_results(tmp_path / "plain", curves=True)
    figs = Figures(tmp_path / "plain" / "figures")
    figs.folder.mkdir()
    convergence_figures(load_results(tmp_path / "plain"), figs, [])
    assert "greedy validation" not in figs.written[0][1]


def test_episode_ticks_are_integers(tmp_path):
    import pandas as pd
    from matplotlib.figure import Figure

    from optkit.report import integer_episode_ticks

    ax = Figure().add_subplot()
    ax.plot([0, 1, 2, 3], [1.0, 2.0, 1.5, 3.0])
    integer_episode_ticks(ax)
    ticks = [t for t in ax.get_xticks() if 0 <= t <= 3]
    assert ticks and all(float(t).is_integer() for t in ticks)
    # a four-episode training curve: the report's chart and figure use whole episodes
    folder = tmp_path / bench.CURVES
    write_results(tmp_path)
    folder.mkdir()
    pd.DataFrame({"episode": range(4), "return": [1.0, 2.0, 1.5, 3.0], "method": "perfect", "config": "",
                  "scenario": "tiny", "point": "", "method_seed": 0}).to_csv(folder / "perfect.csv", index=False)
    from optkit.report import Figures, load_results
    from optkit.report.figures import convergence_figures

    figs = Figures(tmp_path / "figures")
    figs.folder.mkdir()
    convergence_figures(load_results(tmp_path), figs, [])
    assert figs.charts["convergence-perfect.png"].layout.xaxis.tickformat == "d"


def test_learner_rows_below_random_are_flagged(tmp_path):
    """A learner whose mean objective is worse than `random`'s at a point is flagged there and counted in the
    summary; a heuristic below random and a learner above it are not."""
    write_results(tmp_path, methods=["allocate", "random", "perfect", "haddqn", "sca"])
    path = tmp_path / bench.ROWS
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    level = {"allocate": 5.0, "random": 1.0, "perfect": 0.5, "haddqn": 2.0, "sca": 0.2}
    for row in rows:
        row["objective"] = level[row["method"]] + (1.0 if row["method"] == "perfect" and row["point"] != POINTS[0]
                                                   else 0.0)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    report = write_report(tmp_path).read_text()
    heading = f"#### R = {POINTS[0]}"
    assert table_row(report, heading, "perfect **BELOW RANDOM**")[0] == "perfect **BELOW RANDOM**"
    assert table_row(report, heading, "haddqn")[0] == "haddqn"
    assert table_row(report, heading, "sca")[0] == "sca"
    for point in POINTS[1:]:
        assert table_row(report, f"#### R = {point}", "perfect")[0] == "perfect"
    assert "**1 learner row(s) BELOW RANDOM** (see Results)" in report.splitlines()[2]
    assert "perfect 0.5 against 1" in report
