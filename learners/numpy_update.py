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
import torch
from torch import nn

from optkit.learners.qnet import MASK_VALUE


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


def backward(layers, inputs: list[np.ndarray], grad_out: np.ndarray, out: list[np.ndarray] | None = None):
    """Gradients [dW1, db1, dW2, db2, ...] of a scalar loss given d loss / d output (B, out); written into `out`
    (arrays of the parameters' shapes) when given."""
    grads = out if out is not None else [np.empty_like(p) for pair in layers for p in pair]
    delta = grad_out
    for i in range(len(layers) - 1, -1, -1):
        weight, _ = layers[i]
        np.sum(delta, axis=0, out=grads[2 * i + 1])                     # bias
        np.matmul(delta.T, inputs[i], out=grads[2 * i])                 # weight
        if i > 0:
            delta = (delta @ weight) * (inputs[i] > 0)                  # through the ReLU of layer i-1's output
    return grads


class NumpyAdam:
    """torch.optim.Adam (no weight decay, no amsgrad) on one flat float32 parameter vector, updated in place."""

    def __init__(self, flat: np.ndarray, lr: float, betas=(0.9, 0.999), eps: float = 1e-8):
        self.flat = flat
        self.lr, (self.beta1, self.beta2), self.eps = float(lr), betas, float(eps)
        self.m = np.zeros_like(flat)
        self.v = np.zeros_like(flat)
        self._tmp = np.empty_like(flat)
        self.t = 0

    def step(self, grad: np.ndarray) -> None:
        """One step with the flat gradient (same layout as the parameters)."""
        self.t += 1
        b1, b2, tmp = self.beta1, self.beta2, self._tmp
        step_size = self.lr / (1.0 - b1 ** self.t)
        root_c2 = np.sqrt(1.0 - b2 ** self.t)
        self.m *= b1
        np.multiply(grad, 1.0 - b1, out=tmp)
        self.m += tmp                                        # m = β1 m + (1 − β1) g
        self.v *= b2
        np.multiply(grad, grad, out=tmp)
        tmp *= 1.0 - b2
        self.v += tmp                                        # v = β2 v + (1 − β2) g²
        np.sqrt(self.v, out=tmp)
        tmp /= root_c2
        tmp += self.eps                                      # √(v / (1 − β2^t)) + ε, as torch computes it
        np.divide(self.m, tmp, out=tmp)
        tmp *= step_size
        self.flat -= tmp                                     # p −= lr / (1 − β1^t) · m / (…)


class NumpyDQNUpdate:
    """One DQN update on numpy views of `online` (trained) and `target` (read) CPU networks.

    The online network's parameters are moved into one flat float32 buffer (each torch parameter becomes a view
    of it), so Adam runs as a dozen vector operations instead of a dozen per parameter tensor."""

    def __init__(self, online: nn.Module, target: nn.Module, lr: float):
        params = [p for m in online.modules() if isinstance(m, nn.Linear) for p in (m.weight, m.bias)]
        self.flat = np.concatenate([p.detach().numpy().ravel() for p in params]).astype(np.float32)
        self.grad = np.zeros_like(self.flat)
        self.grad_views = []
        offset = 0
        for p in params:
            n = p.numel()
            p.data = torch.from_numpy(self.flat[offset:offset + n]).view(p.shape)    # now shares the flat buffer
            self.grad_views.append(self.grad[offset:offset + n].reshape(tuple(p.shape)))
            offset += n
        self.online = linear_views(online)
        self.target = linear_views(target)
        self.adam = NumpyAdam(self.flat, lr)

    def step(self, batch: dict, gamma: float) -> float:
        """batch: obs (B, D), action (B,), reward (B,), next_obs (B, D), done (B,), next_mask (B, A). Returns the
        loss before the step."""
        q_next, _ = forward(self.target, batch["next_obs"])
        best = np.where(batch["next_mask"], q_next, MASK_VALUE).max(axis=1)
        y = batch["reward"] + gamma * np.where(batch["done"], 0.0, best)
        q, inputs = forward(self.online, batch["obs"])
        rows = np.arange(q.shape[0])
        error = q[rows, batch["action"]] - y
        grad_out = np.zeros_like(q)
        grad_out[rows, batch["action"]] = (2.0 / q.shape[0]) * error          # d mean((q - y)^2) / dq
        backward(self.online, inputs, grad_out.astype(np.float32, copy=False), self.grad_views)
        self.adam.step(self.grad)
        return float(np.mean(error * error))

    def state(self) -> dict:
        """Adam moments (flat) and step count as numpy arrays (the caller stores them as tensors)."""
        return {"m": [self.adam.m.copy()], "v": [self.adam.v.copy()], "t": self.adam.t}

    def load_state(self, state: dict) -> None:
        self.adam.m[...] = np.asarray(state["m"][0]).reshape(-1)
        self.adam.v[...] = np.asarray(state["v"][0]).reshape(-1)
        self.adam.t = int(state["t"])
