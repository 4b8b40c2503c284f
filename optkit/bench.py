"""The benchmark runner: every method on the same instances, scored by the family's evaluator, one tidy row per cell.

A cell is (family, scenario, sweep point, instance seed, method, method configuration, method seed). The run
writes `DIR/manifest.json` (the sweep and every expected cell) before it starts and appends one JSON line per
finished cell to `DIR/rows.jsonl` (a single write each, flushed and synced: an interrupted run loses at most the
cells in flight). `DIR/results.parquet` and `DIR/results.csv` are rebuilt from the rows. Re-running the same
sweep into the same directory skips the finished cells; a directory holding another sweep is refused.
"""
from __future__ import annotations

import contextlib
import inspect
import json
import math
import os
import platform
import subprocess
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

from optkit import __version__, registry
from optkit.errors import InputError
from optkit.instance import json_ready, replace_atomically
from optkit.scenarios import load_scenario

# Learner training budgets, smallest first; each family defines the ones it offers in datasets/<family>/_learners.toml
# (sagin §9: fast / reduced / paper, plus the CI-sized check / smoke / quick of every family).
BUDGETS = ("check", "smoke", "quick", "fast", "reduced", "paper")
EXECUTORS = ("local", "dask")
MANIFEST, ROWS, PARQUET, CSV, CURVES = "manifest.json", "rows.jsonl", "results.parquet", "results.csv", "curves"
RECORDS = "records"     # per-cell family records (e.g. sagin trajectories and per-UAV metrics), one JSON per cell
LOCK = ".lock"
TABLE_REFRESH_S = 10.0
ID_COLUMNS = ["family", "scenario", "point", "seed", "method", "config", "method_seed"]
LIBRARIES = ("numpy", "pandas", "pyomo", "highspy", "cvxpy", "torch", "gymnasium", "scipy", "networkx")


def parse_seeds(text: str, flag: str = "--seeds") -> list[int]:
    """'0-9', '0,3,5' or '0-4,10' -> sorted distinct non-negative ints."""
    seeds = set()
    for part in str(text).split(","):
        part = part.strip()
        lo, dash, hi = part.partition("-")
        try:
            a, b = (int(lo), int(hi)) if dash else (int(part), int(part))
        except ValueError:
            raise InputError(f"{flag}: '{text}' is not a seed list (use forms like 0-9, 0,3,5 or 0-4,10)") from None
        if a < 0 or b < a:
            raise InputError(f"{flag}: range '{part}' must satisfy 0 <= start <= end")
        seeds.update(range(a, b + 1))
    return sorted(seeds)


@dataclass(frozen=True)
class Cell:
    family: str
    scenario: str
    point: str
    seed: int
    method: str
    config: str          # configuration label ('' = the method's defaults)
    method_seed: int

    @property
    def key(self) -> str:
        return "|".join(str(getattr(self, c)) for c in ID_COLUMNS)


@dataclass
class Sweep:
    """What a run covers; two runs into one directory must have the same Sweep."""

    family: str
    scenarios: list[str]
    methods: list[str]
    configs: list[dict]
    seeds: list[int]
    method_seeds: list[int]
    budget: str
    time_limit: float | None
    experiment: str | None = None
    points: dict = field(default_factory=dict)     # scenario -> [(label, sweep name)]
    configured: list = field(default_factory=list) # methods that run every config (others run their defaults)

    def identity(self) -> dict:
        return asdict(self)

    def cells(self) -> list[Cell]:
        labels = [c["label"] for c in self.configs]
        options = {c["label"]: c for c in self.configs}

        def seeds_of(method: str, label: str) -> list[int]:
            spec = registry.get_method(self.family, method)
            seeded = spec.seeded or any(options.get(label, {}).get(o) for o in spec.seeded_options)
            return self.method_seeds if seeded else self.method_seeds[:1]

        return [Cell(self.family, sc, label, seed, m, cfg, ms)
                for sc in self.scenarios for label, _ in self.points[sc] for seed in self.seeds
                for m in self.methods for cfg in (labels if m in self.configured else [""])
                for ms in seeds_of(m, cfg)]


