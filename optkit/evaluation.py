"""Evaluation contract: the evaluator is the only place metrics are computed."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MetricSpec:
    """A metric id with its unit and direction ("higher", "lower" or "none" for diagnostics)."""

    id: str
    unit: str
    better: str
    description: str


@dataclass
class Evaluation:
    """Metrics (flat dict of floats), feasibility, and violated constraints with amounts."""

    metrics: dict[str, float]
    feasible: bool
    violations: dict[str, float] = field(default_factory=dict)
    details: dict = field(default_factory=dict)
