"""Family tables of `optkit report` for `allocate`: accepted requests as counts beside the percentages and ratios.

A mean acceptance of 2.9 % over five seeds of 35 requests each is 1 request; this table says so. Per scenario point
and method: accepted requests summed over the finished rows / requests offered on those rows, the mean acceptance,
the reference's accepted requests on the same instances, their ratio, and `frac_opt` beside them.
"""
from __future__ import annotations

import math

from optkit import report as core

TITLE = "Accepted requests (counts beside the percentages and ratios)"


def report_extras(res, figs, figures) -> list[str]:
    """The acceptance-count table of every scenario point (the generic figures are drawn by optkit.report)."""
    del figs, figures
    return acceptance_section(core.ReportContext(res))


def offered_requests(ctx: core.ReportContext, scenario: str, point: str, seed: int) -> int:
    """Requests R of one instance: from any row of it with a positive acceptance (R = 100 accepted / acc_pct),
    otherwise from the instance itself."""
    rows = ctx.ok[(ctx.ok["scenario"] == scenario) & (ctx.ok["point"] == point) & (ctx.ok["seed"] == seed)]
    if {"accepted", "acc_pct"} <= set(rows.columns):
        usable = rows[(rows["acc_pct"] > 0) & rows["accepted"].notna()]
        if not usable.empty:
            r = usable.iloc[0]
            return int(round(100.0 * float(r["accepted"]) / float(r["acc_pct"])))
    return int(ctx.instance(scenario, point, seed).R)


def acceptance_rows(ctx: core.ReportContext, scenario: str, point: str) -> list[list[str]]:
    """Table rows of one place: method, rows, accepted / offered, acc %, reference accepted / offered on the same
    instances, ratio accepted / reference accepted, frac_opt."""
    ref = ctx.res.reference
    ref_rows = ctx.rows(scenario, point, ref, "")
    ref_accepted = {int(r.seed): float(r.accepted) for r in ref_rows.itertuples() if math.isfinite(r.accepted)}
    offered_of: dict[int, int] = {}
    out = []
    for method, config in ctx.series_at(scenario, point, ("accepted",)):
        rows = ctx.rows(scenario, point, method, config)
        rows = rows[rows["accepted"].notna()]
        accepted = float(rows["accepted"].sum())
        offered = 0
        for seed in rows["seed"]:
            seed = int(seed)
            if seed not in offered_of:
                offered_of[seed] = offered_requests(ctx, scenario, point, seed)
            offered += offered_of[seed]
        mean, std, n = core.metric_stats(rows["acc_pct"])
        same = [int(s) for s in rows["seed"] if int(s) in ref_accepted]
        ref_sum = sum(ref_accepted[s] for s in same)
        ref_offered = sum(offered_of[s] for s in same)
        mine_same = float(rows[rows["seed"].isin(same)]["accepted"].sum())
        ratio = core.format_number(mine_same / ref_sum) if ref_sum > 0 else "–"
        frac = core.format_stat(*core.metric_stats(rows["frac_opt"])) if "frac_opt" in rows else "–"
        out.append([core.series_name(method, config), len(rows), f"{accepted:.0f} / {offered}",
                    core.format_stat(mean, std, n), f"{ref_sum:.0f} / {ref_offered}" if same else "–", ratio, frac])
    return out


def acceptance_section(ctx: core.ReportContext) -> list[str]:
    """'### Accepted requests': one table per scenario point; [] when no row has an accepted count."""
    if "accepted" not in ctx.ok:
        return []
    lines = [f"## {TITLE}", "",
             f"Per method: accepted requests summed over its finished rows / requests offered on those rows; the "
             f"mean acceptance (± std over rows); the reference `{ctx.res.reference}` on the same instances; the ratio "
             "of the two sums; and `frac_opt` (efficiency / the reference's efficiency, mean ± std over rows).", ""]
    header = ["method", "rows", "accepted / offered", "acc_pct [%]", f"{ctx.res.reference} accepted / offered",
              "ratio of accepted", "frac_opt"]
    found = False
    for scenario, point in ctx.places():
        rows = acceptance_rows(ctx, scenario, point)
        if not rows:
            continue
        found = True
        lines += [f"`{scenario}`" + (f" point `{point}`" if point else "") + ":", ""]
        lines += core.md_table(header, rows) + [""]
    return lines if found else []
