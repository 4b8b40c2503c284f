"""The markdown of report.md: tables and numbers, and the sections on what ran, completeness, statuses, errors,
reference quality and the results per scenario point."""
from __future__ import annotations

import math

from optkit.report.results import (BOOTSTRAP_RESAMPLES, GAP_FLAG, MIN_ORDER_SEEDS, Results, below_random,
                                   expected_count, group_rows, metric_stats, paired_comparisons, reference_flags,
                                   series_list, series_name)

STATUSES = ("optimal", "feasible", "time_limit", "infeasible", "error")
INCOMPLETE = "†"              # marks a mean over fewer rows than the manifest expects
REF_FLAG = "‡"                # marks values measured against a reference not proven optimal
BELOW_RANDOM = "BELOW RANDOM"  # marks a learner series whose mean objective is worse than `random`'s


# ----------------------------------------------------------------------------------------------- helpers

def format_number(x: float) -> str:
    """4 significant digits; '–' for None, NaN and infinity."""
    return "–" if x is None or not math.isfinite(x) else f"{x:.4g}"


def format_stat(mean: float, std: float, n: int) -> str:
    """'mean ± std' with 4 significant digits; one value shows the mean only; no value shows '–'."""
    if n == 0:
        return "–"
    return f"{format_number(mean)} ± {format_number(std)}" if n > 1 else format_number(mean)


def _pct(x) -> str:
    """A fraction as a percentage with two decimals; '–' when not finite."""
    x = float(x)
    return "–" if not math.isfinite(x) else f"{100 * x:.2f} %"


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


