"""Pyomo MILPs of the `uav-ugv` family, solved through `optkit.solver.solve_model` (HiGHS, 1 thread):
P-A, the per-slot association MILP (§5.3.1; disaggregated form A11–A13 by default, compact form A1–A10 for
cross-checks), and P-G, UGV routing with backhaul association on the time-expanded road graph (§5.3.2, G1–G7).
Pyomo is imported inside the functions."""
from __future__ import annotations

import numpy as np

from optkit.errors import InputError
from optkit.formulations.uav_ugv import association as assoc

FORMS = ("disaggregated", "compact")


# ---------------------------------------------------------------------------------------------- P-A
def association_milp(inst, SE: np.ndarray, feasible: np.ndarray, *, form: str = "disaggregated",
                     time_limit: float | None = 30.0, rel_gap: float = 1e-4, solver: str = "highs",
                     fixed_sizes: np.ndarray | None = None) -> dict:
    """P-A for one slot. SE (U, K) bit/s/Hz, feasible (M, U) bool = 1[SNR ≥ γ_min].

    fixed_sizes (U,), optional: fix the cell sizes (y_{u,n_u} = 1; check 13). Returns {"serve": (K,) or None,
    "x": (M, U) bool or None, "value": slot value Mbit/s or None, "bound", "status", "gap", "solve_s"}.
    """
    if form not in FORMS:
        raise InputError(f"form: must be one of {', '.join(FORMS)}, got {form!r}")
    U, K = SE.shape
    M = feasible.shape[0]
    if not feasible.any():                     # every UAV in outage: all users unserved, nothing to solve
        v = assoc.unserved_value(inst) * K
        return {"serve": np.full(K, -1, dtype=np.int64), "x": np.zeros((M, U), dtype=bool), "value": v,
                "bound": v, "status": "optimal", "gap": 0.0, "solve_s": 0.0}
    import pyomo.environ as pyo

    from optkit.solver import solve_model

    m = pyo.ConcreteModel(name="uav_ugv_association")
    Us, Ks, Ms = range(U), range(K), range(M)
    m.x = pyo.Var(Ms, Us, within=pyo.Binary)
    m.o = pyo.Var(Us, within=pyo.Binary)
    for mm in Ms:                                                   # A8
        for u in Us:
            if not feasible[mm, u]:
                m.x[mm, u].fix(0)
    m.A9 = pyo.Constraint(Ms, rule=lambda m, mm: pyo.quicksum(m.x[mm, u] for u in Us) <= 1)
    m.A10 = pyo.Constraint(Us, rule=lambda m, u: pyo.quicksum(m.x[mm, u] for mm in Ms) + m.o[u] == 1)
    full = inst.bandwidth_sharing == "full"
    if full:
        val = assoc.user_value(inst, SE, 1)                          # f at the full band B
        m.a = pyo.Var(Us, Ks, within=pyo.Binary)
        m.A11 = pyo.Constraint(Ks, rule=lambda m, k: pyo.quicksum(m.a[u, k] for u in Us) == 1)
        m.A6 = pyo.Constraint(Us, rule=lambda m, u: pyo.quicksum(m.a[u, k] for k in Ks) <= K * (1 - m.o[u]))
        m.obj = pyo.Objective(expr=pyo.quicksum(float(val[u, k]) * m.a[u, k] for u in Us for k in Ks),
                              sense=pyo.maximize)

        def alpha_of():
            return np.array([[pyo.value(m.a[u, k]) > 0.5 for k in Ks] for u in Us])
    elif form == "disaggregated":
        Js = range(1, K + 1)
        v = assoc.user_value(inst, SE[:, :, None], np.arange(1, K + 1)[None, None, :])    # (U, K, K) v_{u,k,j}
        m.z = pyo.Var(Us, Ks, Js, within=pyo.Binary)
        m.y = pyo.Var(Us, Js, within=pyo.Binary)
        m.obj = pyo.Objective(expr=pyo.quicksum(float(v[u, k, j - 1]) * m.z[u, k, j]
                                                for u in Us for k in Ks for j in Js), sense=pyo.maximize)
        m.A11 = pyo.Constraint(Ks, rule=lambda m, k: pyo.quicksum(m.z[u, k, j] for u in Us for j in Js) == 1)
        m.A12 = pyo.Constraint(Us, Js, rule=lambda m, u, j: pyo.quicksum(m.z[u, k, j] for k in Ks) == j * m.y[u, j])
        m.A13 = pyo.Constraint(Us, rule=lambda m, u: pyo.quicksum(m.y[u, j] for j in Js) + m.o[u] <= 1)
        if fixed_sizes is not None:
            for u in Us:
                for j in Js:
                    m.y[u, j].fix(1 if fixed_sizes[u] == j else 0)

        def alpha_of():
            return np.array([[sum(pyo.value(m.z[u, k, j]) for j in Js) > 0.5 for k in Ks] for u in Us])
    else:
        J0 = range(0, K + 1)
        r = 1e-6 * inst.bandwidth_hz * SE[:, :, None] / np.arange(1, K + 1)[None, None, :]   # (U, K, K) r_{u,k,j}
        rmin = 1e-6 * inst.rate_min_bps
        m.a = pyo.Var(Us, Ks, within=pyo.Binary)
        m.y = pyo.Var(Us, J0, within=pyo.Binary)
        m.rho = pyo.Var(Us, Ks, within=pyo.NonNegativeReals)
        m.xi = pyo.Var(Ks, within=pyo.NonNegativeReals)
        m.obj = pyo.Objective(expr=pyo.quicksum(m.rho[u, k] for u in Us for k in Ks)
                              - inst.qos_weight * pyo.quicksum(m.xi[k] for k in Ks), sense=pyo.maximize)
        m.A1 = pyo.Constraint(Ks, rule=lambda m, k: pyo.quicksum(m.a[u, k] for u in Us) == 1)
        m.A2 = pyo.Constraint(Us, rule=lambda m, u: pyo.quicksum(m.y[u, j] for j in J0) == 1)
        m.A3 = pyo.Constraint(Us, rule=lambda m, u: pyo.quicksum(m.a[u, k] for k in Ks)
                              == pyo.quicksum(j * m.y[u, j] for j in J0))
        m.A4 = pyo.Constraint(Us, Ks, rule=lambda m, u, k: m.rho[u, k]
                              <= pyo.quicksum(float(r[u, k, j - 1]) * m.y[u, j] for j in range(1, K + 1)))
        m.A5 = pyo.Constraint(Us, Ks, rule=lambda m, u, k: m.rho[u, k] <= float(r[u, k, 0]) * m.a[u, k])
        m.A6 = pyo.Constraint(Us, Ks, rule=lambda m, u, k: m.a[u, k] <= 1 - m.o[u])
        m.A7 = pyo.Constraint(Ks, rule=lambda m, k: pyo.quicksum(m.rho[u, k] for u in Us) + m.xi[k] >= rmin)
        if fixed_sizes is not None:
            for u in Us:
                for j in J0:
                    m.y[u, j].fix(1 if fixed_sizes[u] == j else 0)

        def alpha_of():
            return np.array([[pyo.value(m.a[u, k]) > 0.5 for k in Ks] for u in Us])

    report = solve_model(m, solver=solver, time_limit=time_limit, rel_gap=rel_gap, threads=1)
    out = {"serve": None, "x": None, "value": None, "bound": report.bound, "status": str(report.status),
           "gap": report.gap, "solve_s": report.solve_s}
    if report.has_solution:
        alpha = alpha_of()
        serve = np.where(alpha.any(axis=0), np.argmax(alpha, axis=0), -1).astype(np.int64)
        x = np.array([[pyo.value(m.x[mm, u]) > 0.5 for u in Us] for mm in Ms]).reshape(M, U)
        out.update(serve=serve, x=x, value=slot_value_with_x(inst, SE, feasible, serve, x))
    return out


