"""Family figures and tables of `optkit report` for `sagin` (§6.3, §6.5, §8.3, §9 of
docs/families/sagin.md).

`report_extras(res, figs, figures)` draws the figures an experiment names in `datasets/sagin/_experiments.toml`
and returns the markdown lines that go into report.md before its "Figures" section:

- "trajectories": the first test UAV of the first seed per method (and sweep point): x–y with the destination,
  GN/AN sites and the airspace box, and altitude against mission time;
- "trajectories-all": every test UAV, one panel per method and sweep point (the UAV-count experiment);
- "metrics": average link rate, link switches, QSR (%) and flight time per method and sweep point (bars, mean ±
  std over seeds), a table with mission QoS, success and J, and the relative differences to the proposed method;
- "training": top- and lower-level returns (50-episode moving average, mean ± std over training runs) and the
  μ_qos, μ_bnd, α_T traces;
- "reference": per-UAV comparison with lattice-dp (gap, fraction, rate and time ratios; J*_L beside J_eval(DP)),
  also written to DIR/reference-per-uav.csv;
- "milp": lattice-dp against p2l-milp per gain mode (values equal within 1e-6 relative).
"sweep" (the four metrics against the swept quantity) is the generic report's. A figure whose data are missing is
skipped with a reason, never raised. Trajectories and per-UAV values come from the bench's cell records
(records/*.json, `api.cell_record`), training curves from curves/*.csv. Matplotlib is used through `Figure` only.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from optkit import report as core
from optkit.errors import InputError

FAMILY = "sagin"
REFERENCE = "lattice-dp"
MILP = "p2l-milp"
PROPOSED = "ddqn-csac"
DEFAULT_FIGURES = ("trajectories", "metrics", "training", "reference")   # a run that is no experiment
GENERIC_FIGURES = ("sweep",)                                            # drawn by optkit.report itself
FOUR_METRICS = ("rate_mbps", "switches", "qsr_pct", "flight_time_s")   # the paper's four metrics (§6.3)
TABLE_METRICS = FOUR_METRICS + ("mission_qos", "success", "objective")
METRIC_TITLES = {"rate_mbps": "average link rate R̄ [Mbit/s]", "switches": "link switches N [count]",
                 "qsr_pct": "QoS satisfaction ratio [%]", "flight_time_s": "flight time T [s]",
                 "mission_qos": "mission QoS [share]", "success": "arrived [share]", "objective": "objective J [-]"}
MOVING_AVERAGE = 50                                                     # §6.3: 50-episode moving average
CURVE_PANELS = (("return_top", "top-level return Σ r^top", True), ("return_low", "lower-level return Σ r^low", True),
                ("mu_qos", "QoS multiplier μ_qos", False), ("mu_bnd", "boundary multiplier μ_bnd", False),
                ("alpha", "SAC temperature α_T", False), ("success", "arrival share per episode", True),
                ("val_objective", "greedy validation J (D49)", False))   # val_success is drawn in the success panel
MILP_TOL = 1e-6                                                         # §9 milp_check: relative agreement
MAX_PANELS = 8                                                          # trajectories-all panels per figure
REFERENCE_CSV = "reference-per-uav.csv"
SKIPPABLE = (InputError, ValueError, LookupError, OSError, ArithmeticError)
GN_STYLE = {"marker": "^", "color": "#333333", "s": 42}
AN_STYLE = {"marker": "s", "facecolor": "white", "edgecolor": "#333333", "s": 36}
LINESTYLES = ("-", "--", ":", "-.")                                      # overlapping paths stay visible


# ----------------------------------------------------------------------------------------------- entry point

def report_extras(res, figs, figures) -> list[str]:
    """Draw the requested figures (None: trajectories, metrics, training, reference) and return the markdown
    lines of their tables."""
    return core.draw_family_figures("sagin", BUILDERS, list(DEFAULT_FIGURES if figures is None else figures),
                                    GENERIC_FIGURES, core.ReportContext(res), figs, SKIPPABLE)


_Context = core.ReportContext                # the name tests/sagin build the context by


def point_text(ctx: core.ReportContext, scenario: str, point: str) -> str:
    """'V = 5 m/s'-style label of a sweep point ('' for a plain preset)."""
    if not point:
        return ""
    name = ctx.sweep_name(scenario)
    return {"uav.speed": f"V = {point} m/s", "uav.n_uavs": f"N_U = {point}"}.get(name, f"{name} = {point}")


@functools.lru_cache(maxsize=None)
def speed_of(scenario: str, point: str) -> float:
    """UAV speed V (m/s) of a preset's sweep point, from the preset (nothing is generated)."""
    from optkit.scenarios import load_scenario

    for p in load_scenario(FAMILY, scenario).expand():
        if p.label == point:
            return float(p.params["uav"]["speed"])
    raise LookupError(f"no point '{point}' in preset '{scenario}'")


