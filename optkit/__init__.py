"""optkit: exact references, baselines and learners for wireless-network optimization, scored by one evaluator.

Light on purpose: importing optkit does not import pyomo, torch or cvxpy.

    import optkit
    inst = optkit.make_instance(FAMILY, PRESET, seed=0)   # a family id from `optkit list`, one of its presets
    sol = optkit.solve(inst)                              # the family's exact or offline reference
    print(optkit.evaluate(inst, sol).metrics)
"""
__version__ = "0.1.0"


def make_instance(*args, **kwargs):
    from optkit.api import make_instance as _make

    return _make(*args, **kwargs)


def load_instance(*args, **kwargs):
    from optkit.api import load_instance as _load

    return _load(*args, **kwargs)


def solve(*args, **kwargs):
    from optkit.api import solve as _solve

    return _solve(*args, **kwargs)


def evaluate(*args, **kwargs):
    from optkit.api import evaluate as _evaluate

    return _evaluate(*args, **kwargs)


def benchmark(*args, **kwargs):
    """Run a benchmark sweep and return the tidy pandas table (see optkit.bench.benchmark)."""
    from optkit.bench import benchmark as _benchmark

    return _benchmark(*args, **kwargs)
