"""The SAC / CSAC gradient step (optkit.learners.sac) computed in numpy, on views of the torch parameters.

Same idea as learners/numpy_update.py for DQN: for the paper's small networks (actor 24-128-64-(3, 3), critics
27-128-64-1, batch 128) a torch update on one CPU thread is dominated by per-operation dispatch and autograd
bookkeeping; the same arithmetic written out in numpy is about 3x faster (benchmarks/results/sac_update.md). The
algorithm is the torch path of `SACLearner.update()` step for step:

1. one actor forward pass on [s'; s] (2B rows, the actor before its step serves both samples): a' and log π(a'|s')
   from noise ξ' (first B rows), ã and log π(ã|s) from ξ (last B rows);
2. critics: y = r̃ + γ (1 − done)(min_i Q'_i(s', a') − α log π(a'|s')), loss Σ_i mean (Q_i(s, a) − y)², Adam;
3. ("cost_critics" mode) cost critics: y_k = g_k + γ (1 − done) Q'_c,k(s', a'), loss Σ_k mean (Q_c,k − y_k)², Adam;
4. actor: loss mean(α log π(ã|s) − min_i Q_i(s, ã) + Σ_k λ_k Q_c,k(s, ã)) with the critics after their step;
   d/dã from the critics' input gradient, then through tanh, the reparameterisation u = μ + σ ξ, the Gaussian
   log-density, the tanh correction log(1 − tanh²(u) + 1e−6) and the log σ clamp (zero gradient outside
   [−20, 2], inclusive bounds as torch.clamp); min_i splits the gradient in half on ties as torch.min does; Adam;
5. temperature: loss mean(−log α (log π(ã|s) + H_target)), Adam on log α;
6. Polyak θ' ← (1 − τ) θ' + τ θ for the reward critics and the cost critics (one vector operation each).

The actor runs on numpy_update's `forward` / `backward` (fc_mean and fc_logstd laid out as one (2A, H) head);
networks of one shape that see the same input (the twin critics, their targets, the K cost critics) are stacked,
(N, out, in) weights, and run as one batched matmul per layer (`stacked_forward` / `stacked_backward`, numpy_update's
arithmetic batched over N). The multipliers' projected step stays in `SACLearner.update()` (shared by both
backends). The noise ξ', ξ is drawn by the caller from the learner's torch.Generator in the torch path's order, so
both backends see the same noise. Adam is `NumpyAdam` (torch.optim.Adam's arithmetic) on one flat buffer per
optimizer: every parameter of the actor, of the twin critics, of the cost critics and log α becomes a view of its
group's buffer (and the targets of theirs), so checkpoints and the torch forward pass (`act`) see every update.
Its moments are exchanged in torch.optim.Adam's state_dict format. tests/learners/test_numpy_sac.py checks
the gradients against autograd and whole updates against the torch path.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from optkit.learners.numpy_update import NumpyAdam, backward, forward

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0   # as learners/sac.py (not imported: sac.py imports this module)
TANH_EPS = 1e-6
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def share_flat(params: list[nn.Parameter]) -> tuple[np.ndarray, np.ndarray, list[slice]]:
    """Move the parameters into one flat buffer, in the given order (each torch parameter becomes a view of it).
    Returns (flat (P,), zero gradient buffer (P,), each parameter's slice of them)."""
    flat = np.concatenate([p.detach().cpu().numpy().ravel() for p in params])
    spans, offset = [], 0
    for p in params:
        n = p.numel()
        spans.append(slice(offset, offset + n))
        p.data = torch.from_numpy(flat[offset:offset + n]).view(p.shape)
        offset += n
    return flat, np.zeros_like(flat), spans


def stacked_forward(layers, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """N networks of one shape at once (the twin critics, the K cost critics): layers [(W (N, out, in),
    b (N, 1, out)), ...], x (B, in) shared by all or (N, B, in). Output (N, B, out) of Linear-ReLU-...-Linear and the
    inputs of every layer (for the backward); one batched matmul per layer instead of one per network."""
    inputs = [x]
    for weight, bias in layers[:-1]:
        x = np.matmul(x, weight.swapaxes(1, 2))
        x += bias
        np.maximum(x, _zeros(x.shape, x.dtype), out=x)
        inputs.append(x)
    weight, bias = layers[-1]
    return np.matmul(x, weight.swapaxes(1, 2)) + bias, inputs


def stacked_backward(layers, inputs: list[np.ndarray], grad_out: np.ndarray, grads: list[np.ndarray]) -> None:
    """Parameter gradients of stacked networks given d loss / d output (N, B, out), written into
    grads [dW1 (N, out, in), db1 (N, 1, out), ...] (`backward` of learners/numpy_update.py, batched over N)."""
    delta = grad_out
    for i in range(len(layers) - 1, -1, -1):
        np.sum(delta, axis=1, keepdims=True, out=grads[2 * i + 1])
        np.matmul(delta.swapaxes(1, 2), inputs[i], out=grads[2 * i])
        if i > 0:
            delta = _through_layer(delta, layers[i][0]) * (inputs[i] > 0)


def stacked_input_gradient(layers, inputs: list[np.ndarray], grad_out: np.ndarray, start: int = 0) -> np.ndarray:
    """d loss / d x[..., start:] (N, B, in − start) of stacked networks given d loss / d output (N, B, out) (no
    parameter gradients)."""
    delta = grad_out
    for i in range(len(layers) - 1, 0, -1):
        delta = _through_layer(delta, layers[i][0])
        delta *= inputs[i] > 0                                          # through the ReLU of layer i-1's output
    return np.matmul(delta, layers[0][0][:, :, start:])


_ZEROS: dict = {}


def _zeros(shape: tuple, dtype) -> np.ndarray:
    """A cached read-only zero array: np.maximum(x, zeros) is several times faster than np.maximum(x, 0.0) (a
    contiguous loop instead of a broadcast scalar), same values."""
    key = (shape, np.dtype(dtype))
    if key not in _ZEROS:
        _ZEROS[key] = np.zeros(shape, dtype)
        _ZEROS[key].flags.writeable = False
    return _ZEROS[key]


def _through_layer(delta: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """delta (N, B, out) @ weight (N, out, in); a one-output layer's is an outer product, where broadcasting is
    several times faster than BLAS."""
    return delta * weight if weight.shape[1] == 1 else np.matmul(delta, weight)


class NumpySACUpdate:
    """One SAC / CSAC gradient step on numpy views of a `SACLearner`'s CPU networks (see the module docstring).

    Built once from the learner (its parameters are moved into flat buffers; the parameters' dtype is kept, so
    tests may convert the networks to float64 first). Optimizer groups, as in the torch path: "q_optimizer"
    (qf1 then qf2), "actor_optimizer", "alpha_optimizer" (autotune only), "cost_optimizer" (cost critics only)."""

    def __init__(self, learner):
        c = learner.config
        self.gamma, self.tau, self.autotune = float(c.gamma), float(c.tau), bool(c.autotune)
        self.target_entropy = float(learner.target_entropy)
        self.obs_dim, self.act_dim = learner.obs_dim, learner.act_dim
        self.groups = {}            # optimizer name -> (NumpyAdam, torch parameters in optimizer order, their spans)

        actor = learner.actor
        trunk = [m for m in actor.trunk if isinstance(m, nn.Linear)]
        # fc_mean and fc_logstd laid out back to back form one head Linear (2A, H): a single matmul per pass
        order = [p for m in trunk for p in (m.weight, m.bias)] + [actor.fc_mean.weight, actor.fc_logstd.weight,
                                                                 actor.fc_mean.bias, actor.fc_logstd.bias]
        self.actor_flat, self.actor_grad, spans = share_flat(order)
        n, A = len(trunk), self.act_dim

        def views(buf):
            layers = [(buf[spans[2 * i]].reshape(m.weight.shape), buf[spans[2 * i + 1]]) for i, m in enumerate(trunk)]
            return layers + [(buf[spans[2 * n].start:spans[2 * n + 1].stop].reshape(2 * A, -1),
                              buf[spans[2 * n + 2].start:spans[2 * n + 3].stop])]
        self.actor = views(self.actor_flat)
        self.actor_grad_views = [g for pair in views(self.actor_grad) for g in pair]
        by_param = dict(zip(map(id, order), spans))
        actor_params = list(actor.parameters())
        self._add_group("actor_optimizer", self.actor_flat, c.actor_lr, actor_params,
                        [by_param[id(p)] for p in actor_params])

        self.critics, self.critic_targets, self.critic_flat, self.critic_grad, self.critic_grad_views, \
            self.critic_target_flat = self._critic_set([learner.qf1, learner.qf2],
                                                       [learner.qf1_target, learner.qf2_target],
                                                       "q_optimizer", c.critic_lr)
        self.cost_critics = []
        if len(learner.cost_critics):
            self.cost_critics, self.cost_targets, self.cost_flat, self.cost_grad, self.cost_grad_views, \
                self.cost_target_flat = self._critic_set(list(learner.cost_critics), list(learner.cost_targets),
                                                         "cost_optimizer", c.critic_lr)
        self.log_alpha = learner.log_alpha.detach().numpy()                  # (1,) view of the leaf tensor
        if self.autotune:
            self._add_group("alpha_optimizer", self.log_alpha, c.alpha_lr, [learner.log_alpha], [slice(0, 1)])
        self._polyak = [(self.critic_target_flat, self.critic_flat, np.empty_like(self.critic_flat))]
        if self.cost_critics:
            self._polyak.append((self.cost_target_flat, self.cost_flat, np.empty_like(self.cost_flat)))

    def _add_group(self, name, flat, lr, params, spans) -> NumpyAdam:
        adam = NumpyAdam(flat, lr)
        self.groups[name] = (adam, params, spans)
        return adam

    def _critic_set(self, nets, targets, name, lr):
        """Stacked layer views, flat buffers and Adam of a list of same-shape critics (one optimizer, parameters in
        nets order) and of their targets (same layout, so Polyak is one vector operation)."""
        n = len(nets)

        def stack(modules):
            linears = [[m for m in net.modules() if isinstance(m, nn.Linear)] for net in modules]
            # layer by layer: the N weights back to back, then the N biases, so each block is an (N, ...) array
            order = [p for layer in zip(*linears) for attr in ("weight", "bias") for p in (getattr(m, attr)
                                                                                         for m in layer)]
            flat, grad, spans = share_flat(order)

            def views(buf):
                out = []
                for l, m in enumerate(linears[0]):
                    w, b = spans[2 * n * l], spans[2 * n * l + n]
                    out.append((buf[w.start:w.start + n * m.weight.numel()].reshape((n,) + tuple(m.weight.shape)),
                                buf[b.start:b.start + n * m.bias.numel()].reshape(n, 1, -1)))
                return out
            return flat, grad, views, dict(zip(map(id, order), spans))

        flat, grad, views, by_param = stack(nets)
        target_flat, _, target_views, _ = stack(targets)
        params = [p for net in nets for p in net.parameters()]
        self._add_group(name, flat, lr, params, [by_param[id(p)] for p in params])
        return views(flat), target_views(target_flat), flat, grad, [g for pair in views(grad) for g in pair], \
            target_flat

    # ------------------------------------------------------------------------------------------ pieces
    def sample(self, obs: np.ndarray, noise: np.ndarray) -> tuple:
        """Actor forward on obs (N, D) with noise ξ (N, A): (a = tanh(u) (N, A), log π(a|s) (N,), cache for
        `actor_gradient`)."""
        A = self.act_dim
        out, inputs = forward(self.actor, obs)
        mean, raw = out[:, :A], out[:, A:]
        log_std = np.clip(raw, LOG_STD_MIN, LOG_STD_MAX)
        std = np.exp(log_std)
        u = mean + std * noise
        a = np.tanh(u)
        z = (u - mean) / std
        one_m_a2 = 1.0 - a * a
        logp = ((-0.5 * z * z - log_std - HALF_LOG_2PI) - np.log(one_m_a2 + TANH_EPS)).sum(axis=1)
        in_clip = (raw >= LOG_STD_MIN) & (raw <= LOG_STD_MAX)
        return a, logp, (inputs, std, z, noise, a, one_m_a2, in_clip)

    def td_targets(self, next_obs, next_a, next_logp, reward, done, alpha) -> np.ndarray:
        """y = r̃ + γ (1 − done)(min_i Q'_i(s', a') − α log π(a'|s')) (B,)."""
        q = stacked_forward(self.critic_targets, np.concatenate([next_obs, next_a], axis=1))[0]
        return reward + self.gamma * (1.0 - done) * (np.minimum(q[0, :, 0], q[1, :, 0]) - alpha * next_logp)

    @staticmethod
    def mse_grad(critics, grad_views, x, y) -> tuple[float, np.ndarray]:
        """Σ_i mean (Q_i(x) − y_i)² for stacked critics i with targets y (B,) (shared) or (N, B); gradients written
        into grad_views. Returns (loss, Q (N, B))."""
        q, inputs = stacked_forward(critics, x)
        q = q[:, :, 0]
        err = q - y
        loss = float(np.sum(np.mean(err * err, axis=1)))
        stacked_backward(critics, inputs, ((2.0 / err.shape[1]) * err)[:, :, None], grad_views)
        return loss, q

    def action_gradient(self, obs, pi, lam) -> tuple[np.ndarray, np.ndarray]:
        """(−min_i Q_i(s, ã) + Σ_k λ_k Q_c,k(s, ã)) (B,) and its gradient w.r.t. ã (B, A)."""
        x, D = np.concatenate([obs, pi], axis=1), self.obs_dim
        q, inputs = stacked_forward(self.critics, x)
        q1, q2 = q[0, :, 0], q[1, :, 0]
        w1 = np.where(q1 < q2, 1.0, np.where(q1 == q2, 0.5, 0.0)).astype(q.dtype)    # torch.min's backward
        value = -np.minimum(q1, q2)
        grad = stacked_input_gradient(self.critics, inputs, np.stack([-w1, w1 - 1.0])[:, :, None], D).sum(axis=0)
        if self.cost_critics:
            qc, inputs = stacked_forward(self.cost_critics, x)
            value = value + lam @ qc[:, :, 0]
            grad += stacked_input_gradient(self.cost_critics, inputs, np.broadcast_to(lam[:, None, None], qc.shape),
                                           D).sum(axis=0)
        return value, grad

    def actor_gradient(self, cache, logp, value, d_pi, alpha) -> float:
        """Gradient of mean(α log π(ã|s) + value) into actor_grad, given d value / d ã (B, A) and the `sample`
        cache of the rows of s. Returns the loss."""
        inputs, std, z, noise, a, one_m_a2, in_clip = cache
        B = a.shape[0]
        g_logp = alpha / B                                           # d loss / d log π per row
        tanh_term = 2.0 * a * one_m_a2 / (one_m_a2 + TANH_EPS)       # d(−log(1 − tanh²u + ε)) / du
        d_u = (d_pi / B) * one_m_a2                                  # the Q path through a = tanh(u)
        # u = μ + σ ξ and z = (u − μ)/σ: the Gaussian term's μ-derivatives cancel; d/dlog σ keeps z (z − ξ) − 1
        d_mean = g_logp * tanh_term + d_u
        d_log_std = (g_logp * (z * (z - noise) + tanh_term * std * noise - 1.0) + d_u * std * noise) * in_clip
        backward(self.actor, inputs, np.concatenate([d_mean, d_log_std], axis=1), self.actor_grad_views)
        return float(np.mean(alpha * logp + value))

    def temperature_gradient(self, logp: np.ndarray) -> tuple[float, np.ndarray]:
        """mean(−log α (log π(ã|s) + H_target)) and its gradient w.r.t. log α (1,), given log π(ã|s) (B,)."""
        shifted = logp + self.target_entropy
        return float(np.mean(-self.log_alpha[0] * shifted)), -np.mean(shifted, keepdims=True)

    def polyak(self) -> None:
        """θ' ← (1 − τ) θ' + τ θ for the reward critics and the cost critics."""
        for target, online, tmp in self._polyak:
            target *= 1.0 - self.tau
            np.multiply(online, self.tau, out=tmp)
            target += tmp

    # ------------------------------------------------------------------------------------------ one step
    def step(self, batch: dict, xi_next: np.ndarray, xi: np.ndarray, lam: np.ndarray) -> dict:
        """One gradient step. batch: obs (B, D), action (B, A), reward (B,), costs (B, K), next_obs (B, D), done (B,)
        (float arrays of the parameters' dtype); xi_next, xi (B, A): the policy noise of a' and ã; lam (K,) the
        multipliers (same dtype). Returns qf_loss, qf1, [cost_loss], actor_loss, [alpha_loss] as floats."""
        obs, B = batch["obs"], batch["obs"].shape[0]
        alpha = np.exp(self.log_alpha)[0]                            # α before this step's temperature update
        a, logp, cache = self.sample(np.concatenate([batch["next_obs"], obs]), np.concatenate([xi_next, xi]))
        reward = batch["reward"]
        if len(lam) and not self.cost_critics:
            reward = reward - batch["costs"] @ lam                   # r̃ = r − Σ_k λ_k g_k ("penalised_reward")

        y = self.td_targets(batch["next_obs"], a[:B], logp[:B], reward, batch["done"], alpha)
        x = np.concatenate([obs, batch["action"]], axis=1)
        qf_loss, q = self.mse_grad(self.critics, self.critic_grad_views, x, y)
        self.groups["q_optimizer"][0].step(self.critic_grad)
        out = {"qf_loss": qf_loss, "qf1": float(q[0].mean())}

        if self.cost_critics:
            q_next = stacked_forward(self.cost_targets, np.concatenate([batch["next_obs"], a[:B]], axis=1))[0]
            y_c = batch["costs"].T + self.gamma * (1.0 - batch["done"]) * q_next[:, :, 0]
            out["cost_loss"], _ = self.mse_grad(self.cost_critics, self.cost_grad_views, x, y_c)
            self.groups["cost_optimizer"][0].step(self.cost_grad)

        pi, logp_pi = a[B:], logp[B:]
        value, d_pi = self.action_gradient(obs, pi, lam)
        inputs, *arrays = cache
        cache = ([inp[B:] for inp in inputs], *(c[B:] for c in arrays))          # the rows of s
        out["actor_loss"] = self.actor_gradient(cache, logp_pi, value, d_pi, alpha)
        self.groups["actor_optimizer"][0].step(self.actor_grad)

        if self.autotune:
            out["alpha_loss"], grad = self.temperature_gradient(logp_pi)
            self.groups["alpha_optimizer"][0].step(grad)
        self.polyak()
        return out

    # ------------------------------------------------------------------------------------------ optimizer state
    def optimizer_state_dict(self, name: str, optimizer: torch.optim.Optimizer) -> dict:
        """torch.optim.Adam's state_dict for group `name` (param_groups from the torch optimizer, per-parameter
        step / exp_avg / exp_avg_sq from the numpy moments), so checkpoints look the same in both backends."""
        adam, params, spans = self.groups[name]
        state = optimizer.state_dict()
        if adam.t:
            step = torch.tensor(float(adam.t), dtype=torch.float32)
            state["state"] = {i: {"step": step.clone(),
                                  "exp_avg": torch.from_numpy(adam.m[sl].copy()).view(p.shape),
                                  "exp_avg_sq": torch.from_numpy(adam.v[sl].copy()).view(p.shape)}
                              for i, (p, sl) in enumerate(zip(params, spans))}
        return state

    def load_optimizer_state_dict(self, name: str, optimizer: torch.optim.Optimizer, state: dict) -> None:
        """Load a torch-format Adam state_dict (either backend's) into the numpy moments of group `name`."""
        adam, params, spans = self.groups[name]
        optimizer.load_state_dict(state)                 # validates the groups and casts to the parameters' dtype
        adam.m[...] = 0.0
        adam.v[...] = 0.0
        adam.t = 0
        for p, sl in zip(params, spans):
            st = optimizer.state.get(p)
            if st:
                adam.m[sl] = st["exp_avg"].detach().reshape(-1).numpy()
                adam.v[sl] = st["exp_avg_sq"].detach().reshape(-1).numpy()
                adam.t = int(st["step"])
        optimizer.state.clear()                          # the numpy moments are the state from here on
