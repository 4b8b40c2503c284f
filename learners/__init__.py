"""Reinforcement-learning cores and per-family wiring. Installed as `optkit.learners`."""
