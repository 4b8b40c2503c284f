"""Decision record of the allocate family (§6.1) and its JSON codec."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from optkit.errors import InputError


@dataclass
class ServiceEntry:
    """Route (physical node ids, PoA first) and hosts {function id: node id} of one request-frame."""

    route: tuple
    hosts: dict


@dataclass
class Decisions:
    """Full-horizon decision record.

    uav_area: (T, N_u) int, area of each UAV per frame.
    poa: {(r, t): node id} (absent = no PoA).
    channels: {(r, tau): channel} (one channel per request per slot, C3 by construction).
    placement: T sets of (f, n) deployed instances.
    service: {(r, t): ServiceEntry}.
    """

    uav_area: np.ndarray
    poa: dict = field(default_factory=dict)
    channels: dict = field(default_factory=dict)
    placement: list = field(default_factory=list)
    service: dict = field(default_factory=dict)

    @classmethod
    def empty(cls, inst) -> "Decisions":
        """UAVs stay at their initial areas, nothing else is decided."""
        start = np.asarray(inst.node_area[inst.n_core + inst.n_rsu:], dtype=np.int64)
        return cls(np.array(np.tile(start, (inst.T, 1)), dtype=np.int64), placement=[set() for _ in range(inst.T)])

    def check_shapes(self, inst) -> None:
        """Malformed records (wrong shapes, ids out of range, non-integer ids) raise InputError naming the key."""
        area = np.asarray(self.uav_area)
        if area.size and not np.issubdtype(area.dtype, np.integer):
            raise InputError("decisions.uav_area: area ids must be integers")
        if area.shape != (inst.T, inst.n_uav):
            raise InputError(f"decisions.uav_area: must have shape {(inst.T, inst.n_uav)}, got {area.shape}")
        if area.size and (area.min() < 0 or area.max() >= inst.A):
            raise InputError(f"decisions.uav_area: area ids must lie in 0..{inst.A - 1}")
        if len(self.placement) != inst.T:
            raise InputError(f"decisions.placement: must hold {inst.T} frames")
        for (r, tau), c in self.channels.items():
            if not (_id(r, inst.R) and _id(tau, inst.T * inst.K) and _id(c, inst.C)):
                raise InputError(f"decisions.channels: entry ({r}, {tau}) -> {c} out of range")
        for (r, t), n in self.poa.items():
            if not (_id(r, inst.R) and _id(t, inst.T) and _id(n, inst.N)):
                raise InputError(f"decisions.poa: entry ({r}, {t}) -> {n} out of range")
        for t, frame in enumerate(self.placement):
            for f, n in frame:
                if not (_id(f, inst.n_functions) and _id(n, inst.N)):
                    raise InputError(f"decisions.placement[{t}]: instance ({f}, {n}) out of range")
        for (r, t), entry in self.service.items():
            nodes = list(entry.route) + list(entry.hosts.values())
            if not (_id(r, inst.R) and _id(t, inst.T)) or not entry.route or not all(_id(n, inst.N) for n in nodes) \
                    or not all(_id(f, inst.n_functions) for f in entry.hosts):
                raise InputError(f"decisions.service: entry ({r}, {t}) has ids out of range or an empty route")

    # --- JSON ----------------------------------------------------------------------------------
    def to_jsonable(self) -> dict:
        return {
            "uav_area": np.asarray(self.uav_area).tolist(),
            "poa": [[r, t, n] for (r, t), n in sorted(self.poa.items())],
            "channels": [[r, tau, c] for (r, tau), c in sorted(self.channels.items())],
            "placement": [sorted([f, n] for f, n in frame) for frame in self.placement],
            "service": [
                {"r": r, "t": t, "route": list(e.route), "hosts": {str(f): n for f, n in sorted(e.hosts.items())}}
                for (r, t), e in sorted(self.service.items())
            ],
        }

    @classmethod
    def from_jsonable(cls, data: dict) -> "Decisions":
        try:
            decisions = cls(
                uav_area=np.array(data["uav_area"], dtype=np.int64),
                poa={(int(r), int(t)): int(n) for r, t, n in data["poa"]},
                channels={(int(r), int(tau)): int(c) for r, tau, c in data["channels"]},
                placement=[{(int(f), int(n)) for f, n in frame} for frame in data["placement"]],
                service={
                    (int(e["r"]), int(e["t"])): ServiceEntry(tuple(int(n) for n in e["route"]),
                                                             {int(f): int(n) for f, n in e["hosts"].items()})
                    for e in data["service"]
                },
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"decisions: malformed record ({exc!r})") from None
        for key in ("poa", "channels", "service"):
            if len(getattr(decisions, key)) != len(data[key]):
                raise InputError(f"decisions.{key}: duplicate entries for the same key")
        return decisions


def _id(value, upper: int) -> bool:
    """An integer id in 0..upper-1."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and 0 <= value < upper
