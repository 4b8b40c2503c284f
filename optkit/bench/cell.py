"""One cell of a sweep: build the instance, run the method, score the solution with the family's evaluator."""
from __future__ import annotations

import os
import sys
import time
import traceback

from optkit import registry
from optkit.limits import TimeLimitReached, hard_time_limit
from optkit.solution import family_fields


def _limit_threads() -> None:
    """One solver/torch thread per process: parallelism comes from running cells side by side."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def _method_kwargs(spec, sweep_budget: str, time_limit, config: dict) -> dict:
    """The options of one method call, checked against its declared options: the configuration's, plus the
    sweep's time limit, one thread and the budget where the method declares them."""
    kwargs = {k: v for k, v in config.items() if k != "label"}
    kwargs["time_limit"] = time_limit
    if spec.takes("threads"):
        kwargs["threads"] = 1
    if spec.takes("budget"):
        kwargs["budget"] = sweep_budget
    return spec.bind(kwargs)


def _number(value):
    """A solution number as a float; None is NaN."""
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
    row.update({m.id: float("nan") for m in api.metrics})     # the evaluator's metrics, `objective` among them
    curve = record = None
    start = time.perf_counter()
    try:
        inst = make_instance(fam.id, cell["scenario"], cell["seed"], point=cell["point"] or None)
        spec = registry.get_method(fam.id, cell["method"])
        kwargs = _method_kwargs(spec, budget, time_limit, config)
        with hard_time_limit(kwargs.get("time_limit") if spec.kind != "learner" else None):   # backstop
            solution = spec.load()(inst, seed=cell["method_seed"], **kwargs)
        evaluation = api.evaluate(inst, solution)
        info = solution.info or {}
        row.update(evaluation.metrics)
        bound, gap = family_fields(solution, evaluation.metrics.get("objective"))   # on the family objective
        row.update(status=str(solution.status), message=str(info.get("message", "")),
                   method_objective=_number(solution.objective), bound=_number(bound), gap=_number(gap), decision_s=float(solution.runtime_s),
                   train_s=float(info.get("train_s", 0.0)), solver=str(info.get("solver", "")),
                   feasible=bool(evaluation.feasible))
        curve = info.get("curve")
        if api.cell_record is not None:
            record = api.cell_record(inst, solution, evaluation)
    except TimeLimitReached as exc:     # the method overran its limit without returning decisions
        row.update(status="time_limit", message=f"{exc}; the method returned no decisions")
    except Exception as exc:  # noqa: BLE001 - a failing cell is recorded and the run goes on
        row["message"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        if os.environ.get("OPTKIT_DEBUG"):
            traceback.print_exc()
    row["wall_s"] = time.perf_counter() - start
    return row, curve, record
