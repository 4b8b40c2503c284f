"""Learners of the `allocate` family (declarations only; light imports). § numbers: docs/families/allocate.md."""
from optkit.options import Option, learner_options
from optkit.registry import MethodSpec

_MODULE = "optkit.learners.allocate"
_OPTIONS = (
    *learner_options(),
    Option("lr", "float", None, "learning rate (default: _learners.toml)", low=0.0, low_open=True, nullable=True,
           stage="both"),
    Option("batch_size", "int", None, "minibatch size (default: _learners.toml)", low=1, nullable=True,
           stage="both"),
)


def _learner(id: str, module: str, name: str, description: str) -> MethodSpec:
    return MethodSpec(family="allocate", id=id, kind="learner", knowledge="online",
                      entry=f"{_MODULE}.{module}:solve{name}", train=f"{_MODULE}.{module}:train{name}",
                      description=description, options=_OPTIONS)


METHODS = (
    _learner("perfect", "perfect", "", "PERFECT: predictor + trajectory D3QL, Bayesian MAC with Algorithm 3, masked "
                                       "placement D3QL + router (§7.2)"),
    _learner("perfect-literal-mac", "perfect", "_literal_mac",
             "PERFECT with Algorithm 3 allocating exactly Ť_r slots, no hedge (§7.7)"),
    _learner("perfect-nopred", "perfect", "_nopred",
             "PERFECT without the predictor: D̃ replaced by the current demand grid (§7.7 diagnostic)"),
    _learner("perfect-literal-hl", "perfect", "_literal_hl",
             "PERFECT with the source paper's reward coupling: R_HL also replaces the placement return (§7.7, D28)"),
    _learner("perfect-shaped", "perfect", "_shaped",
             "PERFECT with potential-based shaping of the placement reward (§7.7, D33)"),
    _learner("haddqn", "haddqn", "", "HaDDQN: Hungarian UAV areas and resource blocks, unmasked DDQN placement "
                                     "(invalid actions end the frame, D34) + router (§7.4)"),
    _learner("haddqn-literal", "haddqn", "_literal",
             "HaDDQN as written: invalid action = self-loop with -1, Γ on every step, paper ε and replay (§7.7)"),
)
