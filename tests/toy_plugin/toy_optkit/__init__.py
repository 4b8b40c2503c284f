"""A toy optkit family outside the optkit tree: 0/1 knapsack, one folder per layer plus its presets.

Registered only through the `optkit.plugins` entry points of toy_optkit-0.1.dist-info, the way a separately
installed package adds a family; tests/test_family_plugin.py puts this folder on the path.
"""