def make_sweep(family: str, scenarios, methods: str = "all", seeds="0-9", *, method_seeds="0", configs=(),
               budget: str = "quick", time_limit: float | None = None, experiment: str | None = None,
               points=None) -> Sweep:
    """Validate every name and option up front (nothing runs on bad input). `points`: labels of the sweep
    points to run, one list for every scenario or {scenario: labels} (default every point)."""
    fam = registry.get_family(family)
    if budget not in BUDGETS:
        raise InputError(f"--budget: '{budget}' is not one of {', '.join(BUDGETS)}")
    if time_limit is not None and not (isinstance(time_limit, (int, float)) and 0 < time_limit < math.inf):
        raise InputError("--time-limit: must be a positive number of seconds")
    specs = registry.parse_method_list(fam.id, methods)
    scenarios = list(scenarios)
    if not scenarios:
        raise InputError("--scenario: give at least one preset id")
    repeated = sorted({sc for sc in scenarios if scenarios.count(sc) > 1})
    if repeated:
        raise InputError(f"--scenario: {', '.join(repeated)} listed more than once")
    points_of = {}
    known_labels = set()
    seed_list = parse_seeds(seeds)
    for sc in scenarios:
        scenario = load_scenario(fam.id, sc)
        offset = scenario.params.get("train_seed_offset")
        if offset is not None and any(s.kind == "learner" for s in specs) and seed_list[-1] >= offset:
            raise InputError(f"--seeds: seeds from {offset} on are the learners' training seeds of '{sc}' "
                             "(evaluation seeds must be disjoint from them)")
        labels = [p.label for p in scenario.expand()]
        known_labels.update(labels if scenario.points else [])
        wanted = points.get(sc) if isinstance(points, dict) else points
        chosen = [label for label in labels if wanted is None or not scenario.points or label in wanted]
        if not chosen:
            raise InputError(f"points: none of {', '.join(wanted)} is a point of '{sc}' (points: {', '.join(labels)})")
        points_of[sc] = [[label, scenario.sweep_name or ""] for label in chosen]
    requested = set(points) if isinstance(points, (list, tuple)) else \
        {label for labels in (points or {}).values() for label in labels}
    unknown = sorted(requested - known_labels)
    if unknown:
        raise InputError(f"points: {', '.join(unknown)} is not a sweep point of {', '.join(scenarios)}")
    configs = [dict(c) for c in configs]
    runner_owned = sorted({k for c in configs for k in c} & {"time_limit", "budget", "threads", "seed"})
    if runner_owned:
        raise InputError(f"configs: {', '.join(runner_owned)} is set by the runner, not by a configuration")
    labels = [c.get("label", "") for c in configs]
    if len(set(labels)) != len(labels) or "" in labels:
        raise InputError("configs: every configuration needs a distinct non-empty label")
    # A configuration applies to the methods that take all its options; the others (the reference among them)
    # run once with their defaults. An option no method takes is a typo.
    keys = {k for c in configs for k in c if k != "label"}
    configured = [spec.id for spec in specs if keys and keys <= set(inspect.signature(spec.load()).parameters)]
    if configs and not configured:
        raise InputError(f"configs: no method of {', '.join(s.id for s in specs)} takes all of "
                         f"{', '.join(sorted(keys))}")
    return Sweep(fam.id, list(scenarios), [s.id for s in specs], configs, seed_list,
                 parse_seeds(method_seeds, "--method-seeds"), budget, time_limit, experiment, points_of, configured)


# ----------------------------------------------------------------------------------------------- one cell

