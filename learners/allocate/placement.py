"""Placement decision process of one frame (§7.2.5, Decision D16), shared by `perfect`
(masked D3QL) and `haddqn` (unmasked DDQN, §7.4), plus the per-frame energy/reward helpers.

State o_k (float32 vector, length 2F + 4N + F·N):
    per function f: requested Σ_{r∈Rc} Ǐ_{r,f}/100, unmet need_f/100;
    per node n: Ĉ_n/100, Ē_n/36, remaining capacity rem_n/100, reachable demand/100;
    deployment indicator of every (f, n) (index f·N + n).
Actions: deploy (f, n) = index f·N + n, STOP = F·N.
Section (§), equation (E) and decision (D) numbers refer to docs/families/allocate.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CAP_TOL = 1e-9   # capacity comparisons use the evaluator's tolerance (§6.3 step 6)


def reachability(static, info, poa: dict, requests) -> dict[int, np.ndarray]:
    """r -> (N,) bool: node n is reached from r's PoA in G^t by a latency-shortest path of latency <= Ď_r."""
    import networkx as nx

    dist_from: dict[int, dict] = {}
    reach = {}
    for q in requests:
        h = poa[q.r]
        if h not in dist_from:
            dist_from[h] = nx.single_source_dijkstra_path_length(info.graph, h, weight="lat")
        row = np.zeros(static.N, dtype=bool)
        for n, d in dist_from[h].items():
            row[int(n)] = d <= q.latency
        reach[q.r] = row
    return reach


def route_sets(static, info, poa: dict, requests) -> dict[int, list[frozenset]]:
    """r -> node sets of the candidate routes CR(PoA_r, G^t) (§7.0) with D_p <= Ď_r and every link's bandwidth
    >= Ľ_r: the hosts of r must lie together on one of them for the router to serve r (deviation DV-PL1 of
    the placement process: pre-assignment and mask use it, see PlacementProblem)."""
    from optkit.formulations.allocate.online import RouteTable

    table = RouteTable(info.graph)
    link_cap = np.asarray(static.link_cap, dtype=float)
    out = {}
    for q in requests:
        sets = []
        for p in table.routes(poa[q.r]):
            if p.lat <= q.latency and all(link_cap[l] >= q.bw - CAP_TOL for l in p.links):
                sets.append(frozenset(p.nodes))
        out[q.r] = sets
    return out


