"""Family figures and tables of `optkit report` for `ntn-relay` (§9): the RF/FSO link curves with their crossover
(EXP-F7), the throughput time series with peak / worst / 5th-percentile throughput (EXP-F5, EXP-F6), the link
selection per hop (EXP-T7 rows of the classical methods), the link-mode ratios in linear and dB form (D46) and the
bound / reference table (EXP-REF).

`report_extras(res, figs, figures)` draws the figures an experiment names in `_experiments.toml` ("link-curves",
"time-series", "link-selection", "link-ratios", "reference") and returns the markdown lines of their tables. A figure
whose data are missing is skipped with a reason, never raised.
"""
from __future__ import annotations

import math

import numpy as np

from optkit import report as core
from optkit.errors import InputError

FAMILY = "ntn-relay"
DEFAULT_FIGURES = ("time-series",)
SKIPPABLE = (InputError, ValueError, LookupError, OSError, ArithmeticError)
CURVE_KM = np.arange(100.0, 5000.0 + 1e-9, 10.0)        # EXP-F7 distance grid d ∈ {100, 110, …, 5000} km


def cell_record(instance, solution, evaluation) -> dict:
    """What a bench cell keeps for the family figures: the time series, per-path throughput, link selection."""
    d = evaluation.details
    if not d:
        return {}
    return {"tput_series_mbps": d.get("tput_series_mbps", []), "path_tput_mbps": d.get("path_tput_mbps", []),
            "fso_ratio_pct": d.get("fso_ratio_pct", []), "link_dist_km": d.get("link_dist_km", {}),
            "hops": d.get("hops", []), "link_mode": instance.link_mode}


def report_extras(res, figs, figures) -> list[str]:
    return core.draw_family_figures(FAMILY, BUILDERS, list(DEFAULT_FIGURES if figures is None else figures), ("sweep",),
                                    core.ReportContext(res), figs, SKIPPABLE)


def _fmt(x) -> str:
    return core.format_number(float(x))


def _place_name(scenario: str, point: str) -> str:
    return scenario + (f":{point}" if point else "")


def _pyplot():
    from matplotlib.figure import Figure

    return Figure


# ----------------------------------------------------------------------------------------------- EXP-F7
def link_curves(ctx, figs) -> list[str]:
    """R/B of RF and FSO against d at the instance's constants, with the crossover distance."""
    from optkit.formulations.ntn_relay.links import LinkModel, crossover_km

    lines = []
    Figure = _pyplot()
    for scenario, point in ctx.places():
        seeds = ctx.seeds(scenario, point)
        inst = ctx.instance(scenario, point, seeds[0] if seeds else 0)
        link = LinkModel.of(inst)
        rf, fso = link.rf(1.0, CURVE_KM), link.fso(1.0, CURVE_KM)
        cross = crossover_km(link)
        fig = Figure(figsize=(6.4, 4.0))
        ax = fig.add_subplot()
        ax.semilogy(CURVE_KM, rf, label="RF (E8)")
        ax.semilogy(CURVE_KM, np.maximum(fso, 1e-30), label="FSO (E12)")
        if math.isfinite(cross):
            ax.axvline(cross, color="grey", linestyle=":", label=f"crossover {cross:.1f} km")
        ax.set_xlabel("distance d [km]")
        ax.set_ylabel("spectral efficiency R/B [bit/s/Hz]")
        ax.set_ylim(1e-8, 20)
        ax.legend()
        name = f"link-curves-{core.safe_name(_place_name(scenario, point))}.png"
        picks = (500.0, 1000.0, 1500.0, 2000.0, 3000.0, 5000.0)
        table = core.md_table(["d [km]", "RF R/B", "FSO R/B"],
                              [[_fmt(d), _fmt(link.rf(1.0, d)), _fmt(link.fso(1.0, d))] for d in picks])
        figs.save(fig, name, f"{_place_name(scenario, point)}: RF and FSO spectral efficiency against distance; "
                             f"crossover at {cross:.2f} km", [f"RF/FSO crossover: **{cross:.2f} km**", ""] + table + [""])
        lines += [f"### Link curves, `{_place_name(scenario, point)}`", "", f"Crossover {cross:.2f} km.", ""]
        break                                                            # the link constants of the first place
    return lines


# ----------------------------------------------------------------------------------------------- EXP-F5 / F6
def _record(ctx, scenario, point, method, config):
    """The record of a series' first cell (first_record gives (seed, method seed, record))."""
    found = ctx.first_record(scenario, point, method, config)
    if isinstance(found, tuple):
        found = found[-1]
    return found if isinstance(found, dict) else None


def _series(ctx, scenario, point):
    out = {}
    for method, config in ctx.series_at(scenario, point):
        rec = _record(ctx, scenario, point, method, config)
        if rec and rec.get("tput_series_mbps"):
            out[core.series_name(method, config)] = np.asarray(rec["tput_series_mbps"], dtype=float)
    return out


