"""The figures of report.md, drawn on matplotlib `Figure` objects: the sweep lines, radar, heat map and runtime
of each scenario, the training curves of each method, and the dispatch of a family's own figures."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from optkit.report import charts
from optkit.report.results import Results, metric_stats, ok_rows, point_means, series_list, series_name
from optkit.report.tables import INCOMPLETE, axis_label, column_title, format_number, md_table

CURVE_ID_COLUMNS = {"episode", "method", "config", "scenario", "point", "method_seed", "seed", "family"}
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")          # series colours of every figure, in order


@dataclass
class Figures:
    """Figures written (name, caption) and figures skipped (name, reason)."""

    folder: Path
    written: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    charts: dict = field(default_factory=dict)      # figure name -> plotly figure of report.html

    def save(self, fig, name: str, caption: str, extra: list | None = None, chart=None) -> None:
        """Write the PNG; `extra` markdown lines go into report.md under the figure; `chart`, a plotly figure,
        replaces the PNG in report.html (without one, the page embeds the PNG)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
        fig.savefig(self.folder / name, dpi=110, bbox_inches="tight")
        self.written.append((name, caption, list(extra or [])))
        if chart is not None:
            self.charts[name] = chart

    def skip(self, name: str, reason: str) -> None:
        """Note a figure that is not drawn; the reason is listed in report.md."""
        self.skipped.append((name, reason))


