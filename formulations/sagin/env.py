"""The `sagin` simulator the learners and online baselines act in (§4.6-4.8, §6.1, §7, §7.1).

`SaginEnv(instance, backend="exact")` steps N UAVs synchronously (vectorized over UAVs; CTDE of §7 / D23: UAVs
never interact). Per step n every active UAV takes a hierarchical action:

* top level `top` (N,) int: 0 = Remain (b_{n+1} = b_n), 1 = Switch to `target` (N,) int, a BS of the candidate set
  C_n = {available BSs != b_n} at (q_n, t_n) (§7.1 step 2). Without `target` a Switch picks the max-rate candidate.
* lower level `direction` (N, 3): any vector in R^3, normalised and projected by E24 (‖a‖ < 1e-6 flies toward q_f).

The UAV then moves (E24, clipping at the airspace box), its serving BS b_{n+1} serves q(n+1) at t_{n+1} (E26) and
the step yields r^top, r^low (E28, shifted when `reward_lower_shift`), g^qos, g^bnd (E29). Arrival (E25) is
terminal and appends the final straight segment to q_f (served by b_{n+1}, no action, no transition); after N_max
steps without arrival the UAV is truncated. Arrived/truncated UAVs stop moving; the episode ends when every UAV has.

Observation (learner state s_n, §7): float32 (N, D), D = B_tot + 4: [onehot(b_n), R_{b_n}(q_n, t_n)/R_max^E, q̂_n]
with q̂ = q / q_U (airspace upper corner). The measurement report of §7 (rates (N, B) Mbit/s at q_n, t_n,
availability (N, B)) is `env.rates_now` / `env.available_now`; mission times t_n (N,) s are `env.t`.

Backends (§4.6): "exact" (default; everything that is scored) or "cached" (training only: GN/AN rates from the
instance's `CachedRadioMap`, built once per instance object, SN exact). `decisions()` returns the evaluator's
`Decisions` of the rollout so far (§6.1); `summary()` the env's own accumulated per-UAV quantities, which equal the
evaluator's metrics when the backend is exact and the starts are the test starts.
"""
from __future__ import annotations

import functools
import hashlib
import os
import warnings
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from optkit.errors import InputError
from optkit.formulations.sagin import formulation as F
from optkit.formulations.sagin import mobility as M
from optkit.formulations.sagin.evaluator import Decisions
from optkit.formulations.sagin.radio import CachedRadioMap, link_rates, radio_model, rate_normalisation

BACKENDS = ("exact", "cached")
REMAIN, SWITCH = 0, 1                       # top-level actions (§7.1 step 1)

_CACHE: dict = {}


def _forget(cache: dict, key, _ref) -> None:
    cache.pop(key, None)


def _per_instance(kind: str, inst, build):
    """Value `build(inst)` memoised per instance *object* (identity, weakly held) and kind."""
    key = (kind, id(inst))
    entry = _CACHE.get(key)
    if entry is None or entry[0]() is not inst:
        entry = _CACHE[key] = (weakref.ref(inst, functools.partial(_forget, _CACHE, key)), build(inst))
    return entry[1]


def rate_bounds(inst) -> tuple[float, float]:
    """(R_min^E, R_max^E) Mbit/s of E31 (exact backend), computed once per instance object."""
    return _per_instance("r_norm", inst, rate_normalisation)


MAP_CACHE_ENV = "OPTKIT_MAP_CACHE"        # folder of the on-disk radio maps; "off" disables the disk cache


def map_cache_dir() -> Path | None:
    """Folder of the on-disk cached radio maps: $OPTKIT_MAP_CACHE (None when it is "off"), else
    ~/.cache/optkit/sagin-radio-maps. Kept apart from the checkpoint cache ($OPTKIT_CACHE), which tests replace by a
    fresh folder: a map is a pure function of (instance, code), so every run may share it."""
    env = os.environ.get(MAP_CACHE_ENV)
    if env == "off":
        return None
    return Path(env) if env else Path.home() / ".cache" / "optkit" / "sagin-radio-maps"


