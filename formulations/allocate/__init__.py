"""Family `allocate`: energy-aware multiple-access service orchestration in UAV-assisted vehicular networks.

Spec: shared/spec/allocate.md. This module only registers (light imports); the API lives in `.api`.
"""
from optkit.registry import FamilySpec, MethodSpec, register_family, register_method

FAMILY = register_family(FamilySpec(
    id="allocate",
    title="UAV-assisted vehicular service orchestration (trajectory, multiple access, placement, routing)",
    api="optkit.formulations.allocate.api",
    default_scenario="small",
    reference_method="allocate",
    test_scenario="tiny",
    aliases=(),
))

register_method(MethodSpec(
    family="allocate", id="allocate", kind="exact", knowledge="oracle",
    entry="optkit.formulations.allocate.milp:solve",
    description="exact offline MILP of ALLOCATE (Pyomo + HiGHS), complete knowledge",
))
