"""Method `allocate-benders`: logic-based Benders decomposition of the exact MILP (docs/families/allocate.md §7.8),
a second exact method with its own bound (benchmarks/results/allocate_benders.md compares it with `allocate`).

Master (MILP): the acceptance X_r, the UAV areas S^t_{n,a} and the flight energy exactly (the §5.2 movement rows),
coverage (an accepted request-frame needs an RSU or a UAV in its area), and per frame t a variable θ_t (eu) for
the frame's energy, bounded below by request-level floors (cheapest good slots, one instance per used function)
and by the cuts. Subproblems: with X and S fixed the frames are independent; frame t is the §5.2 model restricted
to the request-frames of t, minimising the frame's energy (eu), with the UAV areas of frame t fixed, partly fixed
or free (a pattern). For the accepted set Q of frame t in a master solution:

* free optimum E(Q) (every UAV area free): θ_t >= E(Q) while Q is accepted, or, infeasible, a no-good on a minimal
  infeasible subset of Q (deletion filter): valid for every UAV plan;
* with the master's areas (only when θ_t already meets E(Q)): θ_t >= E(Q, S) while Q is accepted and the UAV
  positions that matter to Q are kept, plus one such cut per UAV with only that UAV's area kept.

A position (n, a) matters to Q in frame t when some candidate route of some r in Q uses it (route heads
included, and with the tightening rows of §5.2 the PoA is the route's head); all other areas of UAV n are
equivalent for Q. The frame energy is monotone in the
accepted set (every cost is >= 0 and a subset of a feasible plan is feasible), so each cut holds for supersets of
Q. Cuts are valid for every solution of §5.2, so the master's dual bound is an upper bound of the optimum;
incumbents come only from exactly solved frames (the master's plan, or each frame's own best areas with the
others staying), so every reported objective is verified.
"""
from __future__ import annotations

import dataclasses
import math
import sys
import time
from dataclasses import dataclass

import numpy as np

from optkit.formulations.allocate import milp
from optkit.formulations.allocate.record import Decisions

#: Components whose values a frame subproblem decides (copied into the record's model).
FRAME_VARS = ("Xf", "Y", "Z", "B", "Rt", "V")
#: Absolute tolerance on energies (eu) and objectives.
TOL = 1e-6
#: Relative gap of an exact frame solve, and of a first, coarse one whose bound may already cut the master.
FINE_GAP = 1e-9
COARSE_GAP = 0.1
#: Relative gap of a solve that only asks whether a frame is feasible (stops at the first solution).
FEAS_GAP = 1.0


@dataclass
class FrameResult:
    """Exact outcome of one frame subproblem.

    feasible: True, False (proven infeasible) or None (unknown: stopped by the time limit without a proof).
    energy: best frame energy found (eu), None without a solution. bound: proven lower bound on the frame
    energy (eu), None when unknown. values: {(component, index): value} of the frame's placement variables.
    areas: (N_u,) UAV areas of frame t in the solution. gap: relative gap the solve was asked for (0 for a
    proof of infeasibility or an empty frame).
    """

    feasible: bool | None
    energy: float | None = None
    bound: float | None = None
    values: dict | None = None
    areas: np.ndarray | None = None
    gap: float = 0.0

    @property
    def exact(self) -> bool:
        return self.feasible is False or self.feasible is True and self.gap <= FINE_GAP


def frame_vars(m) -> list[str]:
    """The components of FRAME_VARS that model m has."""
    return [name for name in FRAME_VARS if hasattr(m, name)]


