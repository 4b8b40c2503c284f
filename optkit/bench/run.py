"""Running a sweep: every unfinished cell into a results directory, one runner per directory at a time."""
from __future__ import annotations

import contextlib
import time
from dataclasses import asdict
from pathlib import Path

from optkit import registry
from optkit.bench.executors import _run_dask, _run_local, check_executor
from optkit.bench.progress import Progress
from optkit.bench.store import (LOCK, ROWS, RowWriter, check_out, prepare_out, provenance, read_records,
                                write_curve, write_record, write_tables)
from optkit.bench.sweep import ID_COLUMNS, Cell, Sweep, make_sweep
from optkit.errors import InputError

TABLE_REFRESH_S = 10.0


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
    """Run the unfinished cells (the caller holds the directory's lock); rows, records and curves are written as
    each cell finishes and the tables every TABLE_REFRESH_S seconds and at the end."""
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
            records.append(write_record(out, row, record))   # before the row: a row on file has its record
        row.update(meta)
        writer.append(row)
        if curve:
            write_curve(out, row, curve)
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
