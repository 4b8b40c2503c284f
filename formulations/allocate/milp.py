"""Exact MILP of ALLOCATE (§5.2, §5.3) in Pyomo, its solve, and the oracle decision record (§6.1)."""
from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from optkit.errors import InputError
from optkit.formulations.allocate.network import ExpandedGraph, Route
from optkit.formulations.allocate.record import Decisions, ServiceEntry

MOVEMENT_MODES = ("auto", "transition", "compact")
CAPACITY_MODES = ("assign", "instance_load")
ROUTE_SETS = ("candidates", "all")


@dataclass
class ModelData:
    """Index sets and route data of the MILP (§5.2 'Sets'), kept to read the solution back."""

    TR: list            # (r, t)
    TRF: list           # (r, t, f)
    F_act: dict         # t -> sorted active functions
    ZI: list            # (r, tau, c) with good realized quality
    PC: dict            # (r, t) -> PoA candidate nodes
    routes: dict        # (r, t) -> list[Route]
    hosts: dict         # (r, t) -> sorted nodes lying on some route of (r, t) (the only possible hosts)
    movement: str       # "transition" or "compact"; "fixed" (no movement rows, S pinned by the caller)
    capacity_mode: str
    tighten: bool = True
    solo: dict = None   # (r, t) -> cheapest good blocks ((tau, c), ...) or None; request-frames alone in their area
    host_sets: bool = False   # add the host-set valid inequalities (add_host_sets)
    z_continuous: bool = False    # Z in [0, 1] (exact: the channel rows are totally unimodular, §7.1)
    poa_from_routes: bool = False  # no B: the PoA of (r, t) is the head of its route (exact, §7.1)
    aggregate_routes: bool = False  # routes with one physical path merged into a RouteGroup where exact (§7.1)


@dataclass(frozen=True)
class RouteGroup:
    """Candidate routes of one request-frame with the same physical path (so the same links, D_p and E_p, E7)
    whose UAV positions form a product set: the path is usable iff every UAV on it is in one of its areas.

    needs: ((UAV node, areas), ...) per UAV on the path (the head UAV with the UE's area only).
    """

    nodes: tuple
    links: tuple
    lat: float
    energy: float
    needs: tuple

    @property
    def head(self) -> int:
        return self.nodes[0]

    @property
    def uav_positions(self) -> tuple:
        """Every UAV position (n, a) that some merged route uses."""
        return tuple((n, a) for n, areas in self.needs for a in areas)

    def order_key(self):
        return (self.energy, self.lat, len(self.nodes), self.nodes)


def route_needs(route) -> tuple:
    """((UAV node, allowed areas), ...) of a Route or RouteGroup."""
    if isinstance(route, RouteGroup):
        return route.needs
    return tuple((n, (a,)) for n, a in route.uav_positions)


def aggregate(routes: list) -> list:
    """Merge the routes of one request-frame that share a physical path when their UAV position tuples form the
    product of their per-UAV area sets (then 'some merged route is usable' = 'every UAV is in one of its areas',
    and the merged model is exact); other routes stay as they are. Sorted by (E_p, D_p, hops, nodes)."""
    by_path = defaultdict(list)
    for route in routes:
        by_path[route.nodes].append(route)
    out = []
    for nodes, group in by_path.items():
        if len(group) == 1:
            out.append(group[0])
            continue
        tuples = {tuple(a for _, a in route.uav_positions) for route in group}
        uavs = [n for n, _ in group[0].uav_positions]
        areas = [tuple(sorted({t[i] for t in tuples})) for i in range(len(uavs))]
        if len(tuples) != int(np.prod([len(a) for a in areas])):
            out.extend(group)
            continue
        first = group[0]
        out.append(RouteGroup(first.nodes, first.links, first.lat, first.energy, tuple(zip(uavs, areas))))
    return sorted(out, key=lambda p: (p.energy, p.lat, len(p.nodes), p.nodes))


