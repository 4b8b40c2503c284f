"""Family `toy-knapsack`: choose items of the highest total value within a weight capacity."""
from optkit.family import FamilyAPI, ReportSettings, hooks_in
from optkit.options import Option
from optkit.registry import MethodSpec

_MODEL = "toy_optkit.formulation.model"

FAMILY = FamilyAPI(
    id="toy-knapsack",
    title="0/1 knapsack (a toy family registered by a plugin)",
    reference_method="toy-dp",
    default_scenario="paper-default",
    test_scenario="tiny",
    presets="toy_optkit:presets",
    aliases=("knapsack",),
    **hooks_in(_MODEL, instance_class="KnapsackInstance"),
    exact_time_limit=30.0,
    report=ReportSettings(metrics=("objective", "weight_used", "frac_opt", "decision_s"),
                          labels={"objective": "total value"}),
)

METHODS = (
    MethodSpec(family="toy-knapsack", id="toy-dp", kind="exact", knowledge="oracle", seeded=False,
               entry=f"{_MODEL}:solve_dp", description="dynamic programme over integer capacities (exact)",
               options=(Option("scale", "int", 1, "capacity units per weight unit", low=1, high=100),)),
)
