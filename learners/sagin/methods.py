"""The learners of the `sagin` family (§7.1 `ddqn-csac`, §7.2 `drl`, §7.5 ablations), one training loop.

Section (§), equation (E) and decision (D) numbers refer to docs/families/sagin.md.

Every method is a pair (top level, lower level) chosen by its table in datasets/sagin/_learners.toml:

| method         | top (association)                         | lower (direction)                               |
|----------------|-------------------------------------------|-------------------------------------------------|
| `ddqn-csac`    | "ddqn": DDQN Remain/Switch (§7.1)         | "csac": Lagrangian constrained SAC (§7.1)       |
| `rsrp-csac`    | "rsrp": argmax RSRP at q(n) (§7.5)        | "csac"                                          |
| `maxrate-csac` | "maxrate": argmax rate at q(n) (§7.5)     | "csac"                                          |
| `ddqn-sac`     | "ddqn"                                    | "sac": SAC on r̃ = r^low − 1.0 g^qos − 1.0 g^bnd |
| `ddqn-sl`      | "ddqn"                                    | "straight": v = x̂(n), no learning (§7.5)        |
| `drl`          | "sinr": argmax large-scale SINR (§7.2)    | "lattice": DDQN over the 26 masked directions   |

Training (CleanRL style, §7.1 steps 1-9): the N_U UAVs of the training instance form one synchronous `SaginEnv`
with the instance's `channel.rate_backend` ("cached" by default, D39); each episode starts from the
next block of training starts (`generator.training_starts`, the instance's "train" stream, §3.2 step 4). Per
environment step: one batched forward pass per level, the Switch target is argmax_c Q(s_n^(c), Remain) over the
candidate set (ties: lowest index, §7.1 step 2), all active UAVs step, their transitions go into one replay per
level (arrival terminal, N_max truncation bootstrapped, UAVs that finished produce no more transitions), then
exactly ONE gradient step per learning level (§7.1 step 9). Warm-up: uniform random actions on both levels until a
level's replay holds `learning_starts` transitions (the learner cores do it). ε per episode (§7.1 step 7), reaching
its floor after 80 % of the episodes (D51). CSAC multipliers (D48): not from the replay batch (the core's per-step
rate is 0) but once per training episode, μ_k ← clip(μ_k + η_λ,ep (ḡ_k − d_k), 0, μ_max), ḡ_k the mean cost over
every UAV-step of the last W = ⌈lambda_window_uavs / N_U⌉ training episodes (the behaviour policy's own costs).
Validation monitor (D52): every ⌈E / validation_points⌉ episodes and after the last one, the deterministic policy
flies the `validation_starts` starts of `rng_val` (generator.validation_starts) in the training env; the curve
row records val_objective (J, E30 with D49's failure penalty, env backend) and val_success. The final networks are
evaluated (the paper's rows); the monitor only records.
The greedy top levels decide b(n+1) from the measurements at q(n), t_n (the env's backend): RSRP (E22; the cached
raster's GN/AN RSRP plus the exact SN RSRP when training), rate (E21) or large-scale SINR (E23).

`ddqn-sac` (§7.5, D26): fixed penalties are realised by an unconstrained SAC (n_costs = 0) fed the
penalised reward r^low − p_qos g^qos − p_bnd g^bnd with (p_qos, p_bnd) = `fixed_penalty` (1.0, 1.0) — no multiplier
update. `drl` (§7.2): reward r^low − κ_qos max(0, g^qos) − g^bnd, κ_qos = `kappa_qos`; directions m with
m·x̂(n) ≤ 0 are masked (in acting and in the double-DQN argmax on s').

Evaluation (§6.4): deterministic policies (greedy Q; tanh(μ)) rolled out with the EXACT backend from the
instance's test starts; the Solution's decisions are `env.decisions()`; runtime_s is the time spent deciding.

Seeds (§3.2 step 6, §6.4): the learner of instance seed S and method seed ν trains on the instance of seed S of its
training preset (`train.preset`, default the instance's own) with that instance's training starts. Replay sampling
and exploration derive from the instance's "misc" stream: SeedSequence(S).spawn(6)[5] extended by ν, i.e.
SeedSequence(entropy=S, spawn_key=(5, ν)), spawned into (top rng, lower rng, torch seeds); the two torch seeds
(networks of the top and of the lower level) are the two words of the third child's generate_state(2).
"""
from __future__ import annotations

