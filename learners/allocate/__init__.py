"""Learners of the `allocate` family (registration only; light imports)."""
from optkit.registry import MethodSpec, register_method

_MODULE = "optkit.learners.allocate"

register_method(MethodSpec(
    family="allocate", id="perfect", kind="learner", knowledge="online",
    entry=f"{_MODULE}.perfect:solve", train=f"{_MODULE}.perfect:train",
    description="PERFECT: predictor + trajectory D3QL, Bayesian MAC with Algorithm 3, masked placement D3QL "
                "+ router (spec §7.2)",
))
register_method(MethodSpec(
    family="allocate", id="perfect-literal-mac", kind="learner", knowledge="online",
    entry=f"{_MODULE}.perfect:solve_literal_mac", train=f"{_MODULE}.perfect:train_literal_mac",
    description="PERFECT with Algorithm 3 allocating exactly Ť_r slots, no hedge (spec §7.7)",
))
register_method(MethodSpec(
    family="allocate", id="perfect-nopred", kind="learner", knowledge="online",
    entry=f"{_MODULE}.perfect:solve_nopred", train=f"{_MODULE}.perfect:train_nopred",
    description="PERFECT without the predictor: D̃ replaced by the current demand grid (spec §7.7 diagnostic)",
))
register_method(MethodSpec(
    family="allocate", id="haddqn", kind="learner", knowledge="online",
    entry=f"{_MODULE}.haddqn:solve", train=f"{_MODULE}.haddqn:train",
    description="HaDDQN: Hungarian UAV areas and resource blocks, unmasked DDQN placement + router (spec §7.4)",
))
