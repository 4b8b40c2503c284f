"""Learners of the `leo-handover` family (registration only; light imports)."""
from optkit.registry import MethodSpec, register_method

_MODULE = "optkit.learners.leo_handover.methods"

for _id, _text in (
    ("sarsa", "tabular SARSA on the hashed 20-value state, linear ε per episode (spec §7.1)"),
    ("qlearning", "tabular Q-learning on the hashed 20-value state (spec §7.1)"),
    ("dqn", "the paper's DQN, experimental-section listing: replay 10k, batch 32, linear ε (spec §7.1); "
            "option mask_at_test"),
    ("dqn-listing-a", "DQN with the method-section listing: replay 20k, batch 64, ε = max(0.1, 1.2·0.998^t) "
                      "(the spec's dqn-listingA)"),
    ("dqn-no-dirdiff", "DQN retrained without the direction difference in the state (ablation, spec §7.1)"),
    ("dqn-no-elev", "DQN retrained without the elevation in the state (ablation)"),
    ("dqn-no-range", "DQN retrained without the slant range in the state (ablation)"),
    ("dqn-no-azimuth", "DQN retrained without the azimuth in the state (ablation extension)"),
):
    _name = _id.replace("-", "_")
    register_method(MethodSpec(family="leo-handover", id=_id, kind="learner", knowledge="online",
                               entry=f"{_MODULE}:solve_{_name}", train=f"{_MODULE}:train_{_name}",
                               description=_text))
