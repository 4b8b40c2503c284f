"""Family figures and tables of `optkit report` for `leo-handover` (§6.4, §9 EXP-0 … EXP-8, §11 plotting of
docs/families/leo-handover.md).

`report_extras(res, figs, figures)` draws the figures an experiment names in `_experiments.toml` ("data",
"training", "comparison", "gap", "pareto", "ablation", "weights", "geometry", "milp"; "sweep" is the generic
report's) and returns the markdown lines that go into report.md before its "Figures" section. A figure whose data
are missing is skipped with a reason, never raised. Matplotlib is used through `Figure` objects only.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from optkit import report as core
from optkit.report import charts
from optkit.errors import InputError

FAMILY = "leo-handover"
DEFAULT_FIGURES = ("comparison", "gap")              # a run that is no experiment
GENERIC_FIGURES = ("sweep",)                         # drawn by optkit.report itself
PARETO_LAMBDAS = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, "lex")
PARETO_BUDGET_STEPS = 150_000                        # Σ_episodes L above which the P2-B front is left out (its
                                                     # (j, h) recursion loops over steps in Python: ~20 µs a step)
VALIDATION_PREFIX = core.VALIDATION_PREFIX            # greedy validation columns of the curves (val_<metric>)
SMOOTH_EPISODES = 20                                 # §6.4 trailing moving average of the training curves
N_BLOCKS = 10                                        # §6.4 bar charts: 10 blocks of n_train_episodes / 10
GEOMETRY_MAX_PAIRS = 200_000
MILP_TOL = 1e-6                                      # §8.3 relative agreement of MILP and DP
SERIES_PLOT_POINTS = 2000                            # time series are drawn at about this many steps
COMPARISON_METRICS = ("handover_freq", "link_duration", "reward", "eta_ho")
GAP_METRICS = ("eta_ho", "eta_ld", "eta_g", "excess_handovers")
TRAINING_METRICS = (("reward", "total reward G"), ("handover_freq", "handover frequency f_HO"),
                    ("link_duration", "link-duration ratio LD"))
ABLATION_METRICS = (("handovers", "H"), ("handover_freq", "f_HO"), ("link_duration", "LD"), ("reward", "G"))
# EXP-2 metrics of the comparison tables (column title, metric)
CORE_TABLE = (("H", "handovers"), ("f_HO", "handover_freq"), ("LD", "link_duration"), ("G", "reward"))
WIDE_TABLE = (("H/h", "handover_rate_hr"), ("H_forced", "handovers_forced"), ("H_vol", "handovers_voluntary"),
              ("T_link [s]", "link_duration_s"), ("κ", "retention"), ("Ḡ", "reward_per_step"),
              ("El [deg]", "serving_elev_deg"), ("d [km]", "serving_range_km"), ("El<30°", "low_elev_frac"),
              ("FSPL [dB]", "fspl_db"), ("η_HO", "eta_ho"), ("ΔH", "excess_handovers"), ("η_LD", "eta_ld"),
              ("η_G", "eta_g"))
KIND_COLORS = {"learner": "#1f77b4", "heuristic": "#ff7f0e", "exact": "#2ca02c"}
KIND_NAMES = {"learner": "learner", "heuristic": "heuristic", "exact": "offline reference"}
SKIPPABLE = (InputError, ValueError, LookupError, OSError, ArithmeticError)


# ----------------------------------------------------------------------------------------------- entry point

def report_extras(res, figs, figures) -> list[str]:
    """Draw the requested figures (None: "comparison" and "gap") and return the markdown lines of their tables."""
    return core.draw_family_figures("leo-handover", BUILDERS, list(DEFAULT_FIGURES if figures is None else figures),
                                    GENERIC_FIGURES, core.ReportContext(res), figs, SKIPPABLE)


def _place_tag(scenario: str, point: str) -> str:
    return core.safe_name(scenario) + (f"-{core.safe_name(point)}" if point else "")


def _place_title(scenario: str, point: str) -> str:
    return f"`{scenario}`" + (f" point `{point}`" if point else "")


@functools.lru_cache(maxsize=None)
def _kind(method: str) -> str:
    """The registered kind of a method (learner, heuristic, exact), '' when it is not registered."""
    from optkit import registry

    try:
        return registry.get_method(FAMILY, method).kind
    except InputError:
        return ""


def _fmt(x: float) -> str:
    return core.format_number(float(x))


def _stat_text(stat: tuple[float, float, int]) -> str:
    return core.format_stat(*stat)


# ----------------------------------------------------------------------------------------------- EXP-0 data

def world_table_row(label: str, orbits, params: dict) -> list:
    """One row of the EXP-0 table: N_s, mean |V|, mean |E|, max |E|, outage fraction, windows, records, ×360,
    longest and median window (s)."""
    from optkit.formulations.leo_handover import world

    n_vis, n_eli = world.world_counts(orbits, params)
    win = world.world_windows(orbits, params)
    dur = (win.end - win.start + 1) * float(params["dt_s"])
    records = int(n_eli.sum())
    return [label, orbits.n_sat, _fmt(n_vis.mean()), _fmt(n_eli.mean()), int(n_eli.max()) if n_eli.size else 0,
            _fmt(float(np.mean(n_eli == 0))), len(win), records, records * 360,
            _fmt(dur.max()) if dur.size else "–", _fmt(np.median(dur)) if dur.size else "–"]


def footprint_circles(lat_deg, lon_deg, radius_km, n_points: int = 73):
    """(N, n_points) latitude and longitude (deg) of small circles of ground radius r_fp around sub-satellite
    points (spherical, R_m); longitude wrapped to [-180, 180) with NaN where a circle crosses the date line."""
    from optkit.formulations.leo_handover.geometry import R_MEAN_KM

    lat0 = np.radians(np.asarray(lat_deg, dtype=float))[:, None]
    lon0 = np.radians(np.asarray(lon_deg, dtype=float))[:, None]
    delta = (np.asarray(radius_km, dtype=float) / R_MEAN_KM)[:, None]
    theta = np.linspace(0.0, 2.0 * np.pi, n_points)[None, :]
    lat = np.arcsin(np.sin(lat0) * np.cos(delta) + np.cos(lat0) * np.sin(delta) * np.cos(theta))
    lon = lon0 + np.arctan2(np.sin(theta) * np.sin(delta) * np.cos(lat0), np.cos(delta) - np.sin(lat0) * np.sin(lat))
    lon_deg_out = (np.degrees(lon) + 180.0) % 360.0 - 180.0
    jump = np.abs(np.diff(lon_deg_out, axis=1)) > 180.0
    lon_deg_out[:, 1:][jump] = np.nan
    return np.degrees(lat), lon_deg_out


def _data(ctx: core.ReportContext, figs) -> list[str]:
    from matplotlib.figure import Figure

    from optkit.formulations.leo_handover import geometry as geo
    from optkit.formulations.leo_handover import world
    from optkit.formulations.leo_handover.generator import training_orbits

    lines = ["### Data description (EXP-0)", ""]
    header = ["world", "N_s", "mean |V(k)|", "mean |E(k)|", "max |E(k)|", "outage fraction", "windows",
              "eligible (k, j) records", "records ×360 (headings)", "longest window [s]", "median window [s]"]
    for scenario, point in ctx.places():
        for seed in ctx.seeds(scenario, point):
            inst = ctx.instance(scenario, point, seed)
            orbits, params = inst.orbits(), inst.params()
            dt = float(params["dt_s"])
            static = dict(params, terminal_speed_mps=0.0)
            rows = [world_table_row(f"test (seed {seed})", orbits, static)]
            for w, train in enumerate(training_orbits(static, seed)):
                rows.append(world_table_row(f"training {w}", train, static))
            n_vis, n_eli = world.world_counts(orbits, static)
            win = world.world_windows(orbits, static)
            dur = (win.end - win.start + 1) * dt
            clipped = int(np.count_nonzero((win.start == 0) | (win.end == win.n_steps - 1)))
            K = n_eli.size
            stride = max(1, K // SERIES_PLOT_POINTS)
            hours = np.arange(0, K, stride) * dt / 3600.0

            fig = Figure(figsize=(15, 9))
            grid = fig.add_gridspec(2, 3)
            ax = fig.add_subplot(grid[0, 0])
            ax.hist(orbits.footprint_km, bins=20, color="#1f77b4", edgecolor="white")
            ax.set_xlabel("footprint radius r_fp [km]")
            ax.set_ylabel("satellites")
            ax.set_title(f"footprint radii (N_s = {orbits.n_sat})")
            ax = fig.add_subplot(grid[0, 1])
            top = int(max(n_vis.max(), n_eli.max())) if K else 0
            bins = np.arange(-0.5, top + 1.5, 1.0)
            ax.hist([n_vis, n_eli], bins=bins, label=["|V(k)| visible", "|E(k)| eligible"],
                    color=["#9ecae1", "#08519c"], weights=[np.full(K, 1.0 / K)] * 2)
            ax.set_xlabel("satellites per step")
            ax.set_ylabel("fraction of steps")
            ax.set_title("visible and eligible counts")
            ax.legend(fontsize=8)
            ax = fig.add_subplot(grid[0, 2])
            if dur.size:
                ax.hist(dur, bins=30, color="#2ca02c", edgecolor="white")
            ax.set_xlabel("eligibility-window duration [s]")
            ax.set_ylabel("windows")
            ax.set_title(f"{len(win)} windows ({clipped} cut by the horizon)")
            ax = fig.add_subplot(grid[1, 0])
            ax.plot(hours, n_vis[::stride], color="#9ecae1", linewidth=0.8, label="|V(k)|")
            ax.plot(hours, n_eli[::stride], color="#08519c", linewidth=0.8, label="|E(k)|")
            ax.set_xlabel("time [h]")
            ax.set_ylabel("satellites")
            ax.set_title(f"counts over the horizon (every {stride}-th step)")
            ax.legend(fontsize=8)
            ax = fig.add_subplot(grid[1, 1:])
            r0, _ = geo.sat_ecef(orbits.alt_km, orbits.incl_deg, orbits.raan_deg, orbits.argl0_deg, 0.0,
                                 float(params["gmst0_deg"]), with_velocity=False)
            lat, lon, _ = geo.ecef_to_geodetic(r0)
            c_lat, c_lon = footprint_circles(lat, lon, orbits.footprint_km)
            eligible0 = np.zeros(orbits.n_sat, dtype=bool)
            eligible0[win.sat[(win.start <= 0) & (win.end >= 0)]] = True
            ax.plot(c_lon[~eligible0].T, c_lat[~eligible0].T, color="#bbbbbb", linewidth=0.4)
            ax.plot(c_lon[eligible0].T, c_lat[eligible0].T, color="#08519c", linewidth=1.0)
            ax.scatter(lon[~eligible0], lat[~eligible0], s=6, color="#777777", label="sub-satellite point")
            ax.scatter(lon[eligible0], lat[eligible0], s=18, color="#08519c",
                       label=f"eligible at t = 0 ({int(eligible0.sum())})")
            ax.scatter([params["terminal_lon_deg"]], [params["terminal_lat_deg"]], marker="*", s=160,
                       color="#d62728", label="terminal", zorder=5)
            ax.set_xlim(-180, 180)
            ax.set_ylim(-90, 90)
            ax.set_xlabel("longitude [deg]")
            ax.set_ylabel("latitude [deg]")
            ax.set_title("snapshot at t = 0: sub-satellite points and footprints (small circles of radius r_fp)")
            ax.legend(fontsize=8, loc="lower left")
            ax.grid(alpha=0.3)
            fig.suptitle(f"{scenario}{' ' + point if point else ''}: test world of seed {seed}")
            fig.tight_layout()
            name = f"data-{_place_tag(scenario, point)}-s{seed}.png"
            figs.save(fig, name, f"{_place_title(scenario, point)}, seed {seed}: test world. Top: histogram of "
                                 f"r_fp; histograms of |V(k)| and |E(k)|; eligibility-window durations ({clipped} "
                                 f"windows are cut by the horizon start or end). Bottom: |V(k)| and |E(k)| over "
                                 f"the horizon (every {stride}-th step drawn); sub-satellite points and footprint "
                                 f"circles at t = 0 (ground-distance circles on a sphere of radius R_m).")
            lines += [f"{_place_title(scenario, point)}, seed {seed} (Δt = {dt:g} s, K = {K} steps; records ×360: "
                      "the heading-augmented count of the paper's 360 terminal headings):", ""]
            lines += core.md_table(header, rows) + [""]
    return lines


# ----------------------------------------------------------------------------------------------- EXP-1 training

def block_means(values, n_blocks: int = N_BLOCKS) -> np.ndarray:
    """Means of `n_blocks` consecutive blocks of nearly equal size (fewer blocks when there are fewer values)."""
    values = np.asarray(values, dtype=float)
    n = min(n_blocks, values.size)
    if n == 0:
        return np.zeros(0)
    edges = np.linspace(0, values.size, n + 1).round().astype(int)
    sums = np.add.reduceat(np.nan_to_num(values), edges[:-1])
    counts = np.add.reduceat(np.isfinite(values).astype(float), edges[:-1])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def seed_curves(frame, metric: str):
    """(episodes (E,), seed mean (E,), trailing 20-episode moving average of the seed mean (E,), n seeds)."""
    table = frame.pivot_table(index="episode", columns="method_seed", values=metric, aggfunc="mean").sort_index()
    mean = table.mean(axis=1)
    smooth = mean.rolling(SMOOTH_EPISODES, min_periods=1).mean()
    return (np.asarray(table.index, dtype=float), mean.to_numpy(dtype=float), smooth.to_numpy(dtype=float),
            table.shape[1])


def _training(ctx: core.ReportContext, figs) -> list[str]:
    from matplotlib.figure import Figure

    notes: list[str] = []
    curves = core.read_curves(ctx.res.directory, notes)
    lines = ["### Training curves (EXP-1)", ""] + notes + ([""] if notes else [])
    metrics = [(m, label) for m, label in TRAINING_METRICS if curves is not None and m in curves]
    if curves is None or not metrics:
        figs.skip("training", "no training curves with reward, handover_freq or link_duration (curves/*.csv)")
        return []
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f"]
    for scenario, point in ctx.places():
        here = curves[(curves["scenario"] == scenario) & (curves["point"] == point)]
        learners = [k for k, _ in here.groupby(["method", "config"], sort=False)]
        without = [s for s in core.series_list(ctx.res)
                   if s not in learners and not ctx.rows(scenario, point, *s).empty]
        tag = _place_tag(scenario, point)
        if not learners:
            figs.skip(f"training-{tag}.png", f"no training curves for {scenario} {point}".strip())
            continue
        data = {}
        with_validation = False
        for key in learners:
            frame = here[(here["method"] == key[0]) & (here["config"] == key[1])]
            data[key] = {m: seed_curves(frame, m) for m, _ in metrics}
            for m, _ in metrics:             # the greedy validation score where the curves have it (sparse)
                col = VALIDATION_PREFIX + m
                if col in frame and frame[col].notna().any():
                    x, mean, _, _ = seed_curves(frame[frame[col].notna()], col)
                    data[key][col] = (x, mean)
        fig = Figure(figsize=(5.0 * len(metrics), 8.0))
        axes = fig.subplots(2, len(metrics), squeeze=False)
        width = 0.8 / len(learners)
        n_blocks_used = set()
        for col, (metric, label) in enumerate(metrics):
            ax, bx = axes[0, col], axes[1, col]
            for i, key in enumerate(learners):
                x, raw, smooth, n_seeds = data[key][metric]
                color = colors[i % len(colors)]
                name = core.series_name(*key)
                ax.plot(x, raw, color=color, alpha=0.18, linewidth=0.7)
                ax.plot(x, smooth, color=color, linewidth=1.5, label=f"{name} ({n_seeds} seed{'s' * (n_seeds != 1)})")
                val = data[key].get(VALIDATION_PREFIX + metric)
                if val is not None:
                    ax.plot(val[0], val[1], color=color, linestyle="--", marker="D", markersize=3.5, linewidth=1.0,
                            label=f"{name}: greedy validation")
                    with_validation = True
                blocks = block_means(raw)
                n_blocks_used.add(blocks.size)
                bx.bar(np.arange(blocks.size) + (i - (len(learners) - 1) / 2) * width, blocks, width, color=color,
                       label=name)
            ax.set_title(label)
            ax.set_xlabel("training episode")
            core.integer_episode_ticks(ax)
            core.integer_episode_ticks(bx)
            ax.set_ylabel(f"{metric} ({SMOOTH_EPISODES}-episode moving average)")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
            bx.set_title(f"{label}: block means")
            bx.set_xlabel("block of consecutive training episodes")
            bx.set_ylabel(f"mean {metric}")
            bx.grid(alpha=0.3, axis="y")
            bx.legend(fontsize=8)
        fig.suptitle(f"{scenario}{' ' + point if point else ''}: training curves (ε-greedy rollouts), seed mean")
        fig.tight_layout()
        skipped_text = ""
        if without:
            skipped_text = (" Not drawn: " + ", ".join(core.series_name(*s) for s in without) + " (no training "
                            "curve in the results: a method that does not train, such as `distance`, records none "
                            "here; its test values are in the table below).")
        blocks_text = ", ".join(str(b) for b in sorted(n_blocks_used))
        val_text = (" Dashed with diamonds: the greedy validation score (ε = 0, no learning) where it was measured, "
                    "beside the training-mode score." if with_validation else "")
        figs.save(fig, f"training-{tag}.png",
                  f"{_place_title(scenario, point)}: top: seed-averaged G, f_HO and LD per training episode (faint: "
                  f"raw seed mean; bold: trailing {SMOOTH_EPISODES}-episode moving average); bottom: means over "
                  f"{blocks_text} consecutive blocks of n/{N_BLOCKS} training episodes (§6.4).{val_text}"
                  f"{skipped_text}")
        fig = Figure(figsize=(5.0 * len(metrics), 4.0))
        axes = fig.subplots(1, len(metrics), squeeze=False)[0]
        for ax, (metric, label) in zip(axes, metrics):
            smooth_all = np.concatenate([data[k][metric][2] for k in learners])
            lo, hi = np.nanmin(smooth_all), np.nanmax(smooth_all)
            span = hi - lo if hi > lo else 1.0
            for i, key in enumerate(learners):
                x, _, smooth, _ = data[key][metric]
                ax.plot(x, (smooth - lo) / span, color=colors[i % len(colors)], linewidth=1.5,
                        label=core.series_name(*key))
            ax.set_title(f"{label} (min–max normalised)")
            ax.set_xlabel("training episode")
            core.integer_episode_ticks(ax)
            ax.set_ylim(-0.05, 1.05)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.tight_layout()
        figs.save(fig, f"training-normalized-{tag}.png",
                  f"{_place_title(scenario, point)}: the smoothed curves with each metric min–max scaled over all "
                  "curves of the figure (§6.4, plots only).")
        header = ["learner", "method seeds", "training episodes", "decision steps per seed",
                  "gradient steps per seed", "train_s (mean)"]
        rows = []
        for key in learners:
            frame = here[(here["method"] == key[0]) & (here["config"] == key[1])]
            per_seed = frame.groupby("method_seed")
            steps = per_seed["steps"].sum() if "steps" in frame else None
            grads = per_seed["grad_steps"].max() if "grad_steps" in frame and frame["grad_steps"].notna().any() \
                else None
            train = ctx.stats(scenario, point, key[0], key[1], "train_s")
            rows.append([core.series_name(*key), per_seed.ngroups, _fmt(per_seed["episode"].nunique().mean()),
                         _fmt(steps.mean()) if steps is not None else "–",
                         _fmt(grads.mean()) if grads is not None else "–", _stat_text(train)])
        lines += [f"{_place_title(scenario, point)}: training budget per learner (episodes, decision and gradient "
                  "steps from the curves, the tabular learners take no gradient steps; train_s is the runner's "
                  "training time of the cell, the stored one when the checkpoint came from the cache):", ""]
        lines += core.md_table(header, rows) + [""]
        if without:
            rows = []
            for key in without:
                rows.append([core.series_name(*key)] + [_stat_text(ctx.stats(scenario, point, *key, m))
                                                        for m, _ in TRAINING_METRICS])
            lines += ["Methods without a training curve: test values (mean ± std over seeds):", ""]
            lines += core.md_table(["method", "G", "f_HO", "LD"], rows) + [""]
    return lines


# ----------------------------------------------------------------------------------------------- EXP-2, EXP-7 bars

def _bar_figure(ctx: core.ReportContext, scenario: str, point: str, series, metrics, title: str):
    """Horizontal bars (one panel per metric, two panels a row) of mean ± std over seeds per series, coloured by
    method kind; returns the matplotlib figure and the interactive chart of report.html."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    labels = [core.series_name(*s) for s in series]
    colors = [KIND_COLORS.get(_kind(m), "#7f7f7f") for m, _ in series]
    n_cols = min(2, len(metrics))
    n_rows = -(-len(metrics) // n_cols)
    panel_height = max(2.4, 0.9 + 0.3 * len(series))
    fig = Figure(figsize=(5.0 * n_cols + 1.4, panel_height * n_rows + 0.9))
    grid = fig.subplots(n_rows, n_cols, squeeze=False, sharey=True)
    for ax in grid.ravel()[len(metrics):]:
        ax.set_visible(False)
    y = np.arange(len(series))
    panels = []
    for ax, metric in zip(grid.ravel(), metrics):
        stats = [ctx.stats(scenario, point, *s, metric) for s in series]
        means = np.array([st[0] for st in stats])
        stds = np.array([st[1] if st[2] > 1 else 0.0 for st in stats])
        panels.append((core.axis_label(ctx.res, metric), means.tolist(), stds.tolist()))
        ax.barh(y, np.nan_to_num(means), color=colors)
        has_std = stds > 0
        if has_std.any():
            ax.errorbar(means[has_std], y[has_std], xerr=stds[has_std], fmt="none", ecolor="black", capsize=2,
                        linewidth=0.8)
        for yi, m in zip(y, means):
            if not math.isfinite(m):
                ax.text(0, yi, " n/a", va="center", fontsize=7, color="#555555")
        ax.set_title(core.axis_label(ctx.res, metric), fontsize=9)
        ax.grid(alpha=0.3, axis="x")
    for row in grid:
        row[0].set_yticks(y)
        row[0].set_yticklabels(labels, fontsize=8)
    grid[0, 0].invert_yaxis()
    handles = [Patch(color=c, label=KIND_NAMES[k]) for k, c in KIND_COLORS.items()]
    fig.legend(handles=handles, loc="upper right", fontsize=8, ncol=3, frameon=False)
    fig.suptitle(title, fontsize=10, x=0.4)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig, charts.bar_chart(title, labels, colors, panels)


def _comparison(ctx: core.ReportContext, figs) -> list[str]:
    lines = ["### Test comparison (EXP-2)", "",
             "Each row of the results holds one (instance seed, method seed) cell: the mean over its test episodes. "
             "Below: the mean of these per-seed means, the standard deviation over them (§6.4 (b), ddof 1) and the "
             "pooled standard deviation over every (seed, episode) value (§6.4 (a)), recombined from each row's "
             "episode count, mean and episode standard deviation. Deterministic methods run once (no std over "
             "seeds); the 95 % bootstrap interval of each row's mean is in the results table (`*_ci_low`, "
             "`*_ci_high`).", ""]
    drawn = False
    for scenario, point in ctx.places():
        series = ctx.series_at(scenario, point, ("handovers",))
        tag = _place_tag(scenario, point)
        if not series:
            figs.skip(f"comparison-{tag}.png", f"no finished rows with handovers for {scenario} {point}".strip())
            continue
        metrics = [m for m in COMPARISON_METRICS if m in ctx.ok]
        fig, chart = _bar_figure(ctx, scenario, point, series, metrics,
                                 f"{scenario}{' ' + point if point else ''}: test comparison, mean ± std over seeds")
        figs.save(fig, f"comparison-{tag}.png",
                  f"{_place_title(scenario, point)}: f_HO, LD, G and η_HO = H_min/H per method (mean of per-seed "
                  "means ± std over seeds; colour: learner, heuristic, offline reference).", chart=chart)
        drawn = True
        header = ["method", "seeds"]
        for title, _ in CORE_TABLE:
            header += [f"{title} mean", f"{title} std (seeds)", f"{title} std (pooled)"]
        rows = []
        for s in series:
            row = [core.series_name(*s), len(ctx.rows(scenario, point, *s))]
            for _, metric in CORE_TABLE:
                mean, std, n = ctx.stats(scenario, point, *s, metric)
                row += [_fmt(mean), _fmt(std) if n > 1 else "–",
                        _fmt(pooled_std(ctx.rows(scenario, point, *s), metric))]
            rows.append(row)
        lines += [f"{_place_title(scenario, point)}:", ""] + core.md_table(header, rows) + [""]
        wide = [(t, m) for t, m in WIDE_TABLE if m in ctx.ok]
        rows = [[core.series_name(*s)] + [_stat_text(ctx.stats(scenario, point, *s, m)) for _, m in wide]
                for s in series]
        lines += ["Further EXP-2 metrics (mean ± std over seeds):", ""]
        lines += core.md_table(["method"] + [t for t, _ in wide], rows) + [""]
    return lines if drawn else []


def pooled_std(rows, metric: str) -> float:
    """Standard deviation (ddof 1) over every (seed, episode) value, from each row's episode count, mean and
    `<metric>_std` over its episodes (LD is undefined on episodes without any eligible satellite)."""
    if metric not in rows or f"{metric}_std" not in rows or "episodes" not in rows:
        return float("nan")
    n = rows["episodes"].to_numpy(dtype=float)
    if "infeasible_episodes" in rows:                    # NaN episodes are outside the row's mean and std
        n = n - rows["infeasible_episodes"].to_numpy(dtype=float)
    if metric == "link_duration" and "empty_episodes" in rows:
        n = n - rows["empty_episodes"].to_numpy(dtype=float)
    mean = rows[metric].to_numpy(dtype=float)
    std = np.where(n > 1, rows[f"{metric}_std"].to_numpy(dtype=float), 0.0)
    keep = np.isfinite(mean) & np.isfinite(std) & (n > 0)
    n, mean, std = n[keep], mean[keep], std[keep]
    total = n.sum()
    if total < 2:
        return float("nan")
    grand = (n * mean).sum() / total
    return float(np.sqrt((((n - 1) * std ** 2).sum() + (n * (mean - grand) ** 2).sum()) / (total - 1)))


def _gap(ctx: core.ReportContext, figs) -> list[str]:
    lines = ["### Gap to the offline optimum (EXP-7)", "",
             "η_HO = H_min/H, η_LD = LD/LD_max, η_G = G/G_UB and ΔH = H − H_min per episode, averaged over the "
             "test episodes and then over seeds (mean ± std over seeds).", ""]
    drawn = False
    for scenario, point in ctx.places():
        series = ctx.series_at(scenario, point, ("eta_ho",))
        tag = _place_tag(scenario, point)
        metrics = [m for m in GAP_METRICS if m in ctx.ok]
        if not series or not metrics:
            figs.skip(f"gap-{tag}.png", f"no finished rows with η values for {scenario} {point}".strip())
            continue
        fig, chart = _bar_figure(ctx, scenario, point, series, metrics,
                                 f"{scenario}{' ' + point if point else ''}: gap to the offline optimum")
        figs.save(fig, f"gap-{tag}.png", f"{_place_title(scenario, point)}: η_HO, η_LD, η_G and excess handovers "
                                         "ΔH per method (mean ± std over seeds).", chart=chart)
        drawn = True
        rows = [[core.series_name(*s)] + [_stat_text(ctx.stats(scenario, point, *s, m)) for m in metrics]
                for s in series]
        lines += [f"{_place_title(scenario, point)}:", ""] + core.md_table(["method", *metrics], rows) + [""]
    return lines if drawn else []


# ----------------------------------------------------------------------------------------------- EXP-7 Pareto

def _lam_label(lam) -> str:
    return "lex" if isinstance(lam, str) else f"{lam:g}"


def _group_labels(lams, H, Q) -> dict:
    """{(H, Σq): [λ labels]}: λ values that give the same point share one annotation."""
    groups: dict = {}
    for lam, h, q in zip(lams, H, Q):
        groups.setdefault((round(float(h), 9), round(float(q), 9)), []).append(_lam_label(lam))
    return groups


LABEL_CHAR_PX = 6.5                                   # width of one label character at fontsize 7, 110 dpi
LABEL_HEIGHT_PX = 14.0


def label_clusters(points_px, names) -> list[list[int]]:
    """Runs of consecutive points (in front order) whose labels, drawn up and to the left of the first point of the
    run, would overlap: each run gets one label (its names joined), so no two labels overlap.
    points_px: (n, 2) display coordinates; names: n label texts."""
    clusters: list[list[int]] = []
    for i, (x, y) in enumerate(points_px):
        if clusters:
            first = clusters[-1][0]
            x0, y0 = points_px[first]
            text = ", ".join(names[j] for j in clusters[-1] + [i])
            width = (len(text) + 4) * LABEL_CHAR_PX
            if abs(y - y0) < LABEL_HEIGHT_PX and abs(x - x0) < width:
                clusters[-1].append(i)
                continue
        clusters.append([i])
    return clusters


def _annotate_front(ax, H, Q, lams) -> None:
    """λ labels of the supported points, up and to the left of each point: no method lies there (the front bounds
    every schedule from above-left), so the labels cover nothing; points whose labels would overlap share one
    label ("λ = 0, 0.01, 0.03"). Call after the axes' limits and layout are final."""
    groups = list(_group_labels(lams, H, Q).items())
    px = ax.transData.transform(np.array([[h, q] for (h, q), _ in groups], dtype=float))
    texts = [",".join(names) for _, names in groups]
    for members in label_clusters(px, texts):
        (h, q), _ = groups[members[0]]
        ax.annotate("λ = " + ", ".join(texts[i] for i in members), (h, q), textcoords="offset points",
                    xytext=(-4, 4), ha="right", va="bottom", fontsize=7,
                    bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8))


