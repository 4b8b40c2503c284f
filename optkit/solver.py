"""The single place that solves Pyomo models (Pyomo's current interface, `pyomo.contrib.solver`).

`solve_model` never raises for a solver *outcome*: infeasible, unbounded, time limits, solver
crashes and numerical trouble all come back as a `SolveReport`. It raises only for bad *input*
(`InputError` and subclasses): unknown solver name, solver not installed here, invalid limits or
solver options, a solver that lacks a requested feature.

Status mapping (pyomo `TerminationCondition` -> `Status`):

===============================  ==============  ===========================================
termination                      status          notes
===============================  ==============  ===========================================
convergenceCriteriaSatisfied     optimal         proven optimal within OPTIMAL_REL_GAP (1e-4).
                                 gap_limit       stopped on a looser `rel_gap` (`--gap 0.2`) with
                                                 a final gap above 1e-4: incumbent and bound, no
                                                 proof. If the solver labels the point only
                                                 "feasible": `feasible`.
maxTimeLimit, iterationLimit,    time_limit      never `optimal`, however small the gap; the
interrupted                                      incumbent is loaded when there is one, else
                                                 has_solution=False and objective=None.
objectiveLimit                   feasible        stopped on a user objective target/cutoff
                                                 (solver option); `error` without a solution.
provenInfeasible                 infeasible      has_solution=False.
unbounded                        error           a modeling error (missing bound/constraint);
                                                 our statuses have no "unbounded" and an
                                                 unbounded model has no meaningful decisions,
                                                 so nothing is loaded, objective=None.
infeasibleOrUnbounded            (re-solved)     HiGHS presolve often cannot tell which; we
                                                 re-solve once with presolve off (within the
                                                 remaining time limit), which yields
                                                 provenInfeasible or unbounded. If still
                                                 ambiguous (or another solver): `error`.
locallyInfeasible                error           no feasible point found but infeasibility
                                                 not proven (NLP solvers): not a proof.
unknown                          feasible        only with a feasible solution; else `error`.
minStepLength, error,            error           numerical trouble / solver failure; nothing
licensingProblems, emptyModel                    loaded. Python exceptions raised by the
                                                 solver (e.g. unsupported expressions) too.
===============================  ==============  ===========================================

Pyomo is imported inside the functions so that importing optkit (e.g. `optkit --help`) stays fast.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

from optkit.errors import InputError, SolverUnavailableError, UnknownNameError
from optkit.solution import OPTIMAL_ABS_TOL, OPTIMAL_REL_GAP, Status, proven_optimal, relative_gap

#: Short names accepted by `solve_model` for pyomo.contrib.solver interfaces registered under
#: longer names (Pyomo 6.10 registers no plain "gurobi"/"scip"/"knitro" in the new interface).
SOLVER_ALIASES: dict[str, str] = {
    "gurobi": "gurobi_direct",
    "scip": "scip_direct",
    "knitro": "knitro_direct",
}

#: File suffix -> export format (see `export_model`).
EXPORT_SUFFIXES: tuple[str, ...] = (".lp", ".mps")

_LIMIT_TERMINATIONS = frozenset({"maxTimeLimit", "iterationLimit", "interrupted"})


@dataclass(frozen=True)
class SolveReport:
    """Outcome of one `solve_model` call.

    status: optimal | gap_limit | feasible | time_limit | infeasible | error (see the module docstring).
    termination: pyomo TerminationCondition name, e.g. "convergenceCriteriaSatisfied",
        "maxTimeLimit", "provenInfeasible", "unbounded"; "exception" when the solver raised.
    objective: incumbent objective value in objective units and the model's sense
        (None when there is no incumbent).
    bound: best proven dual bound in objective units and the model's sense (maximisation:
        bound >= objective; minimisation: bound <= objective); None when unknown or infinite.
    gap: relative gap |bound - objective| / max(1e-10, |objective|) (dimensionless, 0.05 = 5 %);
        None when either is missing; 0.0 for a proven optimum whose bound equals the objective
        within OPTIMAL_ABS_TOL.
    solve_s: wall-clock seconds of the whole solve call (model translation, solver run,
        solution loading; a HiGHS infeasible-or-unbounded re-solve included).
    solver: pyomo.contrib.solver name actually used (aliases resolved, e.g. "gurobi_direct").
    has_solution: True when variable values were loaded into the model (read them with
        `pyo.value(var)`); when False, variable values are whatever they were before the call.
    message: human-readable detail ("" when none).
    trajectory: HiGHS only: (elapsed s, incumbent, bound) at every improving solution and every MIP
        log line, in time order, in the model's sense (None where unknown); () for other solvers.
    """

    status: Status
    termination: str
    objective: float | None
    bound: float | None
    gap: float | None
    solve_s: float
    solver: str
    has_solution: bool
    message: str = ""
    trajectory: tuple = ()


@contextlib.contextmanager
def solver_output_to_stderr():
    """Send whatever is written to the process's standard output (file descriptor 1) to standard error while the
    block runs: solver libraries print banners and logs from C code (highspy >= 1.16 prints its banner when a solver
    object is created), and optkit's stdout carries results only (`--format json` stays parseable)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):     # Python-level writes (a log streamed with tee=True)
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _factory():
    """The pyomo.contrib.solver SolverFactory, with its plugins registered."""
    import pyomo.environ  # noqa: F401  (registers the pyomo.contrib.solver plugins)
    from pyomo.contrib.solver.common.factory import SolverFactory

    return SolverFactory


