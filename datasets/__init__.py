"""Scenario presets (TOML data files), one folder per family. Installed as `optkit.datasets`."""
