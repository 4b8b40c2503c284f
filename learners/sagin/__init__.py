"""Learners of the `sagin` family (registration only; light imports). The methods are in `methods`."""
from optkit.registry import MethodSpec, register_method

_MODULE = "optkit.learners.sagin.methods"

for _id, _text in (
    ("ddqn-csac", "hierarchical DRL: DDQN Remain/Switch association + Lagrangian constrained SAC direction "
                  "(spec §7.1)"),
    ("drl", "direct RL baseline: DDQN over 26 masked lattice directions, max large-scale-SINR association (§7.2)"),
    ("rsrp-csac", "ablation: max-RSRP association + CSAC direction (§7.5)"),
    ("maxrate-csac", "ablation: max-rate association + CSAC direction (§7.5)"),
    ("ddqn-sac", "ablation: DDQN association + SAC with fixed penalties 1.0 (§7.5)"),
    ("ddqn-sl", "ablation: DDQN association + straight-line flight (§7.5)"),
):
    _name = _id.replace("-", "_")
    register_method(MethodSpec(family="sagin", id=_id, kind="learner", knowledge="online",
                               entry=f"{_MODULE}:solve_{_name}", train=f"{_MODULE}:train_{_name}",
                               description=_text))