def _registered() -> list[str]:
    return sorted(_factory())


@solver_output_to_stderr()
def available_solvers() -> list[str]:
    """Sorted pyomo.contrib.solver names whose solver is installed (and licensed) here."""
    factory = _factory()
    names = []
    for name in sorted(factory):
        try:
            ok = bool(factory(name).available())
        except Exception:  # a broken optional dependency means "not available"
            ok = False
        if ok:
            names.append(name)
    return names


def _resolve(name: str):
    """(pyomo name, solver instance) for a solver name or alias; raises InputError subclasses."""
    if not isinstance(name, str):
        raise InputError(f"solver: expected a solver name, got {name!r}")
    registered = _registered()
    pyomo_name = SOLVER_ALIASES.get(name, name)
    if pyomo_name not in registered:
        raise UnknownNameError("solver", name, set(registered) | set(SOLVER_ALIASES))
    factory = _factory()
    try:
        opt = factory(pyomo_name)
        availability = opt.available()
        why = str(availability)
    except Exception as exc:
        opt, availability, why = None, None, f"{type(exc).__name__}: {exc}"
    if opt is None or not availability:
        alias = "" if pyomo_name == name else f"pyomo '{pyomo_name}', "
        here = ", ".join(available_solvers()) or "none"
        raise SolverUnavailableError(
            f"solver '{name}' is not available on this machine "
            f"({alias}pyomo reports {why}; available here: {here})"
        )
    return pyomo_name, opt


