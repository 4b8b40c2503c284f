"""`optkit report DIR`: DIR/report.md and DIR/figures/*.png from a results directory written by `optkit bench`.

The report knows no family. A family's api module may declare, as data:
REPORT_METRICS (table columns), SWEEP_PANELS (panels against the swept quantity), RADAR_AXES, HEAT_METRICS,
RUNTIME_METRIC, REPORT_LABELS {metric: readable name} and SWEEP_LABELS {sweep name: axis label}.
Units and directions ("higher" / "lower") come from the family's METRICS; anything not declared falls back to a
default drawn from METRICS. Missing cells (in the manifest, without a row) are listed, and every mean over fewer
rows than the manifest expects is marked.
"""
from __future__ import annotations

import json
import math
import re
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from optkit.errors import InputError

REPORT = "report.md"
FIGURES = "figures"
STATUSES = ("optimal", "feasible", "time_limit", "infeasible", "error")
GAP_FLAG = 0.01                     # spec §8.3: reference instances with a gap above 1 % are flagged
INCOMPLETE = "†"
REF_FLAG = "‡"
CURVE_ID_COLUMNS = {"episode", "method", "config", "scenario", "point", "method_seed", "seed", "family"}
# table columns written by the runner that are not evaluator metrics: unit, direction
RUNNER_COLUMNS = {"train_s": ("s", "lower"), "decision_s": ("s", "lower"), "wall_s": ("s", "lower"),
                  "frac_bound": ("-", "higher")}


# ----------------------------------------------------------------------------------------------- loading

@dataclass
class Results:
    """A results directory read back: manifest, expected cells, tidy rows and the family's report settings."""

    directory: Path
    sweep: dict
    points: dict                      # scenario -> [(label, sweep name)]
    cells: object                     # pandas DataFrame of expected cells
    df: object                        # pandas DataFrame of rows (one per finished cell)
    extra: object                     # rows whose cell is not in the manifest
    reference: str
    units: dict = field(default_factory=dict)
    better: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)
    sweep_labels: dict = field(default_factory=dict)
    report_metrics: list = field(default_factory=list)
    sweep_panels: list = field(default_factory=list)
    radar_axes: list = field(default_factory=list)
    heat_metrics: list = field(default_factory=list)
    runtime_metric: str = "decision_s"


def load_results(directory) -> Results:
    """Read and check DIR; raise InputError naming the problem when it is not a results directory."""
    import numpy as np
    import pandas as pd

    from optkit import bench, registry

    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(f"report: '{directory}' is not a directory")
    manifest_path = directory / bench.MANIFEST
    if not manifest_path.is_file():
        raise InputError(f"report: '{directory}' is not a results directory (no {bench.MANIFEST}; "
                         "write one with `optkit bench --out DIR`)")
    try:
        manifest = json.loads(manifest_path.read_text())
        sweep = manifest["sweep"]
        family = sweep["family"]
        cell_list = manifest["cells"]
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
        raise InputError(f"report: '{manifest_path}' is not an optkit manifest (needs 'sweep' and 'cells')") from None
    raw_points = sweep.get("points") or manifest.get("points") or {}
    points = {sc: [(str(p[0]), str(p[1] or "")) for p in raw_points.get(sc, [["", ""]])] for sc in sweep["scenarios"]}
    fam = registry.get_family(family)
    api = registry.family_api(fam.id)

    try:
        if (directory / bench.ROWS).is_file():
            df = bench.results_frame(bench.read_rows(directory), fam.id, points, sweep.get("configs", ()),
                                     bench.read_records(directory))
        elif (directory / bench.PARQUET).is_file():
            df = pd.read_parquet(directory / bench.PARQUET)
        else:
            df = pd.DataFrame()
    except (json.JSONDecodeError, KeyError) as exc:
        raise InputError(f"report: cannot read the rows of '{directory}' ({type(exc).__name__}: {exc})") from None
    cells = pd.DataFrame(cell_list, columns=bench.ID_COLUMNS)
    cells = _normalise_ids(cells)
    if df.empty:
        df = pd.DataFrame(columns=[*bench.ID_COLUMNS, "status", "message"])
    df = _normalise_ids(df)
    if "status" not in df:
        df["status"] = "error"
    df["status"] = df["status"].fillna("error").astype(str)
    df["message"] = df["message"].fillna("").astype(str) if "message" in df else ""
    df = df.drop_duplicates(bench.ID_COLUMNS, keep="last")
    expected = set(map(tuple, cells[bench.ID_COLUMNS].astype(str).values.tolist()))
    in_manifest = np.array([tuple(r) in expected for r in df[bench.ID_COLUMNS].astype(str).values.tolist()], dtype=bool)
    extra = df.loc[~in_manifest]
    df = df.loc[in_manifest].reset_index(drop=True)

    res = Results(directory, sweep, points, cells, df, extra, fam.reference_method)
    for spec in api.METRICS:
        res.units[spec.id], res.better[spec.id] = spec.unit, spec.better
    for col, (unit, better) in RUNNER_COLUMNS.items():
        res.units.setdefault(col, unit)
        res.better.setdefault(col, better)
    res.labels = dict(getattr(api, "REPORT_LABELS", {}))
    res.sweep_labels = dict(getattr(api, "SWEEP_LABELS", {}))
    ranked = [s.id for s in api.METRICS if s.better in ("higher", "lower")]
    primary = getattr(api, "PRIMARY_METRIC", ranked[0] if ranked else None)
    default_metrics = ([primary] if primary else []) + [m for m in ranked if m != primary][:7]
    res.report_metrics = list(getattr(api, "REPORT_METRICS", default_metrics))
    res.sweep_panels = list(getattr(api, "SWEEP_PANELS", res.report_metrics[:3]))
    res.radar_axes = list(getattr(api, "RADAR_AXES", res.sweep_panels))
    res.heat_metrics = list(getattr(api, "HEAT_METRICS", [primary] if primary else []))
    res.runtime_metric = getattr(api, "RUNTIME_METRIC", "decision_s")
    return res