def _limit_threads() -> None:
    """One solver/torch thread per process: parallelism comes from running cells side by side."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def _method_kwargs(spec, sweep_budget: str, time_limit, config: dict) -> dict:
    accepted = inspect.signature(spec.load()).parameters
    kwargs = {k: v for k, v in config.items() if k != "label"}
    if time_limit is not None and "time_limit" in accepted:
        kwargs["time_limit"] = time_limit
    if "threads" in accepted:
        kwargs["threads"] = 1
    if "budget" in accepted:
        kwargs["budget"] = sweep_budget
    return kwargs


def _number(value):
    if value is None:
        return float("nan")
    return float(value)


def run_cell(cell: dict, budget: str, time_limit, config: dict) -> tuple[dict, list | None, dict | None]:
    """Run and score one cell (in a worker): (row, training curve or None, family record or None). The record is
    what the family API's optional `cell_record(instance, solution, evaluation)` keeps for reports beyond the flat
    row (JSON-able dict). Never raises for a method failure: that is a row with status error."""
    from optkit.api import make_instance

    _limit_threads()
    fam = registry.get_family(cell["family"])
    api = registry.family_api(fam.id)
    row = dict(cell, status="error", message="", method_objective=float("nan"), bound=float("nan"), gap=float("nan"),
               decision_s=float("nan"), train_s=0.0, solver="", feasible=False)
    row.update({m.id: float("nan") for m in api.METRICS})    # the evaluator's metrics, `objective` among them
    curve = record = None
    start = time.perf_counter()
    try:
        inst = make_instance(fam.id, cell["scenario"], cell["seed"], point=cell["point"] or None)
        spec = registry.get_method(fam.id, cell["method"])
        solution = spec.load()(inst, seed=cell["method_seed"], **_method_kwargs(spec, budget, time_limit, config))
        evaluation = api.evaluate(inst, solution)
        info = solution.info or {}
        row.update(evaluation.metrics)
        row.update(status=str(solution.status), message=str(info.get("message", "")),
                   method_objective=_number(solution.objective), bound=_number(solution.bound), gap=_number(solution.gap), decision_s=float(solution.runtime_s),
                   train_s=float(info.get("train_s", 0.0)), solver=str(info.get("solver", "")),
                   feasible=bool(evaluation.feasible))
        curve = info.get("curve")
        if hasattr(api, "cell_record"):
            record = api.cell_record(inst, solution, evaluation)
    except Exception as exc:  # noqa: BLE001 - a failing cell is recorded and the run goes on
        row["message"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        if os.environ.get("OPTKIT_DEBUG"):
            traceback.print_exc()
    row["wall_s"] = time.perf_counter() - start
    return row, curve, record


# ----------------------------------------------------------------------------------------------- storage

def provenance() -> dict:
    """optkit, solver and library versions, git revision, platform (computed once per run)."""
    from importlib import metadata

    out = {"optkit_version": __version__, "python": platform.python_version(), "platform": platform.platform()}
    for lib in LIBRARIES:
        try:
            out[f"v_{lib}"] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            out[f"v_{lib}"] = ""
    out["git_rev"] = ""
    package = Path(__file__).resolve().parent
    try:   # only when optkit runs from a git checkout (editable install): `-dirty` marks uncommitted changes
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=package, capture_output=True, text=True,
                             timeout=5)
        if top.returncode == 0 and Path(top.stdout.strip()).resolve() == package.parent:
            rev = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=10"], cwd=package,
                                 capture_output=True, text=True, timeout=5)
            out["git_rev"] = rev.stdout.strip() if rev.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        pass
    return out


def read_rows(out: Path) -> list[dict]:
    """Finished rows; a last line cut short by a kill is ignored (its cell runs again)."""
    path = Path(out) / ROWS
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines(keepends=True):
        if line.endswith("\n") and line.strip():
            rows.append(json.loads(line))
    return rows


def _repair_rows_file(path: Path) -> None:
    """Cut a partial last line so that the next append starts on a fresh line."""
    if not path.is_file():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        os.truncate(path, data.rfind(b"\n") + 1)      # in place: the finished rows are never rewritten


class RowWriter:
    """Appends one row per call: one write of a full line, flushed and fsynced."""

    def __init__(self, path: Path):
        _repair_rows_file(path)
        self.fh = open(path, "a", encoding="utf-8")

    def append(self, row: dict) -> None:
        self.fh.write(json.dumps(json_ready(row), allow_nan=False) + "\n")
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def close(self) -> None:
        self.fh.close()


def default_config_labels(family: str, method: str, configs) -> list[str]:
    """Labels of the configurations that only restate the method's default options (such a run is its default
    run), in sweep order."""
    parameters = inspect.signature(registry.get_method(family, method).load()).parameters
    out = []
    for config in configs or ():
        options = {k: v for k, v in config.items() if k != "label"}
        if options and all(k in parameters and parameters[k].default == v for k, v in options.items()):
            out.append(config["label"])
    return out


def results_frame(rows: list[dict], family: str, points: dict | None = None, configs=(), records=()):
    """Tidy table with the fraction-of-reference columns filled from the reference rows of the same instance.

    points: scenario -> [(label, sweep name)] (the manifest's); adds `sweep` (the swept quantity) and
    `sweep_value` (the point label as a number where it is one) for plots against the swept quantity.
    configs: the sweep's configurations; when the reference ran only under configurations, a row without one is
    compared with the reference's configuration that restates its defaults (e.g. lam="lex" of offline-dp).
    records: the cell records (`read_records`); a family whose reference comparison needs more than the means
    (sagin: per UAV) finds each cell's record in the `details` of the evaluations passed to its with_reference.
    """
    import pandas as pd

    from optkit.evaluation import Evaluation

    df = pd.DataFrame(rows)
    if df.empty:
        return df
    df = df.astype({c: float for c in df.columns if df[c].dtype == object and df[c].map(
        lambda v: v is None or isinstance(v, (int, float)) and not isinstance(v, bool)).all()})
    fam = registry.get_family(family)
    api = registry.family_api(fam.id)
    # The reference row of an instance: the reference method's, under the same configuration when the reference
    # itself runs the sweep's configurations, else its default one.
    ref_rows = df[(df["method"] == fam.reference_method) & (df["status"] != "error")]
    ref_rows = ref_rows.sort_values("method_seed").drop_duplicates(["family", "scenario", "point", "seed", "config"])
    refs = {(r.scenario, r.point, r.seed, r.config): r for r in ref_rows.itertuples(index=False)}
    ref_configs = set(ref_rows["config"])
    defaults = [c for c in default_config_labels(fam.id, fam.reference_method, configs) if c in ref_configs]
    fallback = "" if "" in ref_configs or not defaults else defaults[0]
    metric_ids = [m.id for m in api.METRICS if m.id in df.columns]     # rows written by an older evaluator lack some
    details = {tuple(r[c] for c in ID_COLUMNS): r["record"] for r in records}
    for col in ("ref_status", "ref_gap", "ref_bound", "frac_bound"):
        df[col] = "" if col == "ref_status" else float("nan")
    for i, row in df.iterrows():
        config = row["config"] if row["config"] in ref_configs else fallback
        if row["method"] == fam.reference_method and fallback:
            config = fallback          # the reference's own variants are measured against its default run
        ref = refs.get((row["scenario"], row["point"], row["seed"], config))
        if ref is None or row["status"] == "error":
            continue
        ref_metrics = {m: getattr(ref, m) for m in metric_ids}
        ref_key = tuple(getattr(ref, c) for c in ID_COLUMNS)
        evaluation = Evaluation({m: row[m] for m in metric_ids}, bool(row["feasible"]),
                                details=dict(details.get(tuple(row[c] for c in ID_COLUMNS), {})))
        api.with_reference(evaluation, Evaluation(ref_metrics, bool(ref.feasible), details=dict(details.get(ref_key, {}))))
        for m in metric_ids:
            df.at[i, m] = evaluation.metrics[m]
        df.at[i, "ref_status"] = ref.status
        df.at[i, "ref_gap"] = ref.gap
        df.at[i, "ref_bound"] = ref.bound
        if getattr(api, "REFERENCE_BOUND_IS_DUAL", True) and ref.bound > 0 and math.isfinite(ref.bound):
            df.at[i, "frac_bound"] = row["objective"] / ref.bound   # optimistic ratio against the dual bound (§8)
    sweep_names = {sc: dict((label, name) for label, name in pts) for sc, pts in (points or {}).items()}
    df["sweep"] = [sweep_names.get(sc, {}).get(pt, "") for sc, pt in zip(df["scenario"], df["point"])]
    df["sweep_value"] = pd.to_numeric(df["point"], errors="coerce")
    order = {(sc, label): i for sc, pts in (points or {}).items() for i, (label, _) in enumerate(pts)}
    df["_point_order"] = [order.get(key, 0) for key in zip(df["scenario"], df["point"])]
    keys = ["family", "scenario", "_point_order", *ID_COLUMNS[3:]]
    return df.sort_values(keys, kind="stable").drop(columns="_point_order").reset_index(drop=True)


def write_tables(out: Path, family: str, records: list | None = None):
    """results.parquet and results.csv of a results directory; `records`: its cell records when the caller holds
    them already (a running sweep), else they are read from the directory."""
    manifest = json.loads((Path(out) / MANIFEST).read_text())
    df = results_frame(read_rows(out), family, manifest["sweep"]["points"], manifest["sweep"].get("configs", ()),
                       read_records(out) if records is None else records)
    if not df.empty:
        replace_atomically(out / PARQUET, lambda p: df.to_parquet(p, index=False))
        replace_atomically(out / CSV, lambda p: df.to_csv(p, index=False))
    return df


def _file_stem(cell: dict) -> str:
    parts = [cell["method"], cell["config"] or "default", cell["scenario"], cell["point"] or "-", f"s{cell['seed']}"]
    return "__".join(parts + [f"ms{cell['method_seed']}"]).replace("/", "_").replace("=", "-")


def _write_record(out: Path, cell: dict, record: dict) -> dict:
    """Write the family record of one cell (records/<method>__<config>__<scenario>__<point>__s<seed>__ms<seed>.json);
    returns the entry as `read_records` gives it back."""
    folder = out / RECORDS
    folder.mkdir(exist_ok=True)
    data = json.dumps({**{c: cell[c] for c in ID_COLUMNS}, "record": json_ready(record)}, allow_nan=True)
    replace_atomically(folder / f"{_file_stem(cell)}.json", lambda p: Path(p).write_text(data))
    return json.loads(data)


def read_records(out: Path) -> list[dict]:
    """Every cell record of a results directory: [{family, scenario, ..., method_seed, record}], in file order."""
    folder = Path(out) / RECORDS
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []


def _write_curve(out: Path, cell: dict, curve: list) -> None:
    """Training curve of one (method, config, scenario point, instance seed, method seed): written once. The
    instance seed is part of the name because a family may train per instance seed (sagin: the learner of seed s
    trains on instance s); where training does not depend on it the files of the seeds are equal."""
    import pandas as pd

    folder = out / CURVES
    folder.mkdir(exist_ok=True)
    path = folder / f"{_file_stem(cell)}.csv"
    if not path.exists():
        frame = pd.DataFrame(curve)
        for col in ("method", "config", "scenario", "point", "seed", "method_seed"):
            frame[col] = cell[col]
        replace_atomically(path, lambda p: frame.to_csv(p, index=False))


def check_out(out: Path, sweep: Sweep) -> None:
    """Refuse a directory that holds another sweep (or is not a results directory); touches nothing."""
    out = Path(out)
    manifest_path = out / MANIFEST
    if out.exists() and not out.is_dir():
        raise InputError(f"--out: '{out}' exists and is not a directory")
    if manifest_path.is_file():
        try:
            stored = json.loads(manifest_path.read_text())["sweep"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise InputError(f"--out: '{manifest_path}' is not an optkit manifest; choose another --out") from None
        mine = json_ready(sweep.identity())
        if stored != mine:
            diff = sorted(k for k in set(stored) | set(mine) if stored.get(k) != mine.get(k))
            raise InputError(f"--out: '{out}' holds results of a different sweep (differs in {', '.join(diff)}); "
                             "choose another --out or repeat the original options")
    elif out.is_dir() and (out / ROWS).exists():
        raise InputError(f"--out: '{out}' holds rows but no manifest; choose another --out")


def prepare_out(out: Path, sweep: Sweep) -> list[dict]:
    """Check the directory against the sweep and write the manifest; return the rows already finished."""
    out = Path(out)
    manifest_path = out / MANIFEST
    check_out(out, sweep)
    try:
        out.mkdir(parents=True, exist_ok=True)
        manifest = {"optkit_version": __version__, "sweep": json_ready(sweep.identity()),
                    "cells": [asdict(c) for c in sweep.cells()]}
        replace_atomically(manifest_path, lambda p: p.write_text(json.dumps(manifest, indent=1)))
    except OSError as exc:
        raise InputError(f"--out: cannot write to '{out}' ({exc.strerror})") from None
    return read_rows(out)


def load_manifest_sweep(out: Path) -> Sweep:
    """The sweep stored in DIR/manifest.json (for `--resume` without the original options)."""
    path = Path(out) / MANIFEST
    if not path.is_file():
        raise InputError(f"--resume: '{out}' has no {MANIFEST}")
    try:
        s = json.loads(path.read_text())["sweep"]
        points = {sc: [label for label, _ in pts] for sc, pts in s["points"].items() if pts and pts[0][0] != ""}
        return make_sweep(s["family"], s["scenarios"], ",".join(s["methods"]), ",".join(map(str, s["seeds"])),
                          method_seeds=",".join(map(str, s["method_seeds"])), configs=s["configs"],
                          budget=s["budget"], time_limit=s["time_limit"], experiment=s.get("experiment"),
                          points=points or None)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"--resume: '{path}' is not a manifest this optkit can read ({type(exc).__name__}); "
                         "repeat the original options instead") from None


# ----------------------------------------------------------------------------------------------- progress

class Progress:
    """Cells done, failures and ETA on stderr: one updating line on a terminal, a line every 10 s otherwise."""

    def __init__(self, total: int, already: int, enabled: bool = True, stream=None):
        self.total, self.done, self.failed = total, already, 0
        self.todo = total - already
        self.start = time.monotonic()
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.last_print = 0.0
        self.finished_here = 0

    def update(self, row: dict) -> None:
        self.done += 1
        self.finished_here += 1
        self.failed += row["status"] == "error"
        now = time.monotonic()
        if self.enabled and (self.tty or now - self.last_print >= 10 or self.done == self.total):
            self.last_print = now
            self._print(row)

    def _print(self, row: dict) -> None:
        elapsed = time.monotonic() - self.start
        remaining = self.total - self.done
        eta = elapsed / self.finished_here * remaining if self.finished_here else float("nan")
        bar_width = 24
        filled = int(bar_width * self.done / max(1, self.total))
        text = (f"bench [{'#' * filled}{'.' * (bar_width - filled)}] {self.done}/{self.total} cells"
                f" · {self.failed} failed · {_clock(elapsed)} elapsed · ETA {_clock(eta)}"
                f" · last {row['method']} seed {row['seed']}: {row['status']}")
        if self.tty:
            self.stream.write("\r" + text[:160].ljust(160))
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "--"
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


# ----------------------------------------------------------------------------------------------- executors

def _run_local(tasks, jobs: int, on_result) -> None:
    if jobs == 1:
        _limit_threads()
        for task in tasks:
            on_result(run_cell(*task))
        return
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    context = multiprocessing.get_context("spawn")   # fresh interpreters: no inherited solver/torch threads
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_limit_threads) as pool:
        pending = {pool.submit(run_cell, *task) for task in tasks}
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    on_result(future.result())
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def _run_dask(tasks, jobs: int, scheduler: str | None, on_result) -> None:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise InputError("--executor dask: needs the 'distributed' package (pip install 'optkit[dask]')") from None
    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise InputError(f"--scheduler: cannot reach '{scheduler}' ({exc})") from None
    else:
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None)
        client = Client(cluster)
    try:
        futures = [client.submit(run_cell, *task, pure=False) for task in tasks]
        for future in as_completed(futures):
            on_result(future.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def check_executor(executor: str, jobs: int, scheduler: str | None) -> None:
    if executor not in EXECUTORS:
        raise InputError(f"--executor: '{executor}' is not one of {', '.join(EXECUTORS)}")
    if not isinstance(jobs, int) or jobs < 1:
        raise InputError("--jobs: must be an integer >= 1")
    if scheduler and executor != "dask":
        raise InputError("--scheduler: only with --executor dask")


def run_sweep(sweep: Sweep, out, *, jobs: int = 1, executor: str = "local", scheduler: str | None = None,
              progress: bool = True):
    """Run every unfinished cell of the sweep into `out`; return the tidy results table (pandas)."""
    check_executor(executor, jobs, scheduler)
    out = Path(out)
    check_out(out, sweep)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out: cannot create '{out}' ({exc.strerror})") from None
    with _exclusive(out):
        return _run_locked(sweep, out, jobs, executor, scheduler, progress)


@contextlib.contextmanager
def _exclusive(out: Path):
    """One runner per results directory: a second one on the same directory is refused (POSIX lock)."""
    try:
        import fcntl
    except ImportError:          # not POSIX: no lock
        yield
        return
    with open(out / LOCK, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(f"--out: another `optkit bench` is writing to '{out}'; wait for it or choose "
                             "another --out") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run_locked(sweep: Sweep, out: Path, jobs: int, executor: str, scheduler, progress: bool):
    finished = {Cell(**{c: r[c] for c in ID_COLUMNS}).key for r in prepare_out(out, sweep)}
    cells = sweep.cells()
    todo = [c for c in cells if c.key not in finished]
    configs = {c["label"]: c for c in sweep.configs}
    tasks = [(asdict(c), sweep.budget, sweep.time_limit, configs.get(c.config, {})) for c in todo]
    meta = provenance()
    bar = Progress(len(cells), len(cells) - len(todo), enabled=progress)
    writer = RowWriter(out / ROWS)
    last_table = time.monotonic()
    records = read_records(out)                   # read once; the sweep's new records are added as they come

    def on_result(result) -> None:
        nonlocal last_table
        row, curve, record = result
        if record is not None:
            records.append(_write_record(out, row, record))   # before the row: a row on file has its record
        row.update(meta)
        writer.append(row)
        if curve:
            _write_curve(out, row, curve)
        bar.update(row)
        if time.monotonic() - last_table > TABLE_REFRESH_S:
            write_tables(out, sweep.family, records)
            last_table = time.monotonic()

    try:
        if tasks:
            if executor == "local":
                _run_local(tasks, jobs, on_result)
            else:
                _run_dask(tasks, jobs, scheduler, on_result)
    finally:
        writer.close()
        df = write_tables(out, sweep.family, records)
    return df


def benchmark(family: str | None = None, scenario: str | list | None = None, *, methods: str = "all",
              seeds="0-9", method_seeds="0", out=None, jobs: int = 1, time_limit: float | None = None,
              budget: str = "quick", executor: str = "local", scheduler: str | None = None,
              experiment: str | None = None, configs=(), progress: bool = False):
    """Python API of `optkit bench`: run the sweep and return the tidy pandas table.

    Either `family` + `scenario` (one preset id or a list), or `experiment` (a named experiment, which fixes
    family, scenarios, methods, configs and seeds for the budget). `out=None` runs in a temporary directory.
    """
    import tempfile

    if experiment is not None:
        from optkit.experiments import load_experiment

        exp = load_experiment(experiment, budget)
        sweep = make_sweep(exp.family, exp.scenarios, exp.methods, exp.seeds, method_seeds=exp.method_seeds,
                           configs=exp.configs, budget=budget,
                           time_limit=time_limit if time_limit is not None else exp.time_limit,
                           experiment=exp.id, points=exp.points)
    else:
        if family is None:
            raise InputError("--formulation: required unless --experiment is given")
        fam = registry.get_family(family)
        scenarios = [scenario] if isinstance(scenario, str) else list(scenario or [fam.default_scenario])
        sweep = make_sweep(fam.id, scenarios, methods, seeds, method_seeds=method_seeds, configs=configs,
                           budget=budget, time_limit=time_limit)
    if out is None:
        with tempfile.TemporaryDirectory(prefix="optkit-bench-") as tmp:
            return run_sweep(sweep, tmp, jobs=jobs, executor=executor, scheduler=scheduler, progress=progress)
    return run_sweep(sweep, out, jobs=jobs, executor=executor, scheduler=scheduler, progress=progress)
