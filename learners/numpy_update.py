"""The DQN gradient step of a plain ReLU MLP computed in numpy, on views of the torch parameters.

For the small networks of the paper (e.g. 20-128-128-5, batch 32) one torch update on a CPU is dominated by
per-operation dispatch and autograd bookkeeping (about 1 ms here); the same arithmetic in numpy takes a fraction
of it. The algorithm is unchanged: forward pass, loss MSE(Q(s, a), y) with y from the target network's masked
maximum, the exact gradient of that loss (hand-written backward pass of Linear-ReLU layers), and one Adam step
with torch's defaults (β = (0.9, 0.999), ε = 1e-8, bias correction as in torch.optim.Adam). Parameters stay
torch tensors (the numpy arrays share their memory), so checkpoints, `state_dict` and the torch forward pass see
every update. tests/learners/test_numpy_update.py checks gradients and Adam steps against torch.
"""
from __future__ import annotations

import numpy as np
from torch import nn

MASK_FILL = -1e9


def linear_views(net: nn.Module) -> list[tuple[np.ndarray, np.ndarray]]:
    """(weight (out, in), bias (out,)) numpy views (shared memory) of the Linear layers of a CPU network."""
    return [(m.weight.detach().numpy(), m.bias.detach().numpy()) for m in net.modules() if isinstance(m, nn.Linear)]


def forward(layers, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Output (B, out) of Linear-ReLU-...-Linear and the inputs of every layer [x, h1, ...] (for the backward)."""
    inputs = [x]
    for weight, bias in layers[:-1]:
        x = np.maximum(x @ weight.T + bias, 0.0)
        inputs.append(x)
    weight, bias = layers[-1]
    return x @ weight.T + bias, inputs


def backward(layers, inputs: list[np.ndarray], grad_out: np.ndarray) -> list[np.ndarray]:
    """Gradients [dW1, db1, dW2, db2, ...] of a scalar loss given d loss / d output (B, out)."""
    grads = []
    delta = grad_out
    for i in range(len(layers) - 1, -1, -1):
        weight, _ = layers[i]
        grads.append(delta.sum(axis=0))                   # bias
        grads.append(delta.T @ inputs[i])                 # weight
        if i > 0:
            delta = (delta @ weight) * (inputs[i] > 0)    # through the ReLU of layer i-1's output
    return grads[::-1]


class NumpyAdam:
    """torch.optim.Adam (no weight decay, no amsgrad) over a list of numpy parameter arrays, updated in place."""

    def __init__(self, params: list[np.ndarray], lr: float, betas=(0.9, 0.999), eps: float = 1e-8):
        self.params = params
        self.lr, (self.beta1, self.beta2), self.eps = float(lr), betas, float(eps)
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads: list[np.ndarray]) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        step_size = self.lr / (1.0 - b1 ** self.t)
        root_c2 = np.sqrt(1.0 - b2 ** self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * (g * g)
            p -= (step_size * m / (np.sqrt(v) / root_c2 + self.eps)).astype(p.dtype, copy=False)


class NumpyDQNUpdate:
    """One DQN update on numpy views of `online` (trained) and `target` (read) CPU networks."""

    def __init__(self, online: nn.Module, target: nn.Module, lr: float):
        self.online = linear_views(online)
        self.target = linear_views(target)
        self.adam = NumpyAdam([p for pair in self.online for p in pair], lr)

    def step(self, batch: dict, gamma: float) -> float:
        """batch: obs (B, D), action (B,), reward (B,), next_obs (B, D), done (B,), next_mask (B, A). Returns the
        loss before the step."""
        q_next, _ = forward(self.target, batch["next_obs"])
        best = np.where(batch["next_mask"], q_next, MASK_FILL).max(axis=1)
        y = batch["reward"] + gamma * np.where(batch["done"], 0.0, best)
        q, inputs = forward(self.online, batch["obs"])
        rows = np.arange(q.shape[0])
        error = q[rows, batch["action"]] - y
        grad_out = np.zeros_like(q)
        grad_out[rows, batch["action"]] = (2.0 / q.shape[0]) * error          # d mean((q - y)^2) / dq
        grads = backward(self.online, inputs, grad_out.astype(np.float32, copy=False))
        self.adam.step(grads)
        return float(np.mean(error * error))

    def state(self) -> dict:
        """Adam moments and step count as numpy arrays (the caller stores them as tensors)."""
        return {"m": [m.copy() for m in self.adam.m], "v": [v.copy() for v in self.adam.v], "t": self.adam.t}

    def load_state(self, state: dict) -> None:
        for mine, theirs in zip(self.adam.m, state["m"]):
            mine[...] = np.asarray(theirs)
        for mine, theirs in zip(self.adam.v, state["v"]):
            mine[...] = np.asarray(theirs)
        self.adam.t = int(state["t"])