def _normalise_ids(df):
    """Id columns as plain types: config '' for the defaults, points as text, seeds as ints."""
    df = df.copy()
    for col in ("family", "scenario", "point", "method", "config"):
        if col in df:
            df[col] = df[col].fillna("").astype(str)
    for col in ("seed", "method_seed"):
        if col in df:
            df[col] = df[col].astype(int)
    return df


# ----------------------------------------------------------------------------------------------- aggregation

def series_list(res: Results) -> list[tuple[str, str]]:
    """(method, config) pairs in manifest order: configurations for the methods that take them (the sweep's
    `configured`), the defaults ('') for the others, exactly as the runner's cells."""
    configs = [c["label"] for c in res.sweep.get("configs") or []]
    configured = set(res.sweep.get("configured", res.sweep["methods"] if configs else []))
    return [(m, c) for m in res.sweep["methods"] for c in (configs if m in configured and configs else [""])]


def series_name(method: str, config: str) -> str:
    return f"{method} [{config}]" if config else method


def metric_stats(values) -> tuple[float, float, int]:
    """Mean, sample standard deviation (ddof 1; NaN for one value) and count over the finite values."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(finite)
    if n == 0:
        return float("nan"), float("nan"), 0
    mean = sum(finite) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in finite) / (n - 1)) if n > 1 else float("nan")
    return mean, std, n


def _num(x: float) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{x:.4g}"


def format_stat(mean: float, std: float, n: int) -> str:
    """'mean ± std' with 4 significant digits; one value shows the mean only; no value shows '–'."""
    if n == 0:
        return "–"
    return f"{_num(mean)} ± {_num(std)}" if n > 1 else _num(mean)


def _ok_rows(res: Results):
    return res.df[res.df["status"] != "error"]


def _group_rows(res: Results, scenario: str, point: str, method: str, config: str, ok_only: bool = True):
    df = _ok_rows(res) if ok_only else res.df
    keep = (df["scenario"] == scenario) & (df["point"] == point) & (df["method"] == method) & (df["config"] == config)
    return df[keep]


def _expected(res: Results, scenario: str, point: str, method: str, config: str) -> int:
    c = res.cells
    return int(((c["scenario"] == scenario) & (c["point"] == point) & (c["method"] == method)
                & (c["config"] == config)).sum())


def point_means(res: Results, scenario: str, metric: str, method: str, config: str):
    """(means, stds) per sweep point of the scenario (NaN where no finite value)."""
    means, stds = [], []
    for label, _ in res.points[scenario]:
        rows = _group_rows(res, scenario, label, method, config)
        mean, std, _ = metric_stats(rows[metric]) if metric in rows else (float("nan"), float("nan"), 0)
        means.append(mean)
        stds.append(std)
    return means, stds


def _reference_flags(res: Results):
    """Reference rows that are not proven optimal within 1 % (spec §8.3), and reference rows without frac_opt."""
    ref = res.df[res.df["method"] == res.reference].sort_values("config", kind="stable")
    ref = ref.drop_duplicates(["scenario", "point", "seed"])        # one per instance, default config first
    if ref.empty:
        return ref, ref
    gap = ref["gap"].astype(float) if "gap" in ref else 0.0
    flagged = ref[(ref["status"] != "optimal") | (gap > GAP_FLAG)]
    undefined = ref.iloc[0:0]
    if "frac_opt" in ref:
        undefined = ref[(ref["status"] != "error") & ref["frac_opt"].isna()]
    return flagged, undefined


# ----------------------------------------------------------------------------------------------- markdown

def draw_family_figures(title: str, builders: dict, requested, generic, ctx, figs, skippable) -> list[str]:
    """The dispatch of a family's `report_extras`: for each requested figure name (those in `generic` are drawn by
    this module) call builders[name](ctx, figs) and collect its markdown lines; an unknown name or a builder that
    raises one of `skippable` becomes a note in the report instead of a failure. Returns the lines under a
    "## {title}: experiment figures and tables" heading, or [] when no builder wrote any."""
    lines: list[str] = []
    for name in requested:
        if name in generic:
            continue
        builder = builders.get(name)
        if builder is None:
            figs.skip(str(name), f"unknown figure name of the {title} report (known: {', '.join(builders)})")
            continue
        try:
            lines += builder(ctx, figs)
        except skippable as exc:
            figs.skip(name, f"could not be built: {type(exc).__name__}: {exc}")
    return ["## " + title + ": experiment figures and tables", ""] + lines if lines else []


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    def clean(text) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(clean(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(clean(c) for c in row) + " |" for row in rows]
    return lines


def _column_title(res: Results, metric: str) -> str:
    unit = res.units.get(metric, "")
    return f"{metric} [{unit}]" if unit and unit != "-" else metric


def _axis_label(res: Results, metric: str) -> str:
    unit = res.units.get(metric, "")
    name = res.labels.get(metric, metric)
    return f"{name} [{unit}]" if unit and unit != "-" else name


def _point_title(res: Results, scenario: str, label: str, sweep_name: str) -> str:
    if not label:
        return scenario
    return f"{sweep_name} = {label}" if sweep_name else f"point {label}"


def _what_ran(res: Results) -> list[str]:
    s, df = res.sweep, res.df
    configs = s.get("configs") or []
    config_text = "; ".join(
        f"{c['label']}: " + ", ".join(f"{k}={v}" for k, v in c.items() if k != "label") for c in configs) or "defaults"
    scen = []
    for sc in s["scenarios"]:
        pts = res.points[sc]
        name = pts[0][1] if pts else ""
        scen.append(f"{sc} ({name} ∈ {{{', '.join(p[0] for p in pts)}}})" if name else sc)
    methods = [f"{m} (reference)" if m == res.reference else m for m in s["methods"]]

    def distinct(col: str) -> str:
        if col not in df:
            return "–"
        values = sorted({str(v) for v in df[col].dropna() if str(v)})
        return ", ".join(values) or "–"

    rows = [["family", s["family"]], ["experiment", s.get("experiment") or "–"], ["scenarios", "; ".join(scen)],
            ["methods", ", ".join(methods)], ["configs", config_text], ["seeds", _ranges(s["seeds"])],
            ["method seeds", _ranges(s["method_seeds"])], ["budget", str(s.get("budget", "–"))],
            ["time limit", f"{s['time_limit']} s" if s.get("time_limit") else "method default"],
            ["cells", f"{len(res.cells)} expected, {len(df)} finished, {len(res.cells) - len(df)} missing, "
                      f"{int((df['status'] == 'error').sum())} errors"],
            ["optkit version", distinct("optkit_version")], ["git revision", distinct("git_rev")],
            ["python", distinct("python")], ["platform", distinct("platform")]]
    if "solver" in df:
        solvers = {m: sorted({str(v) for v in df.loc[df["method"] == m, "solver"].dropna() if str(v)})
                   for m in s["methods"]}
        used = "; ".join(f"{m}: {', '.join(v)}" for m, v in solvers.items() if v)
        rows.append(["solvers", used or "–"])
    libs = [c for c in df.columns if c.startswith("v_")]
    if libs:
        rows.append(["libraries", ", ".join(f"{c[2:]} {distinct(c)}" for c in libs)])
    return ["## What ran", ""] + _md_table(["", ""], rows) + [""]


def _ranges(values) -> str:
    """[0, 1, 2, 5] -> '0-2, 5'."""
    values = sorted(int(v) for v in values)
    parts, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i + 1 == len(values) or values[i + 1] != v + 1:
            parts.append(f"{start}-{v}" if v > start else f"{v}")
            start = None
    return ", ".join(parts) or "–"


def _completeness(res: Results) -> list[str]:
    import pandas as pd

    from optkit.bench import ID_COLUMNS

    done = set(map(tuple, res.df[ID_COLUMNS].astype(str).values.tolist()))
    absent = [tuple(r) not in done for r in res.cells[ID_COLUMNS].astype(str).values.tolist()]
    missing = res.cells.loc[pd.Series(absent, index=res.cells.index, dtype=bool)]
    lines = ["## Completeness", ""]
    if missing.empty:
        lines.append(f"All {len(res.cells)} cells of the manifest have a row.")
    else:
        lines += [f"**MISSING: {len(missing)} of {len(res.cells)} cells** are in the manifest but have no row "
                  f"(not run yet, interrupted, or lost). Means over the remaining seeds are marked {INCOMPLETE}.", ""]
        one_ms = len(res.sweep["method_seeds"]) == 1
        rows = []
        keys = ["scenario", "point", "method", "config"]
        for key, group in missing.groupby(keys, sort=False):
            seeds = (_ranges(group["seed"]) if one_ms else
                     ", ".join(f"{s}/ms{m}" for s, m in zip(group["seed"], group["method_seed"])))
            rows.append([key[0], key[1] or "–", series_name(key[2], key[3]), len(group), seeds])
        lines += _md_table(["scenario", "point", "method", "missing", "seeds" if one_ms else "seed/method seed"], rows)
    if not res.extra.empty:
        lines += ["", f"{len(res.extra)} row(s) whose cell is not in the manifest were left out:", ""]
        lines += _md_table(["scenario", "point", "seed", "method", "config", "method seed"],
                           [[r.scenario, r.point, r.seed, r.method, r.config, r.method_seed]
                            for r in res.extra.itertuples()])
    return lines + [""]


def _status_counts(res: Results) -> list[str]:
    statuses = list(STATUSES) + sorted(set(res.df["status"]) - set(STATUSES))
    rows = []
    for method, config in series_list(res):
        sel = res.df[(res.df["method"] == method) & (res.df["config"] == config)]
        expected = int(((res.cells["method"] == method) & (res.cells["config"] == config)).sum())
        counts = [int((sel["status"] == st).sum()) for st in statuses]
        rows.append([series_name(method, config), *counts, expected - len(sel), expected])
    return ["## Statuses per method", ""] + _md_table(["method", *statuses, "missing", "expected"], rows) + [""]


def _errors(res: Results) -> list[str]:
    err = res.df[res.df["status"] == "error"]
    lines = ["## Errors", ""]
    if err.empty:
        return lines + ["No cell ended in an error.", ""]
    lines += [f"{len(err)} cell(s) ended in an error; their metrics are left out of every mean.", ""]
    rows = [[r.scenario, r.point or "–", r.seed, series_name(r.method, r.config), r.method_seed, r.message or "–"]
            for r in err.itertuples()]
    return lines + _md_table(["scenario", "point", "seed", "method", "method seed", "message"], rows) + [""]


def _reference_section(res: Results) -> list[str]:
    flagged, undefined = _reference_flags(res)
    lines = ["## Reference quality", ""]
    if res.reference not in res.sweep["methods"]:
        return lines + [f"The reference method `{res.reference}` was not run: no fraction of optimum.", ""]
    lines.append(f"Reference: `{res.reference}`. Its instances with a relative gap above {GAP_FLAG:.0%} or a status "
                 f"other than optimal are flagged (spec §8.3): there the fractions of optimum compare against an "
                 f"incumbent, and `frac_bound` = objective / reference dual bound is the optimistic ratio.")
    lines.append("")
    if flagged.empty:
        lines.append("No reference instance is flagged.")
    else:
        lines.append(f"**{len(flagged)} flagged reference instance(s)** (marked {REF_FLAG} in the tables):")
        lines.append("")
        rows = [[r.scenario, r.point or "–", r.seed, r.status, _pct(getattr(r, "gap", float("nan"))),
                 _num(float(getattr(r, "objective", float("nan")))), _num(float(getattr(r, "bound", float("nan"))))]
                for r in flagged.itertuples()]
        lines += _md_table(["scenario", "point", "seed", "status", "gap", "objective", "bound"], rows)
    if not undefined.empty:
        lines += ["", f"{len(undefined)} reference instance(s) where frac_opt is undefined (the reference's efficiency "
                      "is 0, e.g. nothing accepted); they are left out of the frac_opt means: "
                  + ", ".join(f"{r.scenario}:{r.point or '-'}:seed {r.seed}" for r in undefined.itertuples())]
    return lines + [""]


def _pct(x) -> str:
    x = float(x)
    return "–" if not math.isfinite(x) else f"{100 * x:.2f} %"


def _results_tables(res: Results) -> list[str]:
    metrics = [m for m in res.report_metrics if m in res.df]
    fracs = [m for m in metrics if m.startswith("frac_")]
    if fracs and "frac_bound" in res.df and "frac_bound" not in metrics:
        metrics.insert(metrics.index(fracs[-1]) + 1, "frac_bound")
    flagged, _ = _reference_flags(res)
    flagged_keys = {(r.scenario, r.point) for r in flagged.itertuples()}
    lines = ["## Results", "",
             f"Mean ± sample standard deviation (ddof 1) over the finished, non-error rows of each cell; `n` = rows "
             f"used / rows the manifest expects (instance seeds × method seeds). {INCOMPLETE} marks a mean over an "
             f"incomplete set of seeds (missing or error cells). `(n=k)` after a value: the metric is undefined on "
             f"the other rows (e.g. frac_opt where the reference accepts nothing). 4 significant digits.", ""]
    for sc in res.sweep["scenarios"]:
        pts = res.points[sc]
        swept = pts[0][1] if pts else ""
        lines += [f"### Scenario `{sc}`" + (f" (swept: {res.sweep_labels.get(swept, swept)})" if swept else ""), ""]
        for label, name in pts:
            if label:
                lines += [f"#### {_point_title(res, sc, label, name)}", ""]
            if (sc, label) in flagged_keys:
                n_flag = sum(1 for r in flagged.itertuples() if (r.scenario, r.point) == (sc, label))
                lines += [f"{REF_FLAG} reference not proven optimal within {GAP_FLAG:.0%} on {n_flag} instance(s) "
                          "of this point: fractions of optimum are against an incumbent.", ""]
            rows = []
            for method, config in series_list(res):
                rows.append(_table_row(res, sc, label, method, config, metrics, (sc, label) in flagged_keys))
            header = ["method", "n"] + [_column_title(res, m) + (f" {REF_FLAG}" if m.startswith("frac_")
                                                                  and (sc, label) in flagged_keys else "")
                                        for m in metrics]
            lines += _md_table(header, rows) + [""]
    return lines


def _table_row(res: Results, sc: str, label: str, method: str, config: str, metrics: list, flagged: bool) -> list:
    rows = _group_rows(res, sc, label, method, config)
    expected = _expected(res, sc, label, method, config)
    n_ok = len(rows)
    incomplete = n_ok < expected
    cells = [series_name(method, config), f"{n_ok}/{expected}" + (f" {INCOMPLETE}" if incomplete else "")]
    for m in metrics:
        mean, std, n = metric_stats(rows[m])
        text = format_stat(mean, std, n)
        if n and n < n_ok:
            text += f" (n={n})"
        if n and incomplete:
            text += f" {INCOMPLETE}"
        cells.append(text)
    return cells


# ----------------------------------------------------------------------------------------------- figures

@dataclass
class Figures:
    """Figures written (name, caption) and figures skipped (name, reason)."""

    folder: Path
    written: list = field(default_factory=list)
    skipped: list = field(default_factory=list)

    def save(self, fig, name: str, caption: str, extra: list | None = None) -> None:
        """Write the PNG; `extra` markdown lines go into report.md under the figure."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
        fig.savefig(self.folder / name, dpi=110, bbox_inches="tight")
        self.written.append((name, caption, list(extra or [])))

    def skip(self, name: str, reason: str) -> None:
        self.skipped.append((name, reason))


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)) or "_"