def pareto_episodes(tables, lams=PARETO_LAMBDAS) -> tuple[np.ndarray, np.ndarray]:
    """(H, Σq), each (len(lams), n_episodes): the DP schedule's handovers and quality per λ and episode (§8.2)."""
    from optkit.formulations.leo_handover import offline

    H = np.zeros((len(lams), len(tables)))
    Q = np.zeros((len(lams), len(tables)))
    for e, t in enumerate(tables):
        for i, lam in enumerate(lams):
            srv = offline.viterbi_schedule(t.step_ptr, t.sat, t.reward, lam)
            Q[i, e], H[i, e] = offline.schedule_value(t.step_ptr, t.sat, t.reward, srv)
    return H, Q


def pareto_points(inst, lams=PARETO_LAMBDAS, tables=None) -> tuple[np.ndarray, np.ndarray]:
    """(mean H, mean Σq) over the instance's test episodes per λ: the supported points of the aggregate
    quality–handover front (λ = 0: Σq = G_UB; "lex": H = H_min)."""
    from optkit.formulations.leo_handover.episode import evaluation_tables

    tables = list(evaluation_tables(inst)) if tables is None else tables
    H, Q = pareto_episodes(tables, lams)
    return H.mean(axis=1), Q.mean(axis=1)


def budget_points(tables, h_min, h_max) -> tuple[np.ndarray, np.ndarray]:
    """(mean budget, mean best Σq) for the budgets H_min,e + δ (capped at H_max,e), δ = 0..max(H_max − H_min)
    (P2-B, §8.2): one (j, h) recursion per episode up to its H_max,e."""
    from optkit.formulations.leo_handover import offline

    h_min = np.asarray(h_min, dtype=np.int64)
    h_max = np.maximum(np.asarray(h_max, dtype=np.int64), h_min)
    n_delta = int((h_max - h_min).max()) + 1 if h_min.size else 1
    fronts = np.zeros((len(tables), int(h_max.max()) + 1 if h_max.size else 1))
    for e, t in enumerate(tables):
        front = offline.budget_front(t.step_ptr, t.sat, t.reward, int(h_max[e]))
        fronts[e, :front.size] = front
        fronts[e, front.size:] = front[-1]
    budget = np.minimum(h_min[:, None] + np.arange(n_delta)[None, :], h_max[:, None])
    value = np.take_along_axis(fronts, budget, axis=1)
    return budget.mean(axis=0), value.mean(axis=0)


