"""Storage of a results directory: manifest, rows, tables, cell records, training curves and provenance.

A run writes `DIR/manifest.json` (the sweep and every expected cell) before it starts and appends one JSON line per
finished cell to `DIR/rows.jsonl` (a single write each, flushed and synced: an interrupted run loses at most the
cells in flight). `DIR/results.parquet` and `DIR/results.csv` are rebuilt from the rows. A directory holding
another sweep is refused.
"""
from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from optkit import __version__, registry
from optkit.bench.sweep import ID_COLUMNS, Sweep, make_sweep
from optkit.errors import InputError
from optkit.instance import json_ready, replace_atomically

MANIFEST, ROWS, PARQUET, CSV, CURVES = "manifest.json", "rows.jsonl", "results.parquet", "results.csv", "curves"
RECORDS = "records"     # per-cell family records (FamilyAPI.cell_record, e.g. trajectories), one JSON per cell
LOCK = ".lock"
LIBRARIES = ("numpy", "pandas", "pyomo", "highspy", "cvxpy", "torch", "gymnasium", "scipy", "networkx")


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
    package = Path(__file__).resolve().parent.parent          # the optkit package folder
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


def read_rows(out: Path, problems: list | None = None) -> list[dict]:
    """Finished rows. A line that is not a complete JSON row (a last line cut short by a kill, or a line damaged
    anywhere in the file) is left out, so its cell runs again on resume; each one is described in `problems`
    (when given) and never raises."""
    path = Path(out) / ROWS
    if not path.is_file():
        return []
    rows = []
    text = path.read_bytes().decode("utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line) if line.endswith("\n") else None
        except json.JSONDecodeError:
            row = None
        if not isinstance(row, dict) or any(c not in row for c in ID_COLUMNS):
            if problems is not None:
                problems.append(f"{ROWS} line {number} is not a complete row; its cell runs again on resume")
            continue
        rows.append(row)
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
    spec = registry.get_method(family, method)
    out = []
    for config in configs or ():
        options = {k: v for k, v in config.items() if k != "label"}
        if options and all(spec.option(k) is not None and spec.option(k).default == v for k, v in options.items()):
            out.append(config["label"])
    return out


def results_frame(rows: list[dict], family: str, points: dict | None = None, configs=(), records=()):
    """Tidy table with the fraction-of-reference columns filled from the reference rows of the same instance.

    points: scenario -> [(label, sweep name)] (the manifest's); adds `sweep` (the swept quantity) and
    `sweep_value` (the point label as a number where it is one) for plots against the swept quantity.
    configs: the sweep's configurations; when the reference ran only under configurations, a row without one is
    compared with the reference's configuration that restates its defaults (e.g. lam="lex" of offline-dp).
    records: the cell records (`read_records`); a family whose reference comparison needs more than the means
    (e.g. per agent) finds each cell's record in the `details` of the evaluations passed to its with_reference.
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
    metric_ids = [m.id for m in api.metrics if m.id in df.columns]     # rows written by an older evaluator lack some
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
        if fam.reference_bound_is_dual and ref.bound > 0 and math.isfinite(ref.bound):
            df.at[i, "frac_bound"] = row["objective"] / ref.bound   # optimistic ratio against the dual bound
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


def write_record(out: Path, cell: dict, record: dict) -> dict:
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


def write_curve(out: Path, cell: dict, curve: list) -> None:
    """Training curve of one (method, config, scenario point, instance seed, method seed): written once. The
    instance seed is part of the name because a family may train per instance seed (a learner of seed s
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
    problems: list[str] = []
    rows = read_rows(out, problems)
    for problem in problems:
        print(f"optkit: {out}: {problem}", file=sys.stderr)
    return rows


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