def _x_axis(res: Results, scenario: str):
    """x positions, tick labels, axis label and whether the axis is numeric for the scenario's points."""
    pts = res.points[scenario]
    labels = [p[0] for p in pts]
    name = pts[0][1] if pts else ""
    try:
        values = [float(v) for v in labels]
        numeric = len(set(values)) == len(values)
    except ValueError:
        numeric = False
    xs = values if numeric else list(range(len(labels)))
    ticks = [lb or scenario for lb in labels]
    xlabel = res.sweep_labels.get(name, name) or ("scenario" if labels == [""] else "point")
    return xs, ticks, xlabel, numeric


PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")          # series colours of every figure, in order


def _colors(res: Results) -> dict:
    return {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(series_list(res))}


def _has_data(res: Results, scenario: str, method: str, config: str, metric: str) -> bool:
    rows = _ok_rows(res)
    sel = rows[(rows["scenario"] == scenario) & (rows["method"] == method) & (rows["config"] == config)]
    return metric in sel and bool(sel[metric].notna().any())


def _set_x(ax, xs, ticks, xlabel, numeric) -> None:
    ax.set_xlabel(xlabel)
    if not numeric or len(xs) <= 8:
        ax.set_xticks(xs)
        ax.set_xticklabels(ticks)
    if len(xs) == 1:
        ax.set_xlim(xs[0] - 1, xs[0] + 1)