def _pareto(ctx: core.ReportContext, figs) -> list[str]:
    from matplotlib.figure import Figure

    from optkit.formulations.leo_handover.episode import evaluation_tables

    lines = ["### Quality–handover Pareto front (EXP-7)", ""]
    drawn = False
    lams = list(PARETO_LAMBDAS)
    for scenario, point in ctx.places():
        tag = _place_tag(scenario, point)
        seeds = ctx.seeds(scenario, point)
        H_all, Q_all, B_all, V_all, n_episodes = [], [], [], [], 0
        with_budget = True
        for seed in seeds:
            tables = list(evaluation_tables(ctx.instance(scenario, point, seed)))
            H, Q = pareto_episodes(tables, lams)
            H_all.append(H.mean(axis=1))
            Q_all.append(Q.mean(axis=1))
            n_episodes += len(tables)
            h_min, h_max = H[-1], H[0]
            if with_budget and sum(t.L for t in tables) <= PARETO_BUDGET_STEPS:
                b, v = budget_points(tables, h_min.astype(np.int64), h_max.astype(np.int64))
                B_all.append(b)
                V_all.append(v)
            else:
                with_budget = False
        H_mean, Q_mean = np.mean(H_all, axis=0), np.mean(Q_all, axis=0)
        fig = Figure(figsize=(8.5, 5.6))
        ax = fig.add_subplot()
        budget_text = ""
        if with_budget and B_all and len({b.size for b in B_all}) == 1:
            ax.plot(np.mean(B_all, axis=0), np.mean(V_all, axis=0), color="#999999", linewidth=1.0, linestyle="--",
                    marker=".", label="P2-B: best mean Σq with budget H_min,e + δ per episode")
            budget_text = (" Grey dashed: the budgeted problem P2-B with the same budget H_min,e + δ (δ = 0, 1, …, "
                           "capped at the episode's λ = 0 count) in every episode e, best Σq averaged over episodes "
                           "and drawn at the mean budget; a uniform δ is one family of budgets, so these points may "
                           "lie below the supported points, which are optimal for the episodes' total.")
        else:
            budget_text = (f" The budgeted front P2-B is left out here: its (j, h) recursion runs step by step and "
                           f"these episodes have more than {PARETO_BUDGET_STEPS:,} steps in all (the report's time "
                           "budget).")
        ax.plot(H_mean, Q_mean, marker="o", color="black", linewidth=1.2, label="P2-λ supported points (DP)")
        x_max = max(1.0, float(np.nanmax(H_mean))) * 2.0
        placed, outside = [], []
        for i, (method, config) in enumerate(ctx.series_at(scenario, point, ("handovers", "reward"))):
            h = ctx.stats(scenario, point, method, config, "handovers")[0]
            g = ctx.stats(scenario, point, method, config, "reward")[0]
            name = core.series_name(method, config)
            placed.append([name, _fmt(h), _fmt(g)])
            marker = {"learner": "s", "heuristic": "^", "exact": "D"}.get(_kind(method), "o")
            if h > x_max:
                outside.append(name)
                name = f"{name} (H = {_fmt(h)}, drawn at the edge)"
                marker, h = ">", x_max
            ax.scatter([h], [g], marker=marker, s=40, zorder=4, color=f"C{i % 10}", label=name)
        ax.set_xlim(-0.03 * x_max, x_max * 1.03)
        ax.set_xlabel("mean handovers per test episode H")
        ax.set_ylabel("mean total quality per test episode Σq = G")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
        ax.set_title(f"{scenario}{' ' + point if point else ''}: quality vs handovers "
                     f"({n_episodes} test episodes, {len(seeds)} seed{'s' * (len(seeds) != 1)})")
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo - 0.04 * (hi - lo), hi + 0.06 * (hi - lo))       # room for the labels of the end points
        fig.tight_layout()
        _annotate_front(ax, H_mean, Q_mean, lams)
        figs.save(fig, f"pareto-{tag}.png",
                  f"{_place_title(scenario, point)}: the offline quality–handover trade-off of the test episodes. "
                  f"Black: the Viterbi optimum of Σq − λH for λ ∈ {{{', '.join(_lam_label(x) for x in lams)}}} "
                  f"(mean H and mean Σq over the episodes).{budget_text} Markers: every method of the run (mean "
                  "handovers vs mean reward over seeds)"
                  + (f"; beyond the axis, drawn at its right edge: {', '.join(outside)}." if outside
                     else "."))
        drawn = True
        rows = [[_lam_label(lam), _fmt(h), _fmt(q)] for lam, h, q in zip(lams, H_mean, Q_mean)]
        lines += [f"{_place_title(scenario, point)}: supported points of the front (DP per λ):", ""]
        lines += core.md_table(["λ", "mean H", "mean Σq"], rows) + [""]
        if placed:
            lines += ["Methods placed on the figure:", ""]
            lines += core.md_table(["method", "mean H", "mean G"], placed) + [""]
    return lines if drawn else []


