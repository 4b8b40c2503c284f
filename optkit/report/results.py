"""A results directory read back for the report: the rows and the expected cells, their statistics, and the
context that family reports draw from."""
from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from optkit.errors import InputError

GAP_FLAG = 0.01                     # reference instances with a gap above 1 % are flagged
BOOTSTRAP_RESAMPLES = 10_000        # resamples of the seeds for the paired intervals
BOOTSTRAP_SEED = 0                  # the intervals are reproducible
MIN_ORDER_SEEDS = 5                 # fewer paired seeds: the interval is shown, the ordering is not decided
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
    paired_metrics: list = field(default_factory=list)   # metrics of the paired comparisons of method orderings


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
    for spec in api.metrics:
        res.units[spec.id], res.better[spec.id] = spec.unit, spec.better
    for col, (unit, better) in RUNNER_COLUMNS.items():
        res.units.setdefault(col, unit)
        res.better.setdefault(col, better)
    settings = fam.report          # an empty setting takes the default that ReportSettings documents
    res.labels = dict(settings.labels)
    res.sweep_labels = dict(settings.sweep_labels)
    ranked = [s.id for s in api.metrics if s.better in ("higher", "lower")]
    primary = fam.primary()
    default_metrics = ([primary] if primary else []) + [m for m in ranked if m != primary][:7]
    res.report_metrics = list(settings.metrics or default_metrics)
    res.sweep_panels = list(settings.sweep_panels or res.report_metrics[:3])
    res.radar_axes = list(settings.radar_axes or res.sweep_panels)
    res.heat_metrics = list(settings.heat_metrics or ([primary] if primary else []))
    res.runtime_metric = settings.runtime_metric
    # paired comparisons: the primary metric and the first results-table metric, where they rank methods
    paired = ([primary] if primary else []) + res.report_metrics[:1]
    res.paired_metrics = [m for m in dict.fromkeys(paired) if res.better.get(m) in ("higher", "lower")]
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


# ----------------------------------------------------------------------------------------------- statistics

def series_list(res: Results) -> list[tuple[str, str]]:
    """(method, config) pairs in manifest order: configurations for the methods that take them (the sweep's
    `configured`), the defaults ('') for the others, exactly as the runner's cells."""
    configs = [c["label"] for c in res.sweep.get("configs") or []]
    configured = set(res.sweep.get("configured", res.sweep["methods"] if configs else []))
    return [(m, c) for m in res.sweep["methods"] for c in (configs if m in configured and configs else [""])]


def series_name(method: str, config: str) -> str:
    """'method [config]', or the method alone for its defaults."""
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


def ok_rows(res: Results):
    """The finished rows that did not end in an error."""
    return res.df[res.df["status"] != "error"]


def group_rows(res: Results, scenario: str, point: str, method: str, config: str, ok_only: bool = True):
    """Rows of one series at one scenario point (non-error rows only unless `ok_only` is False)."""
    df = ok_rows(res) if ok_only else res.df
    keep = (df["scenario"] == scenario) & (df["point"] == point) & (df["method"] == method) & (df["config"] == config)
    return df[keep]


def expected_count(res: Results, scenario: str, point: str, method: str, config: str) -> int:
    """Number of cells the manifest expects for one series at one scenario point."""
    c = res.cells
    return int(((c["scenario"] == scenario) & (c["point"] == point) & (c["method"] == method)
                & (c["config"] == config)).sum())


def point_means(res: Results, scenario: str, metric: str, method: str, config: str):
    """(means, stds) per sweep point of the scenario (NaN where no finite value)."""
    means, stds = [], []
    for label, _ in res.points[scenario]:
        rows = group_rows(res, scenario, label, method, config)
        mean, std, _ = metric_stats(rows[metric]) if metric in rows else (float("nan"), float("nan"), 0)
        means.append(mean)
        stds.append(std)
    return means, stds


