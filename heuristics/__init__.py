"""Classical baselines, one sub-package per family. Installed as `optkit.heuristics`."""