# ----------------------------------------------------------------------------------------------- EXP-3 ablation

def _ablation(ctx: core.ReportContext, figs) -> list[str]:
    lines = ["### State ablation (EXP-3)", ""]
    found = False
    for scenario, point in ctx.places():
        series = [s for s in ctx.series_at(scenario, point, ("handovers",))
                  if s[0] == "dqn" or s[0].startswith("dqn-no-")]
        if not series:
            continue
        full = next((s for s in series if s == ("dqn", "full")), next((s for s in series if s == ("dqn", "")), None))
        found = True
        header = ["method", "seeds"] + [t for _, t in ABLATION_METRICS]
        header += [f"Δ{t} vs dqn full" for _, t in ABLATION_METRICS] if full else []
        rows = []
        for s in series:
            row = [core.series_name(*s), len(ctx.rows(scenario, point, *s))]
            row += [_stat_text(ctx.stats(scenario, point, *s, m)) for m, _ in ABLATION_METRICS]
            if full:
                row += [_fmt(ctx.stats(scenario, point, *s, m)[0] - ctx.stats(scenario, point, *full, m)[0])
                        for m, _ in ABLATION_METRICS]
            rows.append(row)
        lines += [f"{_place_title(scenario, point)}: mean ± std over seeds; `mask-*` configurations are the full "
                  "model with that feature set to 0.5 at test time; `dqn-no-*` are retrained without the feature"
                  + (f"; Δ = mean − mean of {core.series_name(*full)}" if full else
                     "; no full dqn row, so no differences") + ":", ""]
        lines += core.md_table(header, rows) + [""]
    if not found:
        figs.skip("ablation (table)", "no finished dqn or dqn-no-* rows")
        return []
    return lines