def safe_name(name: str) -> str:
    """A name usable in a file name: runs of characters other than letters, digits, '.', '_' and '-' become '_'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)) or "_"


def series_colors(res: Results) -> dict:
    """{(method, config): colour} from PALETTE in series order, the same in every figure of a report."""
    return {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(series_list(res))}


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


def _has_data(res: Results, scenario: str, method: str, config: str, metric: str) -> bool:
    """Whether a series has a non-error value of the metric somewhere in the scenario."""
    rows = ok_rows(res)
    sel = rows[(rows["scenario"] == scenario) & (rows["method"] == method) & (rows["config"] == config)]
    return metric in sel and bool(sel[metric].notna().any())


def _set_x(ax, xs, ticks, xlabel, numeric) -> None:
    """The x axis of a per-point figure: label, ticks at the points (up to 8 on a numeric axis)."""
    ax.set_xlabel(xlabel)
    if not numeric or len(xs) <= 8:
        ax.set_xticks(xs)
        ax.set_xticklabels(ticks)
    if len(xs) == 1:
        ax.set_xlim(xs[0] - 1, xs[0] + 1)


# ----------------------------------------------------------------------------------------------- per scenario

def sweep_figure(res: Results, figs: Figures, scenario: str) -> None:
    """sweep-<scenario>.png: each sweep panel metric against the swept quantity, mean over seeds ± 1 std."""
    from matplotlib.figure import Figure

    name = f"sweep-{safe_name(scenario)}.png"
    pts = res.points[scenario]
    if not pts or not pts[0][1]:
        return figs.skip(name, f"scenario '{scenario}' is not a sweep")
    panels = [m for m in res.sweep_panels if m in res.df]
    series = [s for s in series_list(res) if any(_has_data(res, scenario, *s, m) for m in panels)]
    if not panels or not series:
        return figs.skip(name, f"no finished non-error rows for the panels of '{scenario}'")
    xs, ticks, xlabel, numeric = _x_axis(res, scenario)
    colors = series_colors(res)
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
        ax.set_ylabel(axis_label(res, metric))
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
                         "one line per method, mean over seeds with a ±1 standard-deviation band.",
              chart=charts.sweep_chart(res, scenario, panels, series, colors))


def radar_values(res: Results, scenario: str):
    """{series: [raw mean per axis]} and {series: [score in [0, 1] per axis]} for the radar.

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
    """radar-<scenario>.png: the normalised radar scores of every series, with a table of the raw values."""
    import numpy as np
    from matplotlib.figure import Figure

    name = f"radar-{safe_name(scenario)}.png"
    axes, raw, scores, covered = radar_values(res, scenario)
    if len(axes) < 3:
        return figs.skip(name, f"radar needs at least 3 axis metrics in the table (has {', '.join(axes) or 'none'})")
    if len(raw) < 2:
        return figs.skip(name, f"radar of '{scenario}' needs at least 2 methods with data (min-max normalisation "
                               "across methods)")
    colors = series_colors(res)
    angles = np.linspace(0, 2 * np.pi, len(axes), endpoint=False).tolist()
    fig = Figure(figsize=(6.2, 6.2))
    ax = fig.add_subplot(projection="polar")
    ax.set_theta_offset(math.pi / 2)
    ax.set_theta_direction(-1)
    for s, values in scores.items():
        vals = [v if math.isfinite(v) else float("nan") for v in values]
        ax.plot(angles + angles[:1], vals + vals[:1], marker="o", color=colors[s], label=series_name(*s))
        if all(math.isfinite(v) for v in vals):
            ax.fill(angles + angles[:1], vals + vals[:1], color=colors[s], alpha=0.08)
    ax.set_xticks(angles)
    ax.set_xticklabels([res.labels.get(m, m) + ("\n(inverted)" if res.better.get(m) == "lower" else "") for m in axes])
    ax.tick_params(axis="x", pad=14)
    ax.set_ylim(0, 1.05)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.set_yticklabels(["0", ".25", ".5", ".75", "1"], fontsize=7)
    ax.legend(loc="upper right", bbox_to_anchor=(1.32, 1.12), fontsize=8)
    ax.set_title(f"{scenario}", pad=22)
    caption = ("each axis: the metric averaged over sweep points and seeds, min-max normalised across methods, "
               "outward = better on every axis (1 = best, 0 = worst; lower-is-better metrics inverted); a missing "
               "value leaves a gap in the outline")
    fig.text(0.5, 0.01, "\n".join(_wrap(caption, 80)), ha="center", va="bottom", fontsize=8)
    fig.subplots_adjust(bottom=0.16)
    header = ["method"] + [f"{column_title(res, m)} (score)" for m in axes]
    n_points = len(res.points[scenario])
    rows = [[series_name(*s) + (f" {INCOMPLETE} ({covered[s]}/{n_points} points)" if covered[s] < n_points else "")]
            + [f"{format_number(r)} ({format_number(c)})" for r, c in zip(raw[s], scores[s])] for s in raw]
    table = [f"Radar values of `{scenario}` (mean over sweep points and seeds; normalised score in brackets; "
             f"{INCOMPLETE}: averaged over fewer sweep points than the scenario has):", ""]
    figs.save(fig, name, f"{scenario}: radar, {caption}.", table + md_table(header, rows) + [""],
              chart=charts.radar_chart(res, scenario, axes, raw, scores, colors))


def _wrap(text: str, width: int) -> list[str]:
    """Words of `text` in lines of at most `width` characters (a longer word keeps its own line)."""
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + ([line] if line else [])


def heat_figure(res: Results, figs: Figures, scenario: str) -> None:
    """heat-<scenario>.png: series × sweep points of each heat metric, mean over seeds."""
    import numpy as np
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    name = f"heat-{safe_name(scenario)}.png"
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
        ax.set_title(axis_label(res, metric), fontsize=10)
        fig.colorbar(image, ax=ax, fraction=0.05, pad=0.03)
    fig.suptitle(f"{scenario}: mean over seeds per method and sweep point (grey n/a: no value)", fontsize=10)
    fig.tight_layout()
    figs.save(fig, name, f"{scenario}: heat map methods × sweep points of "
                         f"{', '.join(res.labels.get(m, m) for m, _ in panels)} (mean over seeds; grey hatched n/a = "
                         "no value: missing, error or undefined).",
              chart=charts.heat_chart(res, scenario, panels, series))


