"""The result line of `optkit solve`: what a status, a bound and a gap prove, worded so that none is mistaken."""
from optkit.cli import certificate


def test_proven_optimum_names_the_proof():
    line = certificate("optimal", 2.52047, 2.52071, 9.4e-5, 27.8)
    assert line.startswith("result: PROVEN OPTIMAL, objective 2.52047") and "gap 0.0094 %" in line


def test_time_limit_with_bound_gives_both_sides():
    line = certificate("time_limit", 2.5183, 2.5566, 0.0152, 30.2)
    assert line.startswith("result: NOT PROVEN OPTIMAL (time_limit): incumbent 2.5183, bound 2.5566, gap 1.52 %")


def test_time_limit_without_bound_is_not_called_a_heuristic():
    line = certificate("time_limit", 2.36733, None, None, 1.0)
    assert line.startswith("result: NOT PROVEN OPTIMAL (time_limit)") and "stopped before it had one" in line
    assert "proves nothing" not in line


def test_heuristic_without_bound_proves_nothing():
    line = certificate("feasible", 1.5, None, None, 0.1)
    assert "no bound (this method proves nothing about the optimum)" in line