def below_random(res: Results) -> list[dict]:
    """Learner series whose mean `objective` at a scenario point is worse than `random`'s there (the family's
    direction of `objective`), one dict per (scenario, point, series) with both means; [] without a `random` series
    or an `objective` column. A comparison is only as credible as its weakest row: such rows are flagged."""
    from optkit import registry

    if "objective" not in res.df or "random" not in set(res.df["method"]):
        return []
    learners = {m.id for m in registry.methods(res.sweep["family"]) if m.kind == "learner"}
    higher = res.better.get("objective", "higher") != "lower"
    df = ok_rows(res)
    out = []
    for sc in res.sweep["scenarios"]:
        for label, _ in res.points[sc]:
            rand = df[(df["scenario"] == sc) & (df["point"] == label) & (df["method"] == "random")]
            base, _, n_base = metric_stats(rand["objective"])
            if not n_base:
                continue
            for method, config in series_list(res):
                if method not in learners:
                    continue
                mean, _, n = metric_stats(group_rows(res, sc, label, method, config)["objective"])
                if n and (mean < base if higher else mean > base):
                    out.append({"scenario": sc, "point": label, "series": series_name(method, config),
                                "objective": mean, "random": base})
    return out


def reference_flags(res: Results):
    """Reference rows that are not proven optimal within 1 %, and reference rows without frac_opt."""
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


# ----------------------------------------------------------------------------------------------- family reports

class ReportContext:
    """What a family report draws from: the results, their finished non-error rows per series and place, the cell
    records of those rows and the run's instances (records and instances are read or built once, on first use)."""

    def __init__(self, res: Results):
        self.res = res
        self.ok = ok_rows(res)
        keys = ["scenario", "point", "method", "config"]
        self._groups = {k: g for k, g in self.ok.groupby(keys, sort=False)} if not self.ok.empty else {}
        self._empty = self.ok.iloc[0:0]
        self._instances: dict = {}

    @functools.cached_property
    def records(self) -> dict:
        """{(scenario, point, seed, method, config, method seed): record} of the finished non-error rows."""
        from optkit.bench import read_records

        finished = {(r.scenario, r.point, int(r.seed), r.method, r.config, int(r.method_seed))
                    for r in self.ok.itertuples(index=False)}
        records = {}
        for item in read_records(self.res.directory):
            key = (str(item["scenario"]), str(item.get("point") or ""), int(item["seed"]), str(item["method"]),
                   str(item.get("config") or ""), int(item["method_seed"]))
            if key in finished and isinstance(item.get("record"), dict):
                records[key] = item["record"]
        return records

    def places(self) -> list[tuple[str, str]]:
        """(scenario, point) pairs of the run, in manifest order."""
        return [(sc, label) for sc in self.res.sweep["scenarios"] for label, _ in self.res.points[sc]]

    def sweep_name(self, scenario: str) -> str:
        """The quantity the scenario sweeps ('' for a plain preset)."""
        pts = self.res.points[scenario]
        return pts[0][1] if pts else ""

    def seeds(self, scenario: str, point: str) -> list[int]:
        """Instance seeds the manifest expects at one scenario point."""
        cells = self.res.cells
        sel = cells[(cells["scenario"] == scenario) & (cells["point"] == point)]
        return sorted({int(s) for s in sel["seed"]})

    def instance(self, scenario: str, point: str, seed: int):
        """The instance of one cell, generated on first use."""
        key = (scenario, point, int(seed))
        if key not in self._instances:
            from optkit.api import make_instance

            self._instances[key] = make_instance(self.res.sweep["family"], scenario, int(seed), point=point or None)
        return self._instances[key]

    def rows(self, scenario: str, point: str, method: str, config: str):
        """Finished non-error rows of one series at one scenario point (one per seed pair)."""
        return self._groups.get((scenario, point, method, config), self._empty)

    def series(self) -> list[tuple[str, str]]:
        """(method, config) pairs of the run, in manifest order."""
        return series_list(self.res)

    def series_at(self, scenario: str, point: str, metrics=()) -> list[tuple[str, str]]:
        """(method, config) pairs with at least one finished row here (and a finite value of every metric)."""
        out = []
        for method, config in series_list(self.res):
            rows = self.rows(scenario, point, method, config)
            if rows.empty or any(m not in rows or not rows[m].notna().any() for m in metrics):
                continue
            out.append((method, config))
        return out

    def stats(self, scenario: str, point: str, method: str, config: str, metric: str) -> tuple[float, float, int]:
        """Mean over the finished rows of one series at one place, standard deviation (ddof 1) and count."""
        rows = self.rows(scenario, point, method, config)
        return metric_stats(rows[metric]) if metric in rows else (float("nan"), float("nan"), 0)

    def cell_records(self, scenario: str, point: str, method: str, config: str) -> list[tuple[int, int, dict]]:
        """[(seed, method seed, record)] of one series at one place, sorted by seed then method seed."""
        out = [(k[2], k[5], rec) for k, rec in self.records.items()
               if k[0] == scenario and k[1] == point and k[3] == method and k[4] == config]
        return sorted(out, key=lambda t: (t[0], t[1]))

    def first_record(self, scenario: str, point: str, method: str, config: str):
        """The record of the series' lowest (seed, method seed) at one place, or None."""
        found = self.cell_records(scenario, point, method, config)
        return found[0] if found else None


