"""Learners of the `sagin` family (declarations only; light imports): the hierarchical learner and its ablations in
`ddqn_csac`, the direct RL baseline in `drl`, what they share in `common`. § numbers: docs/families/sagin.md."""
from optkit.options import Option, learner_options
from optkit.registry import MethodSpec

_PACKAGE = "optkit.learners.sagin"
_OPTIONS = (
    *learner_options(),
    Option("episodes", "int", None, "training episodes (default: the budget's)", low=1, nullable=True,
           stage="both"),
    Option("base_seed", "int", 0, "seed of the training instance", low=0, stage="train"),
)

METHODS = tuple(
    MethodSpec(family="sagin", id=_id, kind="learner", knowledge="online",
               entry=f"{_PACKAGE}.{_module}:solve_{_id.replace('-', '_')}",
               train=f"{_PACKAGE}.{_module}:train_{_id.replace('-', '_')}",
               description=_text, options=_OPTIONS)
    for _id, _module, _text in (
        ("ddqn-csac", "ddqn_csac", "hierarchical DRL: DDQN Remain/Switch association + Lagrangian constrained SAC "
                                   "direction (§7.1)"),
        ("drl", "drl", "direct RL baseline: DDQN over 26 masked lattice directions, max large-scale-SINR association "
                       "(§7.2)"),
        ("rsrp-csac", "ddqn_csac", "ablation: max-RSRP association + CSAC direction (§7.5)"),
        ("maxrate-csac", "ddqn_csac", "ablation: max-rate association + CSAC direction (§7.5)"),
        ("ddqn-sac", "ddqn_csac", "ablation: DDQN association + SAC with fixed penalties 1.0 (§7.5)"),
        ("ddqn-sl", "ddqn_csac", "ablation: DDQN association + straight-line flight (§7.5)"),
    )
)
