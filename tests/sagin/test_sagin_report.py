"""The sagin experiments (datasets/sagin/_experiments.toml, docs/families/sagin.md §9) and the family report
(formulations/sagin/report.py): every experiment loads at every budget, the report of a small real bench run draws
its figures and tables, the per-UAV reference table equals the values recomputed from the cell records, the
training figure from a synthetic curves file, the MILP check table, and missing data as a note instead of a crash."""
from __future__ import annotations

import copy
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from optkit import registry
from optkit.bench import BUDGETS, CURVES, RECORDS, benchmark, make_sweep, read_records
from optkit.experiments import _tables, experiment_ids, load_experiment
from optkit.formulations.sagin import report as sagin_report
from optkit.report import Figures, load_results, write_report
from optkit.scenarios import load_scenario

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXPERIMENTS = ("sagin-convergence", "sagin-benchmark", "sagin-speed", "sagin-uav-count", "sagin-ablation",
               "sagin-reference", "sagin-milp-check", "sagin-beam-sensitivity")
LEARNERS = {"ddqn-csac", "drl", "rsrp-csac", "maxrate-csac", "ddqn-sac", "ddqn-sl"}
FULL_BUDGETS = ("fast", "reduced", "paper")
CI_BUDGETS = ("check", "smoke", "quick")


def cells_of(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip()[1:-1])]


