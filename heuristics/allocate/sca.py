"""Method `sca` of the allocate family (§7.3): penalty successive convex approximation.

Section (§), equation (E) and decision (D) numbers refer to docs/families/allocate.md.

Online and reactive (§6.2): at the end of frame t−1 the SCA-TP LP places the UAVs for frame t from the
requests seen in frame t−1; at the start of frame t the SCA-RA LP decides channels (one whole channel per
request and frame), routes and function placement, then a rounding/repair pass makes the decisions integral
and feasible. Binary variables are relaxed to [0,1] and driven to integrality by the concave penalty
−μ Σ x(1−x), handled by successive linearisation (penalty SCA / minorize–maximize).

Every LP has the form  max (c + g)·x  s.t.  A_ub x ≤ b_ub, A_eq x = b_eq, 0 ≤ x ≤ 1  with the objective data c
and the minorant's linear coefficient g as cvxpy Parameters (DPP): a problem is compiled once per shape
(TP: once per episode; RA: once per distinct frame structure) and every SCA iteration only re-solves it.
"""
from __future__ import annotations

import hashlib
import time

import numpy as np
import scipy.sparse as sp

from optkit.errors import OptkitError
from optkit.formulations.allocate.env import OnlineEnv
from optkit.formulations.allocate.record import ServiceEntry
from optkit.formulations.allocate.online import (CAP_TOL, ChannelEstimate, RouteTable, poa_rule,
                                               reactive_area_weights, rsu_areas)
from optkit.solution import Solution, Status

METHOD_ID = "sca"
MAX_ITERS = 30          # k = 0..29 (§7.3 step 2)
FRAC_TOL = 1e-3         # stop when max_i min(x_i, 1 − x_i) ≤ 10⁻³
STEP_TOL = 1e-4         # stop when ‖x^{k+1} − x^k‖∞ ≤ 10⁻⁴
TIE_TOL = 1e-6          # LP values closer than this count as ties in the rounding rules


class SolverFailure(OptkitError):
    """An SCA subproblem LP did not solve to optimality (it is always feasible and bounded: a bug or a solver fault)."""


def lp_solver() -> str:
    """HIGHS when cvxpy has it, else CLARABEL (§7.3)."""
    import cvxpy as cp

    return "HIGHS" if "HIGHS" in cp.installed_solvers() else "CLARABEL"


def penalty_mu(k: int) -> float:
    """μ_k = min(0.05·1.5^k, 10) (§7.3 step 2)."""
    return min(0.05 * 1.5 ** k, 10.0)


def fractionality(x: np.ndarray) -> float:
    """max_i min(x_i, 1 − x_i) (0 for an empty x)."""
    return float(np.max(np.minimum(x, 1.0 - x))) if x.size else 0.0


def penalized_objective(c: np.ndarray, x: np.ndarray, mu: float) -> float:
    """f(x) − μ Σ_i x_i(1 − x_i) with f(x) = c·x."""
    return float(c @ x - mu * np.sum(x * (1.0 - x)))


class PenaltyLP:
    """max (c + g)·x s.t. A_ub x ≤ b_ub, A_eq x = b_eq, 0 ≤ x ≤ 1, x ∈ R^m; c and g are cvxpy Parameters (DPP)."""

    def __init__(self, m: int, A_ub=None, b_ub=None, A_eq=None, b_eq=None, solver: str | None = None):
        import cvxpy as cp

        self.m = int(m)
        self.x = cp.Variable(self.m)
        self.c = cp.Parameter(self.m)
        self.g = cp.Parameter(self.m)
        cons = [self.x >= 0, self.x <= 1]
        if A_ub is not None and A_ub.shape[0]:
            cons.append(sp.csr_matrix(A_ub) @ self.x <= np.asarray(b_ub, dtype=float))
        if A_eq is not None and A_eq.shape[0]:
            cons.append(sp.csr_matrix(A_eq) @ self.x == np.asarray(b_eq, dtype=float))
        self.problem = cp.Problem(cp.Maximize((self.c + self.g) @ self.x), cons)
        self.solver = solver or lp_solver()
        self.solves = 0

    def solve(self, c: np.ndarray, g: np.ndarray) -> np.ndarray:
        """Optimal x (clipped to [0,1]) for objective coefficients c + g."""
        self.c.value = np.asarray(c, dtype=float)
        self.g.value = np.asarray(g, dtype=float)
        options = {"warm_start": False} if self.solver == "HIGHS" else {}
        self.problem.solve(solver=self.solver, **options)
        self.solves += 1
        if self.problem.status != "optimal" or self.x.value is None:
            raise SolverFailure(f"SCA subproblem: solver {self.solver} returned status '{self.problem.status}'")
        return np.clip(np.asarray(self.x.value, dtype=float), 0.0, 1.0)


