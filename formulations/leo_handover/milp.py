"""The Pyomo model of P2 (§5.2, §8.3): the offline serving schedule as a MILP, a cross-check of the DP.

Data of one episode as in `offline` (CSR over steps: step_ptr (L+1,), pair_sat (S,), q (S,)). Pyomo and HiGHS
are imported inside the function so that importing this module stays cheap.
"""
from __future__ import annotations

import math

import numpy as np

from optkit.errors import InputError
from optkit.formulations.leo_handover.offline import _check, _prev_pair, _step_of


def solve_schedule_milp(step_ptr, pair_sat, q, lam, *, h_budget=None, relax=False, time_limit=60.0,
                        solver="highs") -> dict:
    """Solve P2-λ (optionally with the budget C4, or as the LP relaxation) through `optkit.solver.solve_model`.

    Model (§5.2): sets KJ = {(k, j) : j ∈ E(k)} and KJp = {(k, j) ∈ KJ : k > 0, E(k−1) ≠ ∅}; params q[k, j] and
    the scalar lam; vars z[KJ] Binary (NonNegativeReals ≤ 1 with relax=True), y[KJp] NonNegativeReals;
    maximize Σ q z − lam Σ y s.t. C1 Σ_j z[k, j] = 1 per connected step, C2 y[k, j] ≥ z[k, j] − z[k−1, j]
    (z[k−1, j] = 0 when j ∉ E(k−1)) per element of KJp, and C4 Σ y ≤ h_budget when h_budget is given. MIP gap 0.

    lam: float ≥ 0 (quality units per handover); "lex" is not a MILP option, pass `offline.lex_lambda(...)`.
    Returns {"srv": (L,) int64 serving sequence (argmax of z per connected step, −1 at outages; None without a
    solution), "objective", "bound" (floats or None), "status": str (optimal | feasible | time_limit |
    infeasible | error), "gap": relative gap or None}.
    """
    if isinstance(lam, str):
        raise InputError(f"lam: {lam!r} is not a MILP option; pass a float, e.g. offline.lex_lambda(step_ptr, q)")
    lam = float(lam)
    if not math.isfinite(lam) or lam < 0:
        raise InputError(f"lam: expected a finite float >= 0, got {lam!r}")
    if h_budget is not None and (isinstance(h_budget, bool) or int(h_budget) != h_budget or h_budget < 0):
        raise InputError(f"h_budget: expected an integer >= 0 or None, got {h_budget!r}")
    step_ptr, pair_sat, q = _check(step_ptr, pair_sat, q)
    q = np.asarray(q, dtype=np.float64)
    L = step_ptr.size - 1
    S = pair_sat.size
    srv = np.full(L, -1, dtype=np.int64)
    if S == 0:                                    # all outage: the empty schedule, value 0, nothing to solve
        return {"srv": srv, "objective": 0.0, "bound": 0.0, "status": "optimal", "gap": 0.0}

    import pyomo.environ as pyo

    from optkit.solver import solve_model

    step = _step_of(step_ptr).tolist()
    sats = pair_sat.tolist()
    prev = _prev_pair(step_ptr, pair_sat).tolist()
    conn = (np.diff(step_ptr) > 0).tolist()
    KJ = list(zip(step, sats))
    in_kjp = [k > 0 and conn[k - 1] for k in step]          # k ∈ 𝒦⁺
    KJp = [kj for kj, inside in zip(KJ, in_kjp) if inside]
    pred = {KJ[p]: (KJ[prev[p]] if prev[p] >= 0 else None) for p in range(S) if in_kjp[p]}
    conn_steps = [k for k in range(L) if conn[k]]
    ptr = step_ptr.tolist()

    m = pyo.ConcreteModel(name="leo_handover_schedule")
    m.KJ = pyo.Set(initialize=KJ, dimen=2, ordered=True)
    m.KJp = pyo.Set(initialize=KJp, dimen=2, ordered=True, within=m.KJ)
    m.K_conn = pyo.Set(initialize=conn_steps, ordered=True)
    m.q = pyo.Param(m.KJ, initialize=dict(zip(KJ, q.tolist())), within=pyo.Reals)
    m.lam = pyo.Param(initialize=lam, within=pyo.NonNegativeReals)
    if relax:
        m.z = pyo.Var(m.KJ, within=pyo.NonNegativeReals, bounds=(0, 1))
    else:
        m.z = pyo.Var(m.KJ, within=pyo.Binary)
    m.y = pyo.Var(m.KJp, within=pyo.NonNegativeReals)
    m.obj = pyo.Objective(
        expr=pyo.quicksum(m.q[kj] * m.z[kj] for kj in KJ) - m.lam * pyo.quicksum(m.y[kj] for kj in KJp),
        sense=pyo.maximize)
    # (C1) one serving satellite at every connected step
    m.C1 = pyo.Constraint(m.K_conn, rule=lambda m, k: pyo.quicksum(
        m.z[KJ[p]] for p in range(ptr[k], ptr[k + 1])) == 1)

    # (C2) y[k, j] ≥ z[k, j] − z[k−1, j], with z[k−1, j] ≡ 0 when j ∉ E(k−1)
    def c2(m, k, j):
        before = pred[(k, j)]
        return m.y[k, j] >= m.z[k, j] - (m.z[before] if before is not None else 0)

    m.C2 = pyo.Constraint(m.KJp, rule=c2)
    if h_budget is not None:                      # (C4) at most h_budget handovers
        m.C4 = pyo.Constraint(expr=pyo.quicksum(m.y[kj] for kj in KJp) <= int(h_budget))

    report = solve_model(m, solver=solver, time_limit=time_limit, rel_gap=0.0)
    out_srv = None
    if report.has_solution:
        zval = np.array([pyo.value(m.z[kj]) for kj in KJ], dtype=np.float64)
        for k in conn_steps:                      # argmax z per connected step (ties: lower id)
            a, b = ptr[k], ptr[k + 1]
            srv[k] = sats[a + int(np.argmax(zval[a:b]))]
        out_srv = srv
    return {"srv": out_srv, "objective": report.objective, "bound": report.bound, "status": str(report.status),
            "gap": report.gap}