def slot_value_with_x(inst, SE, feasible, serve, x) -> float:
    """Slot value of (serve, x): users on UAVs without a feasible partner count as unserved."""
    eligible = (x & feasible).sum(axis=0) == 1
    s = np.where((serve >= 0) & eligible[np.maximum(serve, 0)], serve, -1)
    return assoc.slot_value(inst, SE, s)


# ---------------------------------------------------------------------------------------------- P-G
def ugv_milp(inst, feasible_wp: np.ndarray, *, symmetry: bool = True, time_limit: float | None = 300.0,
             rel_gap: float = 1e-4, solver: str = "highs") -> dict:
    """P-G (§5.3.2): minimum number of backhaul outages over UGV routes for fixed UAV positions.

    feasible_wp (N, U, W) bool: F_{u,n} = {w : SNR(w, q_u[n]) ≥ γ_min}. Variables y_{m,w,n} exist only where
    H_home(w) ≤ min(n, N − n) (the rest cannot lie on a closed route; an exact reduction). symmetry adds G7.
    Returns {"routes": (M, N+1) or None, "x": (N, M, U) bool or None, "outages", "bound", "status", "gap",
    "solve_s"}.
    """
    import pyomo.environ as pyo

    from optkit.solver import solve_model

    N, U, W = feasible_wp.shape
    M = inst.n_ugvs
    homes = np.asarray(inst.ugv_home, dtype=np.int64)
    hops = inst.home_hops
    ptr, idx = np.asarray(inst.reach_ptr), np.asarray(inst.reach_idx)
    live = {(mm, n): np.nonzero(hops[mm] <= min(n, N - n))[0].tolist() for mm in range(M) for n in range(N + 1)}
    Y = [(mm, w, n) for (mm, n), ws in live.items() for w in ws]
    ylive = set(Y)
    m = pyo.ConcreteModel(name="uav_ugv_routing")
    m.y = pyo.Var(Y, within=pyo.Binary)
    m.x = pyo.Var(range(M), range(U), range(1, N + 1), within=pyo.Binary)
    m.o = pyo.Var(range(U), range(1, N + 1), within=pyo.Binary)
    m.obj = pyo.Objective(expr=pyo.quicksum(m.o[u, n] for u in range(U) for n in range(1, N + 1)),
                          sense=pyo.minimize)
    m.G1 = pyo.Constraint([(mm, n) for mm in range(M) for n in range(N + 1)],
                          rule=lambda m, mm, n: pyo.quicksum(m.y[mm, w, n] for w in live[mm, n]) == 1)

    def g2(m, mm, w, n):
        preds = [p for p in idx[ptr[w]:ptr[w + 1]].tolist() if (mm, p, n - 1) in ylive]
        return m.y[mm, w, n] <= pyo.quicksum(m.y[mm, p, n - 1] for p in preds)

    m.G2 = pyo.Constraint([t for t in Y if t[2] >= 1], rule=g2)
    for mm in range(M):                                             # G3
        m.y[mm, int(homes[mm]), 0].fix(1)
        m.y[mm, int(homes[mm]), N].fix(1)

    def g4(m, mm, u, n):
        ws = [w for w in live[mm, n] if feasible_wp[n - 1, u, w]]
        return m.x[mm, u, n] <= pyo.quicksum(m.y[mm, w, n] for w in ws)

    m.G4 = pyo.Constraint(range(M), range(U), range(1, N + 1), rule=g4)
    m.G5 = pyo.Constraint(range(M), range(1, N + 1),
                          rule=lambda m, mm, n: pyo.quicksum(m.x[mm, u, n] for u in range(U)) <= 1)
    m.G6 = pyo.Constraint(range(U), range(1, N + 1),
                          rule=lambda m, u, n: pyo.quicksum(m.x[mm, u, n] for mm in range(M)) + m.o[u, n] == 1)
    if symmetry and N >= 1:
        same = [(a, b) for a in range(M) for b in range(a + 1, M) if homes[a] == homes[b]
                and not any(homes[c] == homes[a] for c in range(a + 1, b))]
        m.G7 = pyo.Constraint(same, rule=lambda m, a, b: pyo.quicksum((u + 1) * m.x[a, u, 1] for u in range(U))
                              >= pyo.quicksum((u + 1) * m.x[b, u, 1] for u in range(U)))
    report = solve_model(m, solver=solver, time_limit=time_limit, rel_gap=rel_gap, threads=1)
    out = {"routes": None, "x": None, "outages": report.objective, "bound": report.bound,
           "status": str(report.status), "gap": report.gap, "solve_s": report.solve_s}
    if report.has_solution:
        routes = np.zeros((M, N + 1), dtype=np.int64)
        for mm in range(M):
            for n in range(N + 1):
                routes[mm, n] = max(live[mm, n], key=lambda w: pyo.value(m.y[mm, w, n]))
        x = np.array([[[pyo.value(m.x[mm, u, n]) > 0.5 for u in range(U)] for mm in range(M)]
                      for n in range(1, N + 1)]).reshape(N, M, U)
        out.update(routes=routes, x=x, outages=float(round(report.objective)))
    return out
