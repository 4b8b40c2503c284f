"""The `ntn-relay` environment (§6.1, §7.1 state/action/reward; D40): one episode = one orbital period, K agents.

`RelayEnv` reads the per-instance tables (candidate SAT positions, ground-hop distances and rates for every
candidate slot and overlap level) and computes only the 2·K·I' UAV-hop distances per step, with the same formulas
as the evaluator (E5, E6, E8–E16, E23/E24), so an episode's summed reward equals the evaluator's `episode_reward`.
`plain_step` is the direct implementation through the model functions (the benchmark's baseline and the tests'
cross-check). Positions km, velocities m/s, rates bit/s.

Action of agent k: index ((c_a·I') + c_b)·L² + acc (candidate slot c_a of lane 1, c_b of lane 2, acceleration 𝒜[acc]).
Observation of agent k (10·I' + 6 values): candidate SAT positions / 4000, own position / 4000, own velocity / V_max,
the four hop distances to every candidate / 4000, last-slot aerodynamic energy (E^aero − δt P_min)/(δt P_min),
and n / N.
"""
from __future__ import annotations

import numpy as np

from optkit.errors import InputError
from optkit.formulations.ntn_relay import model as M
from optkit.formulations.ntn_relay.evaluator import decisions_of
from optkit.formulations.ntn_relay.links import LN2

SCALE_KM = 4000.0