def mission_times(path, speed: float) -> np.ndarray:
    """Mission time of every sample of a rollout (s): travelled arc length / V (t_n = n Δs / V, §6.1)."""
    q = np.asarray(path, dtype=float).reshape(-1, 3)
    steps = np.linalg.norm(np.diff(q, axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(steps)]) / speed


def _fmt(x) -> str:
    return core.format_number(float(x)) if x is not None else "–"


def _stat_text(stat: tuple[float, float, int]) -> str:
    return core.format_stat(*stat)


def _tag(scenario: str, point: str = "") -> str:
    return core.safe_name(scenario) + (f"-{core.safe_name(point)}" if point else "")


def _series_label(ctx: core.ReportContext, scenario: str, point: str, method: str, config: str) -> str:
    text = core.series_name(method, config)
    return f"{text}, {point_text(ctx, scenario, point)}" if point else text


# ----------------------------------------------------------------------------------------------- scene

def draw_scene(ax, record: dict) -> None:
    """Airspace box, GN and AN sites, destination (x–y, metres)."""
    from matplotlib.patches import Rectangle

    (x0, y0, _), (x1, y1, _) = record["airspace"]
    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, linestyle="--", color="#555555",
                           linewidth=0.9, label="airspace"))
    gn = np.asarray(record.get("gn_sites") or [], dtype=float).reshape(-1, 2)
    an = np.asarray(record.get("an_sites") or [], dtype=float).reshape(-1, 2)
    if len(gn):
        ax.scatter(gn[:, 0], gn[:, 1], label="GN site", zorder=3, **GN_STYLE)
    if len(an):
        ax.scatter(an[:, 0], an[:, 1], label="AN site", zorder=3, **AN_STYLE)
    dest = record["destination"]
    ax.scatter([dest[0]], [dest[1]], marker="*", s=180, color="#d62728", zorder=5, label="destination")
    ax.set_xlabel("x [m]")
    ax.set_ylabel("y [m]")
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(alpha=0.3)


# ----------------------------------------------------------------------------------------------- trajectories

def _trajectory_records(ctx: core.ReportContext, scenario: str) -> list[tuple]:
    """(point, method, config, *first record) of every series with trajectories at each point of `scenario`."""
    out = []
    for point, _ in ctx.res.points[scenario]:
        for method, config in ctx.series():
            found = ctx.first_record(scenario, point, method, config)
            if found is not None and found[2].get("positions"):
                out.append((point, method, config, *found))
    return out


def _trajectories(ctx: core.ReportContext, figs) -> list[str]:
    """First test UAV of the first seed per series and sweep point: x–y and altitude against time."""
    from matplotlib.figure import Figure

    lines = ["### Trajectories of the first test UAV", "",
             "First test UAV of the first instance seed per method (D32; the metrics tables are means "
             "over all test UAVs). Metrics of that UAV:", ""]
    colors = core.series_colors(ctx.res)
    drawn = False
    for scenario in ctx.res.sweep["scenarios"]:
        name = f"trajectories-{_tag(scenario)}.png"
        entries = _trajectory_records(ctx, scenario)
        if not entries:
            figs.skip(name, f"no cell records with trajectories for '{scenario}' (records/*.json)")
            continue
        several_points = len({e[0] for e in entries}) > 1
        fig = Figure(figsize=(12.5, 5.4))
        ax_xy, ax_z = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})
        draw_scene(ax_xy, entries[0][5])
        table = []
        for i, (point, method, config, seed, mseed, rec) in enumerate(entries):
            path = np.asarray(rec["positions"][0], dtype=float).reshape(-1, 3)
            palette = core.PALETTE
            color = palette[i % len(palette)] if several_points else colors.get((method, config), palette[0])
            label = _series_label(ctx, scenario, point, method, config)
            style = LINESTYLES[i % len(LINESTYLES)]
            ax_xy.plot(path[:, 0], path[:, 1], color=color, linestyle=style, linewidth=1.5, label=label)
            ax_xy.scatter([path[0, 0]], [path[0, 1]], marker="o", s=30, color=color, zorder=4)
            ax_z.plot(mission_times(path, speed_of(scenario, point)), path[:, 2], color=color, linestyle=style,
                      linewidth=1.5, label=label)
            uav = (rec.get("uavs") or [{}])[0]
            table.append([label, seed, _fmt(uav.get("rate_mbps")), _fmt(uav.get("switches")),
                          _fmt(uav.get("qsr_pct")), _fmt(uav.get("flight_time_s")), _fmt(uav.get("objective")),
                          "yes" if uav.get("success") == 1.0 else "no"])
        (x0, y0, z0), (x1, y1, z1) = entries[0][5]["airspace"]
        ax_xy.set_title("x–y (circle: start)")
        ax_xy.legend(fontsize=7, loc="best")
        ax_z.set_title("altitude")
        ax_z.set_xlabel("mission time t [s]")
        ax_z.set_ylabel("altitude z [m]")
        margin = 0.1 * max(z1 - z0, 50.0)
        ax_z.set_ylim(z0 - margin, z1 + margin)
        ax_z.axhline(z0, color="#888888", linestyle=":", linewidth=0.8)
        ax_z.axhline(z1, color="#888888", linestyle=":", linewidth=0.8)
        ax_z.grid(alpha=0.3)
        fig.suptitle(f"{scenario}: trajectory of the first test UAV (instance seed {entries[0][3]})")
        fig.tight_layout()
        figs.save(fig, name, f"{scenario}: first test UAV per method{' and sweep point' if several_points else ''}; "
                             "left x–y with the airspace box (dashed grey), GN sites (triangles), AN sites (open "
                             "squares) and the destination (star); right altitude against mission time "
                             "(dotted: z bounds).")
        lines += [f"`{scenario}`:", ""]
        lines += core.md_table(["method", "seed", "R̄ [Mbit/s]", "N", "QSR [%]", "T [s]", "J", "arrived"], table)
        lines += [""]
        drawn = True
    return lines if drawn else []