# ----------------------------------------------------------------------------------------------- EXP-4 weights

def ranking(names, values, higher: bool) -> str:
    """'a (0.1) < b (0.2)' from best to worst; NaN values last."""
    values = np.asarray(values, dtype=float)
    key = np.where(np.isfinite(values), -values if higher else values, np.inf)
    order = np.argsort(key, kind="stable")
    sep = " > " if higher else " < "
    return sep.join(f"{names[i]} ({_fmt(values[i])})" for i in order)


def strict_order(weights) -> bool:
    """w_dd > w_az > w_el > w_rg."""
    w = np.asarray(weights, dtype=float)
    return bool(w.size == 4 and np.all(np.diff(w) < 0))


def _weights(ctx: core.ReportContext, figs) -> list[str]:
    from optkit.scenarios import load_scenario

    lines = ["### Reward-weight sensitivity (EXP-4)", ""]
    found = False
    for scenario in ctx.res.sweep["scenarios"]:
        pts = ctx.res.points[scenario]
        if not pts or pts[0][1] != "reward_weights":
            continue
        weights = {p.label: p.params.get("reward_weights") for p in load_scenario(FAMILY, scenario).expand()}
        learners = [s for s in core.series_list(ctx.res) if _kind(s[0]) == "learner"]
        rows, orders_fho, orders_ld = [], {}, {}
        for label, _ in pts:
            present = [s for s in learners if not ctx.rows(scenario, label, *s).empty]
            if not present:
                continue
            names = [core.series_name(*s) for s in present]
            fho = [ctx.stats(scenario, label, *s, "handover_freq")[0] for s in present]
            ld = [ctx.stats(scenario, label, *s, "link_duration")[0] for s in present]
            w = weights.get(label)
            orders_fho[label] = [names[i] for i in np.argsort(fho, kind="stable")]
            orders_ld[label] = [names[i] for i in np.argsort(-np.asarray(ld), kind="stable")]
            rows.append([label, ", ".join(f"{x:g}" for x in w) if w is not None else "–",
                         ("yes" if strict_order(w) else "no") if w is not None else "–",
                         ranking(names, fho, higher=False), ranking(names, ld, higher=True)])
        if not rows:
            continue
        found = True
        base = "default" if "default" in orders_fho else next(iter(orders_fho))
        for row in rows:
            same = orders_fho[row[0]] == orders_fho[base] and orders_ld[row[0]] == orders_ld[base]
            row.append("yes" if same else "no")
        lines += [f"`{scenario}`: ranking of the learners per weight vector (f_HO: lower is better, LD: higher is "
                  "better; mean over seeds); 'strict order' tells whether w_dd > w_az > w_el > w_rg holds for the "
                  f"point's weights; the last column compares both rankings with the `{base}` point.", ""]
        lines += core.md_table(["point", "weights (w_dd, w_az, w_el, w_rg)", "strict order", "f_HO ranking",
                                 "LD ranking", f"same rankings as {base}"], rows) + [""]
    if not found:
        figs.skip("weights (table)", "no reward-weight sweep with learner rows in the run")
        return []
    return lines


