"""Primal side of the exact method `allocate` (docs/families/allocate.md §7.1): a constructive solution with complete
knowledge, its translation into values of the MILP's variables (a MIP start), and the "fix S and polish" steps.

A `Plan` is a full solution in the MILP's own terms (route indices into `ModelData.routes`); `plan_values` writes it
into a built model (the inverse of `milp.extract_decisions`) and `read_plan` reads one back from solved values.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

CAP_TOL = 1e-9      # capacity comparisons, as in the evaluator (§6.3 step 6)


@dataclass
class Plan:
    """A solution of the MILP of §5.2.

    uav_area: (T, N_u) int, area of each UAV per frame (S).
    accepted: accepted requests (X_r = 1).
    route: {(r, t): index into data.routes[(r, t)]} for accepted request-frames (Rt; the PoA B is the route head).
    hosts: {(r, t): {f: node}} (V).
    channels: {(r, tau): c} for accepted request-frames that have Z columns (solo request-frames use data.solo).
    placement: T sets of deployed (f, n) (Y).
    objective: Σ X_r − α·W̄ (E13) in the MILP's accounting.
    """

    uav_area: np.ndarray
    accepted: set = field(default_factory=set)
    route: dict = field(default_factory=dict)
    hosts: dict = field(default_factory=dict)
    channels: dict = field(default_factory=dict)
    placement: list = field(default_factory=list)
    objective: float = 0.0


# ---------------------------------------------------------------------------------------------- energy
def move_energy(inst, uav_area) -> float:
    """E_uav of a trajectory (E5), eu: uav_area (T, N_u), the move from the initial area to frame 0 included."""
    if inst.n_uav == 0:
        return 0.0
    area = np.asarray(uav_area, dtype=np.int64)
    prev = np.vstack([np.asarray(inst.node_area[inst.n_core + inst.n_rsu:])[None, :], area[:-1]])
    j = np.broadcast_to(np.arange(inst.n_uav), area.shape)
    return float(inst.move_energy[j, prev, area].sum())


def plan_objective(inst, data, plan: Plan) -> float:
    """Σ X_r − α·(E_node + E_uav + E_link + E_chan) of a plan (E13), solo blocks charged as in the MILP."""
    e_node = sum(float(inst.e_node[n]) for frame in plan.placement for _, n in frame)
    e_link = sum(data.routes[k][p].energy for k, p in plan.route.items())
    e_chan = sum(float(inst.e_chan[c]) for c in plan.channels.values())
    e_chan += sum(float(inst.e_chan[c]) for (r, t), blocks in data.solo.items()
                  if r in plan.accepted and blocks for _, c in blocks)
    return len(plan.accepted) - inst.alpha * (e_node + move_energy(inst, plan.uav_area) + e_link + e_chan)


# ---------------------------------------------------------------------------------------------- UAV areas
def coverage_areas(inst, data, weights=None, time_limit: float = 5.0) -> np.ndarray:
    """UAV areas (T, N_u) that maximise the (weighted) number of requests covered in every active frame (complete
    knowledge); weights (R,) default 1.

    A small MILP over y[t, a] (a UAV in area a in frame t) and x_r: x_r <= rsu(a(r,t)) + y[t, a(r,t)] for
    t in Δ_r, Σ_a y[t, a] <= N_u, and per (t, a) the good blocks bound Σ_r Ť_r·x_r <= Σ_τ Σ_c Q^τ_{c,a}
    (E14: one request per block). Ties prefer UAVs where requests are, then areas within wireless range of an
    RSU. UAVs are then matched to the chosen areas frame by frame with the least flight energy (E5); a UAV without
    an area stays.
    """
    import pyomo.environ as pyo

    from optkit.solver import solve_model

    T, A, K = inst.T, inst.A, inst.K
    if inst.n_uav == 0:
        return np.zeros((T, 0), dtype=np.int64)
    rsu_area = np.zeros(A, dtype=bool)
    rsu_area[np.asarray(inst.node_area[inst.n_core:inst.n_core + inst.n_rsu], dtype=np.int64)] = True
    near_rsu = (inst.cheb[:, rsu_area] <= inst.wireless_range_cells).any(axis=1)     # (A,) bool
    good = inst.Q.reshape(inst.C, A, T, K).sum(axis=(0, 3))          # (A, T) good blocks per area and frame
    usable = [r for r in range(inst.R) if len(inst.active_frames(r))]
    m = pyo.ConcreteModel()
    m.y = pyo.Var(range(T), range(A), within=pyo.Binary)
    m.x = pyo.Var(usable, within=pyo.Binary)
    m.cover = pyo.ConstraintList()
    for r in usable:
        for t in inst.active_frames(r):
            a = inst.area(r, t)
            if not rsu_area[a]:
                m.cover.add(m.x[r] <= m.y[t, a])
            if data.solo.get((r, t), ()) is None:
                m.cover.add(m.x[r] == 0)
    m.count = pyo.Constraint(range(T), rule=lambda m, t: sum(m.y[t, a] for a in range(A)) <= inst.n_uav)
    crowd: dict = {}
    for r in usable:
        for t in inst.active_frames(r):
            crowd.setdefault((t, inst.area(r, t)), []).append(r)
    m.blocks = pyo.Constraint(list(crowd), rule=lambda m, t, a: sum(
        int(inst.req_slots[r]) * m.x[r] for r in crowd[(t, a)]) <= int(good[a, t]))
    w = np.ones(inst.R) if weights is None else np.asarray(weights, dtype=float)
    tie = {(t, a): (1e-3 if near_rsu[a] else 5e-4) if (t, a) in crowd and not rsu_area[a] else -1e-4
           for t in range(T) for a in range(A)}
    m.obj = pyo.Objective(expr=sum(float(w[r]) * m.x[r] for r in usable) + sum(
        tie[k] * m.y[k] for k in tie), sense=pyo.maximize)
    report = solve_model(m, time_limit=time_limit, threads=1)
    chosen = np.zeros((T, A), dtype=bool)
    if report.has_solution:
        chosen = np.array([[round(m.y[t, a].value or 0) == 1 for a in range(A)] for t in range(T)])
    return match_uavs(inst, chosen)


def match_uavs(inst, chosen: np.ndarray) -> np.ndarray:
    """UAV areas (T, N_u) from the chosen areas per frame (T, A) bool: frame by frame, the assignment of UAVs to
    chosen areas with the least flight energy from the previous frame (E5); a UAV left over stays."""
    from scipy.optimize import linear_sum_assignment

    prev = np.asarray(inst.node_area[inst.n_core + inst.n_rsu:], dtype=np.int64)
    out = np.zeros((inst.T, inst.n_uav), dtype=np.int64)
    for t in range(inst.T):
        areas = np.flatnonzero(chosen[t])
        cur = prev.copy()
        if areas.size:
            cost = inst.move_energy[np.arange(inst.n_uav)[:, None], prev[:, None], areas[None, :]]   # (N_u, k)
            rows, cols = linear_sum_assignment(cost)
            cur[rows] = areas[cols]
        out[t] = cur
        prev = cur
    return out


# ---------------------------------------------------------------------------------------------- greedy plan
def greedy_plan(inst, data, uav_area, order=None) -> Plan:
    """A feasible plan for fixed UAV areas (T, N_u): requests in `order` (default by increasing total demand) are
    accepted one by one when every active frame gets Ť_r free good blocks (E14), a route of P^t_r whose UAV
    positions match the areas, within link bandwidth, and hosts with room (the cheapest route and hosts, counting
    instances already deployed as free), and when the acceptance pays for its energy (1 − α·ΔW̄ > 0)."""
    T, K = inst.T, inst.K
    uav_area = np.asarray(uav_area, dtype=np.int64)
    plan = Plan(uav_area=uav_area, placement=[set() for _ in range(T)])
    cap = np.tile(np.asarray(inst.cap, dtype=float), (T, 1))              # (T, N) remaining node capacity, Mbps
    bw = np.tile(np.asarray(inst.link_cap, dtype=float), (T, 1))          # (T, L) remaining link bandwidth, Mbps
    busy = np.zeros((inst.C, inst.A, T * K), dtype=bool)                  # used blocks (c, a, tau)
    e_node = np.asarray(inst.e_node, dtype=float)
    e_chan = np.asarray(inst.e_chan, dtype=float)
    pos_ok = _position_table(inst, uav_area)
    if order is None:
        order = sorted(range(inst.R), key=lambda r: (float(np.sum(inst.req_demand[r])), r))
    for r in order:
        frames = list(inst.active_frames(r))
        if not frames:
            continue
        funcs = inst.funcs(r)
        demand = np.asarray(inst.req_demand[r], dtype=float)
        need = int(inst.req_slots[r])
        choice = {}
        cost = 0.0
        for t in frames:
            a = inst.area(r, t)
            if (r, t) in data.solo:                                       # alone in its area: blocks known
                blocks = data.solo[(r, t)]
                if blocks is None:
                    break
                cost += float(sum(e_chan[c] for _, c in blocks))
                channels = {}
            else:
                free = (inst.Q[:, a, t * K:(t + 1) * K] == 1) & ~busy[:, a, t * K:(t + 1) * K]     # (C, K)
                price = np.where(free, e_chan[:, None], np.inf)
                best_c = np.argmin(price, axis=0)                                                  # (K,)
                best_p = price[best_c, np.arange(K)]
                slots = np.argsort(best_p, kind="stable")[:need]
                if slots.size < need or not np.all(np.isfinite(best_p[slots])):
                    break
                channels = {(r, t * K + int(k)): int(best_c[k]) for k in slots}
                cost += float(best_p[slots].sum())
            found = _best_route(inst, data, r, t, funcs, demand, pos_ok[t], cap[t], bw[t], plan.placement[t], e_node)
            if found is None:
                break
            p, hosts, route_cost = found
            cost += route_cost
            choice[t] = (p, hosts, channels)
        else:
            if 1.0 - inst.alpha * cost <= 0:
                continue
            plan.accepted.add(r)
            for t, (p, hosts, channels) in choice.items():
                route = data.routes[(r, t)][p]
                plan.route[(r, t)] = p
                plan.hosts[(r, t)] = hosts
                plan.channels.update(channels)
                a = inst.area(r, t)
                for (_, tau), c in channels.items():
                    busy[c, a, tau] = True
                for f, d in zip(funcs, demand):
                    cap[t, hosts[f]] -= d
                    plan.placement[t].add((f, hosts[f]))
                bw[t, list(route.links)] -= float(inst.req_bw[r])
    plan.objective = plan_objective(inst, data, plan)
    return plan


def _position_table(inst, uav_area) -> list:
    """Per frame, the set of UAV positions (n, a) held: [(T) set]."""
    uavs = list(inst.uavs)
    return [{(n, int(uav_area[t, j])) for j, n in enumerate(uavs)} for t in range(inst.T)]


def _fits(route, positions: set) -> bool:
    """The route is usable with the UAV positions {(n, a)} of a frame (every UAV on it in one of its areas)."""
    from optkit.formulations.allocate.milp import route_needs

    return all(any((n, a) in positions for a in areas) for n, areas in route_needs(route))


def _best_route(inst, data, r, t, funcs, demand, positions, cap, bw, deployed, e_node):
    """Cheapest (route index, hosts, E_p + new instances' Ē_n) of (r, t) under the UAV positions, remaining
    capacity (N,) and bandwidth (L,); None when no route fits."""
    best = None
    bw_r = float(inst.req_bw[r])
    order = np.argsort(-demand, kind="stable")
    for p, route in enumerate(data.routes[(r, t)]):
        if best is not None and route.energy >= best[2]:
            break                                     # routes are sorted by energy first (Route.order_key)
        if not _fits(route, positions):
            continue
        if route.links and np.any(bw[list(route.links)] < bw_r - CAP_TOL):
            continue
        left = {n: float(cap[n]) for n in route.nodes}
        hosts, cost = {}, route.energy
        for i in order:
            f, d = funcs[i], float(demand[i])
            options = [((0.0 if (f, n) in deployed else float(e_node[n])), -left[n], n) for n in route.nodes
                       if left[n] >= d - CAP_TOL]
            if not options:
                break
            extra, _, n = min(options)
            hosts[f] = n
            left[n] -= d
            cost += extra
        else:
            if best is None or cost < best[2]:
                best = (p, hosts, cost)
    return best


def request_weights(inst, data) -> np.ndarray:
    """(R,) value of accepting r alone: 1 − α·Σ_t (cheapest Ť_r good slots of its area, E14, plus the cheapest
    route with every function on its cheapest node, E7, E13), ignoring conflicts and shared instances; >= 0."""
    K = inst.K
    weights = np.zeros(inst.R)
    for r in range(inst.R):
        cost = 0.0
        for t in inst.active_frames(r):
            a = inst.area(r, t)
            price = np.where(inst.Q[:, a, t * K:(t + 1) * K] == 1, inst.e_chan[:, None], np.inf).min(axis=0)
            cost += float(np.sort(price)[:int(inst.req_slots[r])].sum())
            cost += min((route.energy + len(inst.funcs(r)) * float(np.min(inst.e_node[list(route.nodes)]))
                         for route in data.routes[(r, t)]), default=np.inf)
        weights[r] = max(0.0, 1.0 - inst.alpha * cost) if np.isfinite(cost) else 0.0
    return weights


def constructive_plan(inst, data, time_limit: float = 5.0) -> Plan:
    """Best greedy plan over a few request orders on the coverage-maximising UAV areas (`coverage_areas`, by count
    and weighted by `request_weights`), or the empty plan (UAVs stay, objective 0) when that is better."""
    start = time.perf_counter()
    plan = best_greedy(inst, data, coverage_areas(inst, data, time_limit=time_limit))
    left = time_limit - (time.perf_counter() - start)
    if left > 0.05:
        weighted = coverage_areas(inst, data, weights=request_weights(inst, data), time_limit=left)
        plan = max(plan, best_greedy(inst, data, weighted), key=lambda p: p.objective)
    stay = Plan(uav_area=np.tile(np.asarray(inst.node_area[inst.n_core + inst.n_rsu:], dtype=np.int64), (inst.T, 1)),
                placement=[set() for _ in range(inst.T)])          # nothing served, UAVs stay: objective 0
    return plan if plan.objective > 0 else stay


def best_greedy(inst, data, uav_area) -> Plan:
    """The best of `greedy_plan` over request orders: by total demand, by fewest frames, by fewest good slots."""
    orders = [
        sorted(range(inst.R), key=lambda r: (float(np.sum(inst.req_demand[r])), r)),
        sorted(range(inst.R), key=lambda r: (len(inst.active_frames(r)), float(np.sum(inst.req_demand[r])), r)),
        sorted(range(inst.R), key=lambda r: (int(inst.req_slots[r]), float(np.sum(inst.req_demand[r])), r)),
    ]
    plans = [greedy_plan(inst, data, uav_area, order) for order in orders]
    return max(plans, key=lambda p: p.objective)


# ---------------------------------------------------------------------------------------------- model values
def plan_values(inst, data, m, plan: Plan) -> None:
    """Write a plan into the model's variables (every variable gets a value), so that it can be a MIP start."""
    import pyomo.environ as pyo

    for var in m.component_data_objects(pyo.Var, descend_into=True):
        _set(var, 0.0)
    uavs = list(inst.uavs)
    prev = np.asarray(inst.node_area[inst.n_core + inst.n_rsu:], dtype=np.int64)
    for t in range(inst.T):
        for j, n in enumerate(uavs):
            a, b = int(prev[j]), int(plan.uav_area[t, j])
            _set(m.S[t, n, b], 1.0)
            if hasattr(m, "M"):
                _set(m.M[t, n, a, b], 1.0)
            elif hasattr(m, "Emov"):
                _set(m.Emov[t, n], float(inst.move_energy[j, a, b]))
        prev = plan.uav_area[t]
    for r in plan.accepted:
        _set(m.X[r], 1.0)
    for (r, t), p in plan.route.items():
        route = data.routes[(r, t)][p]
        _set(m.Rt[r, t, p], 1.0)
        if hasattr(m, "B"):
            _set(m.B[r, t, route.head], 1.0)
        for f, n in plan.hosts[(r, t)].items():
            _set(m.Xf[r, t, f], 1.0)
            _set(m.V[r, t, f, n], 1.0)
    for t, frame in enumerate(plan.placement):
        for f, n in frame:
            _set(m.Y[t, f, n], 1.0)
    for (r, tau), c in plan.channels.items():
        _set(m.Z[r, tau, c], 1.0)
    if hasattr(m, "w"):            # §5.3 literal capacity: w = Xf AND Y
        for (r, t, f, n), var in m.w.items():
            var.set_value(float(round(m.Xf[r, t, f].value) and round(m.Y[t, f, n].value)))


def violated_rows(m, tol: float = 1e-6) -> list:
    """Names of the model's active rows that its current variable values violate by more than tol."""
    import pyomo.environ as pyo

    bad = []
    for row in m.component_data_objects(pyo.Constraint, active=True):
        value = pyo.value(row.body)
        if (row.lower is not None and value < pyo.value(row.lower) - tol
                or row.upper is not None and value > pyo.value(row.upper) + tol):
            bad.append(row.name)
    return bad


def _set(var, value: float) -> None:
    """Set a variable's value unless it is fixed or pinned (equal bounds)."""
    if not var.fixed and (var.lb is None or var.lb != var.ub):
        var.set_value(value)


def read_plan(inst, data, m) -> Plan:
    """The plan held by the model's (rounded) values, cleaned as in §6.1: only accepted requests keep resources and
    only instances that host a kept pair stay deployed."""
    uavs = list(inst.uavs)
    area = np.array([[max(range(inst.A), key=lambda a: m.S[t, n, a].value or 0.0) for n in uavs]
                     for t in range(inst.T)], dtype=np.int64).reshape(inst.T, inst.n_uav)
    plan = Plan(uav_area=area, placement=[set() for _ in range(inst.T)])
    plan.accepted = {r for r in range(inst.R) if _on(m.X[r])}
    for r, t in data.TR:
        if r not in plan.accepted:
            continue
        plan.route[(r, t)] = next(p for p in range(len(data.routes[(r, t)])) if _on(m.Rt[r, t, p]))
        plan.hosts[(r, t)] = {f: next(n for n in data.hosts[(r, t)] if _on(m.V[r, t, f, n])) for f in inst.funcs(r)}
        plan.placement[t].update((f, n) for f, n in plan.hosts[(r, t)].items())
    plan.channels = {(r, tau): c for r, tau, c in data.ZI if r in plan.accepted and _on(m.Z[r, tau, c])}
    plan.objective = plan_objective(inst, data, plan)
    return plan


def _on(var) -> bool:
    return var.value is not None and round(var.value) == 1


# ---------------------------------------------------------------------------------------------- fix S and polish
def fix_areas(inst, m, uav_area) -> None:
    """Pin S (and the movement variables) of the model to the UAV areas (T, N_u) through their bounds (a MIP start
    survives pinned bounds; Pyomo's fixed variables would drop it)."""
    uavs = list(inst.uavs)
    prev = np.asarray(inst.node_area[inst.n_core + inst.n_rsu:], dtype=np.int64)
    for t in range(inst.T):
        for j, n in enumerate(uavs):
            for a in range(inst.A):
                _pin(m.S[t, n, a], 1.0 if a == uav_area[t, j] else 0.0)
            if hasattr(m, "M"):
                for a in range(inst.A):
                    for b in range(inst.A):
                        _pin(m.M[t, n, a, b], 1.0 if (a, b) == (prev[j], uav_area[t, j]) else 0.0)
            else:
                _pin(m.Emov[t, n], float(inst.move_energy[j, prev[j], uav_area[t, j]]))
        prev = uav_area[t]


def _pin(var, value: float) -> None:
    var.setlb(value)
    var.setub(value)
    var.set_value(value)


def unfix_areas(inst, m) -> None:
    """Undo `fix_areas`: S binary, M in [0, 1], Emov >= 0."""
    for var in m.S.values():
        var.setlb(None)
        var.setub(None)
    if hasattr(m, "M"):
        for var in m.M.values():
            var.setlb(0.0)
            var.setub(1.0)
    else:
        for var in m.Emov.values():
            var.setlb(None)
            var.setub(None)


def polish(inst, data, m, plan: Plan, *, time_limit: float, threads: int | None = 1, gap: float = 1e-4) -> Plan:
    """Fix the plan's UAV areas, solve the rest exactly from the plan as MIP start (within time_limit s), and
    return the better plan. The model's S and movement variables are free again afterwards."""
    from optkit.formulations.allocate.milp import integral_channels
    from optkit.solver import solve_model

    fix_areas(inst, m, plan.uav_area)
    plan_values(inst, data, m, plan)
    try:
        report = solve_model(m, time_limit=max(time_limit, 0.1), rel_gap=gap, threads=threads, warm_start=True)
        if report.has_solution and data.z_continuous:
            integral_channels(inst, data, m, threads=threads)
        better = read_plan(inst, data, m) if report.has_solution else plan
    finally:
        unfix_areas(inst, m)
    return better if better.objective > plan.objective + 1e-9 else plan


# ---------------------------------------------------------------------------------------------- per-frame polish
def frame_data(inst, data, plan: Plan, t: int, free: bool = False):
    """ModelData of frame t alone for the plan's accepted requests active in t. With the UAV areas fixed
    (free=False) only routes whose UAV positions the plan holds and PoA candidates located in the UE's area are
    kept; with free=True every route and candidate of the full model stays. Returns (data of the frame,
    {(r, t): original route indices})."""
    from optkit.formulations.allocate.milp import ModelData

    positions = _position_table(inst, plan.uav_area)[t]
    keep = [(r, t) for r in sorted(plan.accepted) if t in inst.active_frames(r)]
    kept = set(keep)
    index = {k: [p for p, route in enumerate(data.routes[k])
                 if free or _fits(route, positions)] for k in keep}
    routes = {k: [data.routes[k][p] for p in ps] for k, ps in index.items()}
    funcs = sorted({f for r, _ in keep for f in inst.funcs(r)})
    sub = ModelData(
        TR=keep, TRF=[(r, t, f) for r, _ in keep for f in inst.funcs(r)],
        F_act={tt: (funcs if tt == t else []) for tt in range(inst.T)},
        ZI=[(r, tau, c) for r, tau, c in data.ZI if (r, tau // inst.K) in kept],
        PC={k: [n for n in data.PC[k] if free or inst.node_type(n) == "rsu" or (n, inst.area(*k)) in positions]
            for k in keep},
        routes=routes, hosts={k: sorted({n for route in rs for n in route.nodes}) for k, rs in routes.items()},
        movement="fixed", capacity_mode=data.capacity_mode, tighten=data.tighten,
        solo={k: v for k, v in data.solo.items() if k in kept}, host_sets=False, z_continuous=True,
        poa_from_routes=data.tighten)
    return sub, index


def solve_frame(inst, data, plan: Plan, t: int, *, free: bool, time_limit: float, threads: int | None = 1,
                gap: float = 1e-4) -> Plan:
    """Re-solve frame t exactly with the plan's accepted set fixed (the frames are independent once X and S are
    fixed): placement, routes and channels, and with free=True also the UAV areas of frame t (the flight energy
    from frame t−1 and to frame t+1 in the objective, E5). Returns the better of the plan and the result."""
    import pyomo.environ as pyo

    from optkit.formulations.allocate.milp import build_model, integral_channels
    from optkit.solver import solve_model

    sub, index = frame_data(inst, data, plan, t, free=free)
    if not sub.TR and not free:
        return plan
    m = build_model(inst, sub)
    local = Plan(uav_area=plan.uav_area, accepted={r for r, _ in sub.TR},
                 route={k: index[k].index(plan.route[k]) for k in sub.TR}, hosts={k: plan.hosts[k] for k in sub.TR},
                 channels={k: c for k, c in plan.channels.items() if k[1] // inst.K == t},
                 placement=[(set(frame) if tt == t else set()) for tt, frame in enumerate(plan.placement)])
    for r in range(inst.R):
        _pin(m.X[r], 1.0 if r in local.accepted else 0.0)
    uavs = list(inst.uavs)
    for tt in range(inst.T):
        for j, n in enumerate(uavs):
            for a in range(inst.A):
                if tt != t or not free:
                    _pin(m.S[tt, n, a], 1.0 if a == plan.uav_area[tt, j] else 0.0)
    if free and uavs:                     # E5: flight into frame t and out of it, per UAV and area (eu)
        prev = plan.uav_area[t - 1] if t > 0 else np.asarray(inst.node_area[inst.n_core + inst.n_rsu:])
        lam = inst.move_energy[np.arange(len(uavs))[:, None], np.asarray(prev)[:, None], np.arange(inst.A)[None, :]]
        if t + 1 < inst.T:
            nxt = plan.uav_area[t + 1]
            lam = lam + inst.move_energy[np.arange(len(uavs))[:, None], np.arange(inst.A)[None, :],
                                         np.asarray(nxt)[:, None]]
        m.obj.set_value(m.obj.expr - inst.alpha * sum(float(lam[j, a]) * m.S[t, n, a]
                                                      for j, n in enumerate(uavs) for a in range(inst.A)))
        m.obj.sense = pyo.maximize
    plan_values(inst, sub, m, local)
    report = solve_model(m, time_limit=max(time_limit, 0.05), rel_gap=gap, threads=threads, warm_start=True)
    if not report.has_solution:
        return plan
    integral_channels(inst, sub, m, threads=threads)
    new = read_plan(inst, sub, m)
    out = Plan(uav_area=new.uav_area, accepted=set(plan.accepted), route=dict(plan.route), hosts=dict(plan.hosts),
               channels={k: c for k, c in plan.channels.items() if k[1] // inst.K != t},
               placement=[set(f) for f in plan.placement])
    for k in sub.TR:
        out.route[k] = index[k][new.route[k]]
        out.hosts[k] = new.hosts[k]
    out.channels.update(new.channels)
    out.placement[t] = set(new.placement[t])
    out.objective = plan_objective(inst, data, out)
    return out if out.objective > plan.objective + 1e-9 else plan


def polish_frames(inst, data, plan: Plan, *, deadline: float, free: bool = False, threads: int | None = 1,
                  gap: float = 1e-4) -> Plan:
    """`solve_frame` on every frame in turn until the deadline (time.perf_counter() seconds), each frame within
    its share of the time left: with free=False the least-energy service of the plan's accepted set on its UAV
    areas; with free=True a local search that also moves the UAVs of one frame at a time."""
    for t in range(inst.T):
        left = deadline - time.perf_counter()
        if left <= 0.05:
            break
        plan = solve_frame(inst, data, plan, t, free=free, time_limit=left / (inst.T - t), threads=threads,
                           gap=gap)
    return plan


# ---------------------------------------------------------------------------------------------- primal phase
def primal_phase(inst, data, m, *, deadline: float, threads: int | None = 1, gap: float = 1e-4,
                 clock: float | None = None, progress=None) -> tuple[Plan, dict]:
    """The best plan found before the deadline (time.perf_counter() seconds), in stages: the constructive plan
    (`constructive_plan`), the least-energy service of every frame (`polish_frames`), the exact rest for the plan's
    UAV areas (`polish`, half of the time left), then the one-frame UAV-area local search (`polish_frames`,
    free=True) in the rest. progress(elapsed_s, incumbent, None, None) reports each improvement, elapsed from
    `clock`. Returns (plan, {stage: [objective, seconds since clock]})."""
    clock = time.perf_counter() if clock is None else clock
    stages = {}

    def note(stage: str, plan: Plan) -> None:
        elapsed = time.perf_counter() - clock
        if not stages or plan.objective > max(v[0] for v in stages.values()) + 1e-12:
            if progress is not None:
                progress(elapsed, plan.objective, None, None)
        stages[stage] = [plan.objective, elapsed]

    plan = constructive_plan(inst, data, time_limit=max(0.1, min(5.0, deadline - time.perf_counter())))
    note("constructive", plan)
    if time.perf_counter() < deadline:
        plan = polish_frames(inst, data, plan, deadline=deadline, threads=threads)
        note("frames", plan)
    left = deadline - time.perf_counter()
    if left > 0.2:
        plan = polish(inst, data, m, plan, time_limit=left / 2, threads=threads, gap=gap)
        note("fix_areas", plan)
    if time.perf_counter() < deadline - 0.2:
        plan = polish_frames(inst, data, plan, deadline=deadline, free=True, threads=threads)
        note("local_search", plan)
    return plan, stages