def _trajectories_all(ctx: core.ReportContext, figs) -> list[str]:
    """Every test UAV of the first seed, one panel per series and sweep point (x–y above, altitude below)."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    for scenario in ctx.res.sweep["scenarios"]:
        name = f"trajectories-all-{_tag(scenario)}.png"
        panels = _trajectory_records(ctx, scenario)
        if not panels:
            figs.skip(name, f"no cell records with trajectories for '{scenario}' (records/*.json)")
            continue
        left_out = len(panels) - MAX_PANELS
        panels = panels[:MAX_PANELS]
        n = len(panels)
        fig = Figure(figsize=(4.0 * n, 7.6))
        axes = fig.subplots(2, n, squeeze=False, gridspec_kw={"height_ratios": [1.6, 1]})
        cmap = colormaps["viridis"]
        for j, (point, method, config, seed, mseed, rec) in enumerate(panels):
            ax_xy, ax_z = axes[0, j], axes[1, j]
            draw_scene(ax_xy, rec)
            paths = rec["positions"]
            for u, path in enumerate(paths):
                q = np.asarray(path, dtype=float).reshape(-1, 3)
                color = cmap(u / max(1, len(paths) - 1))
                ax_xy.plot(q[:, 0], q[:, 1], color=color, linewidth=0.9)
                ax_xy.scatter([q[0, 0]], [q[0, 1]], marker="o", s=10, color=color, zorder=4)
                ax_z.plot(mission_times(q, speed_of(scenario, point)), q[:, 2], color=color, linewidth=0.9)
            (_, _, z0), (_, _, z1) = rec["airspace"]
            margin = 0.1 * max(z1 - z0, 50.0)
            ax_z.set_ylim(z0 - margin, z1 + margin)
            ax_xy.set_title(f"{_series_label(ctx, scenario, point, method, config)}\n{len(paths)} UAV(s), "
                            f"seed {seed}", fontsize=9)
            ax_z.set_xlabel("mission time t [s]")
            ax_z.set_ylabel("altitude z [m]")
            ax_z.grid(alpha=0.3)
        axes[0, 0].legend(fontsize=7, loc="best")
        fig.suptitle(f"{scenario}: trajectories of all test UAVs (colour: UAV index)")
        fig.tight_layout()
        note = f" The first {MAX_PANELS} panels are drawn ({left_out} left out)." if left_out > 0 else ""
        figs.save(fig, name, f"{scenario}: every test UAV of the first instance seed per method and sweep point; "
                             "top x–y (circles: starts, star: destination, triangles/squares: GN/AN sites), "
                             f"bottom altitude against mission time.{note}")
    return []


# ----------------------------------------------------------------------------------------------- metrics

def _metrics(ctx: core.ReportContext, figs) -> list[str]:
    """The four metrics per method and sweep point (bars, mean ± std over seeds) and the metrics table."""
    from matplotlib.figure import Figure

    lines = ["### Metrics per method", "",
             "Per cell the mean over the instance's test UAVs (§6.3); below the mean over the cells (seeds) ± the "
             "standard deviation over them (ddof 1); `seeds`: the number of finished cells.", ""]
    colors = core.series_colors(ctx.res)
    drawn = False
    for scenario in ctx.res.sweep["scenarios"]:
        name = f"metrics-{_tag(scenario)}.png"
        points = [p for p, _ in ctx.res.points[scenario]]
        series = [s for s in ctx.series() if any(not ctx.rows(scenario, p, *s).empty for p in points)]
        metrics = [m for m in FOUR_METRICS if m in ctx.ok]
        if not series or not metrics:
            figs.skip(name, f"no finished rows with the four metrics for '{scenario}'")
            continue
        fig = Figure(figsize=(4.3 * len(metrics), 4.2))
        axes = fig.subplots(1, len(metrics), squeeze=False)[0]
        width = 0.8 / len(series)
        x = np.arange(len(points))
        for ax, metric in zip(axes, metrics):
            for k, (method, config) in enumerate(series):
                stats = [ctx.stats(scenario, p, method, config, metric) for p in points]
                means = np.array([s[0] for s in stats])
                stds = np.array([s[1] if s[2] > 1 else 0.0 for s in stats])
                pos = x - 0.4 + width * (k + 0.5)
                ax.bar(pos, np.nan_to_num(means), width=width * 0.92, color=colors[(method, config)],
                       yerr=stds if (stds > 0).any() else None, capsize=3, error_kw={"linewidth": 0.8},
                       label=core.series_name(method, config))
            ax.set_title(METRIC_TITLES[metric].split(" [")[0], fontsize=10)
            ax.set_ylabel(METRIC_TITLES[metric])
            ax.set_xticks(x)
            if points == [""]:
                ax.set_xticklabels([scenario])
            else:
                ax.set_xticklabels(points)
                sweep = ctx.sweep_name(scenario)
                ax.set_xlabel(ctx.res.sweep_labels.get(sweep, sweep))
            ax.grid(alpha=0.3, axis="y")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="upper center", ncol=min(len(labels), 6), bbox_to_anchor=(0.5, 0.99),
                   frameon=False, fontsize=9)
        fig.tight_layout(rect=(0, 0, 1, 0.9))
        figs.save(fig, name, f"{scenario}: average link rate, link switches, QoS satisfaction ratio and flight time "
                             "per method" + (" and sweep point" if points != [""] else "")
                             + "; mean over seeds, error bar ±1 std over seeds.")
        drawn = True
        rows, rel_rows = [], []
        for point in points:
            present = [s for s in series if not ctx.rows(scenario, point, *s).empty]
            for method, config in present:
                n_rows = len(ctx.rows(scenario, point, method, config))
                row = [point_text(ctx, scenario, point) or scenario, core.series_name(method, config), n_rows]
                row += [_stat_text(ctx.stats(scenario, point, method, config, m)) for m in TABLE_METRICS
                        if m in ctx.ok]
                train = ctx.stats(scenario, point, method, config, "train_s")
                row.append(_stat_text(train) if train[2] and train[0] > 0 else "–")
                rows.append(row)
            rel_rows += _relative_rows(ctx, scenario, point, present)
        header = ["point", "method", "seeds"] + [METRIC_TITLES[m] for m in TABLE_METRICS if m in ctx.ok]
        lines += [f"`{scenario}`:", ""] + core.md_table(header + ["training time [s]"], rows) + [""]
        if rel_rows:
            lines += [f"Relative difference of the proposed method ({PROPOSED}; the first method of the run when it "
                      "did not run) to each other method, (proposed − other) / |other| of the seed means, in % "
                      "(D31):", ""]
            lines += core.md_table(["point", "proposed vs", *[METRIC_TITLES[m].split(" [")[0] for m in TABLE_METRICS
                                                               if m in ctx.ok]], rel_rows) + [""]
    return lines if drawn else []


def _relative_rows(ctx: core.ReportContext, scenario: str, point: str, series) -> list[list]:
    """Rows of (proposed − other) / |other| in % for every metric; proposed = ddqn-csac, else the first series."""
    if len(series) < 2:
        return []
    proposed = next((s for s in series if s[0] == PROPOSED), series[0])
    out = []
    for other in series:
        if other == proposed:
            continue
        row = [point_text(ctx, scenario, point) or scenario,
               f"{core.series_name(*proposed)} vs {core.series_name(*other)}"]
        for m in TABLE_METRICS:
            if m not in ctx.ok:
                continue
            a = ctx.stats(scenario, point, *proposed, m)[0]
            b = ctx.stats(scenario, point, *other, m)[0]
            defined = math.isfinite(a) and math.isfinite(b) and b != 0
            row.append(f"{100.0 * (a - b) / abs(b):+.1f}" if defined else "–")
        out.append(row)
    return out


# ----------------------------------------------------------------------------------------------- training

def run_curves(frame, column: str, window: int = MOVING_AVERAGE):
    """(episodes, mean, std, n runs) over the training runs (one curves file each) of `column`, each run smoothed
    by a trailing moving average of `window` episodes first (window 1: raw)."""
    if column.startswith(core.VALIDATION_PREFIX):          # measured on some episodes only
        frame = frame[frame[column].notna()]
    table = frame.pivot_table(index="episode", columns="_file", values=column, aggfunc="mean").sort_index()
    table = table.rolling(window, min_periods=1).mean()
    mean = table.mean(axis=1)
    std = table.std(axis=1, ddof=1) if table.shape[1] > 1 else mean * np.nan
    return (np.asarray(table.index, dtype=float), mean.to_numpy(dtype=float), std.to_numpy(dtype=float),
            table.shape[1])


def _training(ctx: core.ReportContext, figs) -> list[str]:
    """Returns (50-episode moving average) and multiplier traces per learner, mean ± std over training runs."""
    from matplotlib.figure import Figure

    notes: list[str] = []
    curves = core.read_curves(ctx.res.directory, notes)
    for note in notes:
        figs.skip("training", note.lstrip("- "))
    if curves is None:
        figs.skip("training", "no training curves (curves/*.csv) in the directory")
        return []
    lines = ["### Training curves", "",
             f"Per-episode returns smoothed by a {MOVING_AVERAGE}-episode trailing moving average per training run, "
             "then mean ± std over runs (one curves file per run); last value of each trace:", ""]
    table = []
    drawn = False
    for method, mframe in curves.groupby("method", sort=True):
        name = f"training-{core.safe_name(method)}.png"
        panels = [(c, title, smooth) for c, title, smooth in CURVE_PANELS
                  if c in mframe and np.isfinite(np.asarray(mframe[c], dtype=float)).any()]
        if not panels:
            figs.skip(name, f"curves of '{method}' have none of {', '.join(c for c, _, _ in CURVE_PANELS)}")
            continue
        n_cols = 3 if len(panels) > 2 else len(panels)
        n_rows = -(-len(panels) // n_cols)
        fig = Figure(figsize=(4.8 * n_cols, 3.5 * n_rows + 0.5))
        grid = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
        for ax in grid[len(panels):]:
            ax.set_visible(False)
        groups = list(mframe.groupby(["config", "scenario", "point"], sort=False))
        several = len(groups) > 1
        with_validation = False
        for gi, ((config, scenario, point), frame) in enumerate(groups):
            color = core.PALETTE[gi % len(core.PALETTE)]
            label = " ".join(t for t in (config, scenario, point_text(ctx, scenario, point)
                                         if scenario in ctx.res.points else point) if t) if several else method
            row = [method, label if several else (config or "default"), frame["_file"].nunique()]
            for ax, (col, title, smooth) in zip(grid, panels):
                if smooth:
                    x, raw, _, _ = run_curves(frame, col, window=1)
                    ax.plot(x, raw, color=color, alpha=0.25, linewidth=0.6)
                x, mean, std, n_runs = run_curves(frame, col, window=MOVING_AVERAGE if smooth else 1)
                ax.plot(x, mean, color=color, linewidth=1.4, label=f"{label} ({n_runs} run{'s' * (n_runs != 1)})",
                        marker="D" if col.startswith(core.VALIDATION_PREFIX) else None, markersize=3.5)
                if n_runs > 1:
                    ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.2, linewidth=0)
                val_col = core.VALIDATION_PREFIX + col        # the greedy validation score, where it was measured
                if val_col in frame and frame[val_col].notna().any():
                    vx, vmean, _, _ = run_curves(frame[frame[val_col].notna()], val_col, window=1)
                    ax.plot(vx, vmean, color=color, linestyle="--", marker="D", markersize=3.5, linewidth=1.0,
                            label=f"{label}: greedy validation")
                    with_validation = True
            for col, _, smooth in CURVE_PANELS:
                if col in frame and np.isfinite(np.asarray(frame[col], dtype=float)).any():
                    _, mean, std, n_runs = run_curves(frame, col, window=MOVING_AVERAGE if smooth else 1)
                    row.append(core.format_stat(mean[-1], std[-1], n_runs))
                else:
                    row.append("–")
            table.append(row)
        for ax, (col, title, smooth) in zip(grid, panels):
            ax.set_title(title, fontsize=10)
            ax.set_xlabel("episode")
            core.integer_episode_ticks(ax)
            ax.set_ylabel(f"{col} ({MOVING_AVERAGE}-episode moving average)" if smooth else f"{col} [-]")
            ax.grid(alpha=0.3)
        grid[0].legend(fontsize=8)
        fig.suptitle(f"{method}: training curves (returns: faint per-episode mean, bold {MOVING_AVERAGE}-episode "
                     "moving average; band ±1 std over runs)", fontsize=10)
        fig.tight_layout()
        figs.save(fig, name, f"{method}: top-level and lower-level returns (undiscounted per-episode sums, mean over "
                             f"UAVs; {MOVING_AVERAGE}-episode moving average, mean ± std over training runs) and the "
                             "multiplier traces μ_qos, μ_bnd and the temperature α_T."
                             + (" Dashed with diamonds: the greedy validation score (no exploration, no learning) "
                                "where it was measured, beside the training-mode score." if with_validation else ""))
        drawn = True
    if not drawn:
        return []
    header = ["method", "curve", "runs"] + [c for c, _, _ in CURVE_PANELS]
    return lines + core.md_table(header, table) + [""]


# ----------------------------------------------------------------------------------------------- reference

def _ratio(num, den) -> float:
    """num / den when both are finite and den > 0, else NaN (as the evaluator's §6.5 comparison)."""
    num, den = float(num), float(den)
    return num / den if math.isfinite(num) and math.isfinite(den) and den > 0 else float("nan")


def reference_rows(ctx: core.ReportContext) -> list[dict]:
    """Per-UAV §6.5 comparison of every non-reference cell record with the lattice-dp record of its instance
    (same configuration if the reference ran it, else the default, else the first): gap and fraction against
    J_eval(DP) (the evaluator's value of the DP rollout), gap to the lattice value J*_L, rate and time ratios."""
    refs: dict = {}
    for (sc, pt, seed, method, config, _), rec in sorted(ctx.records.items()):
        if method == REFERENCE:
            refs.setdefault((sc, pt, seed, config), rec)
    out = []
    for (sc, pt, seed, method, config, mseed), rec in sorted(ctx.records.items()):
        if method == REFERENCE:
            continue
        ref_config = config if (sc, pt, seed, config) in refs else ""
        if (sc, pt, seed, ref_config) not in refs:
            candidates = sorted(c for (s, p, sd, c) in refs if (s, p, sd) == (sc, pt, seed))
            if not candidates:
                continue
            ref_config = candidates[0]
        ref = refs[(sc, pt, seed, ref_config)]
        mine, theirs = rec.get("uavs") or [], ref.get("uavs") or []
        lattice = ref.get("lattice_values") or [None] * len(theirs)
        if len(mine) != len(theirs):
            continue
        for u, (a, r) in enumerate(zip(mine, theirs)):
            j_l = float("nan") if u >= len(lattice) or lattice[u] is None else float(lattice[u])
            out.append({"scenario": sc, "point": pt, "seed": seed, "method": method, "config": config,
                        "method_seed": mseed, "reference_config": ref_config, "uav": u,
                        "objective": float(a["objective"]), "rate_mbps": float(a["rate_mbps"]),
                        "flight_time_s": float(a["flight_time_s"]), "success": float(a["success"]),
                        "ref_objective_eval": float(r["objective"]), "ref_objective_lattice": j_l,
                        "gap": float(r["objective"]) - float(a["objective"]),
                        "gap_lattice": j_l - float(a["objective"]),
                        "frac": _ratio(a["objective"], r["objective"]),
                        "frac_lattice": _ratio(a["objective"], j_l),
                        "rate_ratio": _ratio(a["rate_mbps"], r["rate_mbps"]),
                        "time_ratio": _ratio(r["flight_time_s"], a["flight_time_s"])})
    order = {s: i for i, s in enumerate(ctx.series())}
    places = {p: i for i, p in enumerate(ctx.places())}
    out.sort(key=lambda r: (places.get((r["scenario"], r["point"]), 0), r["seed"],
                            order.get((r["method"], r["config"]), len(order)), r["method_seed"], r["uav"]))
    return out


def _reference(ctx: core.ReportContext, figs) -> list[str]:
    """Per-UAV comparison with lattice-dp: summary and first-seed tables, CSV, figure."""
    import pandas as pd
    from matplotlib.figure import Figure

    rows = reference_rows(ctx)
    if not rows:
        figs.skip("reference", f"needs cell records of {REFERENCE} and of another method on the same instances")
        return []
    df = pd.DataFrame(rows)
    df.to_csv(ctx.res.directory / REFERENCE_CSV, index=False)
    lines = ["### Per-UAV comparison with the lattice reference (§6.5, §8.3)", "",
             f"Per test UAV u: gap_u = J_eval(DP)_u − J_u and frac_u = J_u / J_eval(DP)_u (J_eval(DP): the "
             "evaluator's value of the lattice-dp path, comparable in both gain modes; frac only where "
             "J_eval(DP)_u > 0, > 1 is reported, not clipped), gap_L = J*_L,u − J_u against the DP's own lattice "
             "value and frac_L = J_u / J*_L,u (the §6.5 fraction with segment gains, `frac_ref` of the "
             f"results table), R̄_u / R̄*_u and T*_u / T_u. Every per-UAV value is in `{REFERENCE_CSV}`. "
             "Mean ± std over UAVs and seeds:", ""]
    colors = core.series_colors(ctx.res)
    for (sc, pt), place in df.groupby(["scenario", "point"], sort=False):
        summary = []
        for (method, config), g in place.groupby(["method", "config"], sort=False):
            cols = ("gap", "frac", "gap_lattice", "frac_lattice", "rate_ratio", "time_ratio")
            stat = {c: core.metric_stats(g[c]) for c in cols}
            above = int((g["frac"] > 1.0).sum())
            summary.append([core.series_name(method, config), len(g), *[_stat_text(stat[c]) for c in cols], above])
        where = f"`{sc}`" + (f" {point_text(ctx, sc, pt)}" if pt else "")
        lines += [f"{where}:", ""]
        lines += core.md_table(["method", "UAV values", "gap (J_eval(DP) − J)", "frac J / J_eval(DP)",
                                 "gap_L (J*_L − J)", "frac_L J / J*_L", "R̄ / R̄*", "T* / T", "UAVs with frac > 1"],
                                summary) + [""]
        first = int(place["seed"].min())
        seed_rows = place[place["seed"] == first]
        series = list(dict.fromkeys(zip(seed_rows["method"], seed_rows["config"])))
        per_uav = []
        for u, g in seed_rows.groupby("uav", sort=True):
            row = [u, _fmt(g["ref_objective_lattice"].iloc[0]), _fmt(g["ref_objective_eval"].iloc[0])]
            for method, config in series:
                sel = g[(g["method"] == method) & (g["config"] == config)].sort_values("method_seed")
                row.append(f"{_fmt(sel['objective'].iloc[0])} ({_fmt(sel['frac'].iloc[0])})" if len(sel) else "–")
            per_uav.append(row)
        lines += [f"Per UAV, instance seed {first}: the DP's lattice value J*_L beside its evaluated value "
                  "J_eval(DP), and each method's J_u (frac_u):", ""]
        lines += core.md_table(["UAV", "J*_L", "J_eval(DP)", *[core.series_name(*s) for s in series]], per_uav)
        lines += [""]

        name = f"reference-{_tag(sc, pt)}.png"
        fig = Figure(figsize=(12.0, 4.6))
        ax_f, ax_j = fig.subplots(1, 2)
        all_series = list(dict.fromkeys(zip(place["method"], place["config"])))
        for k, s in enumerate(all_series):
            g = place[(place["method"] == s[0]) & (place["config"] == s[1])]
            vals = g["frac"].to_numpy(dtype=float)
            vals = vals[np.isfinite(vals)]
            if len(vals):
                ax_f.boxplot([vals], positions=[k], widths=0.5, showfliers=False)
                jitter = np.linspace(-0.15, 0.15, len(vals))
                ax_f.scatter(k + jitter, vals, s=10, color=colors.get(s, "#1f77b4"), alpha=0.7, zorder=3)
        ax_f.axhline(1.0, color="#d62728", linestyle="--", linewidth=0.9, label="J_u = J_eval(DP)_u")
        ax_f.set_xticks(range(len(all_series)))
        ax_f.set_xticklabels([core.series_name(*s) for s in all_series], rotation=20, fontsize=8)
        ax_f.set_ylabel("frac_u = J_u / J_eval(DP)_u [-]")
        ax_f.set_title("per-UAV fraction of the lattice reference")
        ax_f.legend(fontsize=8)
        ax_f.grid(alpha=0.3, axis="y")
        dp = place.drop_duplicates(["seed", "uav", "reference_config"])
        jl, je = dp["ref_objective_lattice"].to_numpy(dtype=float), dp["ref_objective_eval"].to_numpy(dtype=float)
        keep = np.isfinite(jl) & np.isfinite(je)
        if keep.any():
            ax_j.scatter(jl[keep], je[keep], s=16, color="#2ca02c", label="UAV (all seeds)")
            lo, hi = float(min(jl[keep].min(), je[keep].min())), float(max(jl[keep].max(), je[keep].max()))
            ax_j.plot([lo, hi], [lo, hi], color="#555555", linestyle="--", linewidth=0.9, label="J_eval = J*_L")
            ax_j.legend(fontsize=8)
        else:
            ax_j.text(0.5, 0.5, "no lattice values J*_L in the records", ha="center", va="center",
                      transform=ax_j.transAxes)
        ax_j.set_xlabel("lattice value J*_L [-]")
        ax_j.set_ylabel("evaluated value J_eval(DP) [-]")
        ax_j.set_title("lattice-dp: J*_L against J_eval(DP)")
        ax_j.grid(alpha=0.3)
        fig.suptitle(f"{sc}{' ' + point_text(ctx, sc, pt) if pt else ''}: comparison with {REFERENCE} per test UAV")
        fig.tight_layout()
        figs.save(fig, name, f"{where}: left the per-UAV fraction J_u / J_eval(DP)_u per method (box: quartiles, "
                             "dots: UAVs of all seeds); right the DP's lattice value J*_L against its evaluated value "
                             "(equal up to tick rounding with segment gains, §8.3).")
    return lines


# ----------------------------------------------------------------------------------------------- MILP check

def milp_rows(ctx: core.ReportContext) -> list[dict]:
    """Per (instance, configuration, UAV): lattice-dp and p2l-milp values J*_L, their relative difference, whether
    the paths are identical and both rollouts' evaluated metrics."""
    out = []
    for (sc, pt, seed, method, config, mseed), dp in sorted(ctx.records.items()):
        if method != REFERENCE:
            continue
        mi = next((r for s, _, r in ctx.cell_records(sc, pt, MILP, config) if s == seed), None)
        if mi is None:
            continue
        status = ctx.rows(sc, pt, MILP, config)
        status = status[status["seed"] == seed]["status"]
        dv, mv = dp.get("lattice_values") or [], mi.get("lattice_values") or []
        for u in range(max(len(dv), len(mv))):
            a = float(dv[u]) if u < len(dv) and dv[u] is not None else float("nan")
            b = float(mv[u]) if u < len(mv) and mv[u] is not None else float("nan")
            scale = max(abs(a), abs(b))
            rel = abs(a - b) / scale if scale > 0 else (0.0 if a == b else float("nan"))
            same = (u < len(dp["positions"]) and u < len(mi["positions"])
                    and np.array_equal(np.asarray(dp["positions"][u]), np.asarray(mi["positions"][u]))
                    and dp["serving"][u] == mi["serving"][u])
            du = (dp.get("uavs") or [{}] * (u + 1))[u]
            mu = (mi.get("uavs") or [{}] * (u + 1))[u]
            dl = (dp.get("lattice_paths") or [{}] * (u + 1))[u]
            ml = (mi.get("lattice_paths") or [{}] * (u + 1))[u]
            out.append({"scenario": sc, "point": pt, "seed": seed, "config": config, "uav": u, "dp_value": a,
                        "milp_value": b, "relative_difference": rel,
                        "agree": bool(math.isfinite(rel) and rel <= MILP_TOL), "same_path": bool(same),
                        "milp_status": str(status.iloc[0]) if len(status) else "",
                        "dp_eval": du.get("objective"), "milp_eval": mu.get("objective"),
                        "dp_rate": du.get("rate_mbps"), "milp_rate": mu.get("rate_mbps"),
                        "dp_switches": du.get("switches"), "milp_switches": mu.get("switches"),
                        "dp_time": du.get("flight_time_s"), "milp_time": mu.get("flight_time_s"),
                        "dp_aht": _aht(dl), "milp_aht": _aht(ml)})
    return out


def _aht(path: dict) -> str:
    """"A / H / t_f" of a lattice path record (A Mbit, switches, arrival tick), "–" when absent."""
    if not path or path.get("A_mbit") is None:
        return "–"
    return f"{_fmt(path['A_mbit'])} / {path['H']} / {path['t_f']}"


def _milp(ctx: core.ReportContext, figs) -> list[str]:
    rows = milp_rows(ctx)
    order = [c["label"] for c in ctx.res.sweep.get("configs") or []]
    rows.sort(key=lambda r: (r["scenario"], r["point"], r["seed"],
                             order.index(r["config"]) if r["config"] in order else len(order), r["uav"]))
    if not rows:
        figs.skip("milp (table)", f"needs cell records of both {REFERENCE} and {MILP} on the same instances")
        return []
    bad = [r for r in rows if not r["agree"]]
    verdict = (f"all {len(rows)} UAV values agree within {MILP_TOL:g} relative" if not bad else
               f"**{len(bad)} of {len(rows)} UAV values do not agree within {MILP_TOL:g} relative**")
    table = [[r["seed"], r["config"] or "default", r["uav"], _fmt(r["dp_value"]), _fmt(r["milp_value"]),
              f"{r['relative_difference']:.1e}" if math.isfinite(r["relative_difference"]) else "–",
              "yes" if r["agree"] else "NO", r["milp_status"], "yes" if r["same_path"] else "no",
              f"{_fmt(r['dp_eval'])} / {_fmt(r['milp_eval'])}", f"{_fmt(r['dp_rate'])} / {_fmt(r['milp_rate'])}",
              f"{_fmt(r['dp_switches'])} / {_fmt(r['milp_switches'])}",
              f"{_fmt(r['dp_time'])} / {_fmt(r['milp_time'])}", r["dp_aht"], r["milp_aht"]]
             for r in rows]
    lines = ["### MILP cross-check of the lattice optimum (§8.2, §9 milp_check)", "",
             f"Lattice value J*_L per test UAV of {REFERENCE} and {MILP} per gain mode: {verdict}. Where the "
             "paths differ, the optima are tied (equal values); their evaluated rollouts are compared as "
             "DP / MILP.", ""]
    header = ["seed", "gain mode", "UAV", f"{REFERENCE} J*_L", f"{MILP} J*_L", "relative difference",
              f"within {MILP_TOL:g}", f"{MILP} status", "same path", "J_eval", "R̄ [Mbit/s]", "N", "T [s]",
              f"{REFERENCE} A [Mbit] / H / t_f", f"{MILP} A [Mbit] / H / t_f"]
    return lines + core.md_table(header, table) + [""]


BUILDERS = {"trajectories": _trajectories, "trajectories-all": _trajectories_all, "metrics": _metrics,
            "training": _training, "reference": _reference, "milp": _milp}