def build_data(inst, route_set: str = "candidates", movement: str = "auto",
               capacity_mode: str = "assign", tighten: bool = True, host_sets: bool = False,
               z_continuous: bool = False, poa_from_routes: bool = False, aggregate_routes: bool = False) -> ModelData:
    if route_set not in ROUTE_SETS:
        raise InputError(f"route_set: must be one of {', '.join(ROUTE_SETS)}, got '{route_set}'")
    if movement not in MOVEMENT_MODES:
        raise InputError(f"movement: must be one of {', '.join(MOVEMENT_MODES)}, got '{movement}'")
    if capacity_mode not in CAPACITY_MODES:
        raise InputError(f"capacity_mode: must be one of {', '.join(CAPACITY_MODES)}, got '{capacity_mode}'")
    if movement == "auto":
        movement = "transition" if inst.A <= 25 else "compact"
    graph = ExpandedGraph(inst)
    TR = [(r, t) for r in range(inst.R) for t in inst.active_frames(r)]
    TRF = [(r, t, f) for r, t in TR for f in inst.funcs(r)]
    F_act = {t: sorted({f for r, tt in TR if tt == t for f in inst.funcs(r)}) for t in range(inst.T)}
    solo = solo_channel_blocks(inst, TR) if tighten else {}
    ZI = [(r, tau, c) for r, t in TR if (r, t) not in solo for tau in range(t * inst.K, (t + 1) * inst.K)
          for c in range(inst.C) if inst.Q[c, inst.area(r, t), tau] == 1]
    PC = {(r, t): [m for m in inst.rsus if inst.node_area[m] == inst.area(r, t)] + list(inst.uavs) for r, t in TR}
    routes = {(r, t): graph.request_routes(inst.area(r, t), float(inst.req_latency[r]), route_set) for r, t in TR}
    if aggregate_routes:
        routes = {k: aggregate(rs) for k, rs in routes.items()}
    hosts = {k: sorted({n for route in rs for n in route.nodes}) for k, rs in routes.items()}
    return ModelData(TR, TRF, F_act, ZI, PC, routes, hosts, movement, capacity_mode, tighten, solo, host_sets,
                     z_continuous, poa_from_routes, aggregate_routes)


def solo_channel_blocks(inst, TR) -> dict:
    """Request-frames whose UE shares its area with no other active request in that frame.

    Their channel choice meets no collision row, so the cheapest feasible choice is known in advance: per slot the
    cheapest good channel, then the Ť_r cheapest slots (ties: earlier slot). Charging that cost on X_r and dropping
    their Z columns keeps the optimum exact (tightened model only). None: fewer than Ť_r good slots.
    """
    crowd = defaultdict(int)
    for r, t in TR:
        crowd[(t, inst.area(r, t))] += 1
    solo = {}
    for r, t in TR:
        a = inst.area(r, t)
        if crowd[(t, a)] > 1:
            continue
        options = []
        for tau in range(t * inst.K, (t + 1) * inst.K):
            good = np.flatnonzero(inst.Q[:, a, tau] == 1)
            if good.size:
                c = int(good[np.argmin(inst.e_chan[good])])
                options.append((float(inst.e_chan[c]), tau, c))
        need = int(inst.req_slots[r])
        solo[(r, t)] = tuple((tau, c) for _, tau, c in sorted(options)[:need]) if len(options) >= need else None
    return solo


def _constraint(index, rule):
    """An indexed Pyomo constraint whose rows may be constant (empty route or PoA sets): true rows are skipped."""
    import pyomo.environ as pyo

    def wrapped(m, *idx):
        expr = rule(m, *idx)
        if isinstance(expr, (bool, np.bool_)):
            if not expr:
                raise ValueError(f"constant infeasible row at {idx}")
            return pyo.Constraint.Skip
        return expr

    return pyo.Constraint(index, rule=wrapped)


