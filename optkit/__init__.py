"""optkit: exact references, baselines and learners for wireless-network optimization, scored by one evaluator.

Light on purpose: importing optkit does not import pyomo, torch or cvxpy.
"""
__version__ = "0.1.0"