def time_series(ctx, figs) -> list[str]:
    """R[n] of every method at every place (first seed), with mean, peak, worst and 5th percentile."""
    lines = []
    Figure = _pyplot()
    for scenario, point in ctx.places():
        series = _series(ctx, scenario, point)
        if not series:
            continue
        fig = Figure(figsize=(7.2, 4.0))
        ax = fig.add_subplot()
        rows = []
        for label, s in series.items():
            ax.plot(np.arange(len(s)), np.maximum(s, 1e-6), label=label, linewidth=0.9)
            rows.append([label, _fmt(s.mean()), _fmt(s.max()), _fmt(s.min()), _fmt(np.percentile(s, 5))])
        ax.set_yscale("log")
        ax.set_xlabel("slot n")
        ax.set_ylabel("sum throughput R[n] [Mbit/s]")
        ax.legend(fontsize=7)
        place = _place_name(scenario, point)
        table = core.md_table(["method", "mean Mbit/s", "peak Mbit/s", "worst Mbit/s", "p5 Mbit/s"], rows)
        figs.save(fig, f"time-series-{core.safe_name(place)}.png", f"{place}: sum throughput per slot (first seed)",
                  table + [""])
        lines += [f"### Throughput, `{place}`", ""] + table + [""]
    if not lines:
        raise LookupError("no cell records with a time series")
    return lines


def link_ratios(ctx, figs) -> list[str]:
    """Hybrid / FSO and hybrid / RF ratios of mean, peak, worst and p5 throughput, linear and in dB (D46), per method,
    across the points rf / fso / hybrid of a link-mode sweep."""
    lines = []
    for scenario in dict(ctx.places()):
        points = [p for sc, p in ctx.places() if sc == scenario]
        if not {"rf", "fso", "hybrid"} <= set(points):
            continue
        per_point = {p: _series(ctx, scenario, p) for p in ("rf", "fso", "hybrid")}
        rows = []
        for label, hy in per_point["hybrid"].items():
            for other in ("fso", "rf"):
                s = per_point[other].get(label)
                if s is None:
                    continue
                for stat, fn in (("mean", np.mean), ("peak", np.max), ("worst", np.min),
                                 ("p5", lambda x: np.percentile(x, 5))):
                    ratio = fn(hy) / fn(s) if fn(s) > 0 else math.inf
                    rows.append([label, f"hybrid/{other}", stat, _fmt(ratio),
                                 _fmt(10 * math.log10(ratio)) if 0 < ratio < math.inf else "inf"])
        if rows:
            lines += [f"### Link-mode ratios, `{scenario}`", ""] + core.md_table(
                ["method", "ratio", "statistic", "linear", "dB"], rows) + [""]
    if not lines:
        raise LookupError("no link-mode sweep (points rf, fso, hybrid) in this run")
    return lines


def link_selection(ctx, figs) -> list[str]:
    """FSO share and hop distances (mean, min–max) per path and hop (EXP-T7, classical rows)."""
    lines = []
    for scenario, point in ctx.places():
        rows = []
        for method, config in ctx.series_at(scenario, point):
            rec = _record(ctx, scenario, point, method, config)
            if not rec or not rec.get("hops"):
                continue
            hops, fso, dist = rec["hops"], rec["fso_ratio_pct"], rec["link_dist_km"]
            for k, per_hop in enumerate(fso):
                for h, hop in enumerate(hops):
                    rows.append([core.series_name(method, config), str(k), hop, _fmt(per_hop[h]),
                                 _fmt(dist["mean"][k][h]), f"{_fmt(dist['min'][k][h])}–{_fmt(dist['max'][k][h])}"])
        if rows:
            lines += [f"### Link selection, `{_place_name(scenario, point)}`", ""] + core.md_table(
                ["method", "path", "hop", "FSO %", "mean d [km]", "d range [km]"], rows) + [""]
    if not lines:
        raise LookupError("no cell records with link selection")
    return lines


def reference_table(ctx, figs) -> list[str]:
    """EE, frac_of_ub, ub_ratio and the EE reference of §8 (best of sca-dinkelbach without time-out, static-loiter,
    lattice-dp) per place; frac_of_ref = EE / EE_ref."""
    lines = []
    for scenario, point in ctx.places():
        stats = {}
        for method, config in ctx.series_at(scenario, point):
            ee = ctx.stats(scenario, point, method, config, "ee_kbit_per_j")[0]
            stats[core.series_name(method, config)] = (method, ee,
                                                       ctx.stats(scenario, point, method, config, "frac_of_ub")[0],
                                                       ctx.stats(scenario, point, method, config, "ub_ratio")[0])
        refs = [v[1] for v in stats.values() if v[0] in ("sca-dinkelbach", "static-loiter", "lattice-dp")
                and math.isfinite(v[1])]
        ref = max(refs) if refs else float("nan")
        rows = []
        for label, (method, ee, fub, ubr) in stats.items():
            if method == "reachable-ub":                  # its decisions are static-loiter's; its value is the bound
                bound = ctx.stats(scenario, point, method, "", "bound")[0]
                rows.append([f"{label} (EE_UB)", _fmt(bound), "1", _fmt(bound / ref) if math.isfinite(ref) else "–",
                             _fmt(ubr)])
                continue
            rows.append([label, _fmt(ee), _fmt(fub), _fmt(ee / ref) if math.isfinite(ref) else "–", _fmt(ubr)])
        if rows:
            lines += [f"### Bound and reference, `{_place_name(scenario, point)}` (EE_ref = {_fmt(ref)} kbit/J)", ""] + \
                core.md_table(["method", "EE kbit/J", "frac_of_ub", "frac_of_ref", "ub_ratio"], rows) + [""]
    if not lines:
        raise LookupError("no rows")
    return lines


BUILDERS = {"link-curves": link_curves, "time-series": time_series, "link-ratios": link_ratios,
            "link-selection": link_selection, "reference": reference_table}
