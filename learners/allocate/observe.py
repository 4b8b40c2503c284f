"""What an online learner of the allocate family remembers during an episode, and its observations:
the trajectory planner's O_TP (§7.2.3) and the predictor's o_IG (§7.2.2).

Frames are indexed h = -H..T-1 and stored at row h + H; rows of unrevealed frames are zero / -1.
Section (§), equation (E) and decision (D) numbers refer to docs/families/allocate.md.
"""
from __future__ import annotations

import numpy as np

from optkit.learners.allocate.nets import N_MOVES, PATCH, PRED_EXTRA

INITIAL_MEAN_DEMAND = 42.0     # Ī before any request is revealed, Mbps (§7.2.2); also the demand of a history event


class EpisodeHistory:
    """Revealed history of one episode: UE areas, UE counts and demand per area, UAV areas, requests."""

    def __init__(self, static):
        self.static = static
        self.H, self.T = int(static.H), int(static.T)
        self.rows, self.cols = int(static.grid_rows), int(static.grid_cols)
        n = self.H + self.T
        self.ue_area = np.full((static.n_ues, n), -1, dtype=np.int64)
        self.ue_area[:, : self.H] = np.asarray(static.ue_area)[:, : self.H]
        self.counts = np.zeros((n, static.A))
        for h in range(self.H):
            self.counts[h] = np.bincount(self.ue_area[:, h], minlength=static.A)
        self.demand = np.zeros((n, static.A))                 # dem^h; history frames: 42 per issuance event (D27)
        self.issued_in = np.zeros((static.n_ues, n), dtype=bool)   # u issued in frame h (history events, T'_r = h)
        for u, h in np.asarray(getattr(static, "hist_events", np.zeros((0, 2))), dtype=np.int64):
            self.issued_in[u, h + self.H] = True
            self.demand[h + self.H, self.ue_area[u, h + self.H]] += INITIAL_MEAN_DEMAND
        start = np.asarray(static.node_area[static.n_core + static.n_rsu:], dtype=np.int64)
        self.uav_area = np.tile(start, (n, 1))                # history frames: initial areas
        self.issued = np.zeros(static.n_ues, dtype=bool)      # UE has issued a request (revealed so far)
        self.revealed: dict = {}                              # r -> Request
        self.failed: set = set()
        self.demand_sum, self.demand_count = 0.0, 0

    # ---------------------------------------------------------------------------------------------- updates
    def start_frame(self, info, dem: np.ndarray) -> None:
        """Record what the start of frame t reveals: UE areas, new requests, UAV areas, dem^t."""
        row = info.t + self.H
        self.ue_area[:, row] = info.ue_area
        self.counts[row] = np.bincount(np.asarray(info.ue_area, dtype=np.int64), minlength=self.static.A)
        self.demand[row] = dem
        self.uav_area[row] = info.uav_area
        for q in info.new_requests:
            self.revealed[q.r] = q
            self.issued[q.ue] = True
            self.issued_in[q.ue, row] = True
            self.demand_sum += float(sum(q.demand))
            self.demand_count += 1

    @property
    def mean_demand(self) -> float:
        """Ī: running mean of Σ_f Ǐ_{r,f} over the requests revealed so far (42 Mbps before any)."""
        return self.demand_sum / self.demand_count if self.demand_count else INITIAL_MEAN_DEMAND

    def continuing(self, t: int) -> list:
        """Requests of A_{t-1} that are still active in frame t (revealed, not failed, t ∈ Δ_r)."""
        return [q for r, q in sorted(self.revealed.items())
                if r not in self.failed and q.entry <= t - 1 and t in q.frames]

    # ---------------------------------------------------------------------------------------------- O_TP
    @staticmethod
    def tp_layout(n_uav: int, count_channel: bool, rsu_channel: bool) -> tuple[int, int]:
        """(number of channels of O_TP, index of the first UAV channel)."""
        return 2 + int(n_uav) + int(count_channel) + int(rsu_channel), 1 + int(count_channel)

    def tp_obs(self, t: int, predicted: np.ndarray, count_channel: bool, rsu_channel: bool) -> np.ndarray:
        """O_TP^t (§7.2.3, D32), (H+1, n_ch, g_r, g_c) float32 over frames h = t-H..t (zero before the stored
        history): dem^h/100 (history events included), [cnt^h/10 if count_channel], the UAV one-hots of frame h,
        [the static RSU-area indicator if rsu_channel], and D̃^{t+1}/100 (`predicted`, (A,)) at h = t only.
        count_channel = rsu_channel = False gives the source paper's 2 + N_u channels."""
        s = self.static
        n_ch, first_uav = self.tp_layout(s.n_uav, count_channel, rsu_channel)
        out = np.zeros((self.H + 1, n_ch, s.A), dtype=np.float32)
        for k, h in enumerate(range(t - self.H, t + 1)):
            row = h + self.H
            if row < 0:
                continue
            out[k, 0] = self.demand[row] / 100.0
            if count_channel:
                out[k, 1] = self.counts[row] / 10.0
            for j, a in enumerate(self.uav_area[row]):
                out[k, first_uav + j, a] = 1.0
        if rsu_channel:
            out[:, first_uav + s.n_uav, np.asarray(s.node_area[s.n_core:s.n_core + s.n_rsu], dtype=np.int64)] = 1.0
        out[-1, -1] = np.asarray(predicted) / 100.0
        return out.reshape(self.H + 1, n_ch, self.rows, self.cols)

    # ---------------------------------------------------------------------------------------------- o_IG
    def ig_obs(self, t: int) -> np.ndarray:
        """o_IG(u, t) of every UE, (U, (H+1)·60) float32; per frame h = t-H..t: a 2x5x5 patch centred on a(u,t)
        of [UEs per area / 10, dem^h / 100] (zero outside the grid), the one-hot displacement of u from h-1 to
        h (zero if unknown or larger than one area), the flag "u issued in frame h" (a history event or a request
        entering in h; D27) and the flag "u has already issued a request of the horizon"."""
        U = self.ue_area.shape[0]
        r0 = PATCH // 2
        centre = self.ue_area[:, t + self.H]
        ci, cj = centre // self.cols, centre % self.cols
        rows = ci[:, None, None] + np.arange(PATCH)[None, :, None]           # padded coordinates
        cols = cj[:, None, None] + np.arange(PATCH)[None, None, :]
        per_frame = []
        for h in range(t - self.H, t + 1):
            row = h + self.H
            patch = np.zeros((U, 2, PATCH, PATCH), dtype=np.float32)
            extra = np.zeros((U, PRED_EXTRA), dtype=np.float32)
            if row >= 0:
                for ch, grid in enumerate((self.counts[row] / 10.0, self.demand[row] / 100.0)):
                    padded = np.pad(grid.reshape(self.rows, self.cols), r0)
                    patch[:, ch] = padded[rows, cols]
                if row >= 1:
                    move = displacement_index(self.ue_area[:, row - 1], self.ue_area[:, row], self.cols)
                    known = move >= 0
                    extra[np.flatnonzero(known), move[known]] = 1.0
                extra[:, N_MOVES] = self.issued_in[:, row]
            extra[:, N_MOVES + 1] = self.issued
            per_frame.append(np.concatenate([patch.reshape(U, -1), extra], axis=1))
        return np.stack(per_frame, axis=1).reshape(U, -1)


def displacement_index(before: np.ndarray, after: np.ndarray, cols: int) -> np.ndarray:
    """Index (Δi+1)·3 + (Δj+1) of the area displacement, -1 when unknown or not within one area."""
    before, after = np.asarray(before), np.asarray(after)
    di = after // cols - before // cols
    dj = after % cols - before % cols
    ok = (before >= 0) & (after >= 0) & (np.abs(di) <= 1) & (np.abs(dj) <= 1)
    return np.where(ok, (di + 1) * 3 + (dj + 1), -1)


def shift_area(area: np.ndarray, move: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Area after displacement index `move`, clipped to the grid."""
    i = np.clip(area // cols + move // 3 - 1, 0, rows - 1)
    j = np.clip(area % cols + move % 3 - 1, 0, cols - 1)
    return i * cols + j
