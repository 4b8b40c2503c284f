"""`optkit report DIR`: DIR/report.md, DIR/figures/*.png and DIR/report.html (the same report as one
self-contained interactive page) from a results directory written by `optkit bench`.

The report knows no family. A family's api module may declare, as data:
REPORT_METRICS (table columns), SWEEP_PANELS (panels against the swept quantity), RADAR_AXES, HEAT_METRICS,
RUNTIME_METRIC, REPORT_LABELS {metric: readable name} and SWEEP_LABELS {sweep name: axis label}.
Units and directions ("higher" / "lower") come from the family's METRICS; anything not declared falls back to a
default drawn from METRICS. Missing cells (in the manifest, without a row) are listed, and every mean over fewer
rows than the manifest expects is marked. A family's api module may also define `report_extras(res, figs,
figures)`, its own figures and tables; `ReportContext` and the helpers below are what it draws with.

Modules: `results` (loading and statistics), `tables` (markdown), `figures` (PNG figures), `charts` (the
interactive plotly charts of the same figures), `html` (report.html).
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from pathlib import Path

from optkit.errors import InputError
from optkit.report.figures import (CURVE_ID_COLUMNS, PALETTE, VALIDATION_PREFIX, Figures, convergence_figures,
                                   curve_columns, draw_family_figures, heat_figure, integer_episode_ticks, radar_figure,
                                   radar_values, read_curves, run_table, runtime_figure, safe_name, series_colors,
                                   sweep_figure)
from optkit.report.html import REPORT_HTML, write_html
from optkit.report.results import (GAP_FLAG, RUNNER_COLUMNS, ReportContext, Results, below_random, expected_count,
                                   group_rows, load_results, metric_stats, ok_rows, point_means, reference_flags,
                                   series_list, series_name)
from optkit.report.tables import (BELOW_RANDOM, INCOMPLETE, REF_FLAG, STATUSES, axis_label, column_title,
                                  completeness_section, errors_section, format_number, format_stat, md_table,
                                  paired_section, reference_section, results_section, status_section,
                                  what_ran_section)

REPORT = "report.md"
FIGURES = "figures"

__all__ = [
    "BELOW_RANDOM", "CURVE_ID_COLUMNS", "FIGURES", "GAP_FLAG", "INCOMPLETE", "PALETTE", "REF_FLAG", "REPORT",
    "REPORT_HTML", "RUNNER_COLUMNS", "STATUSES", "VALIDATION_PREFIX", "Figures", "curve_columns",
    "integer_episode_ticks", "run_table", "ReportContext", "Results", "axis_label", "below_random", "column_title",
    "completeness_section", "convergence_figures", "draw_family_figures", "errors_section", "expected_count",
    "format_number", "format_stat", "group_rows", "heat_figure", "load_results", "md_table", "metric_stats",
    "ok_rows", "paired_section", "point_means", "radar_figure", "radar_values", "read_curves", "reference_flags",
    "reference_section", "results_section", "runtime_figure", "safe_name", "series_colors", "series_list",
    "series_name", "status_section", "sweep_figure", "what_ran_section", "write_report",
]


def _family_report(res: Results, figs: Figures) -> list[str]:
    """The family's own figures and tables: its optional hook `report_extras(res, figs, figures) -> markdown
    lines`, where `figures` lists the figure names of the experiment (None when the run was not an experiment)."""
    from optkit import registry

    extras = registry.family_api(res.sweep["family"]).report_extras
    if extras is None:
        return []
    figures = None
    if res.sweep.get("experiment"):
        from optkit.experiments import load_experiment

        figures = list(load_experiment(res.sweep["experiment"], res.sweep.get("budget", "quick")).figures)
    return list(extras(res, figs, figures))


# ----------------------------------------------------------------------------------------------- entry point

def write_report(directory) -> Path:
    """Write DIR/report.md, DIR/figures/*.png and DIR/report.html; return the path of report.md."""
    res = load_results(directory)
    folder = res.directory / FIGURES
    try:
        folder.mkdir(exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()
    except OSError as exc:
        raise InputError(f"report: cannot write to '{folder}' ({exc.strerror})") from None
    figs = Figures(folder)
    with _quiet_warnings():
        for sc in res.sweep["scenarios"]:
            sweep_figure(res, figs, sc)
            radar_figure(res, figs, sc)
            heat_figure(res, figs, sc)
            runtime_figure(res, figs, sc)
        curve_notes: list[str] = []
        convergence_figures(res, figs, curve_notes)
        family_sections = _family_report(res, figs)

    s = res.sweep
    title = s.get("experiment") or ", ".join(s["scenarios"])
    lines = [f"# optkit report: {s['family']} / {title}", ""]
    missing = len(res.cells) - len(res.df)
    errors = int((res.df["status"] == "error").sum())
    flagged, _ = reference_flags(res)
    summary = [f"{len(res.df)} of {len(res.cells)} cells finished"]
    if missing:
        summary.append(f"**{missing} MISSING**")
    if errors:
        summary.append(f"**{errors} error(s)**")
    if len(flagged):
        summary.append(f"{len(flagged)} reference instance(s) flagged")
    weak = below_random(res)
    if weak:
        summary.append(f"**{len(weak)} learner row(s) {BELOW_RANDOM}** (see Results)")
    lines += ["; ".join(summary) + ".", ""]
    lines += what_ran_section(res)
    lines += completeness_section(res)
    lines += status_section(res)
    lines += errors_section(res)
    lines += reference_section(res)
    lines += results_section(res)
    lines += paired_section(res)
    lines += family_sections
    lines += ["## Figures", ""]
    for name, caption, extra in figs.written:
        lines += [f"![{name}]({FIGURES}/{name})", "", f"*{caption}*", ""] + extra
    if figs.skipped or curve_notes:
        lines += ["Skipped figures:", ""]
        lines += [f"- `{name}`: {reason}" for name, reason in figs.skipped] + curve_notes + [""]
    path = res.directory / REPORT
    tmp = path.with_name(REPORT + ".tmp")
    try:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise InputError(f"report: cannot write '{path}' ({exc.strerror})") from None
    try:
        write_html(res.directory, lines[0].lstrip("# "), lines, figs.charts, FIGURES, bool(missing or errors))
    except OSError as exc:
        raise InputError(f"report: cannot write '{res.directory / REPORT_HTML}' ({exc.strerror})") from None
    return path


@contextmanager
def _quiet_warnings():
    """Silence RuntimeWarnings such as numpy's 'mean of empty slice' from all-NaN columns while drawing."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
