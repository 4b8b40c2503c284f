"""Solution and Status: what every method returns (decisions only, never metrics as truth), and the one definition of
the relative gap and of "proven optimal" that every method, the solver wrapper, the CLI and the runner share."""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any


#: Relative gap within which a bound proves an incumbent optimal (HiGHS's default mip_rel_gap).
OPTIMAL_REL_GAP = 1e-4
#: Absolute objective difference within which a bound equals its incumbent (HiGHS's default mip_abs_gap).
OPTIMAL_ABS_TOL = 1e-6


class Status(str, enum.Enum):
    """Outcome of a method run. A time-limited incumbent is `time_limit`, never `optimal`; a search stopped by a
    relative gap looser than OPTIMAL_REL_GAP (`--gap 0.2`) is `gap_limit`: an incumbent with a bound, not a proof."""

    OPTIMAL = "optimal"
    GAP_LIMIT = "gap_limit"
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


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """|bound − objective| / |objective| (dimensionless, 0.05 = 5 %): None when either is missing or not finite,
    0 when the two agree within OPTIMAL_ABS_TOL, infinity for a zero objective with a different bound."""
    if objective is None or bound is None:
        return None
    objective, bound = float(objective), float(bound)
    if not (math.isfinite(objective) and math.isfinite(bound)):
        return None
    diff = abs(bound - objective)
    if diff <= OPTIMAL_ABS_TOL:
        return 0.0
    return diff / abs(objective) if abs(objective) > 1e-10 else math.inf


def proven_optimal(objective: float | None, bound: float | None) -> bool:
    """Whether `bound` proves `objective` optimal within the default tolerance (OPTIMAL_REL_GAP)."""
    gap = relative_gap(objective, bound)
    return gap is not None and gap <= OPTIMAL_REL_GAP


def family_fields(solution: "Solution", objective: float | None) -> tuple[float | None, float | None]:
    """(bound, gap) of a result row whose `objective` is the family objective of the solution's decisions (the
    evaluator's): the method's bound when it bounds that same objective (`solution.model` empty), else None."""
    bound = solution.bound if not solution.model else None
    return bound, relative_gap(objective, bound)


@dataclass
class Solution:
    """Decisions of one method on one instance.

    decisions: the family's decision record (documented per family; JSON-able via the family's codec).
    objective / bound: the method's own objective and proven bound, when it has them (maximisation
    families report bound >= objective). gap: `relative_gap(objective, bound)`.
    model: "" when objective and bound are in the family objective (the evaluator's `objective` metric) over every
    decision the family allows; otherwise a short text naming the method's own model objective (e.g. a lattice
    restriction, a reward with a switching penalty): its bound then bounds that model only, and result rows report no
    bound on the family objective (`family_fields`).
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
    model: str = ""