def md_row(text: str, first_cell: str, after: str) -> list[str]:
    """Cells of the first markdown table row starting with `first_cell` after the line containing `after`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if after in line)
    for line in lines[start:]:
        cells = cells_of(line) if line.startswith("|") else []
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row '{first_cell}' after '{after}'")


def is_png(path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG_SIGNATURE


# ----------------------------------------------------------------------------------------------- experiments

def test_the_experiments_are_sagin_ids():
    tables = _tables()
    for exp_id in EXPERIMENTS:
        assert exp_id in experiment_ids()
        assert tables[exp_id][0] == "sagin"
    assert all(i.startswith("sagin-") for i, (fam, _) in tables.items() if fam == "sagin")


@pytest.mark.parametrize("budget", BUDGETS)
@pytest.mark.parametrize("exp_id", EXPERIMENTS)
def test_every_experiment_loads_at_every_budget(exp_id, budget):
    exp = load_experiment(exp_id, budget)
    known = {m.id for m in registry.methods("sagin")} | LEARNERS
    methods = exp.methods.split(",")
    assert set(methods) <= known
    for sc in exp.scenarios:
        labels = [p.label for p in load_scenario("sagin", sc).expand()]
        assert exp.points is None or set(exp.points) <= set(labels)
    assert set(exp.figures) <= set(sagin_report.BUILDERS) | set(sagin_report.GENERIC_FIGURES)
    if budget in FULL_BUDGETS:           # the protocol of §9: instance seeds {0, 1, 2}, learner seed = instance seed
        assert exp.seeds == "0-2" and exp.method_seeds == "0" and exp.points is None
    else:                                # CI-sized: one seed on the quick preset, ref-tiny or two sweep points
        assert exp.seeds == "0"
        assert set(exp.scenarios) <= {"quick", "quick-area-beam", "ref-tiny"} or len(exp.points) == 2
    if set(methods) <= {m.id for m in registry.methods("sagin")}:     # the learners may not be registered yet
        sweep = make_sweep("sagin", exp.scenarios, exp.methods, exp.seeds, method_seeds=exp.method_seeds,
                           configs=exp.configs, budget=budget, experiment=exp.id, points=exp.points)
        assert sweep.cells()


def test_the_experiments_follow_the_spec_table():
    base = {e: load_experiment(e, "paper") for e in EXPERIMENTS}
    assert base["sagin-convergence"].methods == "ddqn-csac"
    assert base["sagin-benchmark"].methods.split(",") == ["ddqn-csac", "drl", "sl", "graph"]
    assert base["sagin-speed"].scenarios == ("sweep-speed",)
    assert base["sagin-uav-count"].scenarios == ("sweep-uavs",)
    assert set(base["sagin-ablation"].methods.split(",")) == {"ddqn-csac", "rsrp-csac", "maxrate-csac", "ddqn-sac",
                                                               "ddqn-sl"}
    assert base["sagin-reference"].scenarios == ("ref-small",)
    assert base["sagin-reference"].methods.split(",") == ["ddqn-csac", "drl", "sl", "graph", "lattice-dp"]
    milp = base["sagin-milp-check"]
    assert milp.scenarios == ("ref-tiny",) and milp.methods == "lattice-dp,p2l-milp"
    assert [c["gain_mode"] for c in milp.configs] == ["segment", "node"]
    for budget in CI_BUDGETS:
        assert load_experiment("sagin-reference", budget).scenarios == ("ref-tiny",)
        assert load_experiment("sagin-benchmark", budget).scenarios == ("quick",)


def test_milp_check_sweep_runs_both_gain_modes_for_both_references():
    exp = load_experiment("sagin-milp-check", "quick")
    sweep = make_sweep("sagin", exp.scenarios, exp.methods, exp.seeds, configs=exp.configs, budget="quick",
                       experiment=exp.id)
    assert sorted((c.method, c.config) for c in sweep.cells()) == [
        ("lattice-dp", "node"), ("lattice-dp", "segment"), ("p2l-milp", "node"), ("p2l-milp", "segment")]


# ----------------------------------------------------------------------------------------------- report on a real run

@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """ref-tiny with sl, lattice-dp and graph, seed 0 (a few seconds), report written."""
    out = tmp_path_factory.mktemp("sagin-report") / "run"
    benchmark("sagin", "ref-tiny", methods="sl,lattice-dp,graph", seeds="0", out=out)
    report = write_report(out)
    return out, report.read_text(encoding="utf-8")


def test_report_writes_the_family_figures_and_tables(tiny_run):
    out, text = tiny_run
    for name in ("trajectories-ref-tiny.png", "metrics-ref-tiny.png", "reference-ref-tiny.png"):
        assert is_png(out / "figures" / name), name
        assert f"figures/{name}" in text
    assert "## sagin: experiment figures and tables" in text
    assert "### Per-UAV comparison with the lattice reference" in text
    df = load_results(out).df
    sl = df[df["method"] == "sl"].iloc[0]
    row = md_row(text, "ref-tiny", "### Metrics per method")
    assert row[1] == "sl" and float(row[3]) == pytest.approx(sl["rate_mbps"], rel=1e-3)
    assert float(row[6]) == pytest.approx(sl["flight_time_s"], rel=1e-3)


def test_per_uav_reference_table_equals_the_records(tiny_run):
    out, text = tiny_run
    table = pd.read_csv(out / sagin_report.REFERENCE_CSV, dtype={"point": str, "config": str}, keep_default_na=False)
    records = {(r["method"], r["seed"]): r["record"] for r in read_records(out)}
    assert set(table["method"]) == {"sl", "graph"}
    for r in table.itertuples(index=False):
        mine = records[(r.method, r.seed)]["uavs"][r.uav]
        ref = records[("lattice-dp", r.seed)]
        theirs = ref["uavs"][r.uav]
        assert r.objective == pytest.approx(mine["objective"], rel=1e-12)
        assert r.ref_objective_eval == pytest.approx(theirs["objective"], rel=1e-12)
        assert r.ref_objective_lattice == pytest.approx(ref["lattice_values"][r.uav], rel=1e-12)
        assert r.gap == pytest.approx(theirs["objective"] - mine["objective"], rel=1e-12)
        assert r.gap_lattice == pytest.approx(ref["lattice_values"][r.uav] - mine["objective"], rel=1e-12)
        assert r.frac == pytest.approx(mine["objective"] / theirs["objective"], rel=1e-12)
        assert r.frac_lattice == pytest.approx(mine["objective"] / ref["lattice_values"][r.uav], rel=1e-12)
        assert r.rate_ratio == pytest.approx(mine["rate_mbps"] / theirs["rate_mbps"], rel=1e-12)
        assert r.time_ratio == pytest.approx(theirs["flight_time_s"] / mine["flight_time_s"], rel=1e-12)
    # ref-tiny has one test UAV: the per-UAV values are the bench's §6.5 columns of that cell
    df = load_results(out).df
    for method in ("sl", "graph"):
        row = df[df["method"] == method].iloc[0]
        mine = table[table["method"] == method].iloc[0]
        assert row["ref_is_lattice_value"] == 1.0                    # segment gains: J* = J*_L (§6.5)
        assert mine["frac_lattice"] == pytest.approx(row["frac_ref"], rel=1e-9)
        assert mine["gap_lattice"] == pytest.approx(row["gap_ref"], rel=1e-9)
        assert mine["rate_ratio"] == pytest.approx(row["rate_ratio_ref"], rel=1e-9)
        assert mine["time_ratio"] == pytest.approx(row["time_ratio_ref"], rel=1e-9)
        cells = md_row(text, method, "gap (J_eval(DP) − J)")
        assert float(cells[3]) == pytest.approx(mine["frac"], rel=1e-3)


def test_milp_table_compares_the_lattice_values(tiny_run):
    out, _ = tiny_run
    res = load_results(out)
    ctx = sagin_report._Context(res)
    dp_key = next(k for k in ctx.records if k[3] == "lattice-dp")
    milp_key = dp_key[:3] + ("p2l-milp",) + dp_key[4:]
    ctx.records[milp_key] = copy.deepcopy(ctx.records[dp_key])
    rows = sagin_report.milp_rows(ctx)
    assert len(rows) == 1 and rows[0]["agree"] and rows[0]["same_path"]
    path = ctx.records[dp_key]["lattice_paths"][0]                   # (A, H, t_f) of the DP path, from the record
    assert rows[0]["dp_aht"] == rows[0]["milp_aht"] and rows[0]["dp_aht"].endswith(f"/ {path['H']} / {path['t_f']}")
    figs = Figures(out / "figures")
    assert "all 1 UAV values agree" in "\n".join(sagin_report._milp(ctx, figs))
    ctx.records[milp_key]["lattice_values"] = [v * (1 + 1e-4) for v in ctx.records[dp_key]["lattice_values"]]
    ctx.records[milp_key]["positions"][0] = ctx.records[milp_key]["positions"][0][::-1]
    rows = sagin_report.milp_rows(ctx)
    assert not rows[0]["agree"] and not rows[0]["same_path"]
    assert rows[0]["relative_difference"] == pytest.approx(1e-4 / (1 + 1e-4), rel=1e-6)
    assert "do not agree" in "\n".join(sagin_report._milp(ctx, figs))


# ----------------------------------------------------------------------------------------------- training curves

def synthetic_curves(folder, runs: int = 2, episodes: int = 120) -> pd.DataFrame:
    """ddqn-csac curves files of `runs` training runs (columns of the sagin learners' curves)."""
    rng = np.random.default_rng(7)
    folder.mkdir(exist_ok=True)
    frames = []
    for ms in range(runs):
        e = np.arange(episodes)
        frame = pd.DataFrame({
            "episode": e, "return_top": -50 + 0.3 * e + rng.normal(0, 5, episodes),
            "return_low": -80 + 0.5 * e + rng.normal(0, 8, episodes), "return": -130 + 0.8 * e,
            "mu_qos": np.minimum(0.01 * e, 1.0), "mu_bnd": 0.002 * e + ms, "alpha": 0.2 * np.exp(-e / 50),
            "epsilon": 0.5, "steps": 200, "grad_steps": 200 * e, "success": (rng.random(episodes) > 0.3) * 1.0,
            "rate_mbps": 3.0, "switches": 5.0, "method": "ddqn-csac", "config": "", "scenario": "ref-tiny",
            "point": "", "method_seed": ms})
        frame.to_csv(folder / f"ddqn-csac__default__ref-tiny__-__ms{ms}.csv", index=False)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def test_training_figure_from_synthetic_curves(tiny_run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(tiny_run[0], out)
    curves = synthetic_curves(out / CURVES)
    text = write_report(out).read_text(encoding="utf-8")
    assert is_png(out / "figures" / "training-ddqn-csac.png")
    cells = md_row(text, "ddqn-csac", "### Training curves")
    assert cells[2] == "2"
    window = sagin_report.MOVING_AVERAGE
    last = [g.sort_values("episode")["return_top"].iloc[-window:].mean() for _, g in curves.groupby("method_seed")]
    mean = float(cells[3].split(" ± ")[0])
    assert mean == pytest.approx(np.mean(last), rel=1e-3)
    assert float(cells[6].split(" ± ")[0]) == pytest.approx(0.002 * 119 + 0.5, rel=1e-3)    # μ_bnd raw, last episode
    x, m, s, n = sagin_report.run_curves(curves.assign(_file=curves["method_seed"]), "return_low", window)
    assert n == 2 and len(x) == 120 and np.isfinite(s).all()


# ----------------------------------------------------------------------------------------------- missing data

def test_missing_records_curves_and_reference_give_notes(tiny_run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(tiny_run[0], out)
    shutil.rmtree(out / RECORDS)
    res = load_results(out)
    figs = Figures(out / "figures")
    lines = sagin_report.report_extras(res, figs, ["trajectories", "trajectories-all", "metrics", "training",
                                                   "reference", "milp", "sweep", "no-such-figure"])
    skipped = dict(figs.skipped)
    assert "no cell records" in skipped["trajectories-ref-tiny.png"]
    assert "no cell records" in skipped["trajectories-all-ref-tiny.png"]
    assert "no training curves" in skipped["training"]
    assert "lattice-dp" in skipped["reference"]
    assert "p2l-milp" in skipped["milp (table)"]
    assert "unknown figure name" in skipped["no-such-figure"]
    assert [name for name, _, _ in figs.written] == ["metrics-ref-tiny.png"]      # rows alone still give the bars
    assert any("### Metrics per method" in line for line in lines)
    text = write_report(out).read_text(encoding="utf-8")
    assert "Skipped figures:" in text and "no cell records with trajectories" in text


def test_no_finished_rows_skips_every_figure(tiny_run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(tiny_run[0], out)
    rows = (out / "rows.jsonl").read_text().splitlines(keepends=True)
    (out / "rows.jsonl").write_text("".join(line for line in rows if '"method": "sl"' in line))
    shutil.rmtree(out / RECORDS)
    for name in ("results.parquet", "results.csv"):
        (out / name).unlink()
    res = load_results(out)
    res.df.loc[:, "status"] = "error"
    figs = Figures(out / "figures")
    assert sagin_report.report_extras(res, figs, None) == []
    assert not figs.written
    assert {name for name, _ in figs.skipped} >= {"trajectories-ref-tiny.png", "metrics-ref-tiny.png", "training",
                                                   "reference"}


def test_beam_sensitivity_pairs_each_preset_with_its_area_beam_twin():
    from optkit.api import make_instance

    for budget in ("paper", "quick"):
        nadir, steered = load_experiment("sagin-beam-sensitivity", budget).scenarios
        a, b = make_instance("sagin", nadir, 0), make_instance("sagin", steered, 0)
        assert (a.sn_beam_mode, b.sn_beam_mode) == ("nadir", "area_fixed")
        differ = [k for k, v in a.params().items() for kk in v if v[kk] != b.params()[k][kk]]
        assert differ == ["sn"]                                  # only the beam mode changes