def sweep_figure(res: Results, figs: Figures, scenario: str) -> None:
    from matplotlib.figure import Figure

    name = f"sweep-{_safe(scenario)}.png"
    pts = res.points[scenario]
    if not pts or not pts[0][1]:
        return figs.skip(name, f"scenario '{scenario}' is not a sweep")
    panels = [m for m in res.sweep_panels if m in res.df]
    series = [s for s in series_list(res) if any(_has_data(res, scenario, *s, m) for m in panels)]
    if not panels or not series:
        return figs.skip(name, f"no finished non-error rows for the panels of '{scenario}'")
    xs, ticks, xlabel, numeric = _x_axis(res, scenario)
    colors = _colors(res)
    fig = Figure(figsize=(4.6 * len(panels), 3.9))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, metric in zip(axes, panels):
        for method, config in series:
            means, stds = point_means(res, scenario, metric, method, config)
            lo = [m - s if math.isfinite(s) else m for m, s in zip(means, stds)]
            hi = [m + s if math.isfinite(s) else m for m, s in zip(means, stds)]
            color = colors[(method, config)]
            ax.plot(xs, means, marker="o", color=color, label=series_name(method, config))
            ax.fill_between(xs, lo, hi, color=color, alpha=0.18, linewidth=0)
        ax.set_title(res.labels.get(metric, metric))
        ax.set_ylabel(_axis_label(res, metric))
        _set_x(ax, xs, ticks, xlabel, numeric)
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    rows_of_legend = math.ceil(len(labels) / 6)
    top = 0.92 - 0.06 * (rows_of_legend - 1)
    fig.suptitle(f"{scenario}: mean over seeds, band ±1 std", y=0.99)
    fig.legend(handles, labels, loc="upper center", ncol=min(len(labels), 6), bbox_to_anchor=(0.5, 0.955),
               frameon=False)
    fig.tight_layout(rect=(0, 0, 1, top))
    figs.save(fig, name, f"{scenario}: {', '.join(res.labels.get(m, m) for m in panels)} against {xlabel}; "
                         "one line per method, mean over seeds with a ±1 standard-deviation band.")