def _hatch(i: int, j: int):
    """A hatched square over cell (i, j) of a heat map (a cell without a value)."""
    from matplotlib.patches import Rectangle

    return Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", edgecolor="#999999", linewidth=0)


def runtime_figure(res: Results, figs: Figures, scenario: str) -> None:
    """runtime-<scenario>.png: the runtime metric per series on a log scale, and its ratio to the reference's."""
    from matplotlib.figure import Figure

    metric = res.runtime_metric if res.runtime_metric in res.df else "decision_s"
    name = f"runtime-{safe_name(scenario)}.png"
    series = [s for s in series_list(res) if _has_data(res, scenario, *s, metric)]
    if metric not in res.df or not series:
        return figs.skip(name, f"no {metric} values in '{scenario}'")
    xs, ticks, xlabel, numeric = _x_axis(res, scenario)
    colors = series_colors(res)
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
    ax1.set_ylabel(axis_label(res, metric))
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
                         f"{ratio_text}.",
              chart=charts.runtime_chart(res, scenario, metric, series, colors, ref_key, with_ratio))


def _plain_log_labels(ax) -> None:
    """Tick labels like 0.05 and 20 instead of 5x10^-2 on a log axis."""
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    def minor(v, _):
        lo, hi = ax.get_ylim()
        return f"{v:g}" if lo > 0 and hi / lo < 20 else ""      # minor labels only on a short axis

    ax.yaxis.set_minor_formatter(FuncFormatter(minor))


# ----------------------------------------------------------------------------------------------- training curves

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


VALIDATION_PREFIX = "val_"         # curve columns of the greedy validation score (ε = 0, no learning)


def curve_columns(frame) -> tuple[list[str], dict]:
    """Panels of a method's curves: the numeric non-id columns other than validation ones, then validation columns
    without a training-mode twin; and {panel column: its validation column `val_<column>`} where the curves have
    one (validation columns hold values only on the episodes where a validation ran)."""
    import pandas as pd

    numeric = [c for c in frame.columns if c not in CURVE_ID_COLUMNS and not c.startswith("_")
               and pd.api.types.is_numeric_dtype(frame[c]) and frame[c].notna().any()]
    validation = [c for c in numeric if c.startswith(VALIDATION_PREFIX)]
    training = [c for c in numeric if not c.startswith(VALIDATION_PREFIX)]
    paired = {c: VALIDATION_PREFIX + c for c in training if VALIDATION_PREFIX + c in validation}
    alone = [c for c in validation if c[len(VALIDATION_PREFIX):] not in training]
    return training + alone, paired


