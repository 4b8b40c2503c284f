"""Method `haddqn` of the allocate family (§7.4, Decision D20): Hungarian UAV-area assignment and
Hungarian resource-block allocation (quality-blind, hedged with a global success rate), PoA rule, an
unmasked non-dueling double-DQN placement agent, and the router. Decisions use the current state only.

Placement: the state and action space of §7.2.5, no mask: an invalid action gives reward -1 and leaves the
state unchanged; the frame's sequence ends at STOP, when no valid deploy exists, or after 2|ℱ| steps.
Reward R_PL (no high-level coupling): step rewards -α Ē_n, terminal R_PL + α E^t_node.
Hyperparameters and budgets: datasets/allocate/_learners.toml ([haddqn]).
Section (§), equation (E) and decision (D) numbers refer to docs/families/allocate.md.
"""
from __future__ import annotations

import numpy as np
import torch

from optkit.formulations.allocate.env import OnlineEnv
from optkit.formulations.allocate.online import (SuccessRate, hungarian_blocks, hungarian_uav_areas, poa_rule,
                                               reactive_area_weights, route_requests)
from optkit.learners import harness
from optkit.learners.allocate import placement, runner
from optkit.learners.d3ql import DQNAgent
from optkit.learners.qnet import MLPQNet
from optkit.learners.replay import ReplayMemory
from optkit.learners.schedules import LinearEpsilon

SOURCES = harness.source_files(__file__, runner.__file__, placement.__file__,
                               family="allocate")


class HaDDQN:
    """The placement DDQN and the HaDDQN episode loop."""

    def __init__(self, d: dict, config: dict, rng: np.random.Generator):
        self.d, self.cfg, self.rng = d, config, rng
        self.n_obs = 2 * d["F"] + 4 * d["N"] + d["F"] * d["N"]
        self.n_actions = d["F"] * d["N"] + 1
        self.pl = DQNAgent(MLPQNet(self.n_obs, self.n_actions, hidden=tuple(config["pl_hidden"]), dueling=False),
                           ReplayMemory.transitions(config["replay_pl"], (self.n_obs,), self.n_actions,
                                                    seed=int(rng.integers(2 ** 31))),
                           lr=config["lr"], batch_size=config["batch_size"], grad_clip=config["grad_clip"],
                           target_sync=config["target_sync"])
        self.eps = LinearEpsilon(config["eps_start"], config["eps_decrement_pl"], config["eps_floor"])

    def state_dict(self) -> dict:
        return {"pl": self.pl.state_dict(), "eps_steps": torch.tensor(self.eps.steps)}

    def load_state_dict(self, states: dict) -> None:
        self.pl.load_state_dict(states["pl"])
        self.eps.steps = int(states["eps_steps"])

    def _choice(self, obs, mask, train: bool) -> int:
        """Algorithm 2 with an unmasked greedy choice (any of the F·N + 1 actions; invalid ones cost -1). With
        `explore_valid` (DV-HD3) the random branch draws a uniformly random *valid* action, the literal wording
        of Algorithm 2 (§7.2.1): uniform draws over all 321 actions of `small` are ~90 % invalid and end at the
        STOP trap before a request is ever completed, so the agent never saw a served frame (0 % acceptance)."""
        eps = self.eps.value if train else 0.0
        if train:
            self.eps.step()
        if self.cfg.get("explore_valid") and mask is not None and self.rng.random() <= eps:
            options = np.flatnonzero(mask)
            return int(options[self.rng.integers(options.size)])
        return self.pl.act(obs, None, eps if not self.cfg.get("explore_valid") else 0.0, self.rng)

    def episode(self, inst, *, train: bool, high_level: bool = False):
        """One episode through the online environment. Returns (env, {"return": Σ_t R_PL, ...})."""
        cfg = self.cfg
        env = OnlineEnv(inst)
        static = env.static
        alpha = float(static.alpha)
        chain = placement.PlacementChain(self.pl.memory, cfg["gamma"], self.n_actions, use_mask=False,
                                         inner_discount=cfg["gamma"] if cfg.get("discount_every_step") else 1.0)
        rate = SuccessRate()
        area = env.initial_uav_area
        prev_info, failed = None, frozenset()
        sums = {"return": 0.0, "r_pl": 0.0, "pl_steps": 0}
        max_steps = int(cfg["max_steps_factor"]) * int(static.n_functions)
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
            steps = placement.run_sequence(problem, lambda o, m: self._choice(o, problem.mask(), train),
                                           use_mask=False, max_steps=max_steps,
                                           invalid_reward=float(cfg["invalid_reward"]))
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
            sums["return"] += r_pl
            sums["r_pl"] += r_pl
            prev_info = info
        if train:
            chain.close()
        sums["eps_pl"] = self.eps.value
        return env, sums


# Registry entry points of `haddqn`.
solve, train = runner.entry_points(HaDDQN, "haddqn", SOURCES)