def build_model(inst, data: ModelData):
    """The Pyomo model of §5.2 (component names as in §5.2)."""
    import pyomo.environ as pyo

    m = pyo.ConcreteModel(name="allocate")
    T, K, uavs, A = inst.T, inst.K, list(inst.uavs), range(inst.A)
    TR, TRF, ZI = data.TR, data.TRF, data.ZI
    init_area = {n: int(inst.node_area[n]) for n in uavs}
    Y_index = [(t, f, n) for t in range(T) for f in data.F_act[t] for n in range(inst.N)]
    B_index = [(r, t, n) for r, t in TR for n in data.PC[(r, t)]]
    R_index = [(r, t, p) for r, t in TR for p in range(len(data.routes[(r, t)]))]
    V_index = [(r, t, f, n) for r, t, f in TRF for n in data.hosts[(r, t)]]
    S_index = [(t, n, a) for t in range(T) for n in uavs for a in A]

    m.X = pyo.Var(range(inst.R), within=pyo.Binary)
    m.Xf = pyo.Var(TRF, within=pyo.Binary)
    m.Y = pyo.Var(Y_index, within=pyo.Binary)
    m.Z = pyo.Var(ZI, within=pyo.UnitInterval if data.z_continuous else pyo.Binary)
    m.S = pyo.Var(S_index, within=pyo.Binary)
    if not data.poa_from_routes:
        m.B = pyo.Var(B_index, within=pyo.Binary)
    m.Rt = pyo.Var(R_index, within=pyo.Binary)
    m.V = pyo.Var(V_index, within=pyo.Binary)

    def S_prev(t, n, a):
        return m.S[t - 1, n, a] if t > 0 else (1.0 if a == init_area[n] else 0.0)

    # UAV movement (transition or compact big-M formulation)
    lam = {n: inst.move_energy[inst.uav_index(n)] for n in uavs}
    if data.movement == "transition":
        M_index = [(t, n, a, b) for t in range(T) for n in uavs for a in A for b in A]
        m.M = pyo.Var(M_index, bounds=(0, 1))
        m.flow_out = _constraint([(t, n, a) for t in range(T) for n in uavs for a in A],
                                    rule=lambda m, t, n, a: sum(m.M[t, n, a, b] for b in A) == S_prev(t, n, a))
        m.flow_in = _constraint([(t, n, b) for t in range(T) for n in uavs for b in A],
                                   rule=lambda m, t, n, b: sum(m.M[t, n, a, b] for a in A) == m.S[t, n, b])
        e_uav = sum(float(lam[n][a, b]) * m.M[t, n, a, b] for (t, n, a, b) in M_index if lam[n][a, b] > 0)
    elif data.movement == "compact":
        m.Emov = pyo.Var([(t, n) for t in range(T) for n in uavs], within=pyo.NonNegativeReals)
        lam_max = {n: float(lam[n].max()) for n in uavs}
        m.move_cost = _constraint(
            [(t, n, b) for t in range(T) for n in uavs for b in A],
            rule=lambda m, t, n, b: m.Emov[t, n] >= sum(float(lam[n][a, b]) * S_prev(t, n, a) for a in A)
            - lam_max[n] * (1 - m.S[t, n, b]))
        e_uav = sum(m.Emov[t, n] for t in range(T) for n in uavs)
    else:       # "fixed": the caller pins S (frame models of primal.py); the movement energy is a constant left out
        e_uav = 0.0

    route_cost = sum(r_.energy * m.Rt[r, t, p] for (r, t), rs in data.routes.items() for p, r_ in enumerate(rs))
    energy = (sum(float(inst.e_node[n]) * m.Y[t, f, n] for t, f, n in Y_index) + e_uav + route_cost
              + sum(float(inst.e_chan[c]) * m.Z[r, tau, c] for r, tau, c in ZI)
              + sum(sum(float(inst.e_chan[c]) for _, c in blocks) * m.X[r]
                    for (r, t), blocks in data.solo.items() if blocks))
    m.obj = pyo.Objective(expr=sum(m.X[r] for r in range(inst.R)) - inst.alpha * energy, sense=pyo.maximize)

    funcs = {r: inst.funcs(r) for r in range(inst.R)}
    demand = {(r, f): d for r in range(inst.R) for f, d in zip(funcs[r], inst.req_demand[r])}   # Ǐ_{r,f}, Mbps
    frames_of = defaultdict(list)
    for r, t in TR:
        frames_of[r].append(t)
    z_by_rtau = defaultdict(list)
    z_by_block = defaultdict(list)
    for r, tau, c in ZI:
        z_by_rtau[(r, tau)].append(c)
        z_by_block[(c, inst.area(r, tau // K), tau)].append(r)

    # E15 in the model: X_r = Π X^t_{r,f} (C2, below); each X^t_{r,f} needs good slots (C6), a route and hosts (C7-C8)
    m.acc_le = _constraint(TRF, rule=lambda m, r, t, f: m.X[r] <= m.Xf[r, t, f])
    m.acc_ge = _constraint(
        [r for r in range(inst.R) if frames_of[r]],
        rule=lambda m, r: m.X[r] >= sum(m.Xf[r, t, f] for t in frames_of[r] for f in funcs[r])
        - (len(frames_of[r]) * len(funcs[r]) - 1))
    m.no_frames = _constraint([r for r in range(inst.R) if not frames_of[r]], rule=lambda m, r: m.X[r] == 0)
    m.one_channel = _constraint(list(z_by_rtau), rule=lambda m, r, tau: sum(
        m.Z[r, tau, c] for c in z_by_rtau[(r, tau)]) <= 1)
    m.no_collision = _constraint([k for k, rs in z_by_block.items() if len(rs) > 1], rule=lambda m, c, a, tau: sum(
        m.Z[r, tau, c] for r in z_by_block[(c, a, tau)]) <= 1)
    users = defaultdict(list)
    for r, t, f in TRF:
        users[(t, f)].append(r)
    m.deployed = _constraint(list(users), rule=lambda m, t, f: inst.R * sum(m.Y[t, f, n] for n in range(inst.N))
                                >= sum(m.Xf[r, t, f] for r in users[(t, f)]))
    m.no_slots = _constraint(sorted({r for (r, t), b in data.solo.items() if b is None}),
                             rule=lambda m, r: m.X[r] == 0)
    m.good_slots = _constraint([k for k in TRF if (k[0], k[1]) not in data.solo], rule=lambda m, r, t, f: int(
        inst.req_slots[r]) * m.Xf[r, t, f] <= sum(
        m.Z[r, tau, c] for tau in range(t * K, (t + 1) * K) for c in z_by_rtau.get((r, tau), [])))

    def poa_sum(m, r, t):   # Σ_n B^t_{r,n}; with poa_from_routes the routes (whose heads are the PoAs)
        if data.poa_from_routes:
            return sum(m.Rt[r, t, p] for p in range(len(data.routes[(r, t)])))
        return sum(m.B[r, t, n] for n in data.PC[(r, t)])

    m.tx_needs_poa = _constraint(
        [(r, tau) for (r, tau) in z_by_rtau],
        rule=lambda m, r, tau: sum(m.Z[r, tau, c] for c in z_by_rtau[(r, tau)]) <= poa_sum(m, r, tau // K))
    m.one_route = _constraint(TR, rule=lambda m, r, t: sum(
        m.Rt[r, t, p] for p in range(len(data.routes[(r, t)]))) <= 1)
    m.assign = _constraint(TRF, rule=lambda m, r, t, f: sum(
        m.V[r, t, f, n] for n in data.hosts[(r, t)]) == m.Xf[r, t, f])
    m.assign_deployed = _constraint(V_index, rule=lambda m, r, t, f, n: m.V[r, t, f, n] <= m.Y[t, f, n])

    through = {}      # (r, t, n) -> route ids containing node n
    by_head = {}      # (r, t, n) -> route ids headed by n
    by_pos = {}       # (r, t, n, areas) -> route ids needing UAV n in one of areas (route_needs)
    link_users = defaultdict(list)   # (l, t) -> (r, p)
    for (r, t), rs in data.routes.items():
        for p, route in enumerate(rs):
            for n in set(route.nodes):
                through.setdefault((r, t, n), []).append(p)
            by_head.setdefault((r, t, route.head), []).append(p)
            for n, areas in route_needs(route):
                by_pos.setdefault((r, t, n, areas), []).append(p)
            for l in route.links:
                link_users[(l, t)].append((r, p))
    m.assign_on_route = _constraint(V_index, rule=lambda m, r, t, f, n: m.V[r, t, f, n] <= sum(
        m.Rt[r, t, p] for p in through.get((r, t, n), [])))
    if not data.poa_from_routes:     # with B = Σ of the routes headed by n these rows hold by construction
        m.route_head = _constraint(
            [(r, t, n) for (r, t, n) in by_head],
            rule=lambda m, r, t, n: sum(m.Rt[r, t, p] for p in by_head[(r, t, n)]) <= m.B[r, t, n])
    pos_keys = list(by_pos)     # (r, t, n, areas): the routes needing UAV n in one of `areas` (one area unmerged)
    m.route_uav_pos = _constraint(range(len(pos_keys)), rule=lambda m, i: sum(
        m.Rt[pos_keys[i][0], pos_keys[i][1], p] for p in by_pos[pos_keys[i]]) <= sum(
        m.S[pos_keys[i][1], pos_keys[i][2], a] for a in pos_keys[i][3]))

    work = defaultdict(list)     # (t, n) -> (r, f, demand)
    for r, t, f in TRF:
        for n in data.hosts[(r, t)]:
            work[(t, n)].append((r, f, demand[(r, f)]))
    if data.capacity_mode == "assign":
        m.node_cap = _constraint(list(work), rule=lambda m, t, n: sum(
            d * m.V[r, t, f, n] for r, f, d in work[(t, n)]) <= float(inst.cap[n]))
    else:   # §5.3 literal load: every instance of f, on any node, carries the load of every request using f
        w_index = [(r, t, f, n) for r, t, f in TRF for n in range(inst.N)]
        m.w = pyo.Var(w_index, bounds=(0, 1))
        m.w_link = _constraint(w_index, rule=lambda m, r, t, f, n: m.w[r, t, f, n]
                               >= m.Xf[r, t, f] + m.Y[t, f, n] - 1)
        every = defaultdict(list)
        for r, t, f in TRF:
            every[t].append((r, f, demand[(r, f)]))
        m.node_cap = _constraint([(t, n) for t in every for n in range(inst.N)], rule=lambda m, t, n: sum(
            d * m.w[r, t, f, n] for r, f, d in every[t]) <= float(inst.cap[n]))
    m.link_cap = _constraint(list(link_users), rule=lambda m, l, t: sum(
        float(inst.req_bw[r]) * m.Rt[r, t, p] for r, p in link_users[(l, t)]) <= float(inst.link_cap[l]))
    m.uav_one_area = _constraint([(t, n) for t in range(T) for n in uavs],
                                    rule=lambda m, t, n: sum(m.S[t, n, a] for a in A) == 1)
    if not data.poa_from_routes:     # otherwise implied by one_route and route_uav_pos (a UAV head's position)
        m.poa_one = _constraint(TR, rule=lambda m, r, t: sum(m.B[r, t, n] for n in data.PC[(r, t)]) <= 1)
        m.poa_in_area = _constraint([(r, t, n) for r, t in TR for n in data.PC[(r, t)] if n in inst.uavs],
                                    rule=lambda m, r, t, n: m.B[r, t, n] <= m.S[t, n, inst.area(r, t)])
    m.latency = _constraint(TR, rule=lambda m, r, t: sum(
        route.lat * m.Rt[r, t, p] for p, route in enumerate(data.routes[(r, t)])) <= float(inst.req_latency[r]))
    if data.tighten:
        add_tightening(m, inst, data, z_by_rtau)
    if data.host_sets:
        add_host_sets(m, inst, data)
    return m


def add_host_sets(m, inst, data: ModelData) -> None:
    """Host-set rows (exact valid inequalities of C7): for every request-frame (r,t), every node set D = N_q of a
    candidate route q of (r,t) and every f ∈ 𝔽_{s_r}:

        Σ_{n∈D} V^t_{r,f,n} >= Σ_{p ∈ P^t_r: N_p ⊆ D} R^t_{r,p}

    (a route lying inside D keeps every host of r inside D). Integer points already satisfy them through
    `assign_on_route` and `one_route`; they cut the LP points that pair a fraction of a cheap route (often the
    trivial one) with a long route whose nodes host a whole function (`assign_on_route` only bounds each
    node alone). On `small` they close 20-55 % of the root LP gap with ~2k sparse rows.
    """
    rows = []       # (r, t, f, nodes of D, routes inside D)
    for (r, t), rs in data.routes.items():
        node_sets = sorted({frozenset(route.nodes) for route in rs}, key=sorted)
        for D in node_sets:
            inside = [p for p, route in enumerate(rs) if D.issuperset(route.nodes)]
            rows += [(r, t, f, sorted(D), inside) for f in inst.funcs(r)]
    m.host_set = _constraint(range(len(rows)), rule=lambda m, i: sum(
        m.V[rows[i][0], rows[i][1], rows[i][2], n] for n in rows[i][3]) >= sum(
        m.Rt[rows[i][0], rows[i][1], p] for p in rows[i][4]))


def add_tightening(m, inst, data: ModelData, z_by_rtau: dict) -> None:
    """Rows that keep the optimal value but cut fractional points (valid for an optimal solution).

    Resources spent on a request-frame of a rejected request only cost energy (every cost is >= 0), so some
    optimum serves, routes, attaches and transmits for (r, t) exactly when X_r = 1 (this is also the clean-up
    of §6.1). Tying those variables to X_r closes most of the LP gap left by the product linearization.
    """
    m.t_serve_all = _constraint(data.TRF, rule=lambda m, r, t, f: m.Xf[r, t, f] == m.X[r])
    m.t_route = _constraint(data.TR, rule=lambda m, r, t: sum(
        m.Rt[r, t, p] for p in range(len(data.routes[(r, t)]))) == m.X[r])
    if not data.poa_from_routes:     # otherwise the same row as t_route
        m.t_poa = _constraint(data.TR, rule=lambda m, r, t: sum(m.B[r, t, n] for n in data.PC[(r, t)]) == m.X[r])
    m.t_tx = _constraint(list(z_by_rtau), rule=lambda m, r, tau: sum(
        m.Z[r, tau, c] for c in z_by_rtau[(r, tau)]) <= m.X[r])


def model_size(model) -> dict:
    """Variables, constraints and nonzeros of a Pyomo model."""
    import pyomo.environ as pyo

    n_vars = sum(len(v) for v in model.component_objects(pyo.Var, active=True))
    n_int = sum(1 for v in model.component_data_objects(pyo.Var, active=True) if v.is_integer())
    n_cons = sum(len(c) for c in model.component_objects(pyo.Constraint, active=True))
    return {"variables": n_vars, "integer_variables": n_int, "constraints": n_cons}


def _on(var) -> bool:
    return var.value is not None and round(var.value) == 1


def extract_decisions(inst, data: ModelData, m) -> tuple[Decisions, float]:
    """Decision record of §6.1 (rounded, cleaned) and objective_cleaned computed from the kept MILP terms."""
    uavs = list(inst.uavs)
    uav_area = np.array([[max(range(inst.A), key=lambda a: m.S[t, n, a].value or 0.0) for n in uavs]
                         for t in range(inst.T)], dtype=np.int64).reshape(inst.T, inst.n_uav)
    kept = {r for r in range(inst.R) if _on(m.X[r])}
    decisions = Decisions(uav_area=uav_area, placement=[set() for _ in range(inst.T)])
    for r, t in data.TR:
        if r not in kept:
            continue
        chosen = [p for p in range(len(data.routes[(r, t)])) if _on(m.Rt[r, t, p])]
        route: Route = data.routes[(r, t)][chosen[0]]
        if data.poa_from_routes:
            decisions.poa[(r, t)] = route.head
        else:
            for n in data.PC[(r, t)]:
                if _on(m.B[r, t, n]):
                    decisions.poa[(r, t)] = n
        hosts = {f: next(n for n in data.hosts[(r, t)] if _on(m.V[r, t, f, n])) for f in inst.funcs(r)}
        decisions.service[(r, t)] = ServiceEntry(route.nodes, hosts)
        for f, n in hosts.items():
            decisions.placement[t].add((f, n))
    for r, tau, c in data.ZI:
        if r in kept and _on(m.Z[r, tau, c]):
            decisions.channels[(r, tau)] = c
    for (r, t), blocks in data.solo.items():
        if r in kept:
            decisions.channels.update({(r, tau): c for tau, c in blocks})
    prev = np.asarray(inst.node_area[inst.n_core + inst.n_rsu:])
    e_uav = 0.0
    for t in range(inst.T):
        e_uav += float(sum(inst.move_energy[j, prev[j], uav_area[t, j]] for j in range(inst.n_uav)))
        prev = uav_area[t]
    e_node = sum(float(inst.e_node[n]) for frame in decisions.placement for _, n in frame)
    e_chan = sum(float(inst.e_chan[c]) for c in decisions.channels.values())
    e_link = sum(data.routes[(r, t)][p].energy for (r, t) in decisions.service
                 for p in range(len(data.routes[(r, t)])) if _on(m.Rt[r, t, p]))
    objective_cleaned = len(kept) - inst.alpha * (e_node + e_uav + e_link + e_chan)
    return decisions, objective_cleaned


def integral_channels(inst, data: ModelData, m, threads: int | None = 1) -> None:
    """Replace the Z values of the model (continuous with z_continuous) by an integral channel assignment of least
    energy for the accepted requests, everything else as the model holds it.

    Given X, Xf and the PoAs, the Z rows (`one_channel`, `tx_needs_poa`, `t_tx` per (r, τ) inside `good_slots` per
    (r, t), and `no_collision` per block) are two laminar families with integral right-hand sides: the matrix is
    totally unimodular and this LP has an integral optimum no dearer than the solver's fractional Z (E14).
    """
    import pyomo.environ as pyo

    from optkit.solver import solve_model

    kept = {r for r in range(inst.R) if _on(m.X[r])}
    ZI = [(r, tau, c) for r, tau, c in data.ZI if r in kept]
    for var in m.Z.values():
        var.set_value(0.0)
    if not ZI:
        return
    K = inst.K
    lp = pyo.ConcreteModel()
    lp.z = pyo.Var(ZI, bounds=(0, 1))
    by_rtau, by_block, by_rt = defaultdict(list), defaultdict(list), defaultdict(list)
    for r, tau, c in ZI:
        by_rtau[(r, tau)].append((r, tau, c))
        by_block[(c, inst.area(r, tau // K), tau)].append((r, tau, c))
        by_rt[(r, tau // K)].append((r, tau, c))
    lp.one = pyo.Constraint(list(by_rtau), rule=lambda lp, r, tau: sum(lp.z[k] for k in by_rtau[(r, tau)]) <= 1)
    lp.block = pyo.Constraint(list(by_block), rule=lambda lp, c, a, tau: sum(lp.z[k] for k in by_block[(c, a, tau)])
                              <= 1)
    lp.slots = pyo.Constraint(list(by_rt), rule=lambda lp, r, t: sum(lp.z[k] for k in by_rt[(r, t)])
                              >= int(inst.req_slots[r]))
    lp.obj = pyo.Objective(expr=sum(float(inst.e_chan[c]) * lp.z[r, tau, c] for r, tau, c in ZI))
    report = solve_model(lp, threads=threads)
    values = {k: lp.z[k].value or 0.0 for k in ZI}
    if not report.has_solution or any(min(v, 1 - v) > 1e-6 for v in values.values()):
        raise RuntimeError(f"integral_channels: no integral channel assignment ({report.status}, {report.message})")
    for k, v in values.items():
        m.Z[k].set_value(float(round(v)))


def lp_relaxation_bound(model, solver: str = "highs", time_limit: float | None = None) -> float | None:
    """Objective of the LP relaxation (an upper bound of every method's objective, `of_upper_bound`)."""
    import pyomo.environ as pyo

    from optkit.solver import solve_model

    relaxed = model.clone()
    pyo.TransformationFactory("core.relax_integer_vars").apply_to(relaxed)
    report = solve_model(relaxed, solver=solver, time_limit=time_limit)
    return report.objective


def solve(inst, *, seed: int = 0, time_limit: float | None = 600.0, gap: float = 1e-4, solver: str = "highs",
          threads: int | None = None, route_set: str = "candidates", movement: str = "auto",
          capacity_mode: str = "assign", tighten: bool = True, host_sets: bool = False,
          z_continuous: bool = True, poa_from_routes: bool = True, aggregate_routes: bool = True,
          warm_start: bool = True, primal_share: float = 0.3, progress=None,
          export_model: str | None = None, lp_bound: bool = False, log=False):
    """Method `allocate`: build the exact MILP with complete knowledge, solve it, return the oracle record.

    seed is unused (the method is deterministic); time_limit in s (the whole method: build, primal phase, solve);
    gap is HiGHS's relative MIP gap; log streams the solver's progress log (True: stdout, or a text stream);
    tighten adds the exact tightening rows (add_tightening); host_sets adds the exact host-set valid inequalities
    (add_host_sets: a tighter LP bound, off by default because it did not shorten the time to a proof in the
    measurements of benchmarks/results). The exact reductions of §7.1, on by default: z_continuous (Z in [0, 1],
    integral Z re-solved before the record is read, integral_channels), poa_from_routes (no B: the PoA is the
    route's head), aggregate_routes (routes with one physical path merged where exact, aggregate).
    warm_start: run the primal phase (primal.py: constructive plan, per-frame exact polish, fix-S polish, local
    search over the UAV areas of one frame) within primal_share of the time limit (of 120 s without a limit) and
    give its best plan to the solver as MIP start; the final answer is the better of that plan and the solver's
    incumbent, with the solver's bound. progress(elapsed_s, incumbent, bound, gap) is called at every improvement
    of the primal phase and every solver progress event, elapsed_s counted from the start of the method.
    A run without any incumbent returns the empty record (UAVs stay, nothing served).
    """
    from optkit.formulations.allocate import primal
    from optkit.solution import Solution, Status
    from optkit.solver import export_model as write_model
    from optkit.solver import solve_model

    if solver != "highs" or capacity_mode != "assign":
        warm_start = False      # MIP starts go through HiGHS only (optkit.solver); the plans use capacities per D1
    start = time.perf_counter()
    data = build_data(inst, route_set=route_set, movement=movement, capacity_mode=capacity_mode, tighten=tighten,
                      host_sets=host_sets, z_continuous=z_continuous, poa_from_routes=poa_from_routes,
                      aggregate_routes=aggregate_routes)
    model = build_model(inst, data)
    build_s = time.perf_counter() - start
    if export_model:
        write_model(model, export_model)
    trajectory = []

    def report_progress(elapsed, incumbent, bound, rel_gap):
        trajectory.append([elapsed, incumbent, bound])
        if progress is not None:
            progress(elapsed, incumbent, bound, rel_gap)

    plan, stages, broken = None, {}, []
    if warm_start:
        budget = primal_share * (time_limit if time_limit is not None else 120.0)
        plan, stages = primal.primal_phase(inst, data, model, deadline=start + budget, threads=threads or 1,
                                           gap=gap, clock=start, progress=report_progress)
        primal.plan_values(inst, data, model, plan)
        broken = primal.violated_rows(model)
        if broken:                  # never start from, or answer with, a point the model does not admit
            plan = None
    left = None if time_limit is None else max(time_limit - (time.perf_counter() - start), 0.1)
    offset = time.perf_counter() - start
    report = solve_model(model, solver=solver, time_limit=left, rel_gap=gap, threads=threads, tee=log,
                         warm_start=plan is not None,
                         progress=(lambda t, inc, bnd, g: report_progress(offset + t, inc, bnd, g))
                         if solver == "highs" else None)
    info = {"solver": report.solver, "termination": report.termination, "message": report.message,
            "build_s": build_s, "solve_s": report.solve_s, "movement": data.movement,
            "capacity_mode": data.capacity_mode, "route_set": route_set, "tighten": tighten, "host_sets": host_sets,
            "z_continuous": z_continuous, "poa_from_routes": poa_from_routes, "aggregate_routes": aggregate_routes,
            "routes": sum(len(v) for v in data.routes.values()), **model_size(model), "primal": stages,
            "trajectory": trajectory}
    if broken:
        info["primal_rejected"] = broken[:10]
    if report.has_solution and z_continuous:
        integral_channels(inst, data, model, threads=threads)
    status, objective, bound = report.status, report.objective, report.bound
    tol = 1e-6         # absolute objective tolerance, that of optkit.solver and HiGHS's mip_abs_gap
    if plan is not None and (not report.has_solution or plan.objective > report.objective + tol):
        primal.plan_values(inst, data, model, plan)     # the primal plan beats the solver's incumbent
        objective = plan.objective
        info["answer"] = "primal plan"
        if bound is not None and bound - objective <= max(gap * abs(objective), tol):
            status = Status.OPTIMAL                       # proven within the requested gap by the solver's bound
        elif status != Status.TIME_LIMIT:
            status = Status.FEASIBLE                      # a feasible point without a proof (solver failed)
        has_solution = True
    else:
        has_solution = report.has_solution
        info["answer"] = "solver incumbent" if has_solution else "none"
    if has_solution:
        decisions, objective_cleaned = extract_decisions(inst, data, model)
        info["objective_cleaned"] = objective_cleaned
    else:
        decisions = Decisions.empty(inst)
    if lp_bound:
        info["lp_bound"] = lp_relaxation_bound(model, solver=solver, time_limit=time_limit)
    if status == Status.OPTIMAL and not has_solution:
        status = Status.ERROR
    if info["answer"] == "primal plan":
        rel_gap = _rel_gap(objective, bound, status == Status.OPTIMAL)
    else:
        rel_gap = report.gap
    return Solution(family="allocate", method="allocate", status=status, decisions=decisions,
                    objective=objective, bound=bound, gap=rel_gap,
                    runtime_s=time.perf_counter() - start, info=info)


def _rel_gap(objective: float, bound: float | None, optimal: bool) -> float | None:
    """|bound − objective| / |objective| as optkit.solver reports it (0 for a proven optimum within 1e-6)."""
    if bound is None:
        return None
    diff = abs(bound - objective)
    if diff <= 1e-6 and (optimal or abs(objective) <= 1e-6):
        return 0.0
    return diff / abs(objective) if abs(objective) > 1e-10 else float("inf")
