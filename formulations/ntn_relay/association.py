"""The exact per-slot association MILP of §5.4 (Pyomo + HiGHS through `optkit.solver`), the cross-check of the
enumeration in `model.exact_association` and its route when a slot has more than 10⁶ joint associations."""
from __future__ import annotations

import numpy as np

from optkit.errors import OptkitError
from optkit.solution import Status


class AssociationSolveError(OptkitError):
    """The per-slot MILP did not end optimal (status and message attached)."""


def milp_slot(alpha, beta=None, *, time_limit: float | None = 60.0):
    """Solve one slot's association exactly.

    alpha (K, C1, K): α^k_{c,m} in bit/s (path k, lane-1 candidate c, m = 1..K users); beta (K, C2, K) likewise
    for lane 2, or None for a template without lane 2 (then the relay→Dst hop is inside alpha's minimum already
    or absent). Rates go to HiGHS in Mbit/s (§5.4). Returns (c1 (K,), c2 (K,) or None, value in bit/s, the
    solver's SolveReport). Raises AssociationSolveError unless HiGHS proves optimality.
    """
    import pyomo.environ as pyo

    from optkit.solver import solve_model

    alpha = np.asarray(alpha, dtype=float) / 1e6
    K, C1, _ = alpha.shape
    lanes = [("x", alpha)]
    if beta is not None:
        beta = np.asarray(beta, dtype=float) / 1e6
        lanes.append(("y", beta))
    m = pyo.ConcreteModel()
    m.P = pyo.RangeSet(0, K - 1)
    m.M = pyo.RangeSet(1, K)
    m.r = pyo.Var(m.P, domain=pyo.NonNegativeReals)
    big = {k: max(float(t[k].max()) for _, t in lanes) for k in range(K)}
    m.cons = pyo.ConstraintList()
    for name, table in lanes:
        C = table.shape[1]
        x = pyo.Var(range(K), range(C), domain=pyo.Binary)
        u = pyo.Var(range(C), range(1, K + 1), domain=pyo.Binary)
        m.add_component(name, x)
        m.add_component(f"u_{name}", u)
        for k in range(K):
            m.cons.add(sum(x[k, c] for c in range(C)) == 1)
        for c in range(C):
            m.cons.add(sum(u[c, mm] for mm in range(1, K + 1)) <= 1)
            m.cons.add(sum(x[k, c] for k in range(K)) == sum(mm * u[c, mm] for mm in range(1, K + 1)))
        for k in range(K):
            for c in range(C):
                for mm in range(1, K + 1):
                    m.cons.add(m.r[k] <= float(table[k, c, mm - 1]) + big[k] * (2 - x[k, c] - u[c, mm]))
    m.obj = pyo.Objective(expr=sum(m.r[k] for k in range(K)), sense=pyo.maximize)
    report = solve_model(m, time_limit=time_limit, rel_gap=0.0)
    if report.status != Status.OPTIMAL or not report.has_solution:
        raise AssociationSolveError(f"association MILP ended {report.status} ({report.termination})")
    picks = []
    for name, table in lanes:
        x = getattr(m, name)
        C = table.shape[1]
        picks.append(np.array([max(range(C), key=lambda c: pyo.value(x[k, c])) for k in range(K)]))
    c1 = picks[0]
    c2 = picks[1] if beta is not None else None
    return c1, c2, slot_value(alpha * 1e6, None if beta is None else beta * 1e6, c1, c2), report


def slot_value(alpha, beta, c1, c2) -> float:
    """Σ_k min(α^k_{c1_k, n1}, β^k_{c2_k, n2}) of one joint association, bit/s (E15–E17)."""
    alpha = np.asarray(alpha)
    K = alpha.shape[0]
    c1 = np.asarray(c1)
    n1 = (c1[:, None] == c1[None, :]).sum(axis=1)
    rate = alpha[np.arange(K), c1, n1 - 1]
    if beta is not None:
        c2 = np.asarray(c2)
        n2 = (c2[:, None] == c2[None, :]).sum(axis=1)
        rate = np.minimum(rate, np.asarray(beta)[np.arange(K), c2, n2 - 1])
    return float(rate.sum())