def _check_number(field: str, value: Any, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{field}: expected a finite number, got {value!r}")
    if positive and value <= 0:
        raise InputError(f"{field}: must be > 0, got {value!r}")
    if value < 0:
        raise InputError(f"{field}: must be >= 0, got {value!r}")
    return float(value)


def _check_highs_options(options: Mapping[str, Any], threads: int | None) -> None:
    """Validate HiGHS options on a scratch instance: pyomo ignores HiGHS's rejection of an
    unknown option or a wrongly typed value and solves with the default silently."""
    import highspy

    scratch = highspy.Highs()
    scratch.setOptionValue("output_flag", False)
    for key, val in options.items():
        if scratch.setOptionValue(key, val) != highspy.HighsStatus.kOk:
            raise InputError(
                f"solver option '{key}'={val!r}: rejected by HiGHS (unknown option, or wrong "
                f"type/value; e.g. presolve takes 'on'/'off'/'choose', threads an int)"
            )
    if threads is not None and "threads" in options and options["threads"] != threads:
        raise InputError(
            f"threads: given as {threads} and as solver option threads={options['threads']!r}"
        )


def _reset_highs_scheduler() -> None:
    """HiGHS keeps one process-global thread pool, sized by the first solve; a later solve asking
    for a different `threads` fails ("global scheduler has already been initialized") and pyomo
    reports termination `unknown`. Resetting it (blocking) lets each solve pick its own count.
    Not safe while another HiGHS solve runs in a parallel Python thread of this process."""
    import highspy

    highspy.Highs.resetGlobalScheduler(True)


def _finite(x: Any) -> float | None:
    if x is None:
        return None
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _gap(objective: float | None, bound: float | None, optimal: bool = False) -> float | None:
    """The relative gap of optkit.solution.relative_gap (one definition for every method)."""
    return relative_gap(objective, bound)


def _log_error_line(res: Any) -> str:
    """First 'ERROR' line of the solver log, if any (HiGHS prints its failures there)."""
    log = getattr(res, "solver_log", None)
    if not isinstance(log, str):
        return ""
    for line in log.splitlines():
        if "ERROR" in line:
            return line.strip()
    return ""


def _interpret(res: Any, solver: str, started: float, retried: bool) -> SolveReport:
    """Map a pyomo Results object to a SolveReport, loading the solution when there is one."""
    from pyomo.contrib.solver.common.results import SolutionStatus

    tc = res.termination_condition.name
    has_incumbent = res.solution_status in (SolutionStatus.feasible, SolutionStatus.optimal)
    proven = res.solution_status == SolutionStatus.optimal
    load = False
    message = ""

    if tc == "convergenceCriteriaSatisfied" and has_incumbent:
        status = Status.OPTIMAL if proven else Status.FEASIBLE
        load = True
        if not proven:
            message = "solver converged but labels the solution feasible, not optimal"
    elif tc in _LIMIT_TERMINATIONS:
        status = Status.TIME_LIMIT
        load = has_incumbent
        message = f"stopped by {tc} before proving optimality" + (
            "" if has_incumbent else "; no feasible solution found"
        )
    elif tc == "objectiveLimit" and has_incumbent:
        status, load = Status.FEASIBLE, True
        message = "stopped on an objective limit (solver option)"
    elif tc == "unknown" and has_incumbent:
        status, load = Status.FEASIBLE, True
        message = "solver returned a feasible solution with an unknown termination condition"
    elif tc == "provenInfeasible":
        status = Status.INFEASIBLE
        message = "model is infeasible"
    elif tc == "unbounded":
        status = Status.ERROR
        message = (
            "model is unbounded: the objective improves without limit "
            "(modeling error: a missing variable bound or constraint)"
        )
    elif tc == "infeasibleOrUnbounded":
        status = Status.ERROR
        message = "model is infeasible or unbounded; the solver could not tell which"
    elif tc == "locallyInfeasible":
        status = Status.ERROR
        message = "solver found no feasible point but did not prove infeasibility"
    else:
        status = Status.ERROR
        message = f"solver failed (termination {tc})"
        detail = _log_error_line(res)
        if detail:
            message += f": {detail}"
    if retried:
        message += " [HiGHS re-solved with presolve off to tell infeasible from unbounded]"

    objective = bound = None
    has_solution = False
    if load:
        try:
            res.solution_loader.load_vars()
            has_solution = True
        except Exception as exc:
            status = Status.ERROR
            message = f"solution could not be loaded: {type(exc).__name__}: {exc}"
    if has_solution:
        objective = _finite(res.incumbent_objective)
    if status in (Status.OPTIMAL, Status.FEASIBLE, Status.TIME_LIMIT):
        bound = _finite(res.objective_bound)
    if status == Status.OPTIMAL and objective is not None and bound is not None and not proven_optimal(objective,
                                                                                                        bound):
        status = Status.GAP_LIMIT
        message = (f"stopped at the requested relative gap: gap {relative_gap(objective, bound):.3g} is above "
                   f"{OPTIMAL_REL_GAP:g}, so optimality is not proven")
    return SolveReport(
        status=status,
        termination=tc,
        objective=objective,
        bound=bound,
        gap=_gap(objective, bound, status == Status.OPTIMAL),
        solve_s=time.perf_counter() - started,
        solver=solver,
        has_solution=has_solution,
        message=message,
    )


@solver_output_to_stderr()
def solve_model(
    model: Any,
    *,
    solver: str = "highs",
    time_limit: float | None = None,
    rel_gap: float | None = None,
    threads: int | None = None,
    options: dict | None = None,
    tee: Any = False,
    warm_start: bool = False,
    progress: Any = None,
) -> SolveReport:
    """Solve a Pyomo model and load its solution (when one exists) into the model.

    solver: pyomo.contrib.solver name ("highs", "gurobi_direct", "ipopt", ...) or an alias from
        SOLVER_ALIASES. Unknown -> UnknownNameError; not installed here -> SolverUnavailableError.
    time_limit: solver time limit in seconds (> 0). HiGHS overshoots it by roughly 10-20 %, and
        model translation before the solver starts is not counted by the solver.
    rel_gap: relative MIP gap (>= 0, 0.05 = 5 %) at which the solver may stop; a final gap above
        OPTIMAL_REL_GAP is reported as gap_limit, not optimal.
    threads: solver threads (>= 1); for HiGHS this is its option "threads".
    options: solver-specific options passed verbatim (HiGHS e.g. {"presolve": "on"}); for HiGHS
        each is checked first and a rejected one raises InputError.
    tee: stream the solver log: True for the process's stderr, or a text stream (e.g. sys.stderr).
    warm_start: HiGHS only: the variables' current values (those not None) are given to the solver as a
        MIP start; HiGHS checks it, and a feasible start is its first incumbent.
    progress: HiGHS only: progress(elapsed_s, incumbent, bound, gap) is called at every improving
        solution and every MIP log line (incumbent/bound None while unknown, gap None or a fraction).

    Returns a SolveReport; solver outcomes never raise (see the module docstring for the mapping).
    """
    if time_limit is not None:
        time_limit = _check_number("time_limit", time_limit, positive=True)
    if rel_gap is not None:
        rel_gap = _check_number("rel_gap", rel_gap, positive=False)
    bad_threads = isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
    if threads is not None and bad_threads:
        raise InputError(f"threads: expected an integer >= 1, got {threads!r}")
    if options is not None and not isinstance(options, Mapping):
        raise InputError(f"options: expected a mapping of option names to values, got {options!r}")
    options = dict(options or {})
    if any(not isinstance(k, str) for k in options):
        raise InputError(f"options: option names must be strings, got {list(options)!r}")

    pyomo_name, opt = _resolve(solver)
    is_highs = pyomo_name == "highs"
    if is_highs:
        _check_highs_options(options, threads)
    if rel_gap is not None and "rel_gap" not in opt.config:
        raise InputError(f"rel_gap: solver '{pyomo_name}' has no relative gap option")
    if (warm_start or progress is not None) and not is_highs:
        raise InputError(f"warm_start/progress: optkit supports them with HiGHS only, not '{pyomo_name}'")

    kwargs: dict[str, Any] = {
        # Time limits and infeasibility must come back as results, not exceptions.
        "raise_exception_on_nonoptimal_result": False,
        "load_solutions": False,
        "tee": tee if hasattr(tee, "write") else bool(tee),
    }
    log_stream, own_log_stream = None, False
    if is_highs and tee:
        # HiGHS's log goes through its logging callback, not Pyomo's tee: Pyomo's tee threads may write after
        # the solve returns, to streams that are closed by then, and report that on stdout.
        kwargs["tee"] = False
        log_stream, own_log_stream = _log_stream(tee)
    if time_limit is not None:
        kwargs["time_limit"] = time_limit
    if rel_gap is not None:
        kwargs["rel_gap"] = rel_gap
    if threads is not None:
        kwargs["threads"] = threads
    if options:
        kwargs["solver_options"] = options
    pin_threads = is_highs and (threads is not None or "threads" in options)

    started = time.perf_counter()
    retried = False
    trajectory: list = []
    try:
        if pin_threads:
            _reset_highs_scheduler()
        if is_highs:
            _watch_highs(opt, model, started, trajectory, progress, warm_start, log_stream)
        res = opt.solve(model, **kwargs)
        if (
            is_highs
            and res.termination_condition.name == "infeasibleOrUnbounded"
            and options.get("presolve") != "off"
        ):
            left = None if time_limit is None else time_limit - (time.perf_counter() - started)
            if left is None or left > 0:
                retry = dict(kwargs, solver_options={**options, "presolve": "off"})
                if left is not None:
                    retry["time_limit"] = left
                res = _factory()(pyomo_name).solve(model, **retry)
                retried = True
    except Exception as exc:  # solver crash, unsupported model, ...: an outcome, not a raise
        return SolveReport(
            status=Status.ERROR,
            termination="exception",
            objective=None,
            bound=None,
            gap=None,
            solve_s=time.perf_counter() - started,
            solver=pyomo_name,
            has_solution=False,
            message=f"{type(exc).__name__}: {exc}",
        )
    finally:
        if pin_threads:  # give later solves HiGHS's default thread pool again
            try:
                _reset_highs_scheduler()
            except Exception:
                pass
        if own_log_stream:
            log_stream.close()
    return dataclasses.replace(_interpret(res, pyomo_name, started, retried), trajectory=tuple(trajectory))


def _log_stream(tee: Any) -> tuple[Any, bool]:
    """The text stream a solver log is written to, and whether optkit opened it (and closes it after the solve).
    True, stdout and stderr mean the process's standard error, reached through a duplicate of file descriptor 2
    (Pyomo redirects descriptors 1 and 2 while a solver runs); any other stream is used as it is."""
    try:
        fd = tee.fileno() if hasattr(tee, "write") else None
    except (OSError, ValueError, io.UnsupportedOperation):
        fd = None
    if tee is True or fd in (1, 2):
        sys.stderr.flush()
        return os.fdopen(os.dup(2), "w", buffering=1), True
    return tee, False


def _watch_highs(opt: Any, model: Any, started: float, trajectory: list, progress: Any, warm_start: bool,
                 log_stream: Any = None) -> None:
    """Build the HiGHS model now (the persistent interface reuses it in solve), give it the MIP start, and record
    (elapsed, incumbent, bound) at every improving solution and MIP log line, calling `progress` with each;
    with a `log_stream`, write every HiGHS log message to it."""
    import highspy
    import numpy as np
    import pyomo.environ as pyo

    opt.set_instance(model)
    highs = opt._solver_model             # the persistent interface's highspy object (pyomo 6.10)
    if warm_start:
        columns = opt._pyomo_var_to_solver_var_map
        pairs = [(columns[id(v)], float(v.value)) for v in model.component_data_objects(pyo.Var, active=True)
                 if v.value is not None and id(v) in columns]
        index = np.array([j for j, _ in pairs], dtype=np.int32)
        value = np.array([x for _, x in pairs], dtype=np.float64)
        if highs.setSolution(len(pairs), index, value) != highspy.HighsStatus.kOk:
            raise InputError("warm_start: HiGHS refused the start values")

    def record(event) -> None:
        data = event.data_out
        incumbent, bound = _finite(data.objective_function_value), _finite(data.mip_dual_bound)
        elapsed = time.perf_counter() - started
        if incumbent is None and bound is None:
            return
        trajectory.append((elapsed, incumbent, bound))
        if progress is not None:
            progress(elapsed, incumbent, bound, _gap(incumbent, bound, optimal=False))

    highs.cbMipImprovingSolution.subscribe(record)
    highs.cbMipLogging.subscribe(record)
    if log_stream is not None:
        highs.cbLogging.subscribe(lambda event: log_stream.write(event.message))


def export_model(model: Any, path: str | PathLike) -> None:
    """Write `model` to `path` as free MPS (".mps") or CPLEX LP (".lp"), chosen by the suffix
    (case-insensitive), with symbolic names (Pyomo component names) for variables and rows.
    Any other suffix, or a path that cannot be written, raises InputError naming the path."""
    from pyomo.opt import ProblemFormat

    p = Path(path)
    formats = {".lp": ProblemFormat.cpxlp, ".mps": ProblemFormat.mps}
    fmt = formats.get(p.suffix.lower())
    if fmt is None:
        raise InputError(
            f"{p}: cannot export a model to suffix '{p.suffix}' "
            f"(allowed: {', '.join(EXPORT_SUFFIXES)})"
        )
    try:
        model.write(str(p), format=fmt, io_options={"symbolic_solver_labels": True})
    except OSError as exc:
        raise InputError(f"{p}: cannot write model file ({exc.strerror or exc})") from exc


@solver_output_to_stderr()
def check_solver(name: str) -> str:
    """Fail early with an InputError when `name` is unknown or not installed; return Pyomo's name for it."""
    return _resolve(name)[0]