@dataclass
class PlacementProblem:
    """Dynamic state of the frame's placement sequence. `pairs` lists the (r, f, Ǐ_{r,f}) of Rc_t."""

    static: object
    requests: list                      # Rc_t: Request objects with at least one allocated block
    reach: dict                         # r -> (N,) bool (see `reachability`)
    alpha: float
    routes: dict | None = None          # r -> node sets of its feasible candidate routes (`route_sets`) or None
    pairs: list = field(default_factory=list)
    assigned: set = field(default_factory=set)     # pre-assigned (r, f)

    def __post_init__(self):
        s = self.static
        self.F, self.N = int(s.n_functions), int(s.N)
        self.n_actions = self.F * self.N + 1
        self.stop = self.F * self.N
        self.requested = np.zeros(self.F)
        self.need = np.zeros(self.F)
        self.reach_demand = np.zeros(self.N)
        self.rem = np.array(s.cap, dtype=float)
        self.deployed = np.zeros((self.F, self.N), dtype=bool)
        self.hosts: dict[int, set] = {q.r: set() for q in self.requests}    # nodes pre-assigned to r
        for q in self.requests:
            for f, demand in zip(q.funcs, q.demand):
                self.pairs.append((q.r, int(f), float(demand)))
                self.requested[f] += demand
                self.need[f] += demand
                self.reach_demand[self.reach[q.r]] += demand
        # pairs of each function in decreasing Ǐ (ties: lower r) for the pre-assignment
        self.pairs.sort(key=lambda p: (p[1], -p[2], p[0]))

    def obs(self) -> np.ndarray:
        s = self.static
        return np.concatenate([self.requested / 100.0, self.need / 100.0, np.asarray(s.cap) / 100.0,
                               np.asarray(s.e_node) / 36.0, self.rem / 100.0, self.reach_demand / 100.0,
                               self.deployed.reshape(-1).astype(float)]).astype(np.float32)

    def _open_pairs(self, f: int) -> list:
        return [p for p in self.pairs if p[1] == f and (p[0], f) not in self.assigned]

    def compatible(self, r: int, n: int) -> bool:
        """n can host a function of r: reachable within Ď_r (§7.2.5) and, when route sets are given (DV-PL1),
        some feasible candidate route of r contains n together with every node already pre-assigned to r."""
        if not self.reach[r][n]:
            return False
        if self.routes is None:
            return True
        need = self.hosts[r] | {int(n)}
        return any(need <= nodes for nodes in self.routes[r])

    def mask(self) -> np.ndarray:
        """(F·N + 1,) bool. (f, n) is valid iff need_f > 0, (f, n) not deployed, and some not yet pre-assigned
        (r, f) fits in rem_n and is `compatible` with n (the deploy pre-assigns at least one pair; §7.2.5's
        separate "rem_n >= min Ǐ" and "reachable by one of them" tests could be met by different pairs, giving
        a deploy that serves nobody). STOP is valid."""
        valid = np.zeros(self.n_actions, dtype=bool)
        valid[self.stop] = True
        for f in np.flatnonzero(self.need > CAP_TOL):
            open_pairs = self._open_pairs(int(f))
            if not open_pairs:
                continue
            ok = np.zeros(self.N, dtype=bool)
            for n in np.flatnonzero(~self.deployed[f]):
                ok[n] = any(self.rem[n] >= d - CAP_TOL and self.compatible(r, n) for r, _, d in open_pairs)
            valid[f * self.N:(f + 1) * self.N] = ok
        return valid

    def any_deploy_valid(self) -> bool:
        return bool(self.mask()[: self.stop].any())

    def deploy(self, action: int) -> float:
        """Deploy (f, n) = divmod(action, N): mark it, pre-assign to n the open (r, f) in decreasing Ǐ_{r,f} that
        reach n and fit in rem_n; returns the step reward -α Ē_n."""
        f, n = divmod(int(action), self.N)
        self.deployed[f, n] = True
        for r, _, demand in self._open_pairs(f):
            if self.rem[n] >= demand - CAP_TOL and self.compatible(r, n):
                self.assigned.add((r, f))
                self.hosts[r].add(int(n))
                self.rem[n] -= demand
                self.need[f] = max(0.0, self.need[f] - demand)
        return -self.alpha * float(self.static.e_node[n])

    def placement(self) -> set:
        return {(int(f), int(n)) for f, n in zip(*np.nonzero(self.deployed))}

    def potential(self) -> float:
        """Φ(o) = Σ_{r∈Rc_t} (pre-assigned pairs of r)/|𝔽_{s_r}| (D33); 0 at the first step of every frame."""
        if not self.assigned:
            return 0.0
        n_funcs = {q.r: len(q.funcs) for q in self.requests}
        return float(sum(1.0 / n_funcs[r] for r, _ in self.assigned))


def rule_choice(problem: PlacementProblem):
    """The placement rule of §7.0 (D35, D36) as a chooser for `run_sequence`: the valid deploy (f, n) with the
    smallest Ē_n (ties: the lowest action index); STOP only when no deploy is valid."""
    e_node = np.asarray(problem.static.e_node, dtype=float)
    cost = np.concatenate([np.tile(e_node, problem.F), [np.inf]])          # action f·N + n costs Ē_n

    def choose(obs, mask):
        mask = problem.mask() if mask is None else mask
        valid = np.flatnonzero(mask[: problem.stop])
        if valid.size == 0:
            return problem.stop
        return int(valid[np.argmin(cost[valid])])                          # argmin: lowest index on ties

    return choose


@dataclass
class Step:
    """One decision of the placement sequence: observation, its mask, action, reward."""

    obs: np.ndarray
    mask: np.ndarray
    action: int
    reward: float
    phi: float = 0.0          # Φ(o) of the step's observation (D33 shaping)


