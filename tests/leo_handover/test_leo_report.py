"""The leo-handover family report (formulations/leo_handover/report.py): experiment sections, figures, the Pareto
points of the offline front (docs/families/leo-handover.md §8.2, §9 EXP-0, EXP-2, EXP-7) and skipping instead of
raising."""
from __future__ import annotations

import re
import types

import numpy as np
import pandas as pd
import pytest

from optkit.api import make_instance
from optkit.bench import PARQUET, benchmark
from optkit.formulations.leo_handover import offline, world
from optkit.formulations.leo_handover import report as leo_report
from optkit.formulations.leo_handover.episode import evaluation_tables
from optkit.formulations.leo_handover.evaluator import Decisions, evaluate
from optkit.report import Figures, load_results, write_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def cells_of(line: str) -> list[str]:
    """Cells of one markdown table row (an escaped \\| stays inside its cell)."""
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


def md_header(text: str, after: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if after in line)
    return cells_of(next(line for line in lines[start:] if line.startswith("|")))


@pytest.fixture(scope="module")
def test_run(tmp_path_factory):
    """leo-test at the smoke budget (trains qlearning and dqn on `smoke`), with its report written."""
    out = tmp_path_factory.mktemp("leo-test") / "run"
    benchmark(experiment="leo-test", budget="smoke", out=out, jobs=1)
    report = write_report(out)
    return out, report.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def smoke_instance():
    inst = make_instance("leo-handover", "smoke", 0)
    return inst, list(evaluation_tables(inst))


def test_comparison_and_gap_sections_match_the_rows(test_run):
    out, text = test_run
    df = pd.read_parquet(out / PARQUET)
    assert "### Test comparison (EXP-2)" in text
    assert "### Gap to the offline optimum (EXP-7)" in text
    assert "pooled standard deviation" in text                        # §6.4 (a) is declared unavailable
    header = md_header(text, "### Test comparison (EXP-2)")
    mrt = df[(df["method"] == "mrt") & (df["status"] != "error")]
    row = md_row(text, "mrt", "### Test comparison (EXP-2)")
    assert row[header.index("H mean")] == f"{mrt['handovers'].mean():.4g}"
    assert row[header.index("G mean")] == f"{mrt['reward'].mean():.4g}"
    assert row[header.index("seeds")] == str(len(mrt))
    # mrt keeps its satellite while eligible: H = H_min (check 24), so η_HO = 1 in the gap table
    gap = md_row(text, "mrt", "### Gap to the offline optimum (EXP-7)")
    gap_header = md_header(text, "### Gap to the offline optimum (EXP-7)")
    assert gap[gap_header.index("eta_ho")] == "1"
    assert gap[gap_header.index("excess_handovers")] == "0"
    dqn = md_row(text, "dqn", "### Gap to the offline optimum (EXP-7)")
    dqn_rows = df[df["method"] == "dqn"]
    assert dqn[gap_header.index("eta_g")] == f"{dqn_rows['eta_g'].mean():.4g}"


def test_figures_are_png_files(test_run):
    out, text = test_run
    for name in ("comparison-smoke.png", "gap-smoke.png", "pareto-smoke.png"):
        path = out / "figures" / name
        assert path.is_file(), name
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        assert f"](figures/{name})" in text
    # the family section comes before the Figures section
    assert text.index("## leo-handover: experiment figures and tables") < text.index("## Figures")


def test_pareto_table_agrees_with_offline_dp_rows(test_run):
    out, text = test_run
    df = pd.read_parquet(out / PARQUET)
    header = md_header(text, "supported points of the front")
    for lam, config in (("0", "lam=0"), ("0.1", "lam=0.1"), ("1", "lam=1"), ("10", "lam=10"), ("lex", "lam=lex")):
        row = md_row(text, lam, "supported points of the front")
        dp = df[(df["method"] == "offline-dp") & (df["config"] == config)]
        assert row[header.index("mean H")] == f"{dp['handovers'].mean():.4g}"
        assert row[header.index("mean Σq")] == f"{dp['reward'].mean():.4g}"


def test_pareto_points_are_monotone_with_the_right_ends(smoke_instance):
    inst, tables = smoke_instance
    lams = leo_report.PARETO_LAMBDAS
    H, Q = leo_report.pareto_points(inst, lams, tables)
    assert H.shape == Q.shape == (len(lams),)
    assert np.all(np.diff(H) <= 1e-12)                               # H(λ) non-increasing (§8.2)
    assert np.all(np.diff(Q) <= 1e-9)                                # Σq(λ) non-increasing
    # the evaluator's yardsticks, from any feasible schedule: G_UB = G / η_G and H_min per episode
    srv = tuple(offline.min_handover_schedule(t.step_ptr, t.sat, t.end) for t in tables)
    episodes = evaluate(inst, types.SimpleNamespace(decisions=Decisions(srv))).details["episodes"]
    g_ub = np.array([e["reward"] / e["eta_g"] for e in episodes])
    h_min = np.array([e["h_min"] for e in episodes])
    assert Q[0] == pytest.approx(g_ub.mean(), rel=1e-9)             # λ = 0: Σq = G_UB
    assert H[-1] == pytest.approx(h_min.mean(), abs=1e-12)          # "lex": H = H_min
    assert H[0] > H[-1]                                             # the smoke front is not a single point


def test_budget_points_run_from_lex_to_g_ub(smoke_instance):
    inst, tables = smoke_instance
    H, Q = leo_report.pareto_episodes(tables, (0.0, "lex"))
    budget, value = leo_report.budget_points(tables, H[1].astype(int), H[0].astype(int))
    assert budget[0] == pytest.approx(H[1].mean())
    assert value[0] == pytest.approx(Q[1].mean(), rel=1e-9)          # budget H_min: the lexicographic optimum
    assert value[-1] == pytest.approx(Q[0].mean(), rel=1e-9)         # budget H(λ = 0): G_UB
    assert np.all(np.diff(value) >= -1e-9) and np.all(np.diff(budget) >= 0)