# ----------------------------------------------------------------------------------------------- EXP-6 geometry

def geometry_differences(inst, max_pairs: int = GEOMETRY_MAX_PAIRS, seed: int = 0) -> dict:
    """Flat minus ENU elevation (deg) and slant range (km) over the eligible (k, j) pairs of the instance's
    test world under its own geometry model (a uniform subsample of at most max_pairs pairs)."""
    from optkit.formulations.leo_handover import world

    orbits = inst.orbits()
    params = dict(inst.params(), terminal_speed_mps=0.0)
    win = world.world_windows(orbits, params)
    lengths = win.end - win.start + 1
    total = int(lengths.sum())
    if total == 0:
        raise ValueError("the test world has no eligible pair")
    if total > max_pairs:
        pick = np.sort(np.random.default_rng(seed).choice(total, size=max_pairs, replace=False))
    else:
        pick = np.arange(total)
    first = np.cumsum(lengths) - lengths
    w = np.searchsorted(first, pick, side="right") - 1
    steps = win.start[w] + (pick - first[w])
    sats = win.sat[w]
    flat = world.pair_geometry(orbits, dict(params, geometry_model="flat"), steps, sats, 0.0)
    enu = world.pair_geometry(orbits, dict(params, geometry_model="enu"), steps, sats, 0.0)
    return {"pairs": int(pick.size), "total": total, "d_el": flat["el_deg"] - enu["el_deg"],
            "d_range": flat["range_km"] - enu["range_km"], "model": params["geometry_model"]}