def integer_episode_ticks(ax) -> None:
    """Whole-number ticks on an episode axis."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def run_table(frame, column: str):
    """Episodes × training runs of one column (runs that wrote equal curves, such as runs that did not depend on
    the instance seed, count once)."""
    table = frame.pivot_table(index="episode", columns="_run", values=column, aggfunc="mean")
    return table.T.drop_duplicates().T.sort_index()


def convergence_figures(res: Results, figs: Figures, notes: list) -> None:
    """convergence-<method>.png: the training curves of each method, moving average, mean over training runs ± 1
    std, with the greedy validation score beside the training-mode score where the curves have it; unreadable
    curves files are noted in `notes`."""
    import numpy as np
    from matplotlib.figure import Figure

    curves = read_curves(res.directory, notes)
    if curves is None:
        return figs.skip("convergence-<method>.png", "no training curves (curves/*.csv) in the directory")
    for method, mframe in curves.groupby("method", sort=True):
        name = f"convergence-{safe_name(method)}.png"
        columns, paired = curve_columns(mframe)
        if not columns:
            figs.skip(name, f"curves of '{method}' have no numeric series besides the id columns")
            continue
        groups = list(mframe.groupby(["config", "scenario", "point"], sort=False))
        several_places = len({(k[1], k[2]) for k, _ in groups}) > 1
        n_cols = min(3, len(columns))
        n_rows = -(-len(columns) // n_cols)
        fig = Figure(figsize=(4.8 * n_cols, 3.6 * n_rows + 0.6))
        grid = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
        for ax in grid[len(columns):]:
            ax.set_visible(False)
        axes = grid[:len(columns)]
        windows = set()
        panels = {col: [] for col in columns}
        for gi, ((config, scenario, point), frame) in enumerate(groups):
            label = config or "default"
            if several_places:
                label += f" @ {scenario}" + (f":{point}" if point else "")
            n_episodes = frame["episode"].nunique()
            window = max(1, int(round(0.01 * n_episodes)))
            windows.add(window)
            color = PALETTE[gi % len(PALETTE)]
            for ax, col in zip(axes, columns):
                table = run_table(frame, col)
                if table.empty:
                    continue
                validation_only = col.startswith(VALIDATION_PREFIX)
                if not validation_only:
                    table = table.rolling(window, min_periods=1).mean()
                mean = table.mean(axis=1)
                std = table.std(axis=1, ddof=1) if table.shape[1] > 1 else None
                n_runs = table.shape[1]
                x = np.asarray(table.index, dtype=float)
                run_text = f"{n_runs} run{'s' if n_runs != 1 else ''}"
                ax.plot(x, mean.to_numpy(dtype=float), color=color, linewidth=1.2,
                        marker="D" if validation_only else None, markersize=4,
                        label=f"{label} ({run_text})" + (": greedy validation" if validation_only else ""))
                if std is not None:
                    ax.fill_between(x, (mean - std).to_numpy(dtype=float), (mean + std).to_numpy(dtype=float),
                                    color=color, alpha=0.18, linewidth=0)
                val = None
                if col in paired:
                    vtable = run_table(frame, paired[col])
                    if not vtable.empty:
                        vmean = vtable.mean(axis=1)
                        vx = np.asarray(vtable.index, dtype=float)
                        ax.plot(vx, vmean.to_numpy(dtype=float), color=color, linestyle="--", marker="D",
                                markersize=4, linewidth=1.0, label=f"{label}: greedy validation")
                        val = (vx.tolist(), vmean.to_numpy(dtype=float).tolist())
                panels[col].append((label, color, x.tolist(), mean.to_numpy(dtype=float).tolist(),
                                    std.to_numpy(dtype=float).tolist() if std is not None else None, n_runs, val))
        for ax, col in zip(axes, columns):
            ax.set_title(col + (" (training mode and greedy validation)" if col in paired else ""), fontsize=10)
            ax.set_xlabel("episode")
            integer_episode_ticks(ax)
            ax.set_ylabel(col if col.startswith(VALIDATION_PREFIX) else f"{col} (moving average)")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        window_text = ", ".join(str(w) for w in sorted(windows))
        fig.suptitle(f"{method}: training curves, moving average over {window_text} episode(s) (1 %), "
                     "mean over training runs ± 1 std")
        fig.tight_layout()
        val_text = ""
        if paired or any(c.startswith(VALIDATION_PREFIX) for c in columns):
            val_text = (" Dashed with diamonds: the greedy validation score (ε = 0, no learning, on the validation "
                        "seeds) at the episodes where it was measured, beside the training-mode (ε-greedy) score; "
                        "a gap between them is the exploration's and the policy's difference.")
        chart = charts.convergence_chart(method, columns, [(c, panels[c]) for c in columns], window_text)
        figs.save(fig, name, f"{method}: training curves ({', '.join(columns)}) per configuration; moving average "
                             f"over {window_text} episode(s) (1 % of the episodes), mean over training runs "
                             f"(instance seed, method seed) with a ±1 std band.{val_text}", chart=chart)


# ----------------------------------------------------------------------------------------------- family figures

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