def map_cache_key(inst) -> str:
    """sha256 hex of the instance JSON and of the bytes of the modules that compute the raster (radio.py and every
    formulation module it imports, transitively: antennas, path loss, buildings, random fields, generator, instance)."""
    from optkit.formulations.sagin import radio
    from optkit.sources import import_closure

    digest = hashlib.sha256(inst.to_json().encode())
    for path in import_closure(radio.__file__, packages=("optkit.formulations",)):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _build_map(inst) -> CachedRadioMap:
    """Load the instance's map from the disk cache, else build it (and store it). Grids are kept as float32 in
    both cases (a loaded map equals a freshly built one bit for bit; 4 bytes x 2 grids x 201 x 201 x 21 x 18 =
    122 MB on disk for paper-default)."""
    folder = map_cache_dir()
    path = None if folder is None else folder / f"{map_cache_key(inst)}.npz"
    model = radio_model(inst)
    if path is not None and path.is_file():
        try:
            with np.load(path) as data:
                cmap = CachedRadioMap.__new__(CachedRadioMap)         # the constructor would rebuild the raster
                cmap.model = model
                cmap.axes = [data[f"axis{k}"] for k in range(3)]
                cmap.rate_grid, cmap.rsrp_grid = data["rate_grid"], data["rsrp_grid"]
            return cmap
        except (OSError, KeyError, ValueError) as exc:                # unreadable entry: rebuild it, say so
            warnings.warn(f"sagin radio map cache: cannot read {path} ({type(exc).__name__}: {exc}); rebuilding it",
                          stacklevel=2)
    cmap = CachedRadioMap(model)
    cmap.rate_grid = cmap.rate_grid.astype(np.float32)
    cmap.rsrp_grid = cmap.rsrp_grid.astype(np.float32)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.stem}.tmp{os.getpid()}.npz")
            np.savez(tmp, rate_grid=cmap.rate_grid, rsrp_grid=cmap.rsrp_grid,
                     **{f"axis{k}": ax for k, ax in enumerate(cmap.axes)})
            os.replace(tmp, path)                                     # atomic: readers never see half a file
        except OSError as exc:                                        # read-only or full disk: keep it in memory
            warnings.warn(f"sagin radio map cache: cannot store {path} ({exc}); the map stays in memory only",
                          stacklevel=2)
    return cmap


def cached_radio_map(inst) -> CachedRadioMap:
    """The instance's cached GN/AN radio map over its airspace (§4.6, training only), built once per instance
    object and stored on disk (`map_cache_dir`, keyed by `map_cache_key`), so later processes load it in a
    fraction of a second. Building takes 30-60 s for the full airspace on one core."""
    return _per_instance("cached_map", inst, _build_map)


@dataclass
class StepResult:
    """One synchronous step; arrays over all N UAVs, zero (False) for UAVs that did not act (`acted` False).

    obs (N, D) float32 s_{n+1}; r_top, r_low (N,) rewards (E28); g_qos, g_bnd (N,) costs (E29); rate (N,)
    R_{n+1} Mbit/s; terminated (N,) arrived at this step (E25); truncated (N,) reached N_max without arrival;
    acted (N,) the UAV took this step; serving (N,) int b_{n+1}; switched (N,) b_{n+1} != b_n; projected (N,)
    direction projection (E24 step 3); out (N,) boundary event (E24 step 4: x, y or ceiling); floor (N,) floor
    projection (E24 step 4, D47: not a boundary event, no cost)."""

    obs: np.ndarray
    r_top: np.ndarray
    r_low: np.ndarray
    g_qos: np.ndarray
    g_bnd: np.ndarray
    rate: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    acted: np.ndarray
    serving: np.ndarray
    switched: np.ndarray
    projected: np.ndarray
    out: np.ndarray
    floor: np.ndarray


