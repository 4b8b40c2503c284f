"""Online-protocol environment of the allocate family (§6.2).

Information timing: before frame 0 a method sees only `static` (the instance with every hidden
realization masked); at the end of frame t-1 it commits the UAV areas of frame t; at the start of frame t
it receives the UE areas, the new requests and G^t, and commits PoAs, channel blocks, placement and routes
of frame t; at the end of frame t it gets the feedback (served flags, failures, realized quality in covered
areas). Scoring uses `score_frame`, the same code as the offline evaluator.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from optkit.errors import InputError, OptkitError
from optkit.formulations.allocate.evaluator import FrameScore, score_frame, summarize
from optkit.formulations.allocate.network import frame_graph, node_areas
from optkit.formulations.allocate.record import Decisions, ServiceEntry


class ProtocolError(OptkitError):
    """An online method broke the information timing of §6.2 (a bug in the method)."""


@dataclass(frozen=True)
class Request:
    """Attributes of a revealed request."""

    r: int
    ue: int
    service: int
    funcs: tuple
    demand: tuple        # Mbps per function, in the order of funcs
    entry: int
    duration: int
    slots: int
    bw: float            # Mbps
    latency: float       # ms

    @property
    def frames(self) -> range:
        return range(self.entry, self.entry + self.duration)


@dataclass
class FrameInfo:
    """Revealed at the start of frame t."""

    t: int
    ue_area: np.ndarray          # (U,) areas of every UE in frame t
    new_requests: list           # [Request] with entry frame t
    active: list                 # [Request] active, revealed and not failed
    uav_area: np.ndarray         # (N_u,) committed UAV areas of frame t
    node_area: np.ndarray        # (N,) area of every node in frame t
    graph: object                # G^t (networkx Graph with lat, energy, cap, l on edges)


@dataclass
class Feedback:
    """Revealed at the end of frame t."""

    t: int
    served: dict                 # r -> bool for every request with a committed decision in frame t
    failed: set                  # every request failed so far
    observed_quality: dict       # area -> (C, K) uint8 realized quality of frame t (covered areas only)
    score: FrameScore = field(repr=False, default=None)


def mask_instance(inst):
    """The instance as an online method may see it before frame 0: no Q, no θ/σ, no weather,
    no future UE areas or positions, no request attributes."""
    H = inst.H
    ue_area = np.array(inst.ue_area)
    ue_area[:, H:] = -1
    ue_xy = np.array(inst.ue_xy)
    ue_xy[:, H:] = np.nan
    minus = np.full(inst.R, -1, dtype=np.int64)
    nan = np.full(inst.R, np.nan)
    return dataclasses.replace(
        inst, seed=-1, preset="hidden", Q=np.zeros_like(inst.Q), theta_los=np.full_like(inst.theta_los, np.nan),
        sigma_ray=np.full_like(inst.sigma_ray, np.nan), weather=np.full_like(inst.weather, -1),
        ue_area=ue_area, ue_xy=ue_xy, req_ue=minus, req_service=minus, req_entry=minus, req_slots=minus,
        req_bw=nan, req_demand=tuple(() for _ in range(inst.R)), req_latency=nan)


class OnlineEnv:
    """Drives one episode frame by frame; collects the decision record and the per-frame scores."""

    def __init__(self, inst):
        self._inst = inst
        self.static = mask_instance(inst)
        self.T, self.K = inst.T, inst.K
        self.decisions = Decisions.empty(inst)
        self.frames: list[FrameScore] = []
        self.failed: set[int] = set()
        self.revealed: dict[int, Request] = {}
        self._uav_committed = -1       # last frame whose UAV areas are committed
        self._t = -1                   # current frame (started)

    @property
    def initial_uav_area(self) -> np.ndarray:
        inst = self._inst
        return np.asarray(inst.node_area[inst.n_core + inst.n_rsu:], dtype=np.int64)

    def commit_uav_areas(self, t: int, areas) -> None:
        """End of frame t-1: the UAV areas of frame t (N_u,)."""
        areas = np.asarray(areas, dtype=np.int64)
        if t != self._t + 1 or t != self._uav_committed + 1:
            raise ProtocolError(f"UAV areas of frame {t} committed out of order")
        if areas.shape != (self._inst.n_uav,) or (areas.size and (areas.min() < 0 or areas.max() >= self._inst.A)):
            raise ProtocolError(f"UAV areas of frame {t}: need {self._inst.n_uav} area ids in 0..{self._inst.A - 1}")
        self.decisions.uav_area[t] = areas
        self._uav_committed = t

    def start_frame(self, t: int) -> FrameInfo:
        inst = self._inst
        if t != self._t + 1 or self._uav_committed != t or len(self.frames) != t:
            raise ProtocolError(f"frame {t} started out of order, before its UAV areas or the previous frame "
                                f"were committed")
        self._t = t
        new = []
        for r in range(inst.R):
            if inst.req_entry[r] == t:
                funcs = inst.funcs(r)
                self.revealed[r] = Request(r, int(inst.req_ue[r]), int(inst.req_service[r]), funcs,
                                           tuple(inst.req_demand[r]), int(inst.req_entry[r]),
                                           int(inst.service_dur[inst.req_service[r]]), int(inst.req_slots[r]),
                                           float(inst.req_bw[r]), float(inst.req_latency[r]))
                new.append(self.revealed[r])
        active = [q for r, q in sorted(self.revealed.items()) if t in q.frames and r not in self.failed]
        area = self.decisions.uav_area[t]
        return FrameInfo(t, np.array(inst.ue_area[:, t + inst.H]), new, active, area.copy(),
                         node_areas(inst, area), frame_graph(inst, area))

    def commit_frame(self, t: int, poa: dict, channels: dict, placement: set, service: dict) -> Feedback:
        """Start of frame t: poa {r: n}, channels {(r, tau): c}, placement {(f, n)}, service {r: ServiceEntry}."""
        inst = self._inst
        if t != self._t or len(self.frames) != t:
            raise ProtocolError(f"decisions for frame {t} committed outside frame {self._t}")
        slots = range(t * inst.K, (t + 1) * inst.K)
        for r in set(poa) | {r for r, _ in channels} | set(service):
            if r not in self.revealed:
                raise ProtocolError(f"request {r} is not revealed in frame {t}")
        for (r, tau) in channels:
            if tau not in slots:
                raise ProtocolError(f"channel entry ({r}, {tau}) is not a slot of frame {t}")
        probe = Decisions(np.array(self.decisions.uav_area), dict(((r, t), n) for r, n in poa.items()),
                          dict(channels), [set(placement) if k == t else set() for k in range(inst.T)],
                          {(r, t): e for r, e in service.items()})
        try:
            probe.check_shapes(inst)
        except InputError as exc:
            raise ProtocolError(f"frame {t}: {exc}") from None
        prev = self.initial_uav_area if t == 0 else self.decisions.uav_area[t - 1]
        score = score_frame(inst, t, prev, self.decisions.uav_area[t], poa, channels, set(placement), service)
        self.frames.append(score)
        for r, n in poa.items():
            self.decisions.poa[(r, t)] = n
        self.decisions.channels.update(channels)
        self.decisions.placement[t] = set(placement)
        for r, entry in service.items():
            self.decisions.service[(r, t)] = ServiceEntry(tuple(entry.route), dict(entry.hosts))
        for r, q in self.revealed.items():
            if t in q.frames and r not in score.served:
                self.failed.add(r)
        committed = set(poa) | {r for r, _ in channels} | set(service)
        covered = set(int(a) for a in node_areas(inst, self.decisions.uav_area[t])[inst.n_core:])
        observed = {a: np.array(inst.Q[:, a, t * inst.K:(t + 1) * inst.K]) for a in sorted(covered)}
        return Feedback(t, {r: r in score.served for r in sorted(committed)}, set(self.failed), observed, score)

    def evaluation(self, runtime_s: float = 0.0):
        """Metrics of the finished episode (identical to evaluating `decisions` offline)."""
        if len(self.frames) != self.T:
            raise ProtocolError(f"episode not finished: {len(self.frames)} of {self.T} frames committed")
        return summarize(self._inst, self.frames, runtime_s)