def run_sequence(problem: PlacementProblem, choose, *, use_mask: bool, max_steps: int | None = None,
                 invalid_reward: float = -1.0, invalid_ends: bool = False) -> list[Step]:
    """Build the frame's placement. choose(obs, mask_or_None) -> action. Masked (perfect): the agent sees the
    mask. Unmasked (haddqn): an invalid action gives `invalid_reward` and either ends the sequence like STOP
    (invalid_ends, D34(a)) or leaves the state unchanged (a self-loop, `haddqn-literal`). The sequence ends at
    STOP, after max_steps, or when no deploy is valid; in the last case its last step is the frame's terminal
    step, and a frame with no valid deploy at all records STOP (the only valid action), so every frame has at
    least one step. Each step records Φ of its observation (D33)."""
    steps: list[Step] = []
    while True:
        obs, mask, phi = problem.obs(), problem.mask(), problem.potential()
        if not mask[: problem.stop].any():
            if not steps:
                steps.append(Step(obs, mask, problem.stop, 0.0, phi))
            return steps
        action = int(choose(obs, mask if use_mask else None))
        if action == problem.stop:
            steps.append(Step(obs, mask, action, 0.0, phi))
            return steps
        valid = bool(mask[action])
        reward = problem.deploy(action) if valid else invalid_reward
        steps.append(Step(obs, mask, action, reward, phi))
        if (not valid and invalid_ends) or (max_steps is not None and len(steps) >= max_steps):
            return steps


class PlacementChain:
    """Stores the placement transitions of consecutive frames in a replay memory (§7.2.5):
    discount 1 between steps of a frame, Γ from the frame's last step to the first step of the next frame,
    0 at the episode end. The last step of a frame waits for the next frame's first observation."""

    def __init__(self, memory, gamma: float, n_actions: int, use_mask: bool, inner_discount: float = 1.0,
                 shaping: bool = False, store_mask: bool = False):
        self.memory, self.gamma, self.n_actions, self.use_mask = memory, float(gamma), int(n_actions), use_mask
        self.inner = float(inner_discount)   # between steps of one frame: 1 (§7.2.5); haddqn-literal uses Γ
        self.shaping = bool(shaping)         # D33: F_k = γ_k Φ(o_{k+1}) - Φ(o_k), Φ = 0 at every frame start
        self.store_mask = bool(store_mask)   # also store the validity mask of o (haddqn's invalid-action targets)
        self.pending: Step | None = None

    def _mask(self, step: Step) -> np.ndarray:
        return step.mask if self.use_mask else np.ones(self.n_actions, dtype=bool)

    def add_frame(self, steps: list[Step], terminal_reward: float) -> None:
        """Store the frame: the pending last step of the previous frame (next obs = this frame's first), then the
        inner steps; the frame's last step gets `terminal_reward` added and becomes pending."""
        if self.pending is not None:
            self._store(self.pending, steps[0], self.gamma)
        for step, nxt in zip(steps[:-1], steps[1:]):
            shaped = self.inner * nxt.phi - step.phi if self.shaping else 0.0
            self._store(Step(step.obs, step.mask, step.action, step.reward + shaped, step.phi), nxt, self.inner)
        last = steps[-1]
        shaped = -last.phi if self.shaping else 0.0                   # the next frame starts at Φ = 0
        self.pending = Step(last.obs, last.mask, last.action, last.reward + float(terminal_reward) + shaped)

    def close(self) -> None:
        """Episode end: the pending step is stored with discount 0."""
        if self.pending is not None:
            self._store(self.pending, self.pending, 0.0)
            self.pending = None

    def _store(self, step: Step, nxt: Step, discount: float) -> None:
        extra = {"mask": step.mask} if self.store_mask else {}
        self.memory.add(obs=step.obs, action=step.action, reward=step.reward, next_obs=nxt.obs,
                        discount=discount, next_mask=self._mask(nxt), **extra)


def frame_energies(static, info, channels: dict, placement: set, service: dict) -> dict:
    """E^t_chan, E^t_node, E^t_link (eu) of the frame's own decisions (E13)."""
    e_chan = float(sum(static.e_chan[c] for c in channels.values()))
    e_node = float(sum(static.e_node[n] for _, n in placement))
    e_link = 0.0
    for entry in service.values():
        route = tuple(entry.route)
        e_link += float(sum(info.graph.edges[u, v]["energy"] for u, v in zip(route[:-1], route[1:])))
    return {"e_chan": e_chan, "e_node": e_node, "e_link": e_link}