def penalty_sca(lp: PenaltyLP, c: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Penalty-SCA routine of §7.3 for max c·x − μ Σ x(1−x) over the LP's polytope.

    Step 1: x⁰ = LP relaxation (μ = 0); stop if fractionality ≤ 10⁻³. Step 2: for k = 0..29, μ_k =
    min(0.05·1.5^k, 10); maximise the minorant c·x + μ_k Σ_i (2 x_i^k x_i − (x_i^k)² − x_i), i.e. the LP with
    g = μ_k (2x^k − 1) (constants dropped) -> x^{k+1}; stop when fractionality ≤ 10⁻³ or ‖x^{k+1} − x^k‖∞ ≤ 10⁻⁴.
    Returns the final x (unrounded) and the iterates [x⁰, x¹, ...].
    """
    c = np.asarray(c, dtype=float)
    x = lp.solve(c, np.zeros(lp.m))
    iterates = [x]
    if fractionality(x) <= FRAC_TOL:
        return x, iterates
    for k in range(MAX_ITERS):
        mu = penalty_mu(k)
        x_new = lp.solve(c, mu * (2.0 * x - 1.0))
        iterates.append(x_new)
        done = fractionality(x_new) <= FRAC_TOL or float(np.max(np.abs(x_new - x))) <= STEP_TOL
        x = x_new
        if done:
            break
    return x, iterates


class LPBuilder:
    """Rows of a sparse LP in the PenaltyLP form, added one constraint at a time."""

    def __init__(self):
        self.m = 0
        self.c: list[float] = []
        self.rows = {"ub": ([], [], []), "eq": ([], [], [])}   # (row ids, columns, values)
        self.rhs = {"ub": [], "eq": []}

    def var(self, cost: float) -> int:
        self.c.append(float(cost))
        self.m += 1
        return self.m - 1

    def row(self, kind: str, cols, vals, rhs: float) -> None:
        rid, cc, vv = self.rows[kind]
        i = len(self.rhs[kind])
        rid.extend([i] * len(cols))
        cc.extend(cols)
        vv.extend(vals)
        self.rhs[kind].append(float(rhs))

    def matrices(self):
        """(A_ub, b_ub, A_eq, b_eq) as CSR matrices and arrays."""
        out = []
        for kind in ("ub", "eq"):
            rid, cc, vv = self.rows[kind]
            n = len(self.rhs[kind])
            out += [sp.csr_matrix((np.asarray(vv, dtype=float), (np.asarray(rid, dtype=np.int64),
                                                                  np.asarray(cc, dtype=np.int64))), shape=(n, self.m)),
                    np.asarray(self.rhs[kind], dtype=float)]
        return tuple(out)


class ProblemCache:
    """PenaltyLP per LP structure (A_ub, b_ub, A_eq, b_eq): identical shapes are compiled once."""

    def __init__(self, solver: str):
        self.solver = solver
        self._problems: dict[str, PenaltyLP] = {}
        self.compiled = 0

    def get(self, m: int, A_ub, b_ub, A_eq, b_eq) -> PenaltyLP:
        digest = hashlib.sha1(str(m).encode())
        for mat, rhs in ((A_ub, b_ub), (A_eq, b_eq)):
            mat = sp.csr_matrix(mat)
            mat.sort_indices()
            for arr in (mat.indptr, mat.indices, mat.data, rhs, np.asarray(mat.shape)):
                digest.update(np.ascontiguousarray(arr).tobytes())
                digest.update(b"|")
        key = digest.hexdigest()
        if key not in self._problems:
            self._problems[key] = PenaltyLP(m, A_ub, b_ub, A_eq, b_eq, solver=self.solver)
            self.compiled += 1
        return self._problems[key]


# ---------------------------------------------------------------------------------------------- SCA-TP
def trajectory_lp(static, cache: ProblemCache) -> PenaltyLP:
    """SCA-TP polytope (§7.3): x = [s (N_u·A, row-major by UAV), c (A)]; Σ_a s_{n,a} = 1 ∀n,
    c_a − Σ_n s_{n,a} ≤ rsu_a ∀a."""
    Nu, A = static.n_uav, static.A
    b = LPBuilder()
    for _ in range(Nu * A + A):
        b.var(0.0)
    for j in range(Nu):
        b.row("eq", [j * A + a for a in range(A)], [1.0] * A, 1.0)
    rsu = rsu_areas(static)
    for a in range(A):
        b.row("ub", [Nu * A + a] + [j * A + a for j in range(Nu)], [1.0] + [-1.0] * Nu, rsu[a])
    return cache.get(b.m, *b.matrices())


def sca_tp(static, cache: ProblemCache, current_area: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, int]:
    """UAV areas of frame t (N_u,) from SCA-TP: f = Σ_a w_a c_a − α Σ_{n,a} Λ_n(area^{t−1}_n, a) s_{n,a};
    rounding area_n = argmax_a s_{n,a} (ties: current area, then lower id). Returns (areas, LP solves)."""
    Nu, A = static.n_uav, static.A
    current = np.asarray(current_area, dtype=np.int64)
    if Nu == 0:
        return current.copy(), 0
    lp = trajectory_lp(static, cache)
    move = static.alpha * static.move_energy[np.arange(Nu), current, :]               # (N_u, A) eu·α
    c = np.concatenate([-move.ravel(), np.asarray(weights, dtype=float)])
    before = lp.solves
    x, _ = penalty_sca(lp, c)
    s = x[:Nu * A].reshape(Nu, A)
    out = np.empty(Nu, dtype=np.int64)
    for j in range(Nu):
        top = np.flatnonzero(s[j] >= s[j].max() - TIE_TOL)
        out[j] = current[j] if current[j] in top else int(top[0])
    return out, lp.solves - before


# ---------------------------------------------------------------------------------------------- SCA-RA
class ResourceLP:
    """Variables and data of one SCA-RA LP (§7.3) for frame t; index maps into x."""

    def __init__(self, static, info, poa: dict, q_hat: np.ndarray, table: RouteTable):
        K, alpha = static.K, static.alpha
        self.requests = []                         # Rt with an eligible channel, increasing r
        self.eligible = {}                         # r -> [c]  (EC_r)
        self.routes = {}                           # r -> [RouteOption] (CR_r, latency-filtered, router order)
        for q in sorted(info.active, key=lambda q: q.r):
            if q.r not in poa:
                continue
            a = int(info.ue_area[q.ue])
            ec = [c for c in range(static.C) if K * q_hat[c, a] >= q.slots]
            if not ec:                             # acc_r ≤ Σ_c z_{r,c} = 0: the request's variables are all 0
                continue
            self.requests.append(q)
            self.eligible[q.r] = ec
            self.routes[q.r] = [p for p in table.routes(poa[q.r]) if p.lat <= q.latency]
        b = LPBuilder()
        self.acc, self.z, self.qv, self.v, self.y = {}, {}, {}, {}, {}
        for q in self.requests:
            self.acc[q.r] = b.var(1.0)
            for c in self.eligible[q.r]:
                self.z[(q.r, c)] = b.var(-alpha * K * float(static.e_chan[c]))
            for i, p in enumerate(self.routes[q.r]):
                self.qv[(q.r, i)] = b.var(-alpha * p.energy)
            nodes = sorted({n for p in self.routes[q.r] for n in p.nodes})
            for f in q.funcs:
                for n in nodes:
                    self.v[(q.r, f, n)] = b.var(0.0)
                    if (f, n) not in self.y:
                        self.y[(f, n)] = None
        for fn in sorted(self.y):
            self.y[fn] = b.var(-alpha * float(static.e_node[fn[1]]))
        by_area_channel: dict[tuple[int, int], list[int]] = {}
        node_rows: dict[int, tuple[list, list]] = {}
        link_rows: dict[int, tuple[list, list]] = {}
        for q in self.requests:
            r = q.r
            zs = [self.z[(r, c)] for c in self.eligible[r]]
            qs = [self.qv[(r, i)] for i in range(len(self.routes[r]))]
            b.row("ub", zs, [1.0] * len(zs), 1.0)                                   # Σ_c z ≤ 1
            b.row("ub", [self.acc[r]] + zs, [1.0] + [-1.0] * len(zs), 0.0)          # acc ≤ Σ_c z
            b.row("ub", qs, [1.0] * len(qs), 1.0)                                   # Σ_p q ≤ 1
            b.row("ub", [self.acc[r]] + qs, [1.0] + [-1.0] * len(qs), 0.0)          # acc ≤ Σ_p q
            a = int(info.ue_area[q.ue])
            for c in self.eligible[r]:
                by_area_channel.setdefault((a, c), []).append(self.z[(r, c)])
            nodes = sorted({n for p in self.routes[r] for n in p.nodes})
            for f, demand in zip(q.funcs, q.demand):
                vs = [self.v[(r, f, n)] for n in nodes]
                b.row("eq", vs + [self.acc[r]], [1.0] * len(vs) + [-1.0], 0.0)      # Σ_n v = acc
                for n in nodes:
                    vi = self.v[(r, f, n)]
                    b.row("ub", [vi, self.y[(f, n)]], [1.0, -1.0], 0.0)             # v ≤ y
                    through = [self.qv[(r, i)] for i, p in enumerate(self.routes[r]) if n in p.nodes]
                    b.row("ub", [vi] + through, [1.0] + [-1.0] * len(through), 0.0)  # v ≤ Σ_{p∋n} q
                    cols, vals = node_rows.setdefault(n, ([], []))
                    cols.append(vi)
                    vals.append(float(demand))
            for i, p in enumerate(self.routes[r]):
                for l in p.links:
                    cols, vals = link_rows.setdefault(l, ([], []))
                    cols.append(self.qv[(r, i)])
                    vals.append(float(q.bw))
        for key in sorted(by_area_channel):
            zs = by_area_channel[key]
            if len(zs) > 1:
                b.row("ub", zs, [1.0] * len(zs), 1.0)                              # Σ_{r in a} z_{r,c} ≤ 1
        for n in sorted(node_rows):
            b.row("ub", *node_rows[n], float(static.cap[n]))                        # node capacity
        for l in sorted(link_rows):
            b.row("ub", *link_rows[l], float(static.link_cap[l]))                   # link bandwidth
        self.builder = b

    @property
    def size(self) -> int:
        return self.builder.m


def sca_ra(static, info, q_hat: np.ndarray, cache: ProblemCache):
    """Start of frame t: PoA rule, SCA-RA LP with penalty SCA, rounding and repair (§7.3).

    Returns (poa, channels, placement, service, LP solves, LP size)."""
    poa = poa_rule(static, info)
    table = RouteTable(info.graph)
    model = ResourceLP(static, info, poa, q_hat, table)
    x = np.zeros(0)
    solves = 0
    if model.size:
        lp = cache.get(model.size, *model.builder.matrices())
        before = lp.solves
        x, _ = penalty_sca(lp, np.asarray(model.builder.c))
        solves = lp.solves - before
    channels, placement, service = round_and_repair(static, info, model, x)
    return poa, channels, placement, service, solves, model.size


def round_and_repair(static, info, model: ResourceLP, x: np.ndarray):
    """§7.3 rounding and repair: requests by decreasing acc_r (ties: Ď_r, r); channel = argmax z_{r,c} among the
    eligible channels still free in its area (ties: lower M̄_c, lower c; none -> skip); routes by decreasing
    q_{r,p}, then router order; per f the route node with the largest v_{r,f,n} among those with remaining
    capacity ≥ Ǐ_{r,f} (ties: already deployed, lower Ē_n, closer to the head); the first route whose functions
    all fit and whose links have Ľ_r left is committed (new instances deployed, capacity and bandwidth reserved,
    the channel used in all K slots); otherwise the channel is released and r skipped."""
    K, t = static.K, info.t
    rem_cap = np.array(static.cap, dtype=float)
    rem_bw = np.array(static.link_cap, dtype=float)
    taken: set[tuple[int, int]] = set()        # (area, channel) used for the whole frame
    placement: set[tuple[int, int]] = set()
    channels: dict[tuple[int, int], int] = {}
    service: dict[int, ServiceEntry] = {}
    val = lambda i: float(x[i])                # noqa: E731
    order = sorted(model.requests, key=lambda q: (-round(val(model.acc[q.r]) / TIE_TOL), q.latency, q.r))
    for q in order:
        r, a = q.r, int(info.ue_area[q.ue])
        free = [c for c in model.eligible[r] if (a, c) not in taken]
        if not free:
            continue
        best_z = max(val(model.z[(r, c)]) for c in free)
        channel = min((c for c in free if val(model.z[(r, c)]) >= best_z - TIE_TOL),
                      key=lambda c: (float(static.e_chan[c]), c))
        routes = model.routes[r]
        route_order = sorted(range(len(routes)), key=lambda i: (-round(val(model.qv[(r, i)]) / TIE_TOL), i))
        for i in route_order:
            p = routes[i]
            if any(rem_bw[l] < q.bw - CAP_TOL for l in p.links):
                continue
            hosts = _round_hosts(static, model, x, q, p.nodes, placement, rem_cap)
            if hosts is None:
                continue
            for f, demand in zip(q.funcs, q.demand):
                rem_cap[hosts[f]] -= demand
                placement.add((f, hosts[f]))
            rem_bw[list(p.links)] -= q.bw
            taken.add((a, channel))
            for k in range(K):
                channels[(r, t * K + k)] = channel
            service[r] = ServiceEntry(p.nodes, hosts)
            break
    return channels, placement, service


def _round_hosts(static, model: ResourceLP, x, q, nodes: tuple, placement: set, rem_cap: np.ndarray):
    """Hosts {f: n} on a route for the rounding step, or None if some function does not fit."""
    reserved: dict[int, float] = {}
    hosts = {}
    for f, demand in zip(q.funcs, q.demand):
        fits = [(pos, n) for pos, n in enumerate(nodes) if rem_cap[n] - reserved.get(n, 0.0) >= demand - CAP_TOL]
        if not fits:
            return None
        _, n = min(fits, key=lambda pn: (-round(float(x[model.v[(q.r, f, pn[1])]]) / TIE_TOL),
                                         (f, pn[1]) not in placement, float(static.e_node[pn[1]]), pn[0]))
        hosts[f] = n
        reserved[n] = reserved.get(n, 0.0) + demand
    return hosts


# ---------------------------------------------------------------------------------------------- method
def solve(inst, *, seed: int = 0, time_limit: float | None = None) -> Solution:
    """Run `sca` online through OnlineEnv (§6.2) and return its decisions (status FEASIBLE).

    sca is deterministic (no method-internal randomness); `seed` is recorded only. `time_limit` is accepted for
    the common method interface and not used: the work per frame is bounded (≤ 31 LP solves per subproblem).
    runtime_s is the wall time spent deciding (TP, RA, estimate updates), the environment's scoring excluded.
    """
    env = OnlineEnv(inst)
    static = env.static
    solver = lp_solver()          # imports cvxpy (once per process) outside the timed decisions
    start = time.perf_counter()
    cache = ProblemCache(solver)
    q_hat = ChannelEstimate(static.C, static.A, weight=1.0)     # reactive: latest observation, 0.5 if never
    area = env.initial_uav_area
    stats = {"tp_solves": 0, "ra_solves": 0, "ra_max_vars": 0}
    clock = {"decide_s": time.perf_counter() - start}
    try:
        _run_frames(inst, env, static, cache, q_hat, area, stats, clock)
    except SolverFailure as exc:     # a solver fault is a status: the frames committed so far are kept
        return Solution(family="allocate", method=METHOD_ID, status=Status.ERROR, decisions=env.decisions,
                        runtime_s=clock["decide_s"],
                        info={"method_seed": seed, "solver": cache.solver, "message": str(exc), **stats})
    return Solution(family="allocate", method=METHOD_ID, status=Status.FEASIBLE, decisions=env.decisions,
                    runtime_s=clock["decide_s"],
                    info={"method_seed": seed, "solver": cache.solver, "compiled_lps": cache.compiled, **stats})


def _run_frames(inst, env, static, cache, q_hat, area, stats: dict, clock: dict) -> None:
    """The frame loop of `solve`; decision wall time accumulates in clock["decide_s"] (kept if a solve fails)."""
    prev_info, failed = None, frozenset()
    for t in range(inst.T):
        start = time.perf_counter()
        area, n_solves = sca_tp(static, cache, area, reactive_area_weights(static, prev_info, failed))
        stats["tp_solves"] += n_solves
        clock["decide_s"] += time.perf_counter() - start
        env.commit_uav_areas(t, area)
        info = env.start_frame(t)
        start = time.perf_counter()
        poa, channels, placement, service, n_solves, size = sca_ra(static, info, q_hat.q, cache)
        stats["ra_solves"] += n_solves
        stats["ra_max_vars"] = max(stats["ra_max_vars"], size)
        clock["decide_s"] += time.perf_counter() - start
        feedback = env.commit_frame(t, poa, channels, placement, service)
        start = time.perf_counter()
        q_hat.update(feedback)
        prev_info, failed = info, frozenset(feedback.failed)
        clock["decide_s"] += time.perf_counter() - start
