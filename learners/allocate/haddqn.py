"""Method `haddqn` of the allocate family (§7.4, Decisions D20, D34) and its faithful row `haddqn-literal` (§7.7):
Hungarian UAV-area assignment and Hungarian resource-block allocation (quality-blind, hedged with a global success
rate), PoA rule, an unmasked non-dueling double-DQN placement agent, and the router. Decisions use the current
state only.

Reads top to bottom: the configuration (`HaDDQNConfig`, every value from datasets/allocate/_learners.toml), the
invalid-action loss (D34(c)), the model and its episode loop, the greedy policy (`episode(train=False)`), and the
registry entry points. The training loop with validation and checkpoint selection (D31) is `runner.train_model`.

Placement: the state and action space of §7.2.5 (`action_space = "flat"`) or, D34(e), the factored process of
`placement.FactoredPlacement` (the frame's (r, f) pairs in priority order, each step the host node of the current
pair or STOP: |𝒩| + 1 actions); no mask in the greedy choice in either form.
* `haddqn` (D34): an invalid action ends the frame's sequence like STOP and adds -1 to that step's reward; discount
  1 inside a frame and Γ between frames; since then Q(o, a_inv) = Q(o, STOP) - 1 exactly, every minibatch also
  regresses `invalid_targets` uniformly drawn invalid actions of each sampled state to Q(o, STOP; W⁻) - 1;
  Algorithm 2's random branch draws a valid action; the ε schedule of D29, replay of D30, selection of D31.
* `haddqn-literal`: an invalid action is a self-loop with reward -1, Γ on every step, no invalid-action targets,
  the paper's per-decision ε and replay 1000; the final network is evaluated (its validation curve is recorded).
The sequence also ends at STOP, when no valid deploy exists, or after 2|ℱ| steps. Reward R_PL (no coupling):
step rewards -α Ē_n, terminal R_PL + α E^t_node. `pl_rule` runs the HaDDQN pipeline with the placement rule of
§7.0 in the DDQN's place (the rule-in-the-loop check of D36; evaluation only).
Section (§), equation (E) and decision (D) numbers refer to docs/families/allocate.md.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from optkit.formulations.allocate.env import OnlineEnv
from optkit.formulations.allocate.online import (SuccessRate, hungarian_blocks, hungarian_uav_areas, poa_rule,
                                               reactive_area_weights, route_requests)
from optkit.learners import harness
from optkit.learners.allocate import placement, runner
from optkit.learners.d3ql import DQNAgent, td_loss
from optkit.learners.qnet import MLPQNet
from optkit.learners.replay import ReplayMemory
from optkit.learners.schedules import EpisodeEpsilon, LinearEpsilon

SOURCES = harness.source_files(__file__, runner.__file__, placement.__file__, family="allocate")


@dataclass(frozen=True)
class HaDDQNConfig:
    """Hyperparameters of `haddqn` and `haddqn-literal` (§7.4, §7.7, D34); values only in _learners.toml."""

    budget: str                 # training budget name
    episodes: int               # training episodes (instances 10 000 + e)
    progress_every: int         # progress line every that many episodes (train only)
    validation_seeds: int       # D31: greedy validation on seeds 5000 + j, j < validation_seeds
    validation_points: int      # D31: validation every ceil(E/validation_points) episodes and after the last
    select_checkpoint: bool     # D31: keep the best validated model (False: the final one, haddqn-literal)
    lr: float                   # Adam learning rate
    batch_size: int             # minibatch size
    gamma: float                # Γ between frames
    replay_pl: int              # replay size for E_train <= replay_large_above (D30)
    replay_large_above: int     # budget above which the replay holds replay_large transitions
    replay_large: int
    target_sync: int            # gradient steps between target-network copies
    grad_clip: float            # gradient-norm clip
    eps_schedule: str           # "episode" (D29) or "paper" (per decision)
    eps_start: float
    eps_floor: float
    eps_reach: float            # D29: fraction of the budget at which ε reaches its floor
    eps_decrement: float        # ε' per decision ("paper" only)
    invalid_reward: float       # reward added by an invalid action (-1)
    invalid_action: str         # "terminal" (D34(a)) or "self_loop" (literal)
    discount_every_step: bool   # Γ on every step inside a frame (literal) instead of 1 (D34(b))
    invalid_targets: int        # D34(c): invalid actions per sampled state regressed to Q(o, STOP; W⁻) - 1
    explore_valid: bool         # the random branch of Algorithm 2 draws a valid action
    action_space: str           # "flat": deploy (f, n) or STOP; "factored": host of the current (r, f) or STOP (D34(e))
    max_steps_factor: int       # a frame's sequence ends after max_steps_factor·|ℱ| steps
    pl_hidden: list             # MLP hidden sizes (LeakyReLU), single Q head


def invalid_action_loss(n_targets: int, invalid_reward: float, stop: int):
    """Loss of D34(c): the double-DQN TD loss plus, for each sampled state o, `n_targets` invalid actions of o
    (uniform among those with mask False; stored mask of o) regressed to Q(o, STOP; W⁻) + invalid_reward."""

    def loss(net, target_net, batch: dict) -> torch.Tensor:
        base = td_loss(net, target_net, batch)
        invalid = ~batch["mask"]                                                    # (B, A)
        has = invalid.any(dim=1)
        if n_targets <= 0 or not bool(has.any()):
            return base
        weights = invalid[has].float()
        picks = torch.multinomial(weights, int(n_targets), replacement=True)        # (B', n)
        q = net(batch["obs"][has])
        with torch.no_grad():
            target = target_net(batch["obs"][has])[:, stop] + float(invalid_reward)  # (B',)
        err = q.gather(1, picks) - target.unsqueeze(1)
        return base + (err ** 2).mean()

    return loss


class HaDDQN:
    """The placement DDQN and the HaDDQN episode loop."""

    Config = HaDDQNConfig

    def __init__(self, d: dict, cfg: HaDDQNConfig, rng: np.random.Generator):
        self.d, self.cfg, self.rng = d, cfg, rng
        if cfg.action_space == "flat":
            self.n_obs = 2 * d["F"] + 4 * d["N"] + d["F"] * d["N"]
            self.n_actions = d["F"] * d["N"] + 1
        elif cfg.action_space == "factored":                                     # D34(e)
            self.n_obs = placement.FactoredPlacement.obs_size(d["F"], d["N"])
            self.n_actions = d["N"] + 1
        else:
            raise ValueError(f"action_space must be 'flat' or 'factored', got {cfg.action_space!r}")
        self.stop = self.n_actions - 1
        if cfg.invalid_action not in ("terminal", "self_loop"):
            raise ValueError(f"invalid_action must be 'terminal' or 'self_loop', got {cfg.invalid_action!r}")
        fields = {"obs": ((self.n_obs,), np.float32), "action": ((), np.int64), "reward": ((), np.float32),
                  "next_obs": ((self.n_obs,), np.float32), "discount": ((), np.float32),
                  "next_mask": ((self.n_actions,), np.bool_), "mask": ((self.n_actions,), np.bool_)}
        memory = ReplayMemory(runner.replay_size(cfg, cfg.replay_pl), fields, int(rng.integers(2 ** 31)))
        self.pl = DQNAgent(MLPQNet(self.n_obs, self.n_actions, hidden=tuple(cfg.pl_hidden), dueling=False), memory,
                           lr=cfg.lr, batch_size=cfg.batch_size, grad_clip=cfg.grad_clip, target_sync=cfg.target_sync,
                           loss_fn=invalid_action_loss(cfg.invalid_targets, cfg.invalid_reward, self.stop))
        if cfg.eps_schedule == "episode":
            self.eps = EpisodeEpsilon(cfg.episodes, cfg.eps_start, cfg.eps_floor, cfg.eps_reach)
        elif cfg.eps_schedule == "paper":
            self.eps = LinearEpsilon(cfg.eps_start, cfg.eps_decrement, cfg.eps_floor)
        else:
            raise ValueError(f"eps_schedule must be 'episode' or 'paper', got {cfg.eps_schedule!r}")

    def set_episode(self, e: int, n_episodes: int) -> None:
        if isinstance(self.eps, EpisodeEpsilon):
            self.eps.set_episode(e)

    def state_dict(self) -> dict:
        return {"pl": self.pl.state_dict(), "eps_steps": torch.tensor(self.eps.steps)}

    def load_state_dict(self, states: dict) -> None:
        self.pl.load_state_dict(states["pl"])
        self.eps.steps = int(states["eps_steps"])

    def _choice(self, obs, mask, train: bool) -> int:
        """Algorithm 2 with an unmasked greedy choice over all F·N + 1 actions; with `explore_valid` the random
        branch draws a uniformly random valid action (uniform draws over every action are ~90 % invalid)."""
        eps = self.eps.value if train else 0.0
        if train:
            self.eps.step()
        if self.cfg.explore_valid and self.rng.random() <= eps:
            options = np.flatnonzero(mask)
            return int(options[self.rng.integers(options.size)])
        return self.pl.act(obs, None, 0.0 if self.cfg.explore_valid else eps, self.rng)

    def episode(self, inst, *, train: bool, high_level: bool = False, pl_rule: bool = False):
        """One episode through the online environment. train=False is the greedy policy. Returns
        (env, {"return": Σ_t R_PL, "pl_steps", "invalid_steps", ...})."""
        cfg = self.cfg
        if train and pl_rule:
            raise ValueError("the placement rule is for evaluation only")
        env = OnlineEnv(inst)
        static = env.static
        alpha = float(static.alpha)
        chain = placement.PlacementChain(self.pl.memory, cfg.gamma, self.n_actions, use_mask=False,
                                         inner_discount=cfg.gamma if cfg.discount_every_step else 1.0,
                                         store_mask=True)
        rate = SuccessRate()
        area = env.initial_uav_area
        prev_info, failed = None, frozenset()
        sums = {"return": 0.0, "r_pl": 0.0, "pl_steps": 0, "invalid_steps": 0}
        max_steps = int(cfg.max_steps_factor) * int(static.n_functions)
        for t in range(static.T):
            area = hungarian_uav_areas(static, area, reactive_area_weights(static, prev_info, failed))   # end of t-1
            env.commit_uav_areas(t, area)
            info = env.start_frame(t)
            poa = poa_rule(static, info)
            channels = hungarian_blocks(static, info, poa, rate.rate)
            with_blocks = {r for r, _ in channels}
            rc = [q for q in info.active if q.r in with_blocks]
            problem = placement.PlacementProblem(static, rc, placement.reachability(static, info, poa, rc), alpha,
                                                 placement.route_sets(static, info, poa, rc))
            if pl_rule:
                steps = placement.run_sequence(problem, placement.rule_choice(problem), use_mask=True)
            else:
                if cfg.action_space == "factored":
                    problem = placement.FactoredPlacement(problem, t)
                steps = placement.run_sequence(problem, lambda o, m: self._choice(o, problem.mask(), train),
                                               use_mask=False, max_steps=max_steps,
                                               invalid_reward=float(cfg.invalid_reward),
                                               invalid_ends=cfg.invalid_action == "terminal")
            deployed = problem.placement()
            service = route_requests(static, info, poa, rc, deployed)
            feedback = env.commit_frame(t, poa, channels, deployed, service)
            rate.update(feedback)
            failed = frozenset(feedback.failed)
            energy = placement.frame_energies(static, info, channels, deployed, service)
            r_pl = sum(1.0 for ok in feedback.served.values() if ok) - alpha * (energy["e_node"] + energy["e_link"])
            if train:
                chain.add_frame(steps, r_pl + alpha * energy["e_node"])
                for _ in range(len(steps)):        # one gradient step per stored transition (D13)
                    self.pl.train_step()
            sums["pl_steps"] += len(steps)
            sums["invalid_steps"] += sum(1 for s in steps if not s.mask[s.action])
            sums["return"] += r_pl
            sums["r_pl"] += r_pl
            prev_info = info
        if train:
            chain.close()
        sums["eps_pl"] = self.eps.value
        return env, sums

    def validation_episode(self, inst, **rules):
        """Greedy episode for validation (D31); nothing in HaDDQN learns at evaluation."""
        return self.episode(inst, train=False, **rules)


# Registry entry points of `haddqn` and `haddqn-literal`.
solve, train = runner.entry_points(HaDDQN, "haddqn", SOURCES)
solve_literal, train_literal = runner.entry_points(HaDDQN, "haddqn-literal", SOURCES)