class RelayEnv:
    """Multi-agent environment of one instance (template S-L1-R-L2-D with UAV relays)."""

    def __init__(self, inst):
        if not inst.has_uav_between_lanes:
            raise InputError("ntn-relay environment: the reward needs UAV relays on template S-L1-R-L2-D (E22, D48)")
        w = M.world(inst)
        self.inst, self.w = inst, w
        self.N, self.K = w.N, w.K
        self.C = w.cand.shape[2]
        self.A = w.accels
        self.L2 = len(self.A)
        self.n_actions = self.C * self.C * self.L2
        self.obs_dim = 10 * self.C + 6
        n = np.arange(self.N)[:, None]
        # per-slot candidate tables (D40): positions (N, 2, C, 3), ground distances (N, 2, C), rates (N, 2, C, K)
        self.cpos = np.stack([w.sat_xyz[0][n, w.cand[0]], w.sat_xyz[1][n, w.cand[1]]], axis=1)
        self.gdist = np.stack([np.linalg.norm(self.cpos[:, 0] - np.asarray(inst.src_pos_km), axis=-1),
                               np.linalg.norm(self.cpos[:, 1] - np.asarray(inst.dst_pos_km), axis=-1)], axis=1)
        self.grate = np.stack([w.ground1[n, w.cand[0]], w.ground2[n, w.cand[1]]], axis=1)
        link = w.link
        self._g0, self._ke2, self._two_sigma, self._fp = link.gamma0, link.kappa * link.eps ** 2, 2 * link.sigma, \
            link.prefactor
        self._mode = link.mode
        self._B = inst.bandwidth_hz
        self._alt = w.relay_alt
        self._dt = inst.dt_s
        self._c1, self._c2, self._g2 = inst.c1, inst.c2, inst.gravity ** 2
        self._vmin, self._vmax = inst.v_min_mps, inst.v_max_mps
        (x_lo, x_hi), (y_lo, y_hi) = inst.area_xy_km
        self._lo, self._hi = np.array([x_lo, y_lo]), np.array([x_hi, y_hi])
        self._mu_r, self._mu_e = w.mu_r(), w.mu_e()
        self._w_r = 0.0 if inst.reward_mode == "energy" else inst.w_R
        self._w_e = 0.0 if inst.reward_mode == "rate" else inst.w_E
        self._w_d = inst.w_D
        self._fair = inst.reward_mode == "fair"
        self._pmin_slot = self._dt * w.p_min
        self._relay = np.zeros((self.K, 3))
        self._relay[:, 2] = self._alt
        self._obs = np.zeros((self.K, self.obs_dim))
        self.reset()

    # ------------------------------------------------------------------------------------------------ episode
    def reset(self) -> np.ndarray:
        self.n = 0
        self.q = self.w.q0.copy()
        self.v = self.w.v0.copy()
        self.last_aero = np.full(self.K, self._pmin_slot)
        self.assoc = np.full((self.N, 2, self.K), -1, dtype=np.int64)
        self.accel = np.zeros((self.N, self.K, 2))
        return self.observe()

    def decode(self, actions):
        """(c_a, c_b, acc) arrays (K,) of flat action indices (K,)."""
        actions = np.asarray(actions, dtype=np.int64)
        acc = actions % self.L2
        pair = actions // self.L2
        return pair // self.C, pair % self.C, acc

    def _rate(self, b, d):
        """R_X(b, d) (E8, E12, E13) on arrays."""
        if self._mode != "fso":
            rf = b * np.log1p(self._g0 / (1e6 * d * d)) / LN2
            if self._mode == "rf":
                return rf
        fso = self._fp * b * np.log1p(self._ke2 * np.exp(-self._two_sigma * d)) / LN2
        return fso if self._mode == "fso" else np.maximum(rf, fso)

    def step(self, actions):
        """Apply the K agents' actions in slot n; returns (obs, reward, done, info)."""
        n, K = self.n, self.K
        ca, cb, acc = self.decode(actions)
        m1 = (ca[:, None] == ca[None, :]).sum(axis=1)
        m2 = (cb[:, None] == cb[None, :]).sum(axis=1)
        relay = self._relay
        relay[:, :2] = self.q
        p = self.cpos[n]                                                   # (2, C, 3)
        d1 = np.sqrt(((p[0, ca] - relay) ** 2).sum(axis=1))
        d2 = np.sqrt(((p[1, cb] - relay) ** 2).sum(axis=1))
        r_uav = self._rate(self._B / np.concatenate([m1, m2]), np.concatenate([d1, d2]))
        g = self.grate[n]
        rk = np.minimum(np.minimum(g[0, ca, m1 - 1], g[1, cb, m2 - 1]), np.minimum(r_uav[:K], r_uav[K:]))
        R = rk.sum()
        # dynamics (E5) and energy (E6)
        a = self.A[acc]
        v_old = self.v
        v_new = v_old + a * self._dt
        speed = np.sqrt((v_new ** 2).sum(axis=1))
        if np.any((speed > self._vmax) | (speed < self._vmin)):
            r = M.dynamics_step(self.q, v_old, a, self._dt, self._vmin, self._vmax, self.inst.area_xy_km)
            q_new, v_new, a_eff = r.q, r.v, r.a_eff
        else:
            a_eff = a
            q_new = self.q + 1e-3 * (v_old * self._dt + 0.5 * a * self._dt * self._dt)
            if np.any(q_new < self._lo) or np.any(q_new > self._hi):
                q_new = np.minimum(np.maximum(q_new, self._lo), self._hi)
        s2 = (v_old ** 2).sum(axis=1)
        along = (a_eff * v_old).sum(axis=1)
        perp = np.maximum((a_eff ** 2).sum(axis=1) - along ** 2 / s2, 0.0)
        aero = self._dt * (self._c1 * s2 ** 1.5 + self._c2 / np.sqrt(s2) * (1.0 + perp / self._g2))
        # reward (E23 / E24) at the slot-start positions
        tput = (K * rk.min() if self._fair else R) - self._mu_r
        if K == 2:
            dq = self.q[0] - self.q[1]
            dist = float(np.sqrt(dq @ dq))
        else:
            dist = np.sqrt(((self.q[:, None] - self.q[None]) ** 2).sum(axis=-1)).max() if K > 1 else 0.0
        reward = self._w_r * tput / self._mu_r - self._w_e * (aero.sum() - self._mu_e) / self._mu_e \
            - self._w_d * min(1.0, max(0.0, (dist - self.w.d_max) / self.w.d_max))
        self.assoc[n, 0] = self.w.cand[0, n, ca]
        self.assoc[n, 1] = self.w.cand[1, n, cb]
        self.accel[n] = a
        self.q, self.v, self.last_aero = q_new, v_new, aero
        self.n = n + 1
        done = self.n >= self.N
        if done:
            dke = 0.5 * self.inst.uav_mass_kg * ((v_new ** 2).sum() - (self.w.v0 ** 2).sum())
            reward -= self._w_e * dke / self._mu_e
        return self.observe(), float(reward), done, {"rate_bps": R, "path_rates_bps": rk}

    def observe(self) -> np.ndarray:
        """Observations (K, 10·C + 6) at the current slot (the last slot's tables after the episode end)."""
        n = min(self.n, self.N - 1)
        C = self.C
        p = self.cpos[n]                                                   # (2, C, 3)
        relay = self._relay
        relay[:, :2] = self.q
        d_uav = np.sqrt(((p[None] - relay[:, None, None]) ** 2).sum(axis=-1)) / SCALE_KM     # (K, 2, C)
        gd = self.gdist[n] / SCALE_KM
        obs = self._obs
        obs[:, :6 * C] = p.reshape(-1) / SCALE_KM
        obs[:, 6 * C:6 * C + 2] = self.q / SCALE_KM
        obs[:, 6 * C + 2:6 * C + 4] = self.v / self._vmax
        o = 6 * C + 4
        obs[:, o:o + C] = gd[0]
        obs[:, o + C:o + 3 * C] = d_uav.reshape(self.K, 2 * C)
        obs[:, o + 3 * C:o + 4 * C] = gd[1]
        obs[:, -2] = (self.last_aero - self._pmin_slot) / self._pmin_slot if self.n > 0 else 0.0
        obs[:, -1] = self.n / self.N
        return obs.copy()

    def decisions(self):
        """The episode played so far as the evaluator's decision record."""
        return decisions_of(self.w, self.assoc[:, 0], self.assoc[:, 1], self.accel)


def plain_step(w: M.World, q, v, n: int, assoc1, assoc2, a):
    """One slot computed directly (no tables): the four hop distances and rates of every path with the overlap
    split (E15–E16), E5 and E6 through the model functions: (R[n], q[n+1], v[n+1], E^aero[n] (K,))."""
    inst = w.inst
    assoc1, assoc2 = np.asarray(assoc1), np.asarray(assoc2)
    m1, m2 = M.overlap_counts(assoc1), M.overlap_counts(assoc2)
    p1, p2 = w.sat_xyz[0, n, assoc1], w.sat_xyz[1, n, assoc2]
    relay = w.relay_points(q)
    d = np.stack([np.linalg.norm(p1 - np.asarray(inst.src_pos_km), axis=-1), np.linalg.norm(p1 - relay, axis=-1),
                  np.linalg.norm(relay - p2, axis=-1), np.linalg.norm(p2 - np.asarray(inst.dst_pos_km), axis=-1)],
                 axis=1)
    b = inst.bandwidth_hz / np.stack([m1, m1, m2, m2], axis=1)
    rate = w.link.rate(b, d)[0].min(axis=1)
    r = w.step(q, v, a)
    return rate.sum(), r.q, r.v, inst.dt_s * w.power(v, r.a_eff)
