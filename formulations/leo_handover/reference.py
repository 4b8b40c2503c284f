"""Registered offline references of `leo-handover` (§7.3, §8): full knowledge of every test episode.

`offline-minho` (greedy interval covering, H_min), `offline-dp` (Viterbi for Σq − λH, λ ≥ 0 or "lex") and
`offline-milp` (the same P2-λ as a Pyomo model solved by HiGHS, the cross-check). Quality q = the reward E20-E22.
"""
from __future__ import annotations

import time

import numpy as np

from optkit.errors import InputError
from optkit.formulations.leo_handover import offline
from optkit.formulations.leo_handover.episode import episode_pairs, evaluation_specs, evaluation_tables
from optkit.formulations.leo_handover.evaluator import Decisions
from optkit.limits import Deadline
from optkit.solution import Solution, Status, relative_gap, worst_status

FAMILY = "leo-handover"


def parse_lambda(lam) -> float | str:
    """λ: a number >= 0 or "lex" (a clear error otherwise)."""
    if isinstance(lam, str) and lam.strip().lower() == "lex":
        return "lex"
    try:
        value = float(lam)
    except (TypeError, ValueError):
        raise InputError(f"--lam: must be a number >= 0 or 'lex' (got {lam!r})") from None
    if not np.isfinite(value) or value < 0:
        raise InputError(f"--lam: must be a number >= 0 or 'lex' (got {lam!r})")
    return value


def model_of(lam) -> str:
    """Solution.model of P2-λ: "" when λ = 0 (Σq is the family objective, the mean reward), else the penalised or
    lexicographic objective whose bound does not bound the mean reward."""
    if lam == "lex":
        return "mean of sum q at the fewest handovers (lexicographic P2-lex): bounds handover-minimal schedules only"
    return "" if lam == 0 else f"mean of sum q - {lam:g} H (P2-lambda): bounds the penalised reward, not the reward"


def _episode_objective(table, srv, lam) -> float:
    total_q, handovers = offline.schedule_value(table.step_ptr, table.sat, table.reward, srv)
    return total_q if lam == "lex" else total_q - lam * handovers


def solve_minho(inst, *, seed: int = 0, time_limit: float | None = None) -> Solution:
    """Provably minimal handover schedule per episode (§8.1). objective = mean −H_min (P2-H), exact.
    time_limit (s) is checked between episodes (status time_limit once passed, the episodes left unserved)."""
    start = time.perf_counter()
    deadline = Deadline(time_limit)
    srv, values = [], []
    orbits, params = inst.orbits(), inst.params()
    specs = evaluation_specs(inst)
    for spec in specs:
        if deadline.expired():
            break
        pairs = episode_pairs(orbits, params, spec)         # windows only: no geometry needed
        s = offline.min_handover_schedule(pairs["step_ptr"], pairs["sat"], pairs["end"])
        srv.append(s)
        no_quality = np.zeros(pairs["sat"].size)
        values.append(-float(offline.schedule_value(pairs["step_ptr"], pairs["sat"], no_quality, s)[1]))
    model = "mean of -H_min over the test episodes (P2-H)"
    if len(srv) < len(specs):
        return _stopped("offline-minho", specs, srv, time_limit, start, {"objective": model}, model)
    objective = float(np.mean(values))
    return Solution(family=FAMILY, method="offline-minho", status=Status.OPTIMAL, decisions=Decisions(tuple(srv)),
                    objective=objective, bound=objective, gap=0.0, runtime_s=time.perf_counter() - start,
                    info={"objective": model}, model=model)


def _stopped(method: str, specs, srv: list, time_limit, start: float, info: dict, model: str) -> Solution:
    """The time_limit Solution of a run whose deadline passed after len(srv) of the episodes: the episodes left
    get no serving satellite (-1 at every step); no objective or bound (they would cover part of the episodes)."""
    done = len(srv)
    rest = [np.full(int(spec.L), -1, dtype=np.int64) for spec in specs[done:]]
    info = {**info, "time_limit_reached": f"{done} of {len(specs)} episodes solved within {time_limit:g} s"}
    return Solution(family=FAMILY, method=method, status=Status.TIME_LIMIT, decisions=Decisions(tuple(srv + rest)),
                    runtime_s=time.perf_counter() - start, info=info, model=model)