def frame_data(inst, data: milp.ModelData, t: int) -> milp.ModelData:
    """The index sets of `data` restricted to the request-frames of frame t."""
    keep = {(r, tt) for r, tt in data.TR if tt == t}
    return dataclasses.replace(
        data,
        TR=[k for k in data.TR if k in keep],
        TRF=[k for k in data.TRF if k[1] == t],
        F_act={tt: (fs if tt == t else []) for tt, fs in data.F_act.items()},
        ZI=[k for k in data.ZI if k[1] // inst.K == t],
        PC={k: v for k, v in data.PC.items() if k in keep},
        routes={k: v for k, v in data.routes.items() if k in keep},
        hosts={k: v for k, v in data.hosts.items() if k in keep},
        solo={k: v for k, v in data.solo.items() if k in keep},
    )


def frame_energy(m, inst, data: milp.ModelData, t: int):
    """Energy of frame t in a §5.2 model (eu): deployments, routes, channel entries and the solo channel blocks
    charged on X (UAV flights excluded)."""
    K = inst.K
    expr = sum(float(inst.e_node[n]) * m.Y[t, f, n] for f in data.F_act[t] for n in range(inst.N))
    expr += sum(route.energy * m.Rt[r, tt, p] for (r, tt), rs in data.routes.items() if tt == t
                for p, route in enumerate(rs))
    expr += sum(float(inst.e_chan[c]) * m.Z[r, tau, c] for r, tau, c in data.ZI if tau // K == t)
    expr += sum(sum(float(inst.e_chan[c]) for _, c in blocks) * m.X[r]
                for (r, tt), blocks in data.solo.items() if tt == t and blocks)
    return expr


def flight_energy(inst, uav_area: np.ndarray) -> float:
    """E_uav of a (T, N_u) area plan (eu), initial areas included (E5)."""
    prev = np.asarray(inst.node_area[inst.n_core + inst.n_rsu:], dtype=np.int64)
    total = 0.0
    for t in range(inst.T):
        total += float(sum(inst.move_energy[j, prev[j], uav_area[t, j]] for j in range(inst.n_uav)))
        prev = uav_area[t]
    return total


class FrameProblems:
    """Exact per-frame subproblems with a cache keyed by (t, accepted requests, relevant UAV positions)."""

    def __init__(self, inst, data: milp.ModelData, solver: str, threads: int | None):
        self.inst, self.data, self.solver, self.threads = inst, data, solver, threads
        self.models: dict[int, tuple] = {}
        self.cache: dict[tuple, FrameResult] = {}
        self.plans: dict[tuple, object] = {}       # acceptance (R,) -> its free plan (free_plan)
        self.failure = ""                           # message of a solve that failed (not by the time limit)
        self.solves = 0
        self.solve_s = 0.0
        active = {t: sorted({r for r, tt in data.TR if tt == t}) for t in range(inst.T)}
        self.active = active
        # (r, t) -> UAV positions (n, a) used by some candidate route (heads included)
        self.positions = {k: {pos for route in rs for pos in route.uav_positions} for k, rs in data.routes.items()}

    def relevant(self, t: int, requests) -> dict[int, set]:
        """UAV n -> the areas a such that position (n, a) matters to the request set in frame t."""
        out = {n: set() for n in self.inst.uavs}
        for r in requests:
            for n, a in self.positions[(r, t)]:
                out[n].add(a)
        return out

    def pattern(self, t: int, requests, areas: np.ndarray | None, keep=None) -> tuple:
        """Per UAV (N_u entries): its area in `areas` when that position matters to `requests`, -1 when it does
        not (all such areas are equivalent), None when the UAV is free (areas None, or its index not in keep)."""
        rel = self.relevant(t, requests)
        out = []
        for j, n in enumerate(self.inst.uavs):
            if areas is None or keep is not None and j not in keep:
                out.append(None)
            else:
                out.append(int(areas[j]) if int(areas[j]) in rel[n] else -1)
        return tuple(out)

    def conforms(self, t: int, requests, areas: np.ndarray, pattern: tuple) -> bool:
        """True when UAV areas (N_u,) meet every fixed entry of `pattern`."""
        rel = self.relevant(t, requests)
        for j, n in enumerate(self.inst.uavs):
            e = pattern[j]
            if e is not None and (e >= 0 and int(areas[j]) != e or e == -1 and int(areas[j]) in rel[n]):
                return False
        return True

    def _model(self, t: int):
        if t not in self.models:
            import pyomo.environ as pyo

            data_t = frame_data(self.inst, self.data, t)
            m = milp.build_model(self.inst, data_t)
            m.obj.deactivate()
            # UAV flights and the areas of other frames do not enter the frame's energy (S of frame t stays)
            for name in ("flow_out", "flow_in", "move_cost"):
                if hasattr(m, name):
                    getattr(m, name).deactivate()
            for tt, n in m.uav_one_area:
                if tt != t:
                    m.uav_one_area[tt, n].deactivate()
            m.frame_obj = pyo.Objective(expr=frame_energy(m, self.inst, data_t, t), sense=pyo.minimize)
            self.models[t] = (m, data_t)
        return self.models[t]

    def solve(self, t: int, requests, pattern: tuple, time_limit: float | None,
              gap: float = FINE_GAP) -> FrameResult:
        """Minimum energy of frame t (eu) serving every request of `requests`, the UAV areas of frame t restricted
        by `pattern` (see `pattern`; all None: free, a lower bound for every UAV plan), solved to relative gap
        `gap` (a coarser cached result is re-solved from its solution)."""
        from optkit.solver import solve_model

        requests = tuple(sorted(requests))
        key = (t, requests, tuple(pattern))
        cached = self.cache.get(key)
        if cached is not None and (cached.feasible is False or cached.gap <= gap):
            return cached
        if not requests:
            return FrameResult(True, 0.0, 0.0, {}, None)
        free = self.cache.get((t, requests, (None,) * self.inst.n_uav))
        if free is not None and free.exact and free.feasible and self.conforms(t, requests, free.areas, pattern):
            self.cache[key] = free       # the unrestricted optimum meets the restriction
            return free
        if time_limit is not None and time_limit <= 0:
            return FrameResult(None)
        m, data_t = self._model(t)
        inst = self.inst
        rel = self.relevant(t, requests)
        for j, n in enumerate(inst.uavs):
            e = pattern[j]
            for a in range(inst.A):
                if e is not None and e >= 0:
                    m.S[t, n, a].fix(1.0 if a == e else 0.0)
                elif e == -1 and a in rel[n]:
                    m.S[t, n, a].fix(0.0)
                else:
                    m.S[t, n, a].unfix()
                    m.S[t, n, a].set_value(None)
        chosen = set(requests)
        for r in self.active[t]:
            m.X[r].fix(1.0 if r in chosen else 0.0)
        for name in frame_vars(m):
            for v in getattr(m, name).values():
                v.set_value(None)
        if cached is not None and cached.values:       # a MIP start from the coarse solution
            for (name, idx), val in cached.values.items():
                getattr(m, name)[idx].set_value(val)
            for j, n in enumerate(inst.uavs):
                for a in range(inst.A):
                    if not m.S[t, n, a].fixed:
                        m.S[t, n, a].set_value(1.0 if a == cached.areas[j] else 0.0)
        start = time.perf_counter()
        report = solve_model(m, solver=self.solver, time_limit=time_limit, rel_gap=gap, threads=self.threads,
                             warm_start=cached is not None and bool(cached.values))
        self.solves += 1
        self.solve_s += time.perf_counter() - start
        status = str(report.status)
        if status == "infeasible":
            result = FrameResult(False)
        elif report.has_solution:
            values = {(name, idx): float(round(v.value or 0.0)) for name in frame_vars(m)
                      for idx, v in getattr(m, name).items()}
            solved_areas = np.array([max(range(inst.A), key=lambda a: m.S[t, n, a].value or 0.0)
                                     for n in inst.uavs], dtype=np.int64)
            bound = report.bound
            if status == "optimal":
                bound = report.objective if bound is None else min(report.objective, bound)
            result = FrameResult(True, report.objective, bound, values, solved_areas,
                                 gap if status == "optimal" else math.inf)
        else:
            result = FrameResult(None, bound=report.bound)
            if status != "time_limit":
                self.failure = f"frame {t}: {report.message or report.termination}"
        if result.feasible is False or status == "optimal":
            self.cache[key] = result
        return result


class Master:
    """The master over (X, S): acceptance, UAV areas and flights exactly, the energy θ_t of frame t (eu) bounded
    below by request-level costs and by the cuts of the frame subproblems."""

    def __init__(self, inst, data: milp.ModelData):
        import pyomo.environ as pyo

        self.inst, self.data = inst, data
        m = pyo.ConcreteModel(name="allocate_benders_master")
        T, uavs, A = range(inst.T), list(inst.uavs), range(inst.A)
        m.X = pyo.Var(range(inst.R), within=pyo.Binary)
        m.S = pyo.Var([(t, n, a) for t in T for n in uavs for a in A], within=pyo.Binary)
        m.theta = pyo.Var(T, within=pyo.NonNegativeReals)
        m.uav_one_area = pyo.Constraint([(t, n) for t in T for n in uavs],
                                        rule=lambda m, t, n: sum(m.S[t, n, a] for a in A) == 1)
        init_area = {n: int(inst.node_area[n]) for n in uavs}

        def S_prev(t, n, a):
            return m.S[t - 1, n, a] if t > 0 else (1.0 if a == init_area[n] else 0.0)

        lam = {n: inst.move_energy[inst.uav_index(n)] for n in uavs}
        if data.movement == "transition":
            M_index = [(t, n, a, b) for t in T for n in uavs for a in A for b in A]
            m.M = pyo.Var(M_index, bounds=(0, 1))
            m.flow_out = pyo.Constraint([(t, n, a) for t in T for n in uavs for a in A],
                                        rule=lambda m, t, n, a: sum(m.M[t, n, a, b] for b in A) == S_prev(t, n, a))
            m.flow_in = pyo.Constraint([(t, n, b) for t in T for n in uavs for b in A],
                                       rule=lambda m, t, n, b: sum(m.M[t, n, a, b] for a in A) == m.S[t, n, b])
            e_uav = sum(float(lam[n][a, b]) * m.M[t, n, a, b] for (t, n, a, b) in M_index if lam[n][a, b] > 0)
        else:
            m.Emov = pyo.Var([(t, n) for t in T for n in uavs], within=pyo.NonNegativeReals)
            lam_max = {n: float(lam[n].max()) for n in uavs}
            m.move_cost = pyo.Constraint(
                [(t, n, b) for t in T for n in uavs for b in A],
                rule=lambda m, t, n, b: m.Emov[t, n] >= sum(float(lam[n][a, b]) * S_prev(t, n, a) for a in A)
                - lam_max[n] * (1 - m.S[t, n, b]))
            e_uav = sum(m.Emov[t, n] for t in T for n in uavs)

        # a request is never accepted without frames or without enough good slots in a frame where it is alone
        frames_of = {r: [t for rr, t in data.TR if rr == r] for r in range(inst.R)}
        no_slots = {r for (r, t), blocks in data.solo.items() if blocks is None}
        m.never = pyo.Constraint([r for r in range(inst.R) if not frames_of[r] or r in no_slots],
                                 rule=lambda m, r: m.X[r] == 0)
        # a PoA in the UE's area (C11): an RSU there, or some UAV
        has_rsu = {a: any(int(inst.node_area[n]) == a for n in inst.rsus) for a in A}
        uncovered = [(r, t) for r, t in data.TR if not has_rsu[inst.area(r, t)]]
        m.coverage = pyo.Constraint(uncovered, rule=lambda m, r, t: m.X[r] <= sum(
            m.S[t, n, inst.area(r, t)] for n in uavs))
        # request-level lower bound of the frame energy: cheapest good slots per request (collisions ignored),
        # and one instance of every function some accepted request uses, on its cheapest possible host
        chan = request_channel_floor(inst, data)
        users = {}
        for r, t, f in data.TRF:
            users.setdefault((t, f), []).append(r)
        host_floor = {(t, f): min(float(inst.e_node[n]) for r in rs for n in data.hosts[(r, t)])
                      for (t, f), rs in users.items() if any(data.hosts[(r, t)] for r in rs)}
        m.used = pyo.Var(list(host_floor), bounds=(0, 1))
        m.used_by = pyo.Constraint([(t, f, r) for (t, f) in host_floor for r in users[(t, f)]],
                                   rule=lambda m, t, f, r: m.used[t, f] >= m.X[r])
        m.theta_floor = pyo.Constraint(T, rule=lambda m, t: m.theta[t] >= sum(
            chan[(r, tt)] * m.X[r] for r, tt in data.TR if tt == t) + sum(
            e * m.used[tt, f] for (tt, f), e in host_floor.items() if tt == t))
        m.obj = pyo.Objective(expr=sum(m.X[r] for r in range(inst.R)) - inst.alpha * (
            e_uav + sum(m.theta[t] for t in T)), sense=pyo.maximize)
        m.cuts = pyo.ConstraintList()
        self.m = m
        self.n_feasibility = 0
        self.n_optimality = 0

    def read(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(X (R,) int, UAV areas (T, N_u) int, θ (T,) eu) of the loaded master solution."""
        inst, m = self.inst, self.m
        x = np.array([int(round(m.X[r].value or 0.0)) for r in range(inst.R)], dtype=np.int64)
        areas = np.array([[max(range(inst.A), key=lambda a: m.S[t, n, a].value or 0.0) for n in inst.uavs]
                          for t in range(inst.T)], dtype=np.int64).reshape(inst.T, inst.n_uav)
        theta = np.array([m.theta[t].value or 0.0 for t in range(inst.T)])
        return x, areas, theta

    def _uav_terms(self, t: int, pattern: tuple, rel: dict):
        """Σ over the fixed entries of `pattern` of 0/1 expressions, each 0 exactly when the UAV's area meets its
        entry (rel: UAV n -> the areas that matter)."""
        m, expr = self.m, 0
        for j, n in enumerate(self.inst.uavs):
            e = pattern[j]
            if e is None:
                continue
            if e >= 0:
                expr += 1 - m.S[t, n, e]
            elif rel[n]:
                expr += sum(m.S[t, n, b] for b in sorted(rel[n]))
        return expr

    def add_feasibility(self, t: int, requests, pattern: tuple, rel: dict) -> None:
        """Not all of `requests` in frame t while the UAV areas meet `pattern`."""
        m = self.m
        m.cuts.add(sum(1 - m.X[r] for r in requests) + self._uav_terms(t, pattern, rel) >= 1)
        self.n_feasibility += 1

    def add_optimality(self, t: int, requests, pattern: tuple, rel: dict, energy: float) -> None:
        """θ_t >= energy (eu) while every request of `requests` is accepted and the UAV areas meet `pattern`."""
        if energy <= TOL:
            return
        m = self.m
        m.cuts.add(m.theta[t] >= energy * (1 - sum(1 - m.X[r] for r in requests)
                                           - self._uav_terms(t, pattern, rel)))
        self.n_optimality += 1

    def set_start(self, x: np.ndarray, areas: np.ndarray, energies: np.ndarray) -> None:
        """Load a verified solution as the master's variable values (a MIP start with warm_start=True)."""
        inst, m, data = self.inst, self.m, self.data
        for r in range(inst.R):
            m.X[r].set_value(float(x[r]))
        for key in m.used:
            t, f = key
            m.used[key].set_value(float(any(x[r] for r in frames_using(data, t, f))))
        prev = np.asarray(inst.node_area[inst.n_core + inst.n_rsu:], dtype=np.int64)
        for t in range(inst.T):
            for j, n in enumerate(inst.uavs):
                for a in range(inst.A):
                    m.S[t, n, a].set_value(1.0 if a == areas[t, j] else 0.0)
            if data.movement == "transition":
                for j, n in enumerate(inst.uavs):
                    for a in range(inst.A):
                        for b in range(inst.A):
                            m.M[t, n, a, b].set_value(1.0 if (a, b) == (prev[j], areas[t, j]) else 0.0)
            else:
                for j, n in enumerate(inst.uavs):
                    m.Emov[t, n].set_value(float(inst.move_energy[j, prev[j], areas[t, j]]))
            prev = areas[t]
            m.theta[t].set_value(float(energies[t]))


def frames_using(data: milp.ModelData, t: int, f: int) -> list:
    """Requests active in frame t whose service uses function f."""
    return [r for r, tt, ff in data.TRF if tt == t and ff == f]


def request_channel_floor(inst, data: milp.ModelData) -> dict:
    """(r, t) -> lower bound of the channel energy of serving r in frame t (eu): its Ť_r cheapest good slots,
    collisions ignored; 0 for a solo request-frame, whose exact cost the frame energy charges on X."""
    out = {}
    for r, t in data.TR:
        if (r, t) in data.solo:
            out[(r, t)] = sum(float(inst.e_chan[c]) for _, c in data.solo[(r, t)] or ())
            continue
        a = inst.area(r, t)
        costs = []
        for tau in range(t * inst.K, (t + 1) * inst.K):
            good = np.flatnonzero(inst.Q[:, a, tau] == 1)
            if good.size:
                costs.append(float(inst.e_chan[good].min()))
        need = int(inst.req_slots[r])
        out[(r, t)] = float(sum(sorted(costs)[:need])) if len(costs) >= need else 0.0
    return out


@dataclass
class Incumbent:
    """A verified solution: acceptance (R,), UAV areas (T, N_u), frame energies (T,) eu, objective, values."""

    x: np.ndarray
    areas: np.ndarray
    energies: np.ndarray
    objective: float
    values: dict


def infeasible_core(frames: FrameProblems, t: int, requests, areas_t, deadline) -> list:
    """A minimal infeasible subset of `requests` in frame t with UAV areas areas_t (None: free), by a deletion
    filter; the whole set when time runs out."""
    core = list(requests)
    for r in list(requests):
        trial = [q for q in core if q != r]
        left = None if deadline is None else deadline - time.perf_counter()
        result = frames.solve(t, trial, frames.pattern(t, trial, areas_t), left, FEAS_GAP)
        if result.feasible is False:
            core = trial
        elif result.feasible is None:
            break
    return core


def separate(inst, frames: FrameProblems, master: Master, x, areas, theta, deadline) -> bool:
    """Add the cuts that the master solution (x (R,), areas (T, N_u), θ (T,) eu) violates. False when a frame
    subproblem ran out of time.

    Per frame with accepted requests Q: the free optimum (valid for every UAV plan); when the master's θ_t meets
    it, the optimum with the master's areas and, when that one cuts, the optimum with one UAV kept at its master
    area and the others free."""
    complete = True
    free_pattern = (None,) * inst.n_uav

    def left():
        return None if deadline is None else deadline - time.perf_counter()

    for t in range(inst.T):
        requests = [r for r in frames.active[t] if x[r]]
        if not requests:
            continue
        rel = frames.relevant(t, requests)
        free = frames.solve(t, requests, free_pattern, left(), COARSE_GAP)
        if free.feasible is False:
            core = infeasible_core(frames, t, requests, None, deadline)
            master.add_feasibility(t, core, free_pattern, frames.relevant(t, core))
            continue
        if free.feasible and not free.exact and free.bound <= theta[t] + TOL:
            free = frames.solve(t, requests, free_pattern, left())      # the coarse bound does not cut: exact
        if free.feasible is None:
            complete = False
            continue
        lower = theta[t]
        if free.bound > lower + TOL:
            master.add_optimality(t, requests, free_pattern, rel, free.bound)
            continue        # the master misjudged the frame for every UAV plan: no plan-specific cuts yet
        full = frames.pattern(t, requests, areas[t])
        exact = frames.solve(t, requests, full, left())
        if exact.feasible is None:
            complete = False
            continue
        if exact.feasible is False:
            core = infeasible_core(frames, t, requests, areas[t], deadline)
            master.add_feasibility(t, core, frames.pattern(t, core, areas[t]), frames.relevant(t, core))
        elif exact.bound > lower + TOL:
            master.add_optimality(t, requests, full, rel, exact.bound)
        else:
            continue
        for j in range(inst.n_uav):
            single = frames.pattern(t, requests, areas[t], keep={j})
            res = frames.solve(t, requests, single, left())
            if res.feasible is False:
                master.add_feasibility(t, requests, single, rel)
            elif res.feasible and res.bound > lower + TOL:
                master.add_optimality(t, requests, single, rel, res.bound)
    return complete


def incumbent(inst, frames: FrameProblems, x: np.ndarray, areas: np.ndarray, results: dict) -> Incumbent:
    """The verified solution of acceptance x, UAV areas (T, N_u) and feasible frame results {t: FrameResult}."""
    energies = np.array([results[t].energy for t in range(inst.T)], dtype=float)
    values = {}
    for t in range(inst.T):
        values.update(results[t].values)
    objective = float(x.sum()) - inst.alpha * (flight_energy(inst, areas) + float(energies.sum()))
    return Incumbent(x.copy(), areas.copy(), energies, objective, values)


def fixed_plan(inst, frames: FrameProblems, x: np.ndarray, areas: np.ndarray) -> Incumbent | None:
    """(x, areas) as a verified solution when every frame was solved feasible with these areas (cache only)."""
    results = {}
    for t in range(inst.T):
        requests = tuple(r for r in frames.active[t] if x[r])
        res = frames.cache.get((t, requests, frames.pattern(t, requests, areas[t]))) if requests else \
            FrameResult(True, 0.0, 0.0, {})
        if res is None or res.feasible is not True:
            return None
        results[t] = res
    return incumbent(inst, frames, x, areas, results)


def free_plan(inst, frames: FrameProblems, x: np.ndarray, deadline) -> Incumbent | None:
    """Drop requests of x until every frame is feasible with its own best UAV areas, then fly the UAVs that
    matter to each frame to those areas (the others stay): a verified solution, None when time runs out."""
    key = tuple(int(v) for v in x)
    if key in frames.plans:
        return frames.plans[key]
    free = (None,) * inst.n_uav

    def left():
        return None if deadline is None else deadline - time.perf_counter()

    x = x.copy()
    while True:
        cores = []
        for t in range(inst.T):
            requests = [r for r in frames.active[t] if x[r]]
            res = frames.solve(t, requests, free, left(), FEAS_GAP)
            if res.feasible is None:
                return None
            if res.feasible is False:
                cores.append(infeasible_core(frames, t, requests, None, deadline))
        if not cores:
            break
        hits = np.zeros(inst.R, dtype=np.int64)      # drop the request in most infeasible cores (lowest id)
        for core in cores:
            hits[core] += 1
        x[int(np.argmax(hits))] = 0
    results = {t: frames.solve(t, [r for r in frames.active[t] if x[r]], free, left(), COARSE_GAP)
               for t in range(inst.T)}
    if any(res.feasible is not True for res in results.values()):
        return None
    areas = np.zeros((inst.T, inst.n_uav), dtype=np.int64)
    prev = np.asarray(inst.node_area[inst.n_core + inst.n_rsu:], dtype=np.int64)
    for t in range(inst.T):
        rel = frames.relevant(t, [r for r in frames.active[t] if x[r]])
        for j, n in enumerate(inst.uavs):
            own = results[t].areas
            areas[t, j] = own[j] if own is not None and int(own[j]) in rel[n] else prev[j]
        prev = areas[t]
    frames.plans[key] = incumbent(inst, frames, x, areas, results)
    return frames.plans[key]


def record(inst, data: milp.ModelData, inc: Incumbent):
    """The §6.1 decision record of a verified solution and its cleaned objective."""
    m = milp.build_model(inst, data)
    for r in range(inst.R):
        m.X[r].set_value(float(inc.x[r]))
    for t in range(inst.T):
        for j, n in enumerate(inst.uavs):
            for a in range(inst.A):
                m.S[t, n, a].set_value(1.0 if a == inc.areas[t, j] else 0.0)
    for name in frame_vars(m):
        for v in getattr(m, name).values():
            v.set_value(0.0)
    for (name, idx), val in inc.values.items():
        getattr(m, name)[idx].set_value(val)
    return milp.extract_decisions(inst, data, m)


def solve(inst, *, seed: int = 0, time_limit: float | None = 600.0, gap: float = 1e-4, solver: str = "highs",
          threads: int | None = None, route_set: str = "candidates", movement: str = "auto",
          max_iterations: int | None = None, log=False):
    """Method `allocate-benders`: the exact optimum of §5.2 by logic-based Benders decomposition.

    seed is unused (deterministic); time_limit in s (wall clock, whole method); gap: relative gap at which the
    master bound and the best verified incumbent count as equal (status optimal); max_iterations: master solves
    at most (None: no limit); log: True (stderr) or a text stream for one line per iteration.
    """
    from optkit.solution import Solution, Status
    from optkit.solver import solve_model

    start = time.perf_counter()
    deadline = None if time_limit is None else start + time_limit
    stream = sys.stderr if log is True else (log or None)
    data = milp.build_data(inst, route_set=route_set, movement=movement)
    master = Master(inst, data)
    frames = FrameProblems(inst, data, solver, threads)
    build_s = time.perf_counter() - start

    best: Incumbent | None = None
    bound = math.inf
    iterations = 0
    master_s = 0.0
    status = Status.TIME_LIMIT
    trajectory = []
    message = ""
    while True:
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left <= 0:
            message = "stopped at the time limit"
            break
        if max_iterations is not None and iterations >= max_iterations:
            message = "stopped at max_iterations"
            break
        if best is not None:
            master.set_start(best.x, best.areas, best.energies)
        t0 = time.perf_counter()
        report = solve_model(master.m, solver=solver, time_limit=left, rel_gap=gap / 2, threads=threads,
                             warm_start=best is not None)
        master_s += time.perf_counter() - t0
        iterations += 1
        if report.bound is not None:
            bound = min(bound, report.bound)
        if not report.has_solution:
            message = f"master: {report.message or report.termination}"
            if str(report.status) != "time_limit":
                status = Status.FEASIBLE if best is not None else Status.ERROR
            break
        x, areas, theta = master.read()
        complete = separate(inst, frames, master, x, areas, theta, deadline)
        for candidate in (fixed_plan(inst, frames, x, areas), free_plan(inst, frames, x, deadline)):
            if candidate is not None and (best is None or candidate.objective > best.objective + TOL):
                best = candidate
        elapsed = time.perf_counter() - start
        trajectory.append((elapsed, None if best is None else best.objective, bound))
        if stream is not None:
            print(f"[allocate-benders] iteration {iterations} {elapsed:.1f}s master {report.status} bound "
                  f"{bound:.6f} incumbent {math.nan if best is None else best.objective:.6f} cuts "
                  f"{master.n_feasibility} feasibility / {master.n_optimality} optimality, "
                  f"{frames.solves} frame solves", file=stream, flush=True)
        if best is not None and bound - best.objective <= max(gap * abs(best.objective), TOL):
            status = Status.OPTIMAL
            break
        if frames.failure:
            message = frames.failure
            status = Status.FEASIBLE if best is not None else Status.ERROR
            break
        if not complete or str(report.status) == "time_limit":
            message = "stopped at the time limit"
            break
    if best is None:
        decisions, objective_cleaned, objective = Decisions.empty(inst), None, None
    else:
        decisions, objective_cleaned = record(inst, data, best)
        objective = best.objective
    bound_out = None if math.isinf(bound) else bound
    if objective is not None and bound_out is not None and bound_out < objective:
        bound_out = objective        # numerical noise of the master's bound (its cuts are valid)
    gap_out = None
    if objective is not None and bound_out is not None:
        diff = bound_out - objective
        gap_out = 0.0 if diff <= TOL else (math.inf if abs(objective) <= 1e-10 else diff / abs(objective))
    info = {"iterations": iterations, "build_s": build_s, "master_s": master_s, "frame_s": frames.solve_s,
            "frame_solves": frames.solves, "feasibility_cuts": master.n_feasibility,
            "optimality_cuts": master.n_optimality, "objective_cleaned": objective_cleaned,
            "trajectory": trajectory, "message": message, "route_set": route_set}
    return Solution(family="allocate", method="allocate-benders", status=status, decisions=decisions,
                    objective=objective, bound=bound_out, gap=gap_out, runtime_s=time.perf_counter() - start,
                    info=info)
