"""Baselines of the `leo-handover` family (declarations only; light imports). § numbers: docs/families/leo-handover.md."""
from optkit.options import Option
from optkit.registry import MethodSpec

_MODULE = "optkit.heuristics.leo_handover.policies"
_TRAINING_CURVE = Option("training_curve", "bool", False, "also record the baseline's curve over the training "
                         "episodes (for the convergence figure)")

METHODS = tuple(
    MethodSpec(family="leo-handover", id=_id, kind="heuristic", knowledge="online", entry=f"{_MODULE}:{_entry}",
               description=_text, seeded=_id == "random",
               seeded_options=("training_curve",) if _id == "distance" else (),
               options=(_TRAINING_CURVE,) if _id == "distance" else ())
    for _id, _entry, _text in (
        ("distance", "solve_distance", "nearest candidate by slant range (the paper's baseline, §7.1)"),
        ("distance-all", "solve_distance_all", "nearest satellite among all eligible ones, not only the M candidates"),
        ("max-elevation", "solve_max_elevation", "highest-elevation candidate, re-chosen every step (§7.2)"),
        ("sticky-nearest", "solve_sticky_nearest", "keep the serving satellite while it is a candidate, else the "
                                                   "nearest"),
        ("mrt", "solve_mrt", "keep the serving satellite while eligible, else the longest remaining visibility "
                             "(orbit prediction, §7.2)"),
        ("mrt-every-step", "solve_mrt_every_step", "longest remaining visibility re-chosen every step, no "
                                                   "stickiness"),
        ("score-greedy", "solve_score_greedy", "myopic argmax of the per-step reward (exact P1 optimum when "
                                               "transitions are action-independent, §5.1)"),
        ("random", "solve_random", "uniformly random valid candidate slot"),
    )
)
