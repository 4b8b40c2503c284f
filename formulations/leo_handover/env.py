"""Candidate prefilter (§4.5), observation (§4.7), reward (§4.8) and the episodic environment (§4.9).

`HandoverEnv(worlds, params, scaler)` is the interface of §4.9: reset(spec) / step(slot). Every environment policy
(baselines and learners) acts through it; `rollout` turns a policy into the serving sequences the evaluator scores.
"""
from __future__ import annotations

import time

import numpy as np

from optkit.formulations.leo_handover.episode import FEATURE_COLUMNS, EpisodeTable, Scaler, episode_table
from optkit.formulations.leo_handover.generator import EpisodeSpec

RADIAL_PAD = 1.0


class HandoverEnv:
    """Terminal-side serving-satellite selection over M candidate slots.

    worlds: list of Orbits (index = EpisodeSpec.world); params: the instance/preset parameters; scaler: E18 bounds.
    Observation: float32 (D,) with D = M·F (+ M with serving_flag), F = number of state features. info["mask"]:
    int8 (M,) valid slots. After termination `srv` holds the serving sequence (L,) with -1 at outage steps.
    """

    def __init__(self, worlds, params: dict, scaler: Scaler):
        self.worlds = list(worlds)
        self.params = params
        self.scaler = scaler
        self.M = int(params["n_candidates"])
        self.stable = params["slot_order"] == "stable"
        self.serving_flag = bool(params["serving_flag"])
        self.handover_penalty = float(params["handover_penalty"])
        names = list(params["state_features"])
        self.columns = [FEATURE_COLUMNS.index(n) for n in names]
        pads = dict(zip(FEATURE_COLUMNS[:4], (float(v) for v in params["pad_features"])), radial=RADIAL_PAD)
        self.pad = np.array([pads[n] for n in names], dtype=np.float32)
        self.obs_dim = self.M * len(names) + (self.M if self.serving_flag else 0)
        self.table: EpisodeTable | None = None

    # ------------------------------------------------------------------------------------------- reset / step
    def reset(self, spec: EpisodeSpec, table: EpisodeTable | None = None):
        """Start an episode (a precomputed table of the same spec may be passed); returns (obs, info)."""
        if not 0 <= spec.world < len(self.worlds):
            raise ValueError(f"episode world {spec.world} does not exist ({len(self.worlds)} worlds)")
        self.table = table if table is not None else episode_table(self.worlds[spec.world], self.params, self.scaler, spec)
        t = self.table
        age = spec.k0 + t.step - t.start
        priority = np.lexsort((t.sat, -t.el_deg, age, t.step))          # §4.5 rule 1, grouped by step
        # Per-step Python lists: a step touches at most a handful of pairs, where list access beats numpy calls.
        self._priority = priority.tolist()
        self._ptr = t.step_ptr.tolist()
        self._sat = t.sat.tolist()
        self._rows = np.ascontiguousarray(t.features[:, self.columns], dtype=np.float32)     # (S, F) state rows
        counts = t.counts
        # same_set[k]: E(k) holds exactly the satellites of E(k-1) (then the candidate list only shifts its pairs).
        same = np.zeros(t.L, dtype=bool)
        same[1:] = (counts[1:] == counts[:-1]) & (counts[1:] > 0)
        pair_step = t.step
        lag = counts[pair_step]
        previous = np.arange(t.sat.size) - lag
        differs = same[pair_step] & (t.sat != t.sat[np.maximum(previous, 0)])
        same[np.unique(pair_step[differs])] = False
        self._same_set = same.tolist()
        self.srv = np.full(t.L, -1, dtype=np.int64)
        self.k = 0
        self.prev = -1                       # srv_{k-1}
        self.slots = [-1] * self.M           # C(k): satellite id per slot
        self.slot_pairs = [-1] * self.M      # pair index per slot
        self.done = False
        skipped = self._advance()
        return self._observe(), self._info(skipped, handover=False, forced=False)

    def step(self, action: int):
        """Serve the satellite of slot `action`; returns (obs, reward, terminated, truncated, info)."""
        if self.done or self.table is None:
            raise RuntimeError("step() after the episode ended; call reset()")
        a = int(action)
        if not 0 <= a < self.M or self.slots[a] < 0:
            raise ValueError(f"action {action}: slot is masked (valid slots: {np.flatnonzero(self.mask).tolist()})")
        chosen, pair = self.slots[a], self.slot_pairs[a]
        handover = self.prev >= 0 and chosen != self.prev
        forced = handover and self.table.find(self.k, self.prev) < 0
        reward = float(self.table.reward[pair]) - self.handover_penalty * handover           # E20-E23
        self.srv[self.k] = chosen
        self.prev = chosen
        self.k += 1
        skipped = self._advance()
        return self._observe(), reward, self.done, False, self._info(skipped, handover, forced)

    # ------------------------------------------------------------------------------------------- internals
    def _advance(self) -> int:
        """Skip outage steps (srv = -1, no decision); build C(k) of the next decision step. Returns steps skipped."""
        t = self.table
        skipped = 0
        ptr = self._ptr
        while self.k < t.L and ptr[self.k] == ptr[self.k + 1]:
            self.srv[self.k] = -1
            self.prev = -1
            self.slots, self.slot_pairs = [-1] * self.M, [-1] * self.M
            self.k += 1
            skipped += 1
        if self.k >= t.L:
            self.done = True
            self.slots, self.slot_pairs = [-1] * self.M, [-1] * self.M
        else:
            self._candidates()
        return skipped

    def _candidates(self) -> None:
        """§4.5: keep the serving satellite, fill up to M newest eligible satellites, stable or age-sorted slots."""
        k, M = self.k, self.M
        lo, hi = self._ptr[k], self._ptr[k + 1]
        if self.stable and self._same_set[k] and hi - lo <= M and self.prev >= 0:
            shift = lo - self._ptr[k - 1]        # same members in the same slots: only the pair indices move
            self.slot_pairs = [p + shift if p >= 0 else -1 for p in self.slot_pairs]
            return
        ranked = self._priority[lo:hi]                 # pair indices of step k in priority order
        serving = -1
        if self.prev >= 0:
            serving = next((p for p in range(lo, hi) if self._sat[p] == self.prev), -1)
        members = [serving] if serving >= 0 else []
        for p in ranked:
            if len(members) >= M:
                break
            if p != serving:
                members.append(p)
        if not self.stable:
            rank = {p: i for i, p in enumerate(ranked)}
            members.sort(key=rank.__getitem__)
            pairs = members + [-1] * (M - len(members))
        else:
            sat_of = {self._sat[p]: p for p in members}
            pairs = [sat_of.pop(s) if s in sat_of else -1 for s in self.slots]          # members keep their slot
            new = [p for p in members if self._sat[p] in sat_of]                         # priority order
            empty = [m for m in range(M) if pairs[m] < 0]
            for m, p in zip(empty, new):
                pairs[m] = p
        self.slot_pairs = pairs
        self.slots = [self._sat[p] if p >= 0 else -1 for p in pairs]

    @property
    def mask(self) -> np.ndarray:
        return np.array([s >= 0 for s in self.slots], dtype=np.int8)

    def _observe(self) -> np.ndarray:
        """E19: per slot the selected normalized features, pad (1, 1, 0, 1[, 1]) for empty slots; serving one-hot."""
        rows = np.empty((self.M, self.pad.size), dtype=np.float32)
        for m, p in enumerate(self.slot_pairs):
            rows[m] = self._rows[p] if p >= 0 else self.pad
        obs = rows.reshape(-1)
        if self.serving_flag:
            flag = np.array([1.0 if (s >= 0 and s == self.prev) else 0.0 for s in self.slots], dtype=np.float32)
            obs = np.concatenate([obs, flag])
        return obs

    def _info(self, skipped: int, handover: bool, forced: bool) -> dict:
        """serving: srv_{k-1}, the satellite serving into the next decision step (-1 after reset or an outage)."""
        return {"mask": self.mask, "cand_ids": np.array(self.slots, dtype=np.int64), "k": self.table.spec.k0 + self.k,
                "serving": int(self.prev), "handover": bool(handover), "forced": bool(forced),
                "outage_steps_skipped": int(skipped), "terminated": bool(self.done)}

    # ------------------------------------------------------------------------------------------- for policies
    def candidate_pairs(self) -> list[int]:
        """Pair index per slot (-1 = empty): baselines read the candidates' geometry through it."""
        return list(self.slot_pairs)