def good_slots(static, info, channels: dict, feedback) -> dict[int, int]:
    """G^t_r from the revealed realized quality of the UE's area (Algorithm 3 / Hungarian blocks never
    collide; every request with blocks has a PoA, so its area is observed)."""
    by_ue = {q.r: int(info.ue_area[q.ue]) for q in info.active}
    good: dict[int, int] = {}
    for (r, tau), c in channels.items():
        quality = feedback.observed_quality.get(by_ue.get(r, -1))
        if quality is not None and quality[c, tau - info.t * static.K]:
            good[r] = good.get(r, 0) + 1
    return good


class FactoredPlacement:
    """HaDDQN's factored placement process (D34(e)): the (r, f) pairs of the frame are visited in a fixed order
    (request priority of D12, then the function order of the service); each step picks the host node n of the
    current pair (action n) or STOP (action N). Choosing a node that does not host f yet deploys (f, n) (reward
    -α Ē_n); the pair is pre-assigned to n. A host is valid iff rem_n >= Ǐ_{r,f} and n is `compatible` with r
    (reachable within Ď_r and on one feasible route with r's earlier hosts). Pairs without any valid host are
    skipped. Same interface as PlacementProblem for `run_sequence` (obs, mask, stop, deploy, potential, placement).

    obs: the flat state of §7.2.5 followed by the current pair: one-hot of f (F), Ǐ_{r,f}/100, r's reachable nodes
    (N) and the nodes already hosting a function of r (N)."""

    def __init__(self, problem: PlacementProblem, t: int):
        from optkit.formulations.allocate.online import priority_key

        self.base, self.F, self.N = problem, problem.F, problem.N
        self.n_actions, self.stop = self.N + 1, self.N
        self.order = [(q.r, int(f), float(d)) for q in sorted(problem.requests, key=lambda q: priority_key(q, t))
                      for f, d in zip(q.funcs, q.demand)]
        self.pos = 0
        self._skip()

    @staticmethod
    def obs_size(F: int, N: int) -> int:
        return 2 * F + 4 * N + F * N + F + 1 + 2 * N

    def _hosts_ok(self, pair) -> np.ndarray:
        r, f, d = pair
        p = self.base
        return np.array([p.rem[n] >= d - CAP_TOL and p.compatible(r, n) for n in range(self.N)], dtype=bool)

    def _skip(self) -> None:
        while self.pos < len(self.order) and not self._hosts_ok(self.order[self.pos]).any():
            self.pos += 1

    def obs(self) -> np.ndarray:
        extra = np.zeros(self.F + 1 + 2 * self.N, dtype=np.float32)
        if self.pos < len(self.order):
            r, f, d = self.order[self.pos]
            extra[f] = 1.0
            extra[self.F] = d / 100.0
            extra[self.F + 1:self.F + 1 + self.N] = self.base.reach[r]
            extra[self.F + 1 + self.N + np.fromiter(self.base.hosts[r], dtype=np.int64)] = 1.0
        return np.concatenate([self.base.obs(), extra]).astype(np.float32)

    def mask(self) -> np.ndarray:
        valid = np.zeros(self.n_actions, dtype=bool)
        valid[self.stop] = True
        if self.pos < len(self.order):
            valid[: self.N] = self._hosts_ok(self.order[self.pos])
        return valid

    def any_deploy_valid(self) -> bool:
        return bool(self.mask()[: self.stop].any())

    def deploy(self, action: int) -> float:
        """Host the current pair on node `action` (deploying f there if needed); returns -α Ē_n or 0."""
        r, f, d = self.order[self.pos]
        n, p = int(action), self.base
        reward = 0.0
        if not p.deployed[f, n]:
            p.deployed[f, n] = True
            reward = -p.alpha * float(p.static.e_node[n])
        p.assigned.add((r, f))
        p.hosts[r].add(n)
        p.rem[n] -= d
        p.need[f] = max(0.0, p.need[f] - d)
        self.pos += 1
        self._skip()
        return reward

    def potential(self) -> float:
        return self.base.potential()

    def placement(self) -> set:
        return self.base.placement()