def test_data_section_matches_the_world(tmp_path):
    out = tmp_path / "data"
    benchmark(experiment="leo-data", budget="smoke", out=out, jobs=1)
    text = write_report(out).read_text(encoding="utf-8")
    assert (out / "figures" / "data-smoke-s0.png").read_bytes()[:8] == PNG_SIGNATURE
    inst = make_instance("leo-handover", "smoke", 0)
    n_vis, n_eli = world.world_counts(inst.orbits(), inst.params())
    header = md_header(text, "### Data description (EXP-0)")
    row = md_row(text, "test (seed 0)", "### Data description (EXP-0)")
    assert row[header.index("mean \\|E(k)\\|")] == f"{n_eli.mean():.4g}"
    assert row[header.index("mean \\|V(k)\\|")] == f"{n_vis.mean():.4g}"
    assert row[header.index("outage fraction")] == f"{np.mean(n_eli == 0):.4g}"
    assert row[header.index("eligible (k, j) records")] == str(int(n_eli.sum()))
    assert row[header.index("records ×360 (headings)")] == str(360 * int(n_eli.sum()))
    windows = world.world_windows(inst.orbits(), inst.params())
    assert row[header.index("windows")] == str(len(windows))
    assert md_row(text, "training 0", "### Data description (EXP-0)")[1] == str(inst.n_sat)


def test_unknown_and_inapplicable_figures_are_skipped(test_run, tmp_path):
    out, _ = test_run
    res = load_results(out)
    figs = Figures(tmp_path)
    lines = leo_report.report_extras(res, figs, ["no-such-figure", "sweep", "milp", "geometry", "weights"])
    assert lines == []
    skipped = dict(figs.skipped)
    assert "unknown figure name" in skipped["no-such-figure"]
    assert "milp (table)" in skipped
    assert "geometry (table)" in skipped and "weights (table)" in skipped
    assert not figs.written


def test_training_figure_lists_methods_without_curves(test_run, tmp_path):
    out, _ = test_run
    figs = Figures(tmp_path)
    lines = leo_report.report_extras(load_results(out), figs, ["training"])
    names = [name for name, _, _ in figs.written]
    assert "training-smoke.png" in names and "training-normalized-smoke.png" in names
    text = "\n".join(lines)
    assert "Methods without a training curve" in text
    assert md_row(text, "distance", "Methods without a training curve")[0] == "distance"
    assert md_row(text, "dqn", "training budget per learner")[2] == "20"       # smoke budget: 20 episodes


def test_small_helpers():
    assert leo_report.block_means(np.arange(20.0)).tolist() == [0.5 + 2 * i for i in range(10)]
    assert leo_report.block_means(np.array([1.0, 3.0])).tolist() == [1.0, 3.0]
    assert leo_report.strict_order([0.30, 0.28, 0.25, 0.17])
    assert not leo_report.strict_order([0.25, 0.25, 0.25, 0.25])
    assert leo_report.ranking(["a", "b", "c"], [0.2, 0.1, float("nan")], higher=False) == "b (0.1) < a (0.2) < c (–)"
    assert leo_report.ranking(["a", "b"], [0.2, 0.1], higher=True) == "a (0.2) > b (0.1)"
    lat, lon = leo_report.footprint_circles(np.array([10.0, -60.0]), np.array([179.0, 20.0]), np.array([800.0, 1200.0]))
    from optkit.formulations.leo_handover.geometry import R_MEAN_KM

    phi0, lam0 = np.radians([[10.0], [-60.0]]), np.radians([[179.0], [20.0]])
    phi, lam = np.radians(lat), np.radians(lon)
    ground = R_MEAN_KM * np.arccos(np.clip(np.sin(phi0) * np.sin(phi) + np.cos(phi0) * np.cos(phi)
                                           * np.cos(lam - lam0), -1, 1))
    finite = np.isfinite(ground)
    assert finite.mean() > 0.9                                       # only date-line crossings are broken
    assert np.allclose(np.where(finite, ground, 0.0)[0][finite[0]], 800.0, atol=1e-6)
    assert np.allclose(ground[1][finite[1]], 1200.0, atol=1e-6)


def test_a_run_that_is_no_experiment_gets_comparison_and_gap(test_run, tmp_path):
    out, _ = test_run
    figs = Figures(tmp_path)
    lines = leo_report.report_extras(load_results(out), figs, None)
    assert sorted(name for name, _, _ in figs.written) == ["comparison-smoke.png", "gap-smoke.png"]
    assert "### Test comparison (EXP-2)" in lines and "### Gap to the offline optimum (EXP-7)" in lines
    assert not figs.skipped


def test_pooled_std_recombines_per_seed_rows():
    import numpy as np
    import pandas as pd

    from optkit.formulations.leo_handover.report import pooled_std

    rng = np.random.default_rng(0)
    seeds = [rng.normal(loc, 1.0, size) for loc, size in ((1.0, 7), (2.5, 5), (0.5, 9))]
    rows = pd.DataFrame({"episodes": [len(v) for v in seeds], "empty_episodes": [0, 0, 0],
                         "handovers": [v.mean() for v in seeds], "handovers_std": [v.std(ddof=1) for v in seeds]})
    assert pooled_std(rows, "handovers") == pytest.approx(np.concatenate(seeds).std(ddof=1))
    assert np.isnan(pooled_std(rows, "reward"))