class SaginEnv:
    """Synchronous batched environment of N UAVs on one instance (see the module docstring)."""

    def __init__(self, inst, backend: str = "exact", *, cached_map: CachedRadioMap | None = None,
                 r_max: float | None = None):
        if backend not in BACKENDS:
            raise InputError(f"backend: must be one of {', '.join(BACKENDS)}, got {backend!r}")
        if cached_map is not None and backend != "cached":
            raise InputError("cached_map: only used with backend='cached' (scoring always uses the exact backend)")
        self.inst = inst
        self.backend = backend
        self.model = radio_model(inst)
        self.cached = None
        if backend == "cached":
            self.cached = cached_map if cached_map is not None else cached_radio_map(inst)
        self.n_bs = int(self.model.n_bs)
        self.obs_dim = self.n_bs + 4
        if r_max is None:
            self.r_min, self.r_max = rate_bounds(inst)
        else:
            if not np.isfinite(r_max) or r_max <= 0:
                raise InputError(f"r_max: must be a positive finite rate in Mbit/s, got {r_max!r}")
            self.r_min, self.r_max = 0.0, float(r_max)
        self.q_f = np.asarray(inst.uav_destination, dtype=float)
        self.box = inst.airspace_box
        self.q_scale = np.where(self.box[1] != 0, self.box[1], 1.0)          # q̂ = q / q_U (§7)
        self.speed = float(inst.uav_speed)
        self.step_length = float(inst.uav_step_length)
        self.radius = float(inst.uav_arrival_radius)
        self.eps_dir = float(inst.uav_direction_margin)
        self.n_max = int(inst.uav_max_steps)
        self.r_req = float(inst.qos_r_req)
        self.eta_bnd = float(inst.reward_eta_bnd)
        self.w_r, self.w_m, self.w_g = (float(x) for x in inst.reward_w)
        self.shift = bool(inst.reward_lower_shift)
        self.w_a = float(inst.reward_arrival_bonus)                          # arrival bonus (E28, D49)
        self.lam = tuple(float(x) for x in inst.objective_lambda)
        self.n_uavs = 0
        self.n = 0

    # ------------------------------------------------------------------------------------------- radio
    def measure(self, q: np.ndarray, t) -> tuple[np.ndarray, np.ndarray]:
        """Rates (P, B) Mbit/s and availability (P, B) bool at points q (P, 3) m, times t (P,) s (env backend)."""
        q = np.asarray(q, dtype=float).reshape(-1, 3)
        if self.cached is None:
            s = self.model.links(q, t)
            m = self.model
            return link_rates(s.p_mw, s.los, m.h_los, m.h_nlos, m.groups, m.noise, m.bandwidth), s.available
        return self.cached.rates_available(q, t)

    # ------------------------------------------------------------------------------------------- reset / step
    def reset(self, starts: np.ndarray | None = None) -> np.ndarray:
        """Start an episode from `starts` (N, 3) m (default: the instance's test starts); returns obs (N, D).
        Initial association b_0 = max-rate BS at q^0 (§7.1 step 2). A UAV starting within the arrival radius
        flies only the final segment (E25) and is done at once."""
        q0 = np.asarray(self.inst.starts_test if starts is None else starts, dtype=float)
        if q0.ndim != 2 or q0.shape[1] != 3 or q0.shape[0] < 1:
            raise InputError(f"starts: expected shape (N, 3) with N >= 1, got {q0.shape}")
        if not np.all(np.isfinite(q0)):
            raise InputError("starts: must be finite")
        if np.any(F.outside_box(q0, self.box)):
            raise InputError("starts: every start must lie inside the airspace box")
        N = self.n_uavs = q0.shape[0]
        self.n = 0
        self.q = q0.copy()                                          # learner positions q_n (N, 3) m
        self.t = np.zeros(N)                                        # mission times t_n (N,) s (E26)
        self.d0 = np.linalg.norm(q0 - self.q_f, axis=1)             # d_0 (N,) m
        self.rates_now, self.available_now = self.measure(q0, self.t)
        self.b = np.argmax(self.rates_now, axis=1).astype(np.int64)  # b_0
        self.active = np.ones(N, dtype=bool)
        self.arrived = np.zeros(N, dtype=bool)
        self.truncated = np.zeros(N, dtype=bool)
        # rollout record (§6.1) and accumulators
        self.positions = np.zeros((N, self.n_max + 2, 3))
        self.positions[:, 0] = q0
        self.serving = np.zeros((N, self.n_max + 1), dtype=np.int64)
        self.length = np.zeros(N, dtype=np.int64)                   # L_u so far
        self.sum_tau = np.zeros(N)                                  # Σ τ_n s
        self.sum_rate_tau = np.zeros(N)                             # Σ τ_n R_n Mbit
        self.qos_tau = np.zeros(N)                                  # Σ τ_n 1[R_n >= R_req] s
        self.switches = np.zeros(N, dtype=np.int64)                 # N_u (E27)
        self.switch_actions = np.zeros(N, dtype=np.int64)           # b_{n+1} != b_n incl. the first step (E28)
        self.projections = np.zeros(N, dtype=np.int64)
        self.boundary_events = np.zeros(N, dtype=np.int64)
        self.floor_projections = np.zeros(N, dtype=np.int64)
        self.return_top = np.zeros(N)
        self.return_low = np.zeros(N)
        self.sum_g_qos = np.zeros(N)
        self.sum_g_bnd = np.zeros(N)
        near = M.arrived(q0, self.q_f, self.radius)
        if near.any():
            self._finish(np.flatnonzero(near))
        return self.observation()

    def observation(self, serving: np.ndarray | None = None) -> np.ndarray:
        """s_n (N, D) float32 = [onehot(b), R_b(q_n, t_n)/R_max^E, q̂_n] with b = `serving` (N,) (default b_n);
        with serving = b_{n+1} it is the lower level's state s_{n,1} (§7.1 step 3)."""
        b = self.b if serving is None else np.asarray(serving, dtype=np.int64).reshape(-1)
        return self._obs(b, self.rates_now, self.q)

    def candidate_observations(self) -> tuple[np.ndarray, np.ndarray]:
        """Hypothetical states s_n^(c) (N, B, D) float32 for every BS c as server, and the candidate mask (N, B)
        bool C_n = available & c != b_n (§7.1 step 2)."""
        N, B = self.n_uavs, self.n_bs
        obs = np.zeros((N, B, self.obs_dim), dtype=np.float32)
        obs[:, np.arange(B), np.arange(B)] = 1.0
        obs[:, :, B] = self.rates_now / self.r_max
        obs[:, :, B + 1:] = (self.q / self.q_scale)[:, None, :]
        return obs, self.candidate_mask()

    def candidate_mask(self) -> np.ndarray:
        """C_n (N, B) bool: BSs available at (q_n, t_n) other than b_n."""
        mask = self.available_now.copy()
        mask[np.arange(self.n_uavs), self.b] = False
        return mask

    def _obs(self, b, rates, q) -> np.ndarray:
        N = b.shape[0]
        obs = np.zeros((N, self.obs_dim), dtype=np.float32)
        obs[np.arange(N), b] = 1.0
        obs[:, self.n_bs] = rates[np.arange(N), b] / self.r_max
        obs[:, self.n_bs + 1:] = q / self.q_scale
        return obs

    def _check_actions(self, top, direction, target):
        N, B = self.n_uavs, self.n_bs
        top = np.asarray(top)
        if top.shape == () and N == 1:
            top = top.reshape(1)
        if top.shape != (N,) or not (np.issubdtype(top.dtype, np.integer) or np.issubdtype(top.dtype, np.bool_)
                                     or np.all(np.mod(top, 1) == 0)):
            raise ValueError(f"top: expected ({N},) integers (0 Remain, 1 Switch), got shape {top.shape}")
        top = top.astype(np.int64)
        if np.any((top != REMAIN) & (top != SWITCH)):
            raise ValueError(f"top: actions must be 0 (Remain) or 1 (Switch), got {np.unique(top).tolist()}")
        a = np.asarray(direction, dtype=float)
        if a.shape == (3,) and N == 1:
            a = a.reshape(1, 3)
        if a.shape != (N, 3):
            raise ValueError(f"direction: expected shape ({N}, 3), got {a.shape}")
        act = self.active
        if not np.all(np.isfinite(a[act])):
            raise ValueError("direction: must be finite")
        sw = act & (top == SWITCH)
        mask = self.candidate_mask()
        if target is None:
            tgt = np.argmax(np.where(mask, self.rates_now, -np.inf), axis=1)      # max-rate candidate
        else:
            tgt = np.asarray(target)
            if tgt.shape == () and N == 1:
                tgt = tgt.reshape(1)
            if tgt.shape != (N,):
                raise ValueError(f"target: expected shape ({N},), got {tgt.shape}")
            tgt = tgt.astype(np.int64)
            bad = sw & ((tgt < 0) | (tgt >= B))
            if bad.any():
                raise ValueError(f"target: BS index out of range 0..{B - 1} for UAVs {np.flatnonzero(bad).tolist()}")
            ok = mask[np.arange(N), np.where(sw, tgt, 0)]
            bad = sw & ~ok
            if bad.any():
                u = int(np.flatnonzero(bad)[0])
                raise ValueError(f"target: BS {int(tgt[u])} is not a Switch candidate of UAV {u} (it is the serving "
                                 f"BS or unavailable at t = {self.t[u]:.3f} s)")
        return top, a, sw, tgt

    def step(self, top, direction, target=None) -> StepResult:
        """One synchronous step of all active UAVs. top (N,) int 0/1, direction (N, 3), target (N,) int or None
        (used only where top = 1). Entries of inactive UAVs are ignored. Raises ValueError for invalid actions."""
        if self.n_uavs == 0:
            raise RuntimeError("step() before reset()")
        if not self.active.any():
            raise RuntimeError("step() after every UAV finished; call reset()")
        top, a, sw, tgt = self._check_actions(top, direction, target)
        N = self.n_uavs
        idx = np.flatnonzero(self.active)
        b_old = self.b[idx]
        b_new = np.where(sw[idx], tgt[idx], b_old)                               # §7.1 step 2
        q, q_f = self.q[idx], self.q_f
        v, proj = M.project_direction(a[idx], q, q_f, self.eps_dir)              # E24 steps 2-3
        q1, out, floor = M.move(q, v, self.step_length, self.box)                # E24 step 4 (D47)
        tau = np.linalg.norm(q1 - q, axis=1) / self.speed                        # E26
        t1 = self.t[idx] + tau
        rates1, avail1 = self.measure(q1, t1)
        R1 = rates1[np.arange(idx.size), b_new]                                  # R_{n+1}
        r_rate = M.rate_reward(R1, self.r_min, self.r_max)                       # E28
        switched = b_new != b_old
        r_top = M.top_reward(r_rate, switched, self.w_r, self.w_m)
        d1 = np.linalg.norm(q1 - q_f, axis=1)
        arr = M.arrived(q1, q_f, self.radius)                                    # E25 (also after step N_max)
        r_low = M.lower_reward(r_rate, d1, self.d0[idx], self.w_r, self.w_g, self.shift, arr, self.w_a)
        g_qos, g_bnd = M.costs(R1, out, self.r_req, self.eta_bnd)                # E29

        L = self.length[idx]
        self.switches[idx] += switched & (L > 0)                                 # E27: first step is free
        self.switch_actions[idx] += switched
        self.positions[idx, L + 1] = q1
        self.serving[idx, L] = b_new
        self.length[idx] = L + 1
        self._accumulate(idx, tau, R1)
        self.projections[idx] += proj
        self.boundary_events[idx] += out
        self.floor_projections[idx] += floor
        self.return_top[idx] += r_top
        self.return_low[idx] += r_low
        self.sum_g_qos[idx] += g_qos
        self.sum_g_bnd[idx] += g_bnd
        self.q[idx], self.t[idx], self.b[idx] = q1, t1, b_new
        self.rates_now[idx], self.available_now[idx] = rates1, avail1
        self.n += 1

        if arr.any():
            self._finish(idx[arr])
        trunc = ~arr & (self.length[idx] >= self.n_max)
        self.truncated[idx[trunc]] = True
        self.active[idx[trunc]] = False

        def full(x, dtype=float):
            y = np.zeros(N, dtype=dtype)
            y[idx] = x
            return y

        terminated, truncated = full(arr, bool), full(trunc, bool)
        return StepResult(self.observation(), full(r_top), full(r_low), full(g_qos), full(g_bnd), full(R1),
                          terminated, truncated, full(True, bool), self.b.copy(), full(switched, bool),
                          full(proj, bool), full(out, bool), full(floor, bool))

    def _accumulate(self, idx, tau, rate) -> None:
        self.sum_tau[idx] += tau
        self.sum_rate_tau[idx] += tau * rate
        self.qos_tau[idx] += tau * (rate >= self.r_req)

    def _finish(self, idx: np.ndarray) -> None:
        """E25: final straight segment q -> q_f for UAVs idx, served by their current BS; they stop."""
        q = self.q[idx]
        need = M.final_segment_needed(q, self.q_f)
        self.arrived[idx] = True
        self.active[idx] = False
        if not need.any():
            self.positions[idx, self.length[idx]] = self.q_f
            return
        j = idx[need]
        tau = np.linalg.norm(q[need] - self.q_f, axis=1) / self.speed
        t_f = self.t[j] + tau
        rates = self.measure(np.tile(self.q_f, (j.size, 1)), t_f)[0]
        b = self.b[j]
        R = rates[np.arange(j.size), b]
        L = self.length[j]
        self.positions[j, L + 1] = self.q_f
        self.serving[j, L] = b
        self.length[j] = L + 1
        self._accumulate(j, tau, R)
        self.t[j] = t_f
        self.positions[idx[~need], self.length[idx[~need]]] = self.q_f

    # ------------------------------------------------------------------------------------------- records
    @property
    def done(self) -> bool:
        """True when every UAV has arrived or was truncated."""
        return self.n_uavs > 0 and not self.active.any()

    def decisions(self) -> Decisions:
        """The evaluator's Decisions (§6.1) of the rollout so far: positions (L_u+1, 3), serving (L_u,) per UAV,
        the simulator's direction projections and boundary events (N,)."""
        L = self.length
        return Decisions(tuple(self.positions[u, :L[u] + 1].copy() for u in range(self.n_uavs)),
                         tuple(self.serving[u, :L[u]].copy() for u in range(self.n_uavs)),
                         self.projections.copy(), self.boundary_events.copy(), self.floor_projections.copy())

    def summary(self) -> dict[str, np.ndarray]:
        """The env's accumulated per-UAV quantities (N,) with the evaluator's metric ids (§6.3, rates from the
        env's backend) plus returns (undiscounted sums of r^top, r^low) and cost sums. `boundary_events` counts
        E24 out events (the g^bnd signal), which `decisions()` reports to the evaluator."""
        end = self.positions[np.arange(self.n_uavs), self.length]
        gap = np.where(self.arrived, 0.0, np.linalg.norm(end - self.q_f, axis=1))
        T = self.sum_tau + gap / self.speed                                      # §6.3 flight time
        total = np.where(self.sum_tau > 0, self.sum_tau, 1.0)
        r_bar = np.where(self.sum_tau > 0, self.sum_rate_tau / total, 0.0)
        lam = self.lam
        j_paper = lam[0] * r_bar - lam[1] * self.switches - lam[2] * T                                  # E30
        fail = M.fail_penalty(self.inst.objective_fail_penalty, lam, self.r_max) * (~self.arrived)      # D49
        return {"rate_mbps": r_bar, "switches": self.switches.astype(float),
                "qsr": np.where(self.sum_tau > 0, self.qos_tau / total, 0.0),
                "flight_time_s": T, "objective": j_paper - fail, "objective_paper": j_paper,
                "success": self.arrived.astype(float), "steps": self.length.astype(float),
                "direction_projections": self.projections.astype(float),
                "boundary_events": self.boundary_events.astype(float),
                "floor_projections": self.floor_projections.astype(float),
                "switch_actions": self.switch_actions.astype(float),
                "return_top": self.return_top.copy(), "return_low": self.return_low.copy(),
                "sum_g_qos": self.sum_g_qos.copy(), "sum_g_bnd": self.sum_g_bnd.copy()}