def radar_values(res: Results, scenario: str):
    """{series: [raw mean per axis]} and {series: [score in [0, 1] per axis]} for the radar (spec §6.4).

    Raw: each axis metric averaged over the sweep points (the mean of the per-point means over seeds). Score:
    min-max normalised across the series per axis, inverted for "lower is better" metrics so that 1 is always
    the best series and 0 the worst; all series equal on an axis score 1; a missing value has no score (NaN).
    """
    axes = [m for m in res.radar_axes if m in res.df]
    raw, covered = {}, {}
    for method, config in series_list(res):
        values, counts = [], []
        for metric in axes:
            means, _ = point_means(res, scenario, metric, method, config)
            mean, _, n = metric_stats(means)
            values.append(mean)
            counts.append(n)
        if any(math.isfinite(v) for v in values):
            raw[(method, config)] = values
            covered[(method, config)] = min(counts)
    scores = {s: [] for s in raw}
    for i, metric in enumerate(axes):
        finite = [v[i] for v in raw.values() if math.isfinite(v[i])]
        lo, hi = (min(finite), max(finite)) if finite else (0.0, 0.0)
        for s, values in raw.items():
            v = values[i]
            if not math.isfinite(v):
                scores[s].append(float("nan"))
            elif hi - lo <= 1e-12 * max(1.0, abs(hi)):
                scores[s].append(1.0)
            elif res.better.get(metric) == "lower":
                scores[s].append((hi - v) / (hi - lo))
            else:
                scores[s].append((v - lo) / (hi - lo))
    return axes, raw, scores, covered