def solve_dp(inst, *, seed: int = 0, lam: float | str = "lex", time_limit: float | None = None) -> Solution:
    """Viterbi optimum of P2-λ per episode (§8.2); lam="lex": fewest handovers, then the largest Σq.
    objective = mean over episodes of Σq − λH (of Σq for "lex"), exact. time_limit (s) is checked between episodes:
    once passed, the episodes left get no satellite and the status is time_limit."""
    lam = parse_lambda(lam)
    start = time.perf_counter()
    deadline = Deadline(time_limit)
    srv, values = [], []
    for table in evaluation_tables(inst):
        if deadline.expired():
            break
        s = offline.viterbi_schedule(table.step_ptr, table.sat, table.reward, lam)
        srv.append(s)
        values.append(_episode_objective(table, s, lam))
    specs = evaluation_specs(inst)
    if len(srv) < len(specs):
        return _stopped("offline-dp", specs, srv, time_limit, start, {"lam": lam}, model_of(lam))
    objective = float(np.mean(values))
    return Solution(family=FAMILY, method="offline-dp", status=Status.OPTIMAL, decisions=Decisions(tuple(srv)),
                    objective=objective, bound=objective, gap=0.0, runtime_s=time.perf_counter() - start,
                    info={"lam": lam, "objective": "mean of sum q - lam H" if lam != "lex" else "mean of sum q at H_min"},
                    model=model_of(lam))




def solve_milp(inst, *, seed: int = 0, lam: float | str = 1.0, time_limit: float = 60.0,
               solver: str = "highs") -> Solution:
    """P2-λ (§5.2) per episode as a Pyomo MILP solved with HiGHS (MIP gap 0); "lex" uses λ_lex of §5.2.
    time_limit (s) bounds the whole run (each episode's model gets what is left). The status is the worst over the
    episodes; objective and bound are means."""
    lam = parse_lambda(lam)
    start = time.perf_counter()
    deadline = Deadline(time_limit)
    srv, objectives, bounds, statuses = [], [], [], []
    for table in evaluation_tables(inst):
        if deadline.left() < 0.05:
            break
        lam_k = offline.lex_lambda(table.step_ptr, table.reward) if lam == "lex" else lam
        out = milp_solve(table, lam_k, min(time_limit, deadline.left()) if time_limit else None, solver)
        statuses.append(Status(out["status"]))
        if out["srv"] is None:
            srv.append(np.full(table.L, -1, dtype=np.int64))
            objectives.append(float("nan"))
            bounds.append(float("nan"))
            continue
        srv.append(np.asarray(out["srv"], dtype=np.int64))
        objectives.append(_episode_objective(table, srv[-1], lam))
        bounds.append(float(out["bound"]) if out["bound"] is not None else float("nan"))
    specs = evaluation_specs(inst)
    if len(srv) < len(specs):
        return _stopped("offline-milp", specs, srv, time_limit, start,
                        {"lam": lam, "solver": solver, "episode_statuses": [str(s) for s in statuses]}, model_of(lam))
    status = worst_status(statuses, Status.OPTIMAL)
    objective = float(np.mean(objectives)) if objectives else 0.0
    if lam == "lex":            # the MILP's own bound is on Σq − λ_lex·H, not on the reported Σq
        bound = objective if status == Status.OPTIMAL else float("nan")
    else:
        bound = float(np.mean(bounds)) if bounds else 0.0
    finite = bool(np.isfinite(objective) and np.isfinite(bound))
    return Solution(family=FAMILY, method="offline-milp", status=status, decisions=Decisions(tuple(srv)),
                    objective=objective if np.isfinite(objective) else None, bound=bound if finite else None,
                    gap=relative_gap(objective, bound) if finite else None,
                    runtime_s=time.perf_counter() - start,
                    info={"lam": lam, "solver": solver, "episode_statuses": [str(s) for s in statuses]},
                    model=model_of(lam))


def milp_solve(table, lam: float, time_limit: float, solver: str) -> dict:
    from optkit.formulations.leo_handover.milp import solve_schedule_milp

    return solve_schedule_milp(table.step_ptr, table.sat, table.reward, lam, time_limit=time_limit, solver=solver)
