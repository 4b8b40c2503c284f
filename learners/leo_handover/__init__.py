"""Learners of the `leo-handover` family (declarations only; light imports). § numbers: docs/families/leo-handover.md."""
from optkit.options import Option, learner_options
from optkit.registry import MethodSpec

_MODULE = "optkit.learners.leo_handover.methods"
_OPTIONS = (
    *learner_options(),
    Option("episodes", "int", None, "training episodes (default: the preset's n_train_episodes)", low=1,
           nullable=True, stage="both"),
    Option("train_every", "int", None, "environment steps between gradient steps (default: the preset's)", low=1,
           nullable=True, stage="both"),
    Option("device", "str", None, "torch device of training", choices=("cpu", "cuda"), nullable=True, stage="both"),
    Option("base_seed", "int", 0, "base seed of the training worlds", low=0, stage="train"),
)
_MASK_AT_TEST = Option("mask_at_test", "str", None, "a state feature set to 0.5 at test time in the full-state "
                       "model (§7.1)", nullable=True)

METHODS = tuple(
    MethodSpec(family="leo-handover", id=_id, kind="learner", knowledge="online",
               entry=f"{_MODULE}:solve_{_id.replace('-', '_')}", train=f"{_MODULE}:train_{_id.replace('-', '_')}",
               description=_text, options=_OPTIONS + ((_MASK_AT_TEST,) if _id == "dqn" else ()))
    for _id, _text in (
        ("sarsa", "tabular SARSA on the hashed 20-value state, linear ε per episode (§7.1)"),
        ("qlearning", "tabular Q-learning on the hashed 20-value state (§7.1)"),
        ("dqn", "the paper's DQN, experimental-section listing: replay 10k, batch 32, linear ε (§7.1); "
                "option mask_at_test"),
        ("dqn-listing-a", "DQN with the method-section listing: replay 20k, batch 64, ε = max(0.1, 1.2·0.998^t) "
                          "(dqn-listingA of §7.1)"),
        ("dqn-no-dirdiff", "DQN retrained without the direction difference in the state (ablation, §7.1)"),
        ("dqn-no-elev", "DQN retrained without the elevation in the state (ablation)"),
        ("dqn-no-range", "DQN retrained without the slant range in the state (ablation)"),
        ("dqn-no-azimuth", "DQN retrained without the azimuth in the state (ablation extension)"),
    )
)