import math
import time
from collections import deque

import numpy as np

from optkit.errors import InputError
from optkit.formulations.sagin import generator as G
from optkit.formulations.sagin.env import REMAIN, SWITCH, SaginEnv
from optkit.learners import ddqn as ddqn_core
from optkit.learners import harness
from optkit.learners import sac as sac_core
from optkit.solution import Solution, Status
from optkit.sources import import_closure

FAMILY = "sagin"
TOPS = ("ddqn", "rsrp", "maxrate", "sinr")
LOWERS = ("csac", "sac", "straight", "lattice")
# The code a trained model depends on: the learner core and every optkit.formulations / optkit.learners module this
# one imports, transitively (environment, radio model, random fields, generator, learner cores, ...).
SOURCES = list(dict.fromkeys(harness.source_files(*import_closure(__file__))))
# The 26 lattice directions m ∈ {−1, 0, 1}³ \ {0} of `drl` (§7.2), in lexicographic order of m.
LATTICE = np.array([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1) if (i, j, k) != (0, 0, 0)],
                   dtype=float)
LATTICE_UNIT = LATTICE / np.linalg.norm(LATTICE, axis=1, keepdims=True)


# ------------------------------------------------------------------------------------------------ seeds
def run_seeds(base_seed: int, run_seed: int) -> tuple[np.random.Generator, np.random.Generator, int, int]:
    """(top rng, lower rng, torch seed of the top networks, torch seed of the lower networks) of instance seed S
    and method seed ν: children of SeedSequence(entropy=S, spawn_key=(misc, ν)), misc = index of the "misc"
    stream of §3.2."""
    misc = G.STREAMS.index("misc")
    run = np.random.SeedSequence(int(base_seed), spawn_key=(misc, int(run_seed)))
    top, low, torch_seq = run.spawn(3)
    t_top, t_low = (int(x) for x in torch_seq.generate_state(2))
    return np.random.default_rng(top), np.random.default_rng(low), t_top, t_low


# ------------------------------------------------------------------------------------------------ measurements
def rsrp_now(env: SaginEnv) -> np.ndarray:
    """RSRP (N, B) dBm of every BS at the UAVs' current (q_n, t_n) with the env's backend (E22; −inf for an
    unavailable satellite): cached raster for GN/AN when the env is cached, exact otherwise; SN always exact."""
    if env.cached is None:
        return env.model.links(env.q, env.t).rsrp_dbm
    return np.concatenate([env.cached.terrestrial_rsrp(env.q), env.model.satellite(env.q, env.t)[0]], axis=1)


def large_scale_sinr(model, rsrp_dbm: np.ndarray) -> np.ndarray:
    """E23 Γ̄_b (N, B) linear from RSRP (N, B) dBm: p_b / (Σ_{j in b's network} p_j − p_b + σ²_b), unavailable
    links (−inf dBm) carry p = 0. Same arithmetic as RadioModel.large_scale_sinr (which starts from its own links)."""
    with np.errstate(under="ignore"):
        p = np.where(np.isfinite(rsrp_dbm), 10.0 ** (rsrp_dbm / 10.0), 0.0)
    out = np.zeros_like(p)
    for g in model.groups:
        tot = p[:, g].sum(axis=1, keepdims=True)
        out[:, g] = p[:, g] / (tot - p[:, g] + model.noise[g])
    return out