def radar_figure(res: Results, figs: Figures, scenario: str) -> None:
    import numpy as np
    from matplotlib.figure import Figure

    name = f"radar-{_safe(scenario)}.png"
    axes, raw, scores, covered = radar_values(res, scenario)
    if len(axes) < 3:
        return figs.skip(name, f"radar needs at least 3 axis metrics in the table (has {', '.join(axes) or 'none'})")
    if len(raw) < 2:
        return figs.skip(name, f"radar of '{scenario}' needs at least 2 methods with data (min-max normalisation "
                               "across methods)")
    colors = _colors(res)
    angles = np.linspace(0, 2 * np.pi, len(axes), endpoint=False).tolist()
    fig = Figure(figsize=(6.2, 6.2))
    ax = fig.add_subplot(projection="polar")
    ax.set_theta_offset(math.pi / 2)
    ax.set_theta_direction(-1)
    for s, values in scores.items():
        vals = [v if math.isfinite(v) else 0.0 for v in values]
        ax.plot(angles + angles[:1], vals + vals[:1], marker="o", color=colors[s], label=series_name(*s))
        ax.fill(angles + angles[:1], vals + vals[:1], color=colors[s], alpha=0.08)
    ax.set_xticks(angles)
    ax.set_xticklabels([res.labels.get(m, m) + ("\n(inverted)" if res.better.get(m) == "lower" else "") for m in axes])
    ax.tick_params(axis="x", pad=14)
    ax.set_ylim(0, 1.05)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.set_yticklabels(["0", ".25", ".5", ".75", "1"], fontsize=7)
    ax.legend(loc="upper right", bbox_to_anchor=(1.32, 1.12), fontsize=8)
    ax.set_title(f"{scenario}", pad=22)
    caption = ("each axis: the metric averaged over sweep points and seeds, min-max normalised across methods "
               "(1 = best, 0 = worst; lower-is-better metrics inverted); a missing value is drawn at 0")
    fig.text(0.5, 0.01, "\n".join(_wrap(caption, 80)), ha="center", va="bottom", fontsize=8)
    fig.subplots_adjust(bottom=0.16)
    header = ["method"] + [f"{_column_title(res, m)} (score)" for m in axes]
    n_points = len(res.points[scenario])
    rows = [[series_name(*s) + (f" {INCOMPLETE} ({covered[s]}/{n_points} points)" if covered[s] < n_points else "")]
            + [f"{_num(r)} ({_num(c)})" for r, c in zip(raw[s], scores[s])] for s in raw]
    table = [f"Radar values of `{scenario}` (mean over sweep points and seeds; normalised score in brackets; "
             f"{INCOMPLETE}: averaged over fewer sweep points than the scenario has):", ""]
    figs.save(fig, name, f"{scenario}: radar, {caption}.", table + _md_table(header, rows) + [""])


def _wrap(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + ([line] if line else [])


def heat_figure(res: Results, figs: Figures, scenario: str) -> None:
    import numpy as np
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    name = f"heat-{_safe(scenario)}.png"
    series = series_list(res)
    panels = []
    for metric in res.heat_metrics:
        if metric not in res.df:
            continue
        matrix = np.array([point_means(res, scenario, metric, *s)[0] for s in series], dtype=float)
        if np.isfinite(matrix).any():
            panels.append((metric, matrix))
    if not panels:
        wanted = ", ".join(res.heat_metrics) or "any heat metric"
        return figs.skip(name, f"no finite values of {wanted} in '{scenario}'")
    _, ticks, xlabel, _ = _x_axis(res, scenario)
    width = max(4.5, 1.0 + 0.9 * len(ticks))
    fig = Figure(figsize=(width * len(panels), 0.9 + 0.55 * len(series) + 1.2))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (metric, matrix) in zip(axes, panels):
        cmap = colormaps["viridis" if res.better.get(metric) != "lower" else "viridis_r"].with_extremes(bad="#d9d9d9")
        masked = np.ma.masked_invalid(matrix)
        finite = matrix[np.isfinite(matrix)]
        lo, hi = float(finite.min()), float(finite.max())
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        image = ax.imshow(masked, cmap=cmap, vmin=lo, vmax=hi, aspect="auto")
        for i in range(matrix.shape[0]):
            for j in range(matrix.shape[1]):
                v = matrix[i, j]
                if math.isfinite(v):
                    dark = (v - lo) / (hi - lo) < 0.55
                    if res.better.get(metric) == "lower":
                        dark = not dark
                    ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=8,
                            color="white" if dark else "black")
                else:
                    ax.add_patch(_hatch(i, j))
                    ax.text(j, i, "n/a", ha="center", va="center", fontsize=8, color="#555555")
        ax.set_xticks(range(len(ticks)))
        ax.set_xticklabels(ticks)
        ax.set_yticks(range(len(series)))
        ax.set_yticklabels([series_name(*s) for s in series])
        ax.set_xlabel(xlabel)
        ax.set_title(_axis_label(res, metric), fontsize=10)
        fig.colorbar(image, ax=ax, fraction=0.05, pad=0.03)
    fig.suptitle(f"{scenario}: mean over seeds per method and sweep point (grey n/a: no value)", fontsize=10)
    fig.tight_layout()
    figs.save(fig, name, f"{scenario}: heat map methods × sweep points of "
                         f"{', '.join(res.labels.get(m, m) for m, _ in panels)} (mean over seeds; grey hatched n/a = "
                         "no value: missing, error or undefined).")


