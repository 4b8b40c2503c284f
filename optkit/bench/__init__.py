"""The benchmark runner: every method on the same instances, scored by the family's evaluator, one tidy row per cell.

A cell is (family, scenario, sweep point, instance seed, method, method configuration, method seed). Re-running
the same sweep into the same directory skips the finished cells; a directory holding another sweep is refused.

Modules: `sweep` (what a run covers and its cells), `cell` (run and score one cell), `store` (the results
directory: manifest, rows, tables, records, curves), `progress` (the progress line), `executors` (local processes
or Dask) and `run` (run_sweep and benchmark, the Python API of `optkit bench`).
"""
from optkit.bench.cell import run_cell
from optkit.bench.executors import EXECUTORS, check_executor
from optkit.bench.progress import Progress
from optkit.bench.run import TABLE_REFRESH_S, benchmark, run_sweep
from optkit.bench.store import (CSV, CURVES, LIBRARIES, LOCK, MANIFEST, PARQUET, RECORDS, ROWS, RowWriter,
                                check_out, default_config_labels, load_manifest_sweep, prepare_out, provenance,
                                read_records, read_rows, results_frame, write_curve, write_record, write_tables)
from optkit.bench.sweep import ID_COLUMNS, Cell, Sweep, make_sweep, parse_seeds
from optkit.budgets import BUDGETS

__all__ = [
    "BUDGETS", "CSV", "CURVES", "EXECUTORS", "ID_COLUMNS", "LIBRARIES", "LOCK", "MANIFEST", "PARQUET", "RECORDS",
    "ROWS", "TABLE_REFRESH_S", "Cell", "Progress", "RowWriter", "Sweep", "benchmark", "check_executor", "check_out",
    "default_config_labels", "load_manifest_sweep", "make_sweep", "parse_seeds", "prepare_out", "provenance",
    "read_records", "read_rows", "results_frame", "run_cell", "run_sweep", "write_curve", "write_record",
    "write_tables",
]
