"""`p2l_milp` (§5.5, §8.2): the Pyomo MILP of P2-L for a fixed arrival tick T̂, solved for every reachable
T̂ with HiGHS through `optkit.solver.solve_model`; the best feasible T̂ is the P2-L optimum. A cross-check of
`lattice_dp` on `ref-tiny`-size lattices (hundreds of time-expanded nodes). Pyomo is imported inside functions.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from optkit.errors import InputError
from optkit.formulations.sagin import formulation as F


@dataclass
class MilpResult:
    """status: optimal | infeasible | time_limit | error (time_limit when any T̂ stopped on its limit: the best
    value is then not proven). value J*_MILP, A Mbit, H (recounted from the extracted BS sequence), t_f tick,
    moves/bs/nodes of the path (as in lattice_dp.LatticePath), per_tick: {T̂: (status, objective or None)},
    sizes: {T̂: (|𝒩|, |𝒜|, |y|)}."""

    status: str
    value: float = float("nan")
    A: float = float("nan")
    H: int = 0
    t_f: int = 0
    nodes: np.ndarray | None = None
    moves: np.ndarray | None = None
    bs: np.ndarray | None = None
    per_tick: dict = field(default_factory=dict)
    sizes: dict = field(default_factory=dict)


def forward_reach(lat: F.Lattice, start: int) -> np.ndarray:
    """(K+1, V) bool: (q, t) reachable from (q^0, 0) by admissible moves (q_f absorbing)."""
    R = np.zeros((lat.K + 1, lat.n_nodes), dtype=bool)
    R[0, start] = True
    for t in range(lat.K + 1):
        src = np.flatnonzero(R[t])
        src = src[src != lat.dest]
        for m in range(len(F.MOVES)):
            t2 = t + int(lat.kappa[m])
            if t2 <= lat.K and src.size:
                d = lat.succ[src, m]
                R[t2, d[d >= 0]] = True
    return R


def arrival_ticks(lat: F.Lattice, start: int) -> list[int]:
    """Ticks t ≤ K at which some admissible path from `start` reaches q_f (the T̂ values worth solving)."""
    return [int(t) for t in np.flatnonzero(forward_reach(lat, start)[:, lat.dest]) if t > 0]


def time_expanded(lat: F.Lattice, start: int, T: int, reach: np.ndarray):
    """Pruned time-expanded graph of §5.5 for arrival tick T: node list [(v, t)] and arcs [(v, t, m)] whose both
    ends are reachable from (q^0, 0) and can reach (q_f, T) exactly; arcs into q_f at a tick ≠ T are absent."""
    back = np.zeros_like(reach)
    back[T, lat.dest] = True
    for t in range(T - 1, -1, -1):
        for m in range(len(F.MOVES)):
            t2 = t + int(lat.kappa[m])
            if t2 <= T:
                ok = lat.succ[:, m] >= 0
                ok[ok] = back[t2, lat.succ[ok, m]]
                ok[lat.dest] = False
                back[t] |= ok
    alive = reach[:T + 1] & back[:T + 1]
    nodes = [(int(v), int(t)) for t, v in zip(*np.nonzero(alive))]
    arcs = []
    for v, t in nodes:
        if v == lat.dest:
            continue
        for m in np.flatnonzero(lat.succ[v] >= 0):
            t2 = t + int(lat.kappa[m])
            if t2 <= T and alive[t2, lat.succ[v, m]]:
                arcs.append((v, t, int(m)))
    return nodes, arcs


def solve_tick(inst, lat: F.Lattice, gains: F.GainTable, start: int, T: int, reach, *, time_limit=600.0,
               solver="highs"):
    """Model (M1)-(M5) of §5.5 for arrival tick T. Returns (SolveReport, path or None, sizes), path =
    (nodes, moves, bs) extracted from y."""
    import pyomo.environ as pyo

    from optkit.solver import solve_model

    nodes, arcs = time_expanded(lat, start, T, reach)
    B = gains.n_bs
    src, end = (start, 0), (lat.dest, T)
    inner = [n for n in nodes if n != src and n != end]
    out_of = {n: [] for n in nodes}
    into = {n: [] for n in nodes}
    for a, (v, t, m) in enumerate(arcs):
        out_of[(v, t)].append(a)
        into[(int(lat.succ[v, m]), t + int(lat.kappa[m]))].append(a)
    g = np.array([gains.arc(v, m, t) for v, t, m in arcs]).reshape(len(arcs), B)        # g_b(a), Mbit
    A_idx = range(len(arcs))
    delta, lam, r_req = lat.delta, inst.objective_lambda, float(inst.qos_r_req)

    mdl = pyo.ConcreteModel(name="sagin_p2l")
    mdl.y = pyo.Var(A_idx, range(B), within=pyo.Binary)
    mdl.sigma = pyo.Var(range(len(inner)), within=pyo.NonNegativeReals)
    flow_out = {n: pyo.quicksum(mdl.y[a, b] for a in out_of[n] for b in range(B)) for n in nodes}
    flow_in = {n: pyo.quicksum(mdl.y[a, b] for a in into[n] for b in range(B)) for n in nodes}
    mdl.M1 = pyo.Constraint(expr=flow_out[src] == 1)                                      # (M1)
    mdl.M2 = pyo.ConstraintList()
    for n in inner:                                                                        # (M2)
        mdl.M2.add(flow_in[n] == flow_out[n])
    mdl.M3 = pyo.Constraint(expr=flow_in[end] == 1)                                        # (M3)
    mdl.M4 = pyo.ConstraintList()
    for k, n in enumerate(inner):                                                          # (M4)
        for b in range(B):
            mdl.M4.add(mdl.sigma[k] >= pyo.quicksum(mdl.y[a, b] for a in out_of[n])
                       - pyo.quicksum(mdl.y[a, b] for a in into[n]))
    gain = pyo.quicksum(float(g[a, b]) * mdl.y[a, b] for a in A_idx for b in range(B))
    mdl.M5 = pyo.Constraint(expr=gain >= r_req * T * delta)                               # (M5)
    mdl.obj = pyo.Objective(expr=lam[0] / (T * delta) * gain - lam[1] * pyo.quicksum(mdl.sigma.values())
                            - lam[2] * T * delta, sense=pyo.maximize)
    report = solve_model(mdl, solver=solver, time_limit=time_limit, rel_gap=0.0)
    sizes = (len(nodes), len(arcs), len(arcs) * B)
    if not report.has_solution:
        return report, None, sizes
    chosen = {}
    for a in A_idx:
        for b in range(B):
            if pyo.value(mdl.y[a, b]) > 0.5:
                chosen[arcs[a][:2]] = (arcs[a][2], b)
    path_nodes, moves, bs, here = [start], [], [], (start, 0)
    while here != end:
        m, b = chosen[here]
        moves.append(m)
        bs.append(b)
        here = (int(lat.succ[here[0], m]), here[1] + int(lat.kappa[m]))
        path_nodes.append(here[0])
    return report, (np.array(path_nodes), np.array(moves), np.array(bs)), sizes


def solve(inst, start=None, *, lattice: F.Lattice | None = None, gains: F.GainTable | None = None,
          time_limit: float = 600.0, solver: str = "highs", deadline=None) -> MilpResult:
    """J*_MILP of one start (default: the first test start, snapped to its nearest node): model 5.5 for every
    reachable arrival tick, best feasible T̂ kept. The path's (A, H, J) are recomputed from the gain table.
    time_limit (s) caps each T̂ model; deadline (optkit.limits.Deadline) caps the whole call: ticks left when it
    passes are not solved and the status is time_limit."""
    lat = F.build_lattice(inst) if lattice is None else lattice
    gains = F.gain_table(inst, lat) if gains is None else gains
    if start is None:
        start = inst.starts_test[0]
    start = lat.node_index(start) if np.ndim(start) == 1 else int(start)
    if start == lat.dest:
        raise InputError("start: coincides with the destination node; P2-L has no move to make")
    reach = forward_reach(lat, start)
    res = MilpResult(status="infeasible")
    limited = False
    for T in arrival_ticks(lat, start):
        limit = time_limit if deadline is None else min(time_limit, deadline.left())
        if limit < 0.05:
            limited = True
            break
        report, path, sizes = solve_tick(inst, lat, gains, start, T, reach, time_limit=limit, solver=solver)
        res.per_tick[T] = (str(report.status), report.objective)
        res.sizes[T] = sizes
        limited |= str(report.status) in ("time_limit", "error")
        if path is None:
            continue
        nodes, moves, bs = path
        A, H, t_f, _ = F.path_value(gains, lat, start, moves, bs)
        if not F.p2l_feasible(A, t_f, float(inst.qos_r_req), lat.delta, rtol=1e-9):
            continue
        J = float(F.p2l_value(A, H, t_f, lat.delta, inst.objective_lambda))
        if not np.isfinite(res.value) or J > res.value:
            res.value, res.A, res.H, res.t_f = J, A, H, t_f
            res.nodes, res.moves, res.bs = nodes, moves, bs
    if np.isfinite(res.value):
        res.status = "time_limit" if limited else "optimal"
    elif limited:
        res.status = "time_limit"
    return res