def _geometry(ctx: core.ReportContext, figs) -> list[str]:
    lines = ["### Flat vs ENU geometry (EXP-6)", ""]
    found = False
    for scenario, point in ctx.places():
        for seed in ctx.seeds(scenario, point):
            inst = ctx.instance(scenario, point, seed)
            if inst.geometry_model != "flat":
                continue
            found = True
            diff = geometry_differences(inst)
            d_el, d_rg = diff["d_el"], diff["d_range"]
            lines += [f"{_place_title(scenario, point)}, seed {seed}: over {diff['pairs']:,} of the "
                      f"{diff['total']:,} eligible (k, j) pairs of the flat model's test world"
                      + (" (uniform subsample)" if diff["pairs"] < diff["total"] else "") + ":", "",
                      f"- mean |El_flat − El_enu| = {_fmt(np.abs(d_el).mean())}° (max {_fmt(np.abs(d_el).max())}°; "
                      f"mean signed {_fmt(d_el.mean())}°; El_flat > El_enu on {_fmt(100 * np.mean(d_el > 0))} % "
                      "of the pairs)",
                      f"- mean |d_flat − d_enu| = {_fmt(np.abs(d_rg).mean())} km (max {_fmt(np.abs(d_rg).max())} "
                      f"km; mean signed {_fmt(d_rg.mean())} km; d_flat < d_enu on {_fmt(100 * np.mean(d_rg < 0))} % "
                      "of the pairs)", ""]
    if not found:
        figs.skip("geometry (table)", "no scenario with geometry_model = \"flat\" (paper-flat-geometry) in the run")
        return []
    return lines


