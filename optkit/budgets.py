"""Learner training budgets, smallest first; each family defines the ones it offers in its `_learners.toml`."""

BUDGETS = ("check", "smoke", "quick", "fast", "reduced", "paper")
