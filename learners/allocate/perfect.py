"""Method `perfect` of the allocate family (§7.2): predictive hierarchical DRL, and its variants
`perfect-literal-mac` (Algorithm 3 without hedge), `perfect-nopred` (D̃ replaced by dem), `perfect-literal-hl`
(the source paper's reward coupling, D28) and `perfect-shaped` (placement shaping, D33) (§7.7).

Reads top to bottom: the configuration (`PerfectConfig`, every value from datasets/allocate/_learners.toml), the
model (`Perfect`: predictor IG, trajectory planner TP, placement PL), the episode loop of Algorithm 1 (§7.2.6),
the greedy policy (`episode(train=False)`), and the registry entry points. The training loop with validation and
checkpoint selection (D31) is `runner.train_model`.

Per frame t (Algorithm 1):
  slow decision (end of frame t-1): predictor -> D̃^t; the TP picks every UAV's area of frame t (D32 observation
  and stay prior); fast decisions (start of frame t): PoA rule, Bayesian estimate + Algorithm 3 (MAC), masked
  placement D3QL, router; feedback (end of frame t): estimate update, rewards R_TP, R_MAC, R_PL, R_HL, replay and
  one gradient step per stored transition. From E_HL on R_HL replaces the TP reward; the PL keeps R_PL (D28).
Rule stand-ins for the learning checks (D35, D36; evaluation only): `uav_rule` "stay" (UAVs never move) or
"ceiling" (Hungarian areas on the true active requests of the frame, knowledge `oracle`) in place of the TP, and
`pl_rule` (the placement rule of §7.0) in place of the PL: `rule-stay` = stay + rule, `fixed-ceiling` =
ceiling + rule.
Section (§), equation (E) and decision (D) numbers refer to docs/families/allocate.md.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from optkit.formulations.allocate.env import OnlineEnv
from optkit.formulations.allocate.online import (ChannelEstimate, algorithm3, demand_grid, hungarian_uav_areas,
                                               poa_rule, route_requests)
from optkit.learners import harness
from optkit.learners.allocate import nets, observe, placement, runner
from optkit.learners.allocate.nets import N_MOVES, PredictorNet, TrajectoryNet, predictor_loss
from optkit.learners.allocate.observe import EpisodeHistory, displacement_index, shift_area
from optkit.learners.d3ql import DQNAgent
from optkit.learners.qnet import MLPQNet
from optkit.learners.replay import ReplayMemory
from optkit.learners.schedules import EpisodeEpsilon, LinearEpsilon, epsilon_greedy

SOURCES = harness.source_files(__file__, runner.__file__, placement.__file__, nets.__file__, observe.__file__,
                               family="allocate")


@dataclass(frozen=True)
class PerfectConfig:
    """Hyperparameters of `perfect` and its variants (§7.2.7); values only in _learners.toml."""

    budget: str                 # training budget name (check, smoke, quick, paper)
    episodes: int               # E_train: training episodes (instances 10 000 + e)
    progress_every: int         # progress line every that many episodes (train only)
    validation_seeds: int       # D31: greedy validation on seeds 5000 + j, j < validation_seeds
    validation_points: int      # D31: validation every ceil(E/validation_points) episodes and after the last
    select_checkpoint: bool     # D31: keep the best validated model (False: the final one)
    lr: float                   # Adam learning rate
    batch_size: int             # minibatch size
    gamma: float                # Γ of TP and PL between frames (1 between the steps of a frame)
    replay_tp: int              # ψ_TP for E_train <= replay_large_above (D30)
    replay_pl: int              # ψ_PL for E_train <= replay_large_above (D30)
    replay_ig: int              # ψ_IG
    replay_large_above: int     # budget above which ψ_TP = ψ_PL = replay_large (D30)
    replay_large: int           # ψ_TP = ψ_PL above replay_large_above episodes
    target_sync: int            # gradient steps between target-network copies (D13)
    grad_clip: float            # gradient-norm clip (D13)
    eps_schedule: str           # "episode" (D29) or "paper" (per decision, ε' = eps_decrement)
    eps_start: float            # ε at the first episode / decision
    eps_floor: float            # ε̃ while training (0 at evaluation)
    eps_reach: float            # D29: fraction of the budget at which ε reaches its floor
    eps_decrement: float        # ε' per decision ("paper" schedule only)
    hl_fraction: float          # E_HL / E_train (high-level switch)
    hl_coupling: str            # "tp" (D28: R_HL replaces the TP reward only) or "literal" (TP and PL)
    chi: float                  # χ, weight of R_MAC in R_HL
    kappa: float                # κ, weight of R_PL in R_HL
    bayes_weight: float         # λ (E16)
    bayes_prior: float          # prior of Q̄
    beta_hedge: float           # β_hedge (E17)
    hedge: bool                 # Algorithm 3 with the hedged block length (False: perfect-literal-mac)
    predictor: bool             # False: D̃^{t+1} := dem^t (perfect-nopred)
    pl_hidden: list             # placement MLP hidden sizes
    pl_shaping: bool            # D33 potential-based shaping (perfect-shaped)
    tp_count_channel: bool      # D32: UE-count channel in O_TP
    tp_rsu_channel: bool        # D32: static RSU-area channel in O_TP
    stay_prior: float           # δ_stay of D32


@dataclass
class Rewards:
    """Per-frame rewards (§7.2.3-§7.2.6)."""

    tp: float
    mac: float
    pl: float
    hl: float


class Perfect:
    """The three learners of PERFECT (predictor IG, trajectory TP, placement PL) and the episode loop."""

    Config = PerfectConfig

    def __init__(self, d: dict, cfg: PerfectConfig, rng: np.random.Generator):
        self.d, self.cfg, self.rng = d, cfg, rng
        rows, cols = d["grid"]
        self.A, self.steps = rows * cols, d["H"] + 1
        self.n_pl_obs = 2 * d["F"] + 4 * d["N"] + d["F"] * d["N"]
        self.n_pl_actions = d["F"] * d["N"] + 1

        def agent(net, memory, **kw):
            return DQNAgent(net, memory, lr=cfg.lr, batch_size=cfg.batch_size, grad_clip=cfg.grad_clip,
                            target_sync=cfg.target_sync, **kw)

        def seed():
            return int(rng.integers(2 ** 31))

        n_branch = max(1, d["n_uav"])
        n_ch, first_uav = EpisodeHistory.tp_layout(d["n_uav"], cfg.tp_count_channel, cfg.tp_rsu_channel)
        self.tp = agent(TrajectoryNet(d["n_uav"], (rows, cols), self.steps, n_ch, first_uav, cfg.stay_prior),
                        ReplayMemory.transitions(runner.replay_size(cfg, cfg.replay_tp), (self.steps, n_ch, rows, cols),
                                                 self.A, action_shape=(n_branch,), seed=seed()))
        self.pl = agent(MLPQNet(self.n_pl_obs, self.n_pl_actions, hidden=tuple(cfg.pl_hidden), dueling=True),
                        ReplayMemory.transitions(runner.replay_size(cfg, cfg.replay_pl), (self.n_pl_obs,),
                                                 self.n_pl_actions, seed=seed()))
        n_ig = PredictorNet.obs_size(self.steps)
        self.ig = agent(PredictorNet(self.steps),
                        ReplayMemory(cfg.replay_ig, {"obs": ((n_ig,), np.float32), "action": ((2,), np.int64),
                                                     "reward": ((2,), np.float32), "weight": ((2,), np.float32)},
                                     seed()),
                        loss_fn=predictor_loss)
        self.eps = {k: self._schedule() for k in ("tp", "pl", "ig")}     # separate schedules per agent (D29)

    def _schedule(self):
        c = self.cfg
        if c.eps_schedule == "episode":
            return EpisodeEpsilon(c.episodes, c.eps_start, c.eps_floor, c.eps_reach)
        if c.eps_schedule == "paper":
            return LinearEpsilon(c.eps_start, c.eps_decrement, c.eps_floor)
        raise ValueError(f"eps_schedule must be 'episode' or 'paper', got {c.eps_schedule!r}")

    def set_episode(self, e: int, n_episodes: int) -> None:
        """Training episode e of n_episodes (the per-episode ε of D29)."""
        for schedule in self.eps.values():
            if isinstance(schedule, EpisodeEpsilon):
                schedule.set_episode(e)

    # ---------------------------------------------------------------------------------------------- state
    def state_dict(self) -> dict:
        return {"tp": self.tp.state_dict(), "pl": self.pl.state_dict(), "ig": self.ig.state_dict(),
                "eps_steps": torch.tensor([self.eps[k].steps for k in ("tp", "pl", "ig")])}

    def load_state_dict(self, states: dict) -> None:
        self.tp.load_state_dict(states["tp"])
        self.pl.load_state_dict(states["pl"])
        self.ig.load_state_dict(states["ig"])
        for k, v in zip(("tp", "pl", "ig"), states["eps_steps"].tolist()):
            self.eps[k].steps = int(v)

    # ---------------------------------------------------------------------------------------------- §7.2.2
    def predict(self, hist: EpisodeHistory, t: int, explore: bool):
        """D̃^t (A,) from o_IG(u, t-1); returns (D̃^t, pending predictions for the learning step)."""
        if not self.cfg.predictor:                           # perfect-nopred: D̃^t := dem^{t-1}
            return np.array(hist.demand[t - 1 + hist.H]), None
        obs = hist.ig_obs(t - 1)
        q = self.ig.q_values(obs)                                               # (U, 9 + 2)
        eps = self.eps["ig"].value if explore else 0.0
        moves = np.array([epsilon_greedy(row[:N_MOVES], None, eps, self.rng) for row in q], dtype=np.int64)
        issues = np.array([epsilon_greedy(row[N_MOVES:], None, eps, self.rng) for row in q], dtype=np.int64)
        if explore:
            for _ in range(len(q)):
                self.eps["ig"].step()
        z = q[:, N_MOVES:] - q[:, N_MOVES:].max(axis=1, keepdims=True)
        p_issue = np.exp(z[:, 1]) / np.exp(z).sum(axis=1)                     # softmax, temperature 1
        area = shift_area(hist.ue_area[:, t - 1 + hist.H], moves, hist.rows, hist.cols)   # â(u, t)
        pred = np.zeros(self.A)
        for r in hist.continuing(t):
            pred[area[r.ue]] += float(sum(r.demand))
        waiting = ~hist.issued
        np.add.at(pred, area[waiting], p_issue[waiting] * hist.mean_demand)
        return pred, (obs, moves, issues, hist.issued.copy())

    def learn_predictor(self, pending, hist: EpisodeHistory, t: int) -> None:
        """Accuracy rewards of the frame-t predictions (Γ_IG = 0); one gradient step (D14)."""
        if pending is None:
            return
        obs, moves, issues, issued_before = pending
        H = hist.H
        realized = displacement_index(hist.ue_area[:, t - 1 + H], hist.ue_area[:, t + H], hist.cols)
        issued_now = hist.issued & ~issued_before
        for u in range(len(moves)):
            self.ig.memory.add(obs=obs[u], action=[moves[u], issues[u]],
                               reward=[float(moves[u] == realized[u]), float(issues[u] == int(issued_now[u]))],
                               weight=[1.0, 0.0 if issued_before[u] else 1.0])
        self.ig.train_step()

    # ---------------------------------------------------------------------------------------------- episode
    def episode(self, inst, *, train: bool, high_level: bool = False, uav_rule: str | None = None,
                pl_rule: bool = False):
        """One episode through the online environment (Algorithm 1). train=False is the greedy policy (ε = 0, no
        TP/PL updates; the predictor keeps learning online, D14). uav_rule / pl_rule: rule stand-ins (module
        docstring; evaluation only). Returns (env, record of reward sums)."""
        cfg = self.cfg
        if train and (uav_rule or pl_rule):
            raise ValueError("rule stand-ins are for evaluation only")
        env = OnlineEnv(inst)
        static = env.static
        alpha, gamma = float(static.alpha), float(cfg.gamma)
        hist = EpisodeHistory(static)
        estimate = ChannelEstimate(static.C, static.A, prior=cfg.bayes_prior, weight=cfg.bayes_weight)
        chain = placement.PlacementChain(self.pl.memory, gamma, self.n_pl_actions, use_mask=True,
                                         shaping=cfg.pl_shaping)
        all_areas = np.ones((max(1, static.n_uav), self.A), dtype=bool)
        prev_area = env.initial_uav_area
        tp_pending = None                               # (O_TP^{t-1}, S^t, reward) awaiting O_TP^t
        sums = {"return": 0.0, "r_hl": 0.0, "r_tp": 0.0, "r_mac": 0.0, "r_pl": 0.0, "pl_steps": 0, "uav_moves": 0}
        for t in range(static.T):
            # slow decision (end of frame t-1)
            pred, ig_pending = self.predict(hist, t, explore=train)
            obs_tp = hist.tp_obs(t - 1, pred, cfg.tp_count_channel, cfg.tp_rsu_channel)
            if train and tp_pending is not None:
                self.tp.memory.add(obs=tp_pending[0], action=tp_pending[1], reward=tp_pending[2], next_obs=obs_tp,
                                   discount=gamma, next_mask=all_areas)
                self.tp.train_step()
            if uav_rule == "stay":
                area = np.array(prev_area, dtype=np.int64)
            elif uav_rule == "ceiling":
                area = hungarian_uav_areas(static, prev_area, _true_active_weights(inst, t, env.failed))
            else:
                area = self._uav_areas(obs_tp, train)
            env.commit_uav_areas(t, area)
            # fast decisions (start of frame t)
            info = env.start_frame(t)
            hist.start_frame(info, demand_grid(static, info))
            self.learn_predictor(ig_pending, hist, t)
            poa = poa_rule(static, info)
            channels = algorithm3(static, info, poa, estimate.q, hedge=cfg.hedge, beta=cfg.beta_hedge)
            with_blocks = {r for r, _ in channels}
            rc = [q for q in info.active if q.r in with_blocks]
            problem = placement.PlacementProblem(static, rc, placement.reachability(static, info, poa, rc), alpha,
                                                 placement.route_sets(static, info, poa, rc))
            choose = placement.rule_choice(problem) if pl_rule else (lambda o, m: self._pl_choice(o, m, train))
            steps = placement.run_sequence(problem, choose, use_mask=True)
            deployed = problem.placement()
            service = route_requests(static, info, poa, rc, deployed)
            feedback = env.commit_frame(t, poa, channels, deployed, service)
            # feedback (end of frame t)
            estimate.update(feedback)
            hist.failed = set(feedback.failed)
            rw = self._rewards(static, info, prev_area, area, poa, channels, deployed, service, feedback)
            tp_reward = rw.hl if high_level else rw.tp                                       # D28
            pl_target = rw.hl if (high_level and cfg.hl_coupling == "literal") else rw.pl    # D28 / literal
            tp_pending = (obs_tp, np.asarray(area if static.n_uav else [0], dtype=np.int64), tp_reward)
            if train:
                chain.add_frame(steps, pl_target + alpha * sum(static.e_node[n] for _, n in deployed))
                for _ in range(len(steps)):        # one gradient step per stored transition (D13)
                    self.pl.train_step()
            for key, value in (("return", tp_reward), ("r_hl", rw.hl), ("r_tp", rw.tp), ("r_mac", rw.mac),
                               ("r_pl", rw.pl)):
                sums[key] += value
            sums["pl_steps"] += len(steps)
            sums["uav_moves"] += int(np.sum(np.asarray(area) != np.asarray(prev_area)))
            prev_area = area
        if train:                                       # last TP transition with discount 0
            self.tp.memory.add(obs=tp_pending[0], action=tp_pending[1], reward=tp_pending[2],
                               next_obs=tp_pending[0], discount=0.0, next_mask=all_areas)
            self.tp.train_step()
            chain.close()
        sums.update({f"eps_{k}": self.eps[k].value for k in ("tp", "pl")})
        return env, sums

    def validation_episode(self, inst, **rules):
        """Greedy episode for validation (D31): the predictor learns online on a copy that is then discarded, so
        the model is unchanged afterwards."""
        kept = self.ig
        self.ig = copy.deepcopy(kept)
        try:
            return self.episode(inst, train=False, **rules)
        finally:
            self.ig = kept

    def _uav_areas(self, obs_tp, train: bool) -> np.ndarray:
        """Algorithm 2 per branch (one |𝒜|-way branch per UAV)."""
        if self.d["n_uav"] == 0:
            return np.zeros(0, dtype=np.int64)
        eps = self.eps["tp"].value if train else 0.0
        if train:
            self.eps["tp"].step()
        return np.asarray(self.tp.act(obs_tp, None, eps, self.rng), dtype=np.int64)

    def _pl_choice(self, obs, mask, train: bool) -> int:
        eps = self.eps["pl"].value if train else 0.0
        if train:
            self.eps["pl"].step()
        return self.pl.act(obs, mask, eps, self.rng)

    def _rewards(self, static, info, prev_area, area, poa, channels, deployed, service, feedback) -> Rewards:
        """R_TP (§7.2.3), R_MAC (§7.2.4), R_PL (§7.2.5), R_HL = R_TP + χ R_MAC + κ R_PL (§7.2.6) of frame t."""
        alpha = float(static.alpha)
        covered = {int(a) for a in info.node_area[static.n_core:]}
        move = float(sum(static.move_energy[j, prev_area[j], area[j]] for j in range(static.n_uav)))
        r_tp = sum(1.0 for q in info.active if int(info.ue_area[q.ue]) in covered) - alpha * move
        energy = placement.frame_energies(static, info, channels, deployed, service)
        good = placement.good_slots(static, info, channels, feedback)
        with_blocks = {r for r, _ in channels}
        r_mac = sum(1.0 for q in info.active if q.r in with_blocks and good.get(q.r, 0) >= q.slots) \
            - alpha * energy["e_chan"]
        r_pl = sum(1.0 for served in feedback.served.values() if served) \
            - alpha * (energy["e_node"] + energy["e_link"])
        r_hl = r_tp + self.cfg.chi * r_mac + self.cfg.kappa * r_pl
        return Rewards(r_tp, r_mac, r_pl, r_hl)


def _true_active_weights(inst, t: int, failed) -> np.ndarray:
    """w_a of `fixed-ceiling` (§7.7, knowledge oracle): requests active in frame t and not failed, counted in the
    area of their UE in frame t (true future areas and arrivals)."""
    w = np.zeros(inst.A)
    for r in range(inst.R):
        if r not in failed and t in inst.active_frames(r):
            w[inst.area(r, t)] += 1.0
    return w


# Registry entry points: `perfect` and the variants of §7.7.
solve, train = runner.entry_points(Perfect, "perfect", SOURCES)
solve_literal_mac, train_literal_mac = runner.entry_points(Perfect, "perfect-literal-mac", SOURCES)
solve_nopred, train_nopred = runner.entry_points(Perfect, "perfect-nopred", SOURCES)
solve_literal_hl, train_literal_hl = runner.entry_points(Perfect, "perfect-literal-hl", SOURCES)
solve_shaped, train_shaped = runner.entry_points(Perfect, "perfect-shaped", SOURCES)