def md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Markdown lines of a table; cells are written with str(), their '|' escaped and line breaks removed."""
    def clean(text) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(clean(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(clean(c) for c in row) + " |" for row in rows]
    return lines


def column_title(res: Results, metric: str) -> str:
    """Table column title of a metric: 'metric [unit]' (the unit left out when there is none)."""
    unit = res.units.get(metric, "")
    return f"{metric} [{unit}]" if unit and unit != "-" else metric


def axis_label(res: Results, metric: str) -> str:
    """Axis label of a metric: its readable name (the family's REPORT_LABELS) with the unit in brackets."""
    unit = res.units.get(metric, "")
    name = res.labels.get(metric, metric)
    return f"{name} [{unit}]" if unit and unit != "-" else name


def _point_title(res: Results, scenario: str, label: str, sweep_name: str) -> str:
    """Heading of a sweep point: 'sweep name = label', 'point label' without a sweep name, the scenario for a
    plain preset."""
    if not label:
        return scenario
    return f"{sweep_name} = {label}" if sweep_name else f"point {label}"


# ----------------------------------------------------------------------------------------------- sections

def what_ran_section(res: Results) -> list[str]:
    """'## What ran': family, scenarios, methods, configurations, seeds, budget, cell counts and provenance."""
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
    return ["## What ran", ""] + md_table(["", ""], rows) + [""]


def completeness_section(res: Results) -> list[str]:
    """'## Completeness': the manifest's cells without a row, and rows whose cell is not in the manifest."""
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
        lines += md_table(["scenario", "point", "method", "missing", "seeds" if one_ms else "seed/method seed"], rows)
    if not res.extra.empty:
        lines += ["", f"{len(res.extra)} row(s) whose cell is not in the manifest were left out:", ""]
        lines += md_table(["scenario", "point", "seed", "method", "config", "method seed"],
                           [[r.scenario, r.point, r.seed, r.method, r.config, r.method_seed]
                            for r in res.extra.itertuples()])
    return lines + [""]


def status_section(res: Results) -> list[str]:
    """'## Statuses per method': solution statuses, missing and expected cells of each series."""
    statuses = list(STATUSES) + sorted(set(res.df["status"]) - set(STATUSES))
    rows = []
    for method, config in series_list(res):
        sel = res.df[(res.df["method"] == method) & (res.df["config"] == config)]
        expected = int(((res.cells["method"] == method) & (res.cells["config"] == config)).sum())
        counts = [int((sel["status"] == st).sum()) for st in statuses]
        rows.append([series_name(method, config), *counts, expected - len(sel), expected])
    return ["## Statuses per method", ""] + md_table(["method", *statuses, "missing", "expected"], rows) + [""]


def errors_section(res: Results) -> list[str]:
    """'## Errors': every cell that ended in an error, with its message."""
    err = res.df[res.df["status"] == "error"]
    lines = ["## Errors", ""]
    if err.empty:
        return lines + ["No cell ended in an error.", ""]
    lines += [f"{len(err)} cell(s) ended in an error; their metrics are left out of every mean.", ""]
    rows = [[r.scenario, r.point or "–", r.seed, series_name(r.method, r.config), r.method_seed, r.message or "–"]
            for r in err.itertuples()]
    return lines + md_table(["scenario", "point", "seed", "method", "method seed", "message"], rows) + [""]


def reference_section(res: Results) -> list[str]:
    """'## Reference quality': reference instances not proven optimal within GAP_FLAG, and where frac_opt is
    undefined."""
    flagged, undefined = reference_flags(res)
    lines = ["## Reference quality", ""]
    if res.reference not in res.sweep["methods"]:
        return lines + [f"The reference method `{res.reference}` was not run: no fraction of optimum.", ""]
    lines.append(f"Reference: `{res.reference}`. Its instances with a relative gap above {GAP_FLAG:.0%} or a status "
                 f"other than optimal are flagged: there the fractions of optimum compare against an "
                 f"incumbent, and `frac_bound` = objective / reference dual bound is the optimistic ratio.")
    lines.append("")
    if flagged.empty:
        lines.append("No reference instance is flagged.")
    else:
        lines.append(f"**{len(flagged)} flagged reference instance(s)** (marked {REF_FLAG} in the tables):")
        lines.append("")
        rows = [[r.scenario, r.point or "–", r.seed, r.status, _pct(getattr(r, "gap", float("nan"))),
                 format_number(float(getattr(r, "objective", float("nan")))),
                 format_number(float(getattr(r, "bound", float("nan"))))]
                for r in flagged.itertuples()]
        lines += md_table(["scenario", "point", "seed", "status", "gap", "objective", "bound"], rows)
    if not undefined.empty:
        lines += ["", f"{len(undefined)} reference instance(s) where frac_opt is undefined (the reference's efficiency "
                      "is 0, e.g. nothing accepted); they are left out of the frac_opt means: "
                  + ", ".join(f"{r.scenario}:{r.point or '-'}:seed {r.seed}" for r in undefined.itertuples())]
    return lines + [""]


def results_section(res: Results) -> list[str]:
    """'## Results': one table per scenario point, mean ± std of the report metrics per series."""
    metrics = [m for m in res.report_metrics if m in res.df]
    fracs = [m for m in metrics if m.startswith("frac_")]
    if fracs and "frac_bound" in res.df and "frac_bound" not in metrics:
        metrics.insert(metrics.index(fracs[-1]) + 1, "frac_bound")
    flagged, _ = reference_flags(res)
    flagged_keys = {(r.scenario, r.point) for r in flagged.itertuples()}
    weak = below_random(res)
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
            here = {w["series"]: w for w in weak if (w["scenario"], w["point"]) == (sc, label)}
            for method, config in series_list(res):
                row = _table_row(res, sc, label, method, config, metrics, (sc, label) in flagged_keys)
                if row[0] in here:
                    row[0] += f" **{BELOW_RANDOM}**"
                rows.append(row)
            header = ["method", "n"] + [column_title(res, m) + (f" {REF_FLAG}" if m.startswith("frac_")
                                                                  and (sc, label) in flagged_keys else "")
                                        for m in metrics]
            lines += md_table(header, rows) + [""]
            if here:
                lines += [f"**{BELOW_RANDOM}**: the learner's mean objective is worse than `random`'s at this point ("
                          + "; ".join(f"{name} {format_number(w['objective'])} against {format_number(w['random'])}"
                                      for name, w in here.items()) + "): a training defect to fix, not a result.", ""]
    return lines


def _table_row(res: Results, sc: str, label: str, method: str, config: str, metrics: list, flagged: bool) -> list:
    """Cells of one series in a results table: name, rows used / expected, then the metric statistics."""
    rows = group_rows(res, sc, label, method, config)
    expected = expected_count(res, sc, label, method, config)
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


def paired_section(res: Results) -> list[str]:
    """'## Paired comparisons': per scenario point and paired metric, the method ordering tested pair by pair
    (method A ranked just above B: mean paired difference A − B over the seeds both have, 95 % bootstrap interval)."""
    lines = ["## Paired comparisons of the method ordering", "",
             f"Methods ranked by their mean; each row compares a method with the next one on the same instance seeds "
             f"(values averaged over method seeds first): the mean paired difference A − B, its 95 % percentile "
             f"bootstrap interval ({BOOTSTRAP_RESAMPLES} resamples of the seeds, fixed random seed) and the seeds "
             f"used. 'not resolved': the interval holds 0, so these seeds do not order the two methods, or fewer than "
             f"{MIN_ORDER_SEEDS} seeds pair up (a bootstrap over so few seeds only spans their range).", ""]
    found = False
    for sc in res.sweep["scenarios"]:
        for label, name in res.points[sc]:
            for metric in res.paired_metrics:
                pairs = paired_comparisons(res, sc, label, metric)
                if not pairs:
                    continue
                found = True
                where = f"`{sc}`" + (f", {_point_title(res, sc, label, name)}" if label else "")
                better = "higher" if res.better.get(metric) != "lower" else "lower"
                lines += [f"{where}, {column_title(res, metric)} ({better} is better):", ""]
                rows = [[series_name(*p["a"]), series_name(*p["b"]), format_number(p["mean"]),
                         f"[{format_number(p['low'])}, {format_number(p['high'])}]", len(p["seeds"]),
                         _ranges(p["seeds"]), p["verdict"]] for p in pairs]
                lines += md_table(["method A", "method B", "mean A − B", "95 % bootstrap interval", "seeds",
                                   "seed ids", "ordering"], rows) + [""]
    return lines if found else []
