"""Learners of the `leo-handover` family (declarations only; light imports): tabular TD learning
(`learners/leo_handover/tabular.py`) and the DQN with its listings and state ablations (`learners/leo_handover/dqn.py`).
§ numbers: docs/families/leo-handover.md."""
from optkit.options import Option, learner_options
from optkit.registry import MethodSpec

_PACKAGE = "optkit.learners.leo_handover"
_TABULAR_OPTIONS = (
    *learner_options(),
    Option("episodes", "int", None, "training episodes (default: the preset's n_train_episodes)", low=1,
           nullable=True, stage="both"),
    Option("base_seed", "int", 0, "base seed of the training worlds", low=0, stage="train"),
)
_DQN_OPTIONS = (
    *_TABULAR_OPTIONS,
    Option("train_every", "int", None, "environment steps between gradient steps (default: the preset's)", low=1,
           nullable=True, stage="both"),
    Option("device", "str", None, "torch device of training", choices=("cpu", "cuda"), nullable=True, stage="both"),
)
_MASK_AT_TEST = Option("mask_at_test", "str", None, "a state feature set to 0.5 at test time in the full-state "
                       "model (§7.1)", nullable=True)


def _learner(id: str, module: str, description: str) -> MethodSpec:
    name = id.replace("-", "_")
    options = _TABULAR_OPTIONS if module == "tabular" else _DQN_OPTIONS + ((_MASK_AT_TEST,) if id == "dqn" else ())
    return MethodSpec(family="leo-handover", id=id, kind="learner", knowledge="online",
                      entry=f"{_PACKAGE}.{module}:solve_{name}", train=f"{_PACKAGE}.{module}:train_{name}",
                      description=description, options=options)


METHODS = (
    _learner("sarsa", "tabular", "tabular SARSA on the hashed 20-value state, linear ε per episode (§7.1)"),
    _learner("qlearning", "tabular", "tabular Q-learning on the hashed 20-value state (§7.1)"),
    _learner("dqn", "dqn", "the paper's DQN, experimental-section listing: replay 10k, batch 32, linear ε (§7.1); "
                           "option mask_at_test"),
    _learner("dqn-listing-a", "dqn", "DQN with the method-section listing: replay 20k, batch 64, "
                                     "ε = max(0.1, 1.2·0.998^t) (dqn-listingA of §7.1)"),
    _learner("dqn-no-dirdiff", "dqn", "DQN retrained without the direction difference in the state (ablation, §7.1)"),
    _learner("dqn-no-elev", "dqn", "DQN retrained without the elevation in the state (ablation)"),
    _learner("dqn-no-range", "dqn", "DQN retrained without the slant range in the state (ablation)"),
    _learner("dqn-no-azimuth", "dqn", "DQN retrained without the azimuth in the state (ablation extension)"),
)
