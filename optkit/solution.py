"""Solution and Status: what every method returns (decisions only, never metrics as truth)."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Status(str, enum.Enum):
    """Outcome of a method run. A time-limited incumbent is `time_limit`, never `optimal`."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    TIME_LIMIT = "time_limit"
    INFEASIBLE = "infeasible"
    ERROR = "error"

    def __str__(self) -> str:  # plain value in tables and JSON
        return self.value


def worst_status(statuses, default: Status) -> Status:
    """The least good of the statuses of a solution's parts (per episode, per UAV) in the declaration order of
    Status (optimal best, error worst); `default` when there are none."""
    order = list(Status)
    return max(statuses, key=order.index) if statuses else default


@dataclass
class Solution:
    """Decisions of one method on one instance.

    decisions: the family's decision record (documented per family; JSON-able via the family's codec).
    objective / bound: the method's own objective and proven bound, when it has them (maximisation
    families report bound >= objective). gap: relative gap |bound - objective| / max(1e-10, |objective|).
    runtime_s: decision wall-clock (training excluded). info: method details (solver name, sizes...).
    """

    family: str
    method: str
    status: Status
    decisions: Any
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    runtime_s: float = 0.0
    info: dict = field(default_factory=dict)