def greedy_association(env: SaginEnv, rule: str) -> np.ndarray:
    """b(n+1) (N,) = argmax over available BSs of the rule's measurement at (q_n, t_n) (§7.2, §7.5; ties: lowest
    index): "rsrp" E22, "maxrate" E21, "sinr" E23."""
    if rule == "maxrate":
        score = env.rates_now
    else:
        rsrp = rsrp_now(env)
        score = rsrp if rule == "rsrp" else large_scale_sinr(env.model, rsrp)
    return np.argmax(np.where(env.available_now, score, -np.inf), axis=1).astype(np.int64)


def switch_targets(q_remain: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Switch rule of §7.1 step 2: argmax over candidates c (mask (K, B) bool) of Q(s^(c), Remain) (K, B);
    ties: lowest index. Returns (K,) int64."""
    return np.argmax(np.where(mask, q_remain, -np.inf), axis=1).astype(np.int64)


def lattice_mask(q: np.ndarray, q_f: np.ndarray) -> np.ndarray:
    """Valid `drl` directions (K, 26) bool at positions q (K, 3) m: m·x̂ > 0 (§7.2). An active UAV is never at q_f
    (it would have arrived), so at least 9 directions are valid."""
    return (np.asarray(q_f, dtype=float) - np.asarray(q, dtype=float).reshape(-1, 3)) @ LATTICE.T > 0.0


# ------------------------------------------------------------------------------------------------ the agent
class Agent:
    """The two levels of one method: `top` (DDQNLearner or None for a greedy rule) and `low` (SACLearner,
    DDQNLearner over LATTICE, or None for the straight line)."""

    def __init__(self, config: dict, obs_dim: int, base_seed: int, run_seed: int, *, buffer: int | None = None):
        self.config = config
        self.top_rule, self.lower_rule = config["top"], config["lower"]
        if self.top_rule not in TOPS:
            raise InputError(f"top: must be one of {', '.join(TOPS)}, got {self.top_rule!r}")
        if self.lower_rule not in LOWERS:
            raise InputError(f"lower: must be one of {', '.join(LOWERS)}, got {self.lower_rule!r}")
        rng_top, rng_low, torch_top, torch_low = run_seeds(base_seed, run_seed)
        hidden = tuple(int(h) for h in config["hidden"])
        buf = int(buffer or config["buffer"])
        ddqn = dict(hidden=hidden, lr=float(config["ddqn_lr"]), gamma=float(config["gamma_top"]), buffer=buf,
                    batch=int(config["batch"]), target_period=int(config["target_period"]),
                    learning_starts=int(config["learning_starts"]), eps_start=float(config["eps_start"]),
                    eps_end=float(config["eps_end"]), eps_reach_divisor=float(config["eps_reach_divisor"]),
                    update_backend=str(config.get("update_backend", "auto")))
        self.top = None
        if self.top_rule == "ddqn":
            self.top = ddqn_core.DDQNLearner(obs_dim, 2, ddqn_core.DDQNConfig(**ddqn), rng_top, torch_seed=torch_top)
        self.low = None
        if self.lower_rule in ("csac", "sac"):
            constrained = self.lower_rule == "csac"
            cfg = sac_core.SACConfig(
                hidden=hidden, actor_lr=float(config["sac_lr"]), critic_lr=float(config["sac_lr"]),
                alpha_lr=float(config["sac_lr"]), gamma=float(config["gamma_low"]), tau=float(config["tau"]),
                buffer=buf, batch=int(config["batch"]), learning_starts=int(config["learning_starts"]),
                alpha=float(config["alpha_init"]), target_entropy=float(config["target_entropy"]),
                cost_limits=(float(config["d_qos"]), float(config["d_bnd"])) if constrained else (),
                lambda_init=float(config["lambda_init"]), lambda_lr=0.0,          # D48: per episode, below
                lambda_max=float(config["lambda_max"]))
            self.low = sac_core.SACLearner(obs_dim, 3, cfg, rng_low, torch_seed=torch_low,
                                           n_costs=2 if constrained else 0)
        elif self.lower_rule == "lattice":
            self.low = ddqn_core.DDQNLearner(obs_dim, len(LATTICE), ddqn_core.DDQNConfig(**ddqn), rng_low,
                                             torch_seed=torch_low)

    @property
    def explorer(self):
        """The DDQN whose ε schedule the curve reports (top level, or the lattice DDQN of `drl`)."""
        return self.top if self.top is not None else (self.low if self.lower_rule == "lattice" else None)

    def epsilon(self, e: int, n_episodes: int) -> float:
        return self.explorer.epsilon(e, n_episodes) if self.explorer is not None else 0.0

    def multipliers(self) -> tuple[float, float]:
        """(μ_qos, μ_bnd): the CSAC multipliers, the fixed penalties of `sac` / `drl`, (0, 0) for the straight line."""
        if self.lower_rule == "csac":
            return tuple(float(x) for x in self.low.multipliers)
        if self.lower_rule == "sac":
            return tuple(float(x) for x in self.config["fixed_penalty"])
        if self.lower_rule == "lattice":
            return float(self.config["kappa_qos"]), 1.0
        return 0.0, 0.0

    def act(self, env: SaginEnv, idx: np.ndarray, epsilon: float | None) -> dict:
        """Actions of the active UAVs idx (K,) at the env's current step; epsilon None = deterministic policy.
        Returns the env's (top (N,), direction (N, 3), target (N,)) plus what the transitions need: s (K, D),
        top actions (K,), s1 (K, D) the lower level's state, lower actions (K, 3) or (K,) lattice indices."""
        N, explore = env.n_uavs, epsilon is not None
        s = env.observation()[idx]
        top = np.zeros(N, dtype=np.int64)
        target = env.b.copy()
        if self.top is not None:                                              # §7.1 steps 1-2
            a_top = self.top.act_batch(s, epsilon) if explore else self.top.greedy(s)
            sw = idx[a_top == SWITCH]
            if sw.size:
                cand, mask = env.candidate_observations()
                q = self.top.q_values(cand[sw].reshape(-1, env.obs_dim))[:, REMAIN].reshape(sw.size, env.n_bs)
                target[sw] = switch_targets(q, mask[sw])
            top[idx] = a_top
        else:                                                                 # greedy association (§7.2, §7.5)
            choice = greedy_association(env, self.top_rule)
            top[idx] = (choice[idx] != env.b[idx]).astype(np.int64)
            target[idx] = choice[idx]
            a_top = top[idx]
        b_next = np.where(top == SWITCH, target, env.b)
        direction = np.zeros((N, 3))
        s1, a_low = s, None
        if self.lower_rule in ("csac", "sac"):                                # §7.1 step 3
            s1 = env.observation(serving=b_next)[idx]
            a_low = self.low.act_batch(s1, deterministic=not explore)
            direction[idx] = a_low                                            # ΔP = 1; E24 normalises
        elif self.lower_rule == "lattice":                                    # §7.2
            mask = lattice_mask(env.q[idx], env.q_f)
            a_low = self.low.act_batch(s, epsilon, mask) if explore else self.low.greedy(s, mask)
            direction[idx] = LATTICE_UNIT[a_low]
        else:                                                                 # straight line x̂(n) (§7.5)
            direction[idx] = env.q_f - env.q[idx]
        return {"top": top, "direction": direction, "target": target, "s": s, "a_top": a_top, "s1": s1,
                "a_low": a_low}

    def observe(self, env: SaginEnv, idx: np.ndarray, act: dict, res) -> None:
        """Store the step's transitions of the UAVs idx that acted (§7.1 step 5); done = arrival only."""
        s_next, done = res.obs[idx], res.terminated[idx]
        if self.top is not None:
            self.top.observe_batch(act["s"], act["a_top"], res.r_top[idx], s_next, done)
        if self.lower_rule == "csac":
            costs = np.stack([res.g_qos[idx], res.g_bnd[idx]], axis=1)
            self.low.observe_batch(act["s1"], act["a_low"], res.r_low[idx], s_next, done, costs)
        elif self.lower_rule == "sac":
            p_qos, p_bnd = (float(x) for x in self.config["fixed_penalty"])
            reward = res.r_low[idx] - p_qos * res.g_qos[idx] - p_bnd * res.g_bnd[idx]
            self.low.observe_batch(act["s1"], act["a_low"], reward, s_next, done)
        elif self.lower_rule == "lattice":
            reward = (res.r_low[idx] - float(self.config["kappa_qos"]) * np.maximum(0.0, res.g_qos[idx])
                      - res.g_bnd[idx])
            self.low.observe_batch(act["s"], act["a_low"], reward, s_next, done, lattice_mask(env.q[idx], env.q_f))

    def dual_step(self, mean_costs: np.ndarray) -> None:
        """D48: one projected dual-ascent step of the CSAC multipliers from the on-policy mean costs (ḡ_qos, ḡ_bnd)
        of the last W training episodes; no-op for the other lower levels."""
        if self.lower_rule == "csac":
            limits = np.array([float(self.config["d_qos"]), float(self.config["d_bnd"])])
            mu = sac_core.project_multipliers(self.low.multipliers, np.asarray(mean_costs, dtype=float), limits,
                                              float(self.config["lambda_lr"]), float(self.config["lambda_max"]))
            self.low.set_multipliers(mu)

    def update(self) -> None:
        """Exactly one gradient step per learning level (no-op during its warm-up), §7.1 step 9."""
        if self.top is not None:
            self.top.update()
        if self.low is not None:
            self.low.update()

    @property
    def grad_steps(self) -> int:
        return max([m.grad_steps for m in (self.top, self.low) if m is not None] or [0])

    def state_dict(self) -> dict:
        return {"top": self.top.state_dict() if self.top is not None else {},
                "low": self.low.state_dict() if self.low is not None else {}}

    def load_state_dict(self, state: dict) -> None:
        if self.top is not None:
            self.top.load_state_dict(state["top"], networks_only=True)
        if isinstance(self.low, ddqn_core.DDQNLearner):
            self.low.load_state_dict(state["low"], networks_only=True)
        elif self.low is not None:
            self.low.load_state_dict(state["low"])


# ------------------------------------------------------------------------------------------------ training
def n_episodes(inst, config: dict) -> int:
    """E: the `episodes` option, else the instance's train.episodes, capped by the budget's max_episodes (0: none)."""
    n = int(config.get("episodes") or inst.train_episodes)
    cap = int(config.get("max_episodes", 0))
    return min(n, cap) if cap > 0 else n


def train_on(inst, config: dict, seed: int, *, progress_every: int = 0, label: str = "train"):
    """Train the method of `config` on instance `inst` (its seed S = base seed, its training starts) with method
    seed `seed`. Returns (states {"model": ...}, curve, extra metadata).

    curve: one dict per episode with episode, return_top, return_low (E28 undiscounted sums, mean over UAVs),
    return (= return_low), mu_qos, mu_bnd (CSAC multipliers after the episode; the fixed penalties of `sac` and
    `lattice`; 0 for `straight`), alpha (SAC temperature, 0 without SAC), epsilon (of the episode, 0 without a
    DDQN), steps (environment steps of the episode), grad_steps (gradient steps per level so far), success,
    rate_mbps, switches (means over the UAVs of `env.summary()`, env backend). extra: obs_dim, env_steps,
    grad_steps, backend, train_instance, s_per_env_step."""
    from optkit.learners.training import deterministic, run_episodes

    backend = str(config.get("backend") or inst.channel_rate_backend)
    env = SaginEnv(inst, backend)
    E = n_episodes(inst, config)
    starts = G.training_starts(inst, E)
    agent = Agent(config, env.obs_dim, inst.seed, seed)
    max_steps = int(config.get("max_episode_steps", 0)) or env.n_max
    counters = {"steps": 0}
    _, _, torch_top, _ = run_seeds(inst.seed, seed)
    window = deque(maxlen=math.ceil(int(config["lambda_window_uavs"]) / starts.shape[1]))  # W episodes (D48)
    points = int(config.get("validation_points", 0))
    val_every = math.ceil(E / points) if points > 0 else 0
    val_env = SaginEnv(inst, backend) if val_every else None
    val_starts = G.validation_starts(inst, int(config["validation_starts"])) if val_every else None

    def episode(e: int) -> dict:
        eps = agent.epsilon(e, E)
        env.reset(starts[e])
        steps, uav_steps = 0, 0
        while not env.done and steps < max_steps:
            idx = np.flatnonzero(env.active)
            act = agent.act(env, idx, eps)
            res = env.step(act["top"], act["direction"], act["target"])
            agent.observe(env, idx, act, res)
            agent.update()
            steps += 1
            uav_steps += idx.size
        counters["steps"] += steps
        summary = env.summary()
        window.append((summary["sum_g_qos"].sum(), summary["sum_g_bnd"].sum(), uav_steps))
        g_qos, g_bnd, n = (float(sum(w[k] for w in window)) for k in range(3))
        agent.dual_step(np.array([g_qos, g_bnd]) / max(n, 1.0))                          # D48
        mu_qos, mu_bnd = agent.multipliers()
        alpha = agent.low.alpha if isinstance(agent.low, sac_core.SACLearner) else 0.0
        ret_low = float(summary["return_low"].mean())
        row = {"return_top": float(summary["return_top"].mean()), "return_low": ret_low, "return": ret_low,
               "mu_qos": mu_qos, "mu_bnd": mu_bnd, "alpha": float(alpha), "epsilon": float(eps),
               "steps": steps, "grad_steps": agent.grad_steps, "success": float(summary["success"].mean()),
               "rate_mbps": float(summary["rate_mbps"].mean()), "switches": float(summary["switches"].mean()),
               "objective": float(summary["objective"].mean()),
               "floor_projections": float(summary["floor_projections"].mean()),
               "boundary_events": float(summary["boundary_events"].mean())}
        if val_every and ((e + 1) % val_every == 0 or e == E - 1):                        # D52 monitor
            val = deterministic_rollout(val_env, agent, val_starts)
            row.update(val_objective=float(val["objective"].mean()), val_success=float(val["success"].mean()))
        return row

    start = time.perf_counter()
    with deterministic(torch_top):
        curve = run_episodes(E, episode, label=label, progress_every=progress_every)
    seconds = time.perf_counter() - start
    extra = {"obs_dim": env.obs_dim, "env_steps": counters["steps"], "grad_steps": agent.grad_steps,
             "backend": backend, "train_instance": {"preset": inst.preset, "seed": int(inst.seed)},
             "s_per_env_step": seconds / max(counters["steps"], 1)}
    return {"model": agent.state_dict()}, curve, extra


def _fit(method: str):
    def fit(training_set, config: dict, seed: int, progress: bool):
        inst = G.generate(training_set.params, int(config["base_seed"]), training_set.preset)
        return train_on(inst, config, seed, label=f"{method} {training_set.preset}",
                        progress_every=int(config["progress_every"]) if progress else 0)
    return fit


# ------------------------------------------------------------------------------------------------ evaluation
def deterministic_rollout(env: SaginEnv, agent: Agent, starts: np.ndarray) -> dict:
    """Fly the deterministic policy (greedy Q, tanh(μ)) from `starts` (N, 3) in `env` to the end; env.summary()."""
    env.reset(starts)
    while not env.done:
        idx = np.flatnonzero(env.active)
        act = agent.act(env, idx, None)
        env.step(act["top"], act["direction"], act["target"])
    return env.summary()


def rollout(inst, agent: Agent) -> tuple[object, float]:
    """Deterministic rollout of every test UAV with the exact backend (§6.1, §6.4): (Decisions, decision seconds)."""
    env = SaginEnv(inst, "exact")
    env.reset(inst.starts_test)
    seconds = 0.0
    while not env.done:
        idx = np.flatnonzero(env.active)
        start = time.perf_counter()
        act = agent.act(env, idx, None)
        seconds += time.perf_counter() - start
        env.step(act["top"], act["direction"], act["target"])
    return env.decisions(), seconds


def training_preset(inst) -> str:
    """The preset the instance's learners train on: train.preset, else the instance's own preset."""
    return inst.train_preset or inst.preset


def solve_with(method: str, inst, seed: int, budget: str, checkpoint, options: dict) -> Solution:
    """Load or train (training preset of the instance, its seed as base seed, method seed `seed`), then roll the
    deterministic policy out on the instance's test starts with the exact backend."""
    if checkpoint is None:
        harness.check_preset_instance(inst)
    config = harness.learner_config(FAMILY, method, budget, inst.seed, options)
    preset = training_preset(inst)
    got = harness.obtain(FAMILY, method, preset, config, seed, SOURCES, _fit(method), checkpoint=checkpoint)
    meta = got["meta"]
    obs_dim = inst.n_bs + 4
    if int(meta["obs_dim"]) != obs_dim:
        raise InputError(f"{method}: the model takes {meta['obs_dim']} observation entries, the instance gives "
                         f"{obs_dim}")
    agent = Agent(meta["config"], obs_dim, int(meta["config"]["base_seed"]), int(meta["seed"]), buffer=1)
    agent.load_state_dict(got["states"]["model"])
    from optkit.learners.training import single_thread

    with single_thread():
        decisions, seconds = rollout(inst, agent)
    info = {"method_seed": seed, "train_s": meta["train_s"], "cache_hit": got["cache_hit"],
            "checkpoint": got["path"], "budget": meta["budget"], "episodes": meta["episodes"],
            "curve": meta["curve"], "train_preset": meta["preset"], "env_steps": meta.get("env_steps"),
            "grad_steps": meta.get("grad_steps"), "backend": meta.get("backend")}
    return Solution(family=FAMILY, method=method, status=Status.FEASIBLE, decisions=decisions, runtime_s=seconds,
                    info=info)


def entry_points(method: str):
    """The registry's solve and train of one learner id (its table in _learners.toml selects the configuration)."""

    def solve(inst, *, seed: int = 0, time_limit: float | None = None, budget: str = "quick",
              checkpoint: str | None = None, episodes: int | None = None) -> Solution:
        """Deterministic rollouts of the trained model from the instance's test starts (exact backend); trains on
        a cache miss on the instance's training preset (train.preset) with the instance's seed. episodes overrides
        the number of training episodes. time_limit is accepted and unused (training is excluded from it)."""
        return solve_with(method, inst, seed, budget, checkpoint, {"episodes": episodes})

    def train(family: str, scenario: str, point: str | None = None, *, seed: int = 0, budget: str = "quick",
              out: str | None = None, base_seed: int = 0, episodes: int | None = None, progress: bool = True) -> dict:
        """Train (or fetch from the cache) on the preset's instance of seed `base_seed`, method seed `seed`:
        {path, train_s, episodes, curve, cache_hit, wall_s}."""
        preset = harness.training_preset(FAMILY, method, family, scenario, point)
        config = harness.learner_config(FAMILY, method, budget, base_seed, {"episodes": episodes})
        return harness.train_cached(FAMILY, method, preset, config, seed, SOURCES, _fit(method), out=out,
                                    progress=progress)

    name = method.replace("-", "_")
    solve.__name__ = solve.__qualname__ = f"solve_{name}"
    train.__name__ = train.__qualname__ = f"train_{name}"
    return solve, train


solve_ddqn_csac, train_ddqn_csac = entry_points("ddqn-csac")
solve_drl, train_drl = entry_points("drl")
solve_rsrp_csac, train_rsrp_csac = entry_points("rsrp-csac")
solve_maxrate_csac, train_maxrate_csac = entry_points("maxrate-csac")
solve_ddqn_sac, train_ddqn_sac = entry_points("ddqn-sac")
solve_ddqn_sl, train_ddqn_sl = entry_points("ddqn-sl")