def argbest_slot(env: HandoverEnv, key) -> int:
    """Valid slot minimizing key(pair, sat); key tuples end with the satellite id (lower ID wins ties)."""
    valid = [(m, p, env.slots[m]) for m, p in enumerate(env.candidate_pairs()) if p >= 0]
    return min(valid, key=lambda s: key(s[1], s[2]))[0]


def nearest_slot(env: HandoverEnv) -> int:
    """The valid slot of minimum slant range (`distance`, §7.1)."""
    return argbest_slot(env, lambda p, j: (env.table.range_km[p], j))


def kept_slot(env: HandoverEnv) -> int:
    """Slot of the previous serving satellite, -1 when it is not a candidate."""
    return env.slots.index(env.prev) if env.prev >= 0 and env.prev in env.slots else -1


def sticky_nearest_slot(env: HandoverEnv) -> int:
    """Keep the serving satellite while it is a candidate, else the nearest one: the `sticky-nearest` baseline
    and the tabular learners' unseen-state fallback (D45)."""
    kept = kept_slot(env)
    return kept if kept >= 0 else nearest_slot(env)


def rollout(env: HandoverEnv, spec: EpisodeSpec, policy, table: EpisodeTable | None = None) -> tuple[np.ndarray, float]:
    """Run policy(env, obs, info) -> slot greedily through one episode; returns (srv (L,), decision seconds)."""
    obs, info = env.reset(spec, table)
    start = time.perf_counter()
    while not info["terminated"]:
        obs, _, _, _, info = env.step(policy(env, obs, info))
    return env.srv.copy(), time.perf_counter() - start


def instance_env(inst) -> HandoverEnv:
    """The environment over an instance's test world (world index 0)."""
    from optkit.formulations.leo_handover.episode import instance_scaler

    return HandoverEnv([inst.orbits()], inst.params(), instance_scaler(inst))


def training_env(params: dict, base_seed: int) -> HandoverEnv:
    """The environment over the training worlds of base seed S (streams [S, 100 + w]) with their scaler (§3.4)."""
    from optkit.formulations.leo_handover.generator import fit_training_scaler, training_orbits

    scaler = Scaler(*fit_training_scaler(params, base_seed), float(params["radial_bound_kmps"]))
    return HandoverEnv(training_orbits(params, base_seed), params, scaler)


def curve_record(env: HandoverEnv, steps: int) -> dict:
    """Training-curve entry of the episode the env just finished (§6.4): G, f_HO and LD of its rollout
    (NaN for an episode without a decision step)."""
    from optkit.formulations.leo_handover.evaluator import episode_metrics

    nan = float("nan")
    scored = episode_metrics(env.table, env.srv) if steps else {}
    return {"world": env.table.spec.world, "handover_freq": scored.get("handover_freq", nan),
            "link_duration": scored.get("link_duration", nan), "reward": scored.get("reward", nan)}
