"""The `uav-ugv` MDP (§7.0): state, action → intended moves, safety layer (E25–E26), per-slot associations
(E27–E28) and reward (E22). Static per-instance quantities are cached at construction."""
from __future__ import annotations

import numpy as np

from optkit.formulations.uav_ugv import association as assoc
from optkit.formulations.uav_ugv import channel, safety
from optkit.formulations.uav_ugv.evaluator import Plan

STATE_LOW, STATE_HIGH = -1.0, 2.0     # every state feature lies in this range (§7.0; mean SE / 10 stays below 2)


class UavUgvEnv:
    """One episode of N steps on an instance. `reset()` → state; `step(action)` → (state, r, done, info) with
    r = r[n+1] of E22 in Mbit/s and info["r_train"] = c_r (r − w_c V5) (§7.0).

    Action a ∈ [−1, 1]^(3U + 2M): UAV u's displacement V_u^max Δ a_u / max(1, ‖a_u‖) (3 values each), UGV m's
    target p_m + Δ v_ref a_m / max(1, ‖a_m‖) (2 values each), v_ref = min(V_m^max, max_e v_e^max).
    """

    def __init__(self, inst):
        self.inst = inst
        U, M = inst.n_uavs, inst.n_ugvs
        self.U, self.M, self.K, self.N = U, M, inst.n_users, inst.n_slots
        self.action_dim = 3 * U + 2 * M
        G = inst.state_grid_n
        self.state_dim = 11 * U + 3 * M + 1 + 2 * G * G
        self.users = np.asarray(inst.users)
        self.points = np.asarray(inst.waypoints)
        self.v_ref = min(inst.ugv_vmax, float(np.max(np.asarray(inst.road_edges)[:, 3])))
        cx = (np.arange(G) + 0.5) * inst.area_x / G
        cy = (np.arange(G) + 0.5) * inst.area_y / G
        gx, gy = np.meshgrid(cx, cy, indexing="ij")
        self.centers = np.stack([gx.ravel(), gy.ravel()], axis=1)            # (G², 2)
        hist, _, _ = np.histogram2d(self.users[:, 0], self.users[:, 1], bins=G,
                                    range=[[0, inst.area_x], [0, inst.area_y]])
        self.density = (hist.ravel() / max(self.K, 1)).astype(float)
        self.scale_pos = np.array([inst.area_x, inst.area_y, max(inst.uav_zmax - inst.uav_zmin, 1e-9)])
        self.home = np.asarray(inst.uav_home, dtype=float)
        self.reset()

    # ------------------------------------------------------------------ episode
    def reset(self) -> np.ndarray:
        inst = self.inst
        self.n = 0
        self.q = self.home.copy()
        self.w = np.asarray(inst.ugv_home, dtype=np.int64).copy()
        self.qs = [self.q.copy()]
        self.ws = [self.w.copy()]
        self.alphas, self.xs, self.rewards, self.v5 = [], [], [], []
        self._associate()
        return self.state()

    def _associate(self):
        """x by E27 and α by E28 for the current positions; returns (S, SE, snr, x, out, serve). Both rules are
        deterministic, so positions equal to the previous slot's reuse its result."""
        inst = self.inst
        key = (self.q.tobytes(), self.w.tobytes())
        if getattr(self, "_key", None) == key:
            return self._last
        self._key = key
        S = channel.access_power(inst, self.q, self.users)
        SE = channel.spectral_efficiency(inst, S)
        snr = channel.backhaul_snr(inst, self.q, self.points[self.w])
        x = assoc.hungarian_x(inst, snr)
        out = assoc.outages(inst, snr, x)
        serve = assoc.greedy_ls(inst, S, SE, ~out)
        self._last = (S, SE, snr, x, out, serve)
        return self._last

    def intended(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(UAV displacements (U, 3), UGV targets (M, 2)) of an action."""
        inst = self.inst
        a = np.clip(np.asarray(action, dtype=float).reshape(-1), -1.0, 1.0)
        au = a[:3 * self.U].reshape(self.U, 3)
        am = a[3 * self.U:].reshape(self.M, 2)
        delta = inst.horizontal_step * au / np.maximum(1.0, np.linalg.norm(au, axis=1, keepdims=True))
        targets = self.points[self.w] + inst.slot_s * self.v_ref * am / np.maximum(
            1.0, np.linalg.norm(am, axis=1, keepdims=True))
        return delta, targets

    def step(self, action):
        delta, targets = self.intended(action)
        return self.step_moves(delta, targets)

    def step_moves(self, delta: np.ndarray, targets: np.ndarray):
        """Apply intended UAV displacements (U, 3) and UGV targets (M, 2) through the safety layer."""
        inst = self.inst
        self.q = safety.uav_step(inst, self.q, delta, self.n)
        self.w = safety.ugv_step(inst, self.w, targets, self.n)
        self.n += 1
        S, SE, snr, x, out, serve = self._associate()
        alpha = assoc.serve_to_alpha(serve, self.U)
        cell = alpha.sum(axis=1)
        rates = (alpha * assoc.band_per_user(inst, cell)[:, None] * SE).sum(axis=0)
        r = 1e-6 * rates.sum() - inst.qos_weight * 1e-6 * np.maximum(0.0, inst.rate_min_bps - rates).sum()
        v5 = self._collisions()
        self.qs.append(self.q.copy())
        self.ws.append(self.w.copy())
        self.alphas.append(alpha)
        self.xs.append(x)
        self.rewards.append(float(r))
        self.v5.append(v5)
        done = self.n >= self.N
        r_train = inst.reward_scale * (r - inst.collision_weight * v5)
        return self.state(), float(r), done, {"r_train": float(r_train), "v5": v5}

    def _collisions(self) -> int:
        if self.U < 2:
            return 0
        d = np.linalg.norm(self.q[:, None] - self.q[None], axis=-1)
        iu = np.triu_indices(self.U, 1)
        return int((d[iu] < self.inst.d_safe).sum())

    def plan(self) -> Plan:
        """The episode's arrays as a Plan (with the α and x the environment used)."""
        q = np.stack(self.qs, axis=1)
        w = np.stack(self.ws, axis=1)
        alpha = np.stack(self.alphas) if self.alphas else np.zeros((0, self.U, self.K), dtype=bool)
        x = np.stack(self.xs) if self.xs else np.zeros((0, self.M, self.U), dtype=bool)
        return Plan(q=q, ugv_wp=w, alpha=alpha, x=x)

    # ------------------------------------------------------------------ state (§7.0, grid mode)
    def state(self) -> np.ndarray:
        inst = self.inst
        S, SE, snr, x, out, serve = self._last
        n, N = self.n, self.N
        step = inst.horizontal_step
        pos = (self.q - np.array([0.0, 0.0, inst.uav_zmin])) / self.scale_pos
        off = (self.q - self.home) / self.scale_pos
        slack_u = 1.0 - np.linalg.norm(self.q - self.home, axis=1) / max((N - n) * step, 1.0)
        ugv_xy = self.points[self.w] / self.scale_pos[:2]
        hops = inst.home_hops[np.arange(self.M), self.w]
        slack_m = 1.0 - hops / max(N - n, 1)
        partner_snr = np.where(x.any(axis=0), (snr * x).sum(axis=0), 0.0)
        margin_db = 10.0 * np.log10(np.maximum(partner_snr, 1e-30)) - inst.snr_min_backhaul_db
        margin = np.where(x.any(axis=0), np.clip(margin_db / 20.0, -1.0, 1.0), -1.0)
        member = assoc.serve_to_alpha(serve, self.U)
        cell = member.sum(axis=1)
        band = assoc.band_per_user(inst, cell)
        rate = band[:, None] * SE
        mean_se = np.where(cell > 0, (SE * member).sum(axis=1) / np.maximum(cell, 1), 0.0) / 10.0
        below = np.where(cell > 0, ((rate < inst.rate_min_bps) & member).sum(axis=1) / np.maximum(cell, 1), 0.0)
        cover_S = channel.access_power(inst, self.q, self.centers)
        cover = np.clip(10.0 * np.log10(channel.sinr(inst, cover_S).max(axis=0)) / 30.0, -1.0, 1.0)
        return np.concatenate([pos.ravel(), off.ravel(), slack_u, ugv_xy.ravel(), slack_m, [n / N], margin,
                               cell / max(self.K, 1), mean_se, below, self.density, cover]).clip(
            STATE_LOW, STATE_HIGH).astype(np.float32)


def rollout(inst, policy) -> Plan:
    """Run one episode with policy(env) -> action and return its Plan."""
    env = UavUgvEnv(inst)
    done = inst.n_slots == 0
    while not done:
        _, _, done, _ = env.step(policy(env))
    return env.plan()