# ----------------------------------------------------------------------------------------------- paired comparisons

def seed_values(res: Results, scenario: str, point: str, method: str, config: str, metric: str) -> dict:
    """{instance seed: value of the metric averaged over the method seeds} of one series at one place (finished,
    non-error rows with a finite value)."""
    rows = group_rows(res, scenario, point, method, config)
    if metric not in rows or rows.empty:
        return {}
    values = rows[["seed", metric]].astype(float)
    values = values[values[metric].map(math.isfinite)]
    return {int(seed): float(v) for seed, v in values.groupby("seed")[metric].mean().items()}


def bootstrap_interval(diffs, level: float = 0.95, resamples: int = BOOTSTRAP_RESAMPLES,
                       seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of paired differences (resampling the seeds with replacement);
    (NaN, NaN) for fewer than two differences."""
    import numpy as np

    d = np.asarray(diffs, dtype=float)
    if d.size < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, d.size, size=(resamples, d.size))].mean(axis=1)
    lo, hi = np.percentile(means, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


def paired_comparisons(res: Results, scenario: str, point: str, metric: str) -> list[dict]:
    """Adjacent pairs of the method ordering on `metric` at one place (series ranked by their mean, best first):
    for A ranked above B, the paired differences A − B over the instance seeds both have, their mean, its 95 %
    bootstrap interval and the verdict ("A better", "B better", or "not resolved" when the interval holds 0 or
    fewer than MIN_ORDER_SEEDS seeds pair up: a bootstrap over 2-4 seeds only spans their range)."""
    series = []
    for method, config in series_list(res):
        values = seed_values(res, scenario, point, method, config, metric)
        if values:
            series.append(((method, config), values, sum(values.values()) / len(values)))
    sign = -1.0 if res.better.get(metric) == "lower" else 1.0
    series.sort(key=lambda item: -sign * item[2])
    out = []
    for (a, va, _), (b, vb, _) in zip(series, series[1:]):
        seeds = sorted(set(va) & set(vb))
        diffs = [va[s] - vb[s] for s in seeds]
        mean = sum(diffs) / len(diffs) if diffs else float("nan")
        lo, hi = bootstrap_interval(diffs)
        if len(diffs) < MIN_ORDER_SEEDS:
            verdict = f"not resolved (fewer than {MIN_ORDER_SEEDS} seeds)"
        elif min(sign * lo, sign * hi) > 0:
            verdict = f"{series_name(*a)} better"
        elif max(sign * lo, sign * hi) < 0:
            verdict = f"{series_name(*b)} better"
        else:
            verdict = "not resolved"
        out.append({"a": a, "b": b, "seeds": seeds, "mean": mean, "low": lo, "high": hi, "verdict": verdict})
    return out