# ----------------------------------------------------------------------------------------------- EXP-7 MILP check

def _milp(ctx: core.ReportContext, figs) -> list[str]:
    df = ctx.res.df
    if "method_objective" not in df:
        figs.skip("milp (table)", "the rows have no method_objective column")
        return []
    keys = ["scenario", "point", "seed", "config"]
    dp = df[(df["method"] == "offline-dp") & (df["status"] != "error")]
    milp = df[df["method"] == "offline-milp"]
    if dp.empty or milp.empty:
        figs.skip("milp (table)", "needs finished offline-dp and offline-milp rows")
        return []
    merged = milp.merge(dp[keys + ["method_objective"]], on=keys, how="left", suffixes=("_milp", "_dp"))
    a = merged["method_objective_dp"].to_numpy(dtype=float)
    b = merged["method_objective_milp"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.abs(b - a) / np.maximum(np.abs(a), 1e-10)
    ok = np.isfinite(rel) & (rel <= MILP_TOL)
    rows = [[r.scenario, r.point or "–", r.seed, r.config or "default", _fmt(x), _fmt(y), r.status,
             f"{z:.2e}" if math.isfinite(z) else "–", "yes" if o else "no"]
            for r, x, y, z, o in zip(merged.itertuples(), a, b, rel, ok)]
    verdict = (f"all {len(rows)} agree within {MILP_TOL:g}" if ok.all() else
               f"**{int((~ok).sum())} of {len(rows)} do not agree within {MILP_TOL:g}** (or lack a DP row)")
    lines = ["### MILP vs DP cross-check (EXP-7, §8.3)", "",
             f"Objective (mean over the test episodes of Σq − λH) of offline-dp and offline-milp per configuration "
             f"and seed; relative difference |milp − dp| / |dp|: {verdict}.", ""]
    return lines + core.md_table(["scenario", "point", "seed", "config", "dp objective", "milp objective",
                                   "milp status", "relative difference", f"within {MILP_TOL:g}"], rows) + [""]


BUILDERS = {"data": _data, "training": _training, "comparison": _comparison, "gap": _gap, "pareto": _pareto,
            "ablation": _ablation, "weights": _weights, "geometry": _geometry, "milp": _milp}
