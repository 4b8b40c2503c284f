"""Networks of `perfect` (§7.2.2, §7.2.3); the placement MLP is optkit.learners.qnet.MLPQNet.

Section (§), equation (E) and decision (D) numbers refer to docs/families/allocate.md.
"""
from __future__ import annotations

import torch
from torch import nn

from optkit.learners.qnet import BranchingDuelingHead, DuelingHead

PATCH = 5            # predictor patch side (5x5 areas centred on the UE)
N_MOVES = 9          # displacements (Δi, Δj) ∈ {-1,0,1}², index (Δi+1)·3 + (Δj+1)
N_ISSUE = 2          # issues a request next frame: no / yes
PRED_EXTRA = N_MOVES + 2   # per-frame displacement one-hot + "issued in frame h" + "already issued" flags (D27)


class TrajectoryNet(nn.Module):
    """Branching dueling Q-network of the trajectory planner (§7.2.3, D15, D32).

    obs (B, H+1, c_in, g_r, g_c) -> Q (B, N_u, |𝒜|), the UAV one-hots in channels uav_channel..uav_channel+N_u-1.
    Per step: Conv(k3,s2,p1) 32 -> tanh -> MaxPool(2, ceil) -> Conv(k3,s2,p1) 64 -> tanh -> MaxPool(2, ceil) ->
    flatten; LSTM(128) over the steps; FC 256-128-64 tanh; branching dueling head whose advantage layer starts at
    zero, with the stay prior A'_n(o,a) = A_n(o,a) + stay_prior·1[a = area of UAV n at the last step] (D32), so an
    untrained planner keeps every UAV in place.
    """

    def __init__(self, n_uav: int, grid: tuple[int, int], n_steps: int, c_in: int, uav_channel: int,
                 stay_prior: float):
        super().__init__()
        self.n_uav, self.uav_channel, self.stay_prior = int(n_uav), int(uav_channel), float(stay_prior)
        self.cnn = nn.Sequential(
            nn.Conv2d(c_in, 32, kernel_size=3, stride=2, padding=1), nn.Tanh(), nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(32, 64, kernel_size=3, stride=2, padding=1), nn.Tanh(), nn.MaxPool2d(2, ceil_mode=True),
            nn.Flatten())
        with torch.no_grad():
            n_feat = self.cnn(torch.zeros(1, c_in, *grid)).shape[1]
        self.lstm = nn.LSTM(n_feat, 128, batch_first=True)
        self.fc = nn.Sequential(nn.Linear(128, 256), nn.Tanh(), nn.Linear(256, 128), nn.Tanh(),
                                nn.Linear(128, 64), nn.Tanh())
        self.head = BranchingDuelingHead(64, max(1, int(n_uav)), grid[0] * grid[1])
        nn.init.zeros_(self.head.advantage.weight)                                  # D32
        nn.init.zeros_(self.head.advantage.bias)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        b, steps = obs.shape[:2]
        feat = self.cnn(obs.reshape(b * steps, *obs.shape[2:])).reshape(b, steps, -1)
        out, _ = self.lstm(feat)
        h = self.fc(out[:, -1])
        prior = None
        if self.stay_prior and self.n_uav:
            here = obs[:, -1, self.uav_channel:self.uav_channel + self.n_uav].reshape(b, self.n_uav, -1)
            prior = self.stay_prior * here                                           # (B, N_u, A) one-hots
        return self.head(h, prior)


class PredictorNet(nn.Module):
    """Information-gathering network (§7.2.2, D14), one set of parameters for every PoA/UE.

    obs (B, (H+1)·(2·25 + 10)) flat: per frame a 2x5x5 patch then 10 extras -> Q (B, 9 + 2): move head
    (dueling, 9) and issue head (dueling, 2). Per frame: Conv(2->16,k3,p1) tanh Conv(16->32,k3,p1) tanh
    global average pool (32) ++ extras (42); LSTM(64) over frames; FC 64 tanh.
    """

    def __init__(self, n_steps: int):
        super().__init__()
        self.n_steps = int(n_steps)
        self.cnn = nn.Sequential(nn.Conv2d(2, 16, 3, padding=1), nn.Tanh(), nn.Conv2d(16, 32, 3, padding=1), nn.Tanh(),
                                 nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.lstm = nn.LSTM(32 + PRED_EXTRA, 64, batch_first=True)
        self.fc = nn.Sequential(nn.Linear(64, 64), nn.Tanh())
        self.move = DuelingHead(64, N_MOVES)
        self.issue = DuelingHead(64, N_ISSUE)

    @staticmethod
    def obs_size(n_steps: int) -> int:
        return int(n_steps) * (2 * PATCH * PATCH + PRED_EXTRA)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        b = obs.shape[0]
        per_step = obs.reshape(b, self.n_steps, 2 * PATCH * PATCH + PRED_EXTRA)
        patches = per_step[..., : 2 * PATCH * PATCH].reshape(b * self.n_steps, 2, PATCH, PATCH)
        feat = self.cnn(patches).reshape(b, self.n_steps, -1)
        out, _ = self.lstm(torch.cat([feat, per_step[..., 2 * PATCH * PATCH:]], dim=-1))
        h = self.fc(out[:, -1])
        return torch.cat([self.move(h), self.issue(h)], dim=-1)


def predictor_loss(net: nn.Module, target_net: nn.Module, batch: dict) -> torch.Tensor:
    """Γ_IG = 0 (D14): the target is the accuracy reward itself. batch: obs, action (B, 2) [move, issue],
    reward (B, 2), weight (B, 2) (issue weight 0 for UEs that already issued). Weighted MSE summed over heads."""
    q = net(batch["obs"])
    q_move = q[:, :N_MOVES].gather(1, batch["action"][:, :1]).squeeze(1)
    q_issue = q[:, N_MOVES:].gather(1, batch["action"][:, 1:]).squeeze(1)
    err = torch.stack([q_move, q_issue], dim=1) - batch["reward"]
    w = batch["weight"]
    return ((err ** 2) * w).sum(dim=0).div(w.sum(dim=0).clamp(min=1.0)).sum()