def _hatch(i: int, j: int):
    from matplotlib.patches import Rectangle

    return Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", edgecolor="#999999", linewidth=0)


def runtime_figure(res: Results, figs: Figures, scenario: str) -> None:
    from matplotlib.figure import Figure

    metric = res.runtime_metric if res.runtime_metric in res.df else "decision_s"
    name = f"runtime-{_safe(scenario)}.png"
    series = [s for s in series_list(res) if _has_data(res, scenario, *s, metric)]
    if metric not in res.df or not series:
        return figs.skip(name, f"no {metric} values in '{scenario}'")
    xs, ticks, xlabel, numeric = _x_axis(res, scenario)
    colors = _colors(res)
    ref_key = next((s for s in series if s[0] == res.reference), (res.reference, ""))
    with_ratio = ref_key in series and len(series) > 1
    ref_means = point_means(res, scenario, metric, *ref_key)[0] if with_ratio else None
    fig = Figure(figsize=(10, 4.0) if with_ratio else (5.4, 4.0))
    axes = fig.subplots(1, 2 if with_ratio else 1, squeeze=False)[0]
    ax1 = axes[0]
    for s in series:
        means, _ = point_means(res, scenario, metric, *s)
        positive = [m if math.isfinite(m) and m > 0 else float("nan") for m in means]
        ax1.plot(xs, positive, marker="o", color=colors[s], label=series_name(*s))
        if with_ratio and s != ref_key:
            ratio = [m / r if math.isfinite(m) and math.isfinite(r) and m > 0 and r > 0 else float("nan")
                     for m, r in zip(means, ref_means)]
            axes[1].plot(xs, ratio, marker="o", color=colors[s], label=series_name(*s))
    ax1.set_yscale("log")
    _plain_log_labels(ax1)
    ax1.set_ylabel(_axis_label(res, metric))
    ax1.set_title(f"{res.labels.get(metric, metric)} (mean over seeds)")
    if with_ratio:
        ax2 = axes[1]
        ax2.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
        ax2.set_yscale("log")
        _plain_log_labels(ax2)
        ax2.set_ylabel(f"runtime / runtime of {res.reference}")
        ax2.set_title(f"ratio to the reference {res.reference}")
        ratio_text = f"right: ratio of the mean runtime to the mean runtime of {res.reference} at each point"
    else:
        ratio_text = (f"no ratio panel: the reference '{res.reference}' has no rows here"
                      if ref_key not in series else "no ratio panel: no other method has rows here")
    for ax in axes:
        _set_x(ax, xs, ticks, xlabel, numeric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{scenario}: runtime (log scale)")
    fig.tight_layout()
    figs.save(fig, name, f"{scenario}: left: {metric} per method against {xlabel} (log scale, mean over seeds); "
                         f"{ratio_text}.")


def _plain_log_labels(ax) -> None:
    """Tick labels like 0.05 and 20 instead of 5x10^-2 on a log axis."""
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    def minor(v, _):
        lo, hi = ax.get_ylim()
        return f"{v:g}" if lo > 0 and hi / lo < 20 else ""      # minor labels only on a short axis

    ax.yaxis.set_minor_formatter(FuncFormatter(minor))


def read_curves(directory: Path, notes: list):
    """Every curves/*.csv in one frame (id columns as text); unreadable files are noted and left out."""
    import pandas as pd

    from optkit.bench import CURVES

    frames = []
    for path in sorted((directory / CURVES).glob("*.csv")):
        try:
            frame = pd.read_csv(path, dtype={c: str for c in ("method", "config", "scenario", "point")})
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
            notes.append(f"- curves file `{path.name}` left out: {type(exc).__name__}: {exc}")
            continue
        if "episode" not in frame or "method" not in frame:
            notes.append(f"- curves file `{path.name}` left out: needs the columns episode and method")
            continue
        for col in ("config", "scenario", "point"):
            frame[col] = frame[col].fillna("").astype(str) if col in frame else ""
        frame["method_seed"] = frame["method_seed"] if "method_seed" in frame else 0
        frame["seed"] = frame["seed"] if "seed" in frame else 0          # files written before curves had a seed
        frame["_run"] = "s" + frame["seed"].astype(str) + "/ms" + frame["method_seed"].astype(str)
        frame["_file"] = path.name
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else None


def convergence_figures(res: Results, figs: Figures, notes: list) -> None:
    import numpy as np
    import pandas as pd
    from matplotlib.figure import Figure

    curves = read_curves(res.directory, notes)
    if curves is None:
        return figs.skip("convergence-<method>.png", "no training curves (curves/*.csv) in the directory")
    for method, mframe in curves.groupby("method", sort=True):
        name = f"convergence-{_safe(method)}.png"
        columns = [c for c in mframe.columns if c not in CURVE_ID_COLUMNS and not c.startswith("_")
                   and pd.api.types.is_numeric_dtype(mframe[c]) and mframe[c].notna().any()]
        if not columns:
            figs.skip(name, f"curves of '{method}' have no numeric series besides the id columns")
            continue
        groups = list(mframe.groupby(["config", "scenario", "point"], sort=False))
        several_places = len({(k[1], k[2]) for k, _ in groups}) > 1
        n_cols = min(4, len(columns))
        n_rows = -(-len(columns) // n_cols)
        fig = Figure(figsize=(4.6 * n_cols, 3.4 * n_rows + 0.6))
        grid = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
        for ax in grid[len(columns):]:
            ax.set_visible(False)
        axes = grid[:len(columns)]
        windows = set()
        for gi, ((config, scenario, point), frame) in enumerate(groups):
            label = config or "default"
            if several_places:
                label += f" @ {scenario}" + (f":{point}" if point else "")
            n_episodes = frame["episode"].nunique()
            window = max(1, int(round(0.01 * n_episodes)))
            windows.add(window)
            for ax, col in zip(axes, columns):
                # one column per training run (instance seed, method seed); runs that did not depend on the
                # instance seed wrote equal curves for every seed: those count once
                table = frame.pivot_table(index="episode", columns="_run", values=col, aggfunc="mean")
                table = table.T.drop_duplicates().T.sort_index().rolling(window, min_periods=1).mean()
                mean = table.mean(axis=1)
                std = table.std(axis=1, ddof=1) if table.shape[1] > 1 else None
                n_seeds = table.shape[1]
                color = PALETTE[gi % len(PALETTE)]
                x = np.asarray(table.index, dtype=float)
                ax.plot(x, mean.to_numpy(dtype=float), color=color, linewidth=1.2,
                        label=f"{label} ({n_seeds} run{'s' if n_seeds != 1 else ''})")
                if std is not None:
                    ax.fill_between(x, (mean - std).to_numpy(dtype=float), (mean + std).to_numpy(dtype=float),
                                    color=color, alpha=0.18, linewidth=0)
        for ax, col in zip(axes, columns):
            ax.set_title(col)
            ax.set_xlabel("episode")
            ax.set_ylabel(f"{col} (moving average)")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        window_text = ", ".join(str(w) for w in sorted(windows))
        fig.suptitle(f"{method}: training curves, moving average over {window_text} episode(s) (1 %), "
                     "mean over training runs ± 1 std")
        fig.tight_layout()
        figs.save(fig, name, f"{method}: training curves ({', '.join(columns)}) per configuration; moving average "
                             f"over {window_text} episode(s) (1 % of the episodes), mean over training runs "
                             "(instance seed, method seed) with a ±1 std band.")


def _family_report(res: Results, figs: Figures) -> list[str]:
    """The family's own figures and tables: its API may define `report_extras(res, figs, figures) -> markdown
    lines`, where `figures` lists the figure names of the experiment (None when the run was not an experiment)."""
    from optkit import registry

    api = registry.family_api(res.sweep["family"])
    extras = getattr(api, "report_extras", None)
    if extras is None:
        return []
    figures = None
    if res.sweep.get("experiment"):
        from optkit.experiments import load_experiment

        figures = list(load_experiment(res.sweep["experiment"], res.sweep.get("budget", "quick")).figures)
    return list(extras(res, figs, figures))


# ----------------------------------------------------------------------------------------------- entry point

def write_report(directory) -> Path:
    """Write DIR/report.md and DIR/figures/*.png; return the path of report.md."""
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
    flagged, _ = _reference_flags(res)
    summary = [f"{len(res.df)} of {len(res.cells)} cells finished"]
    if missing:
        summary.append(f"**{missing} MISSING**")
    if errors:
        summary.append(f"**{errors} error(s)**")
    if len(flagged):
        summary.append(f"{len(flagged)} reference instance(s) flagged")
    lines += ["; ".join(summary) + ".", ""]
    lines += _what_ran(res)
    lines += _completeness(res)
    lines += _status_counts(res)
    lines += _errors(res)
    lines += _reference_section(res)
    lines += _results_tables(res)
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
    return path


@contextmanager
def _quiet_warnings():
    """Silence RuntimeWarnings such as numpy's 'mean of empty slice' from all-NaN columns while drawing."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
