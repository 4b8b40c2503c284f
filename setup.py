"""Package discovery for the build backend: `optkit` plus every package found under the folders that
`[tool.setuptools.package-dir]` in pyproject.toml maps into the optkit namespace (formulations/ -> optkit.formulations,
...). Everything else about the build lives in pyproject.toml."""
from pathlib import Path

from setuptools import find_packages, setup

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent
PACKAGE_DIR = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]


def discovered_packages() -> list[str]:
    packages = []
    for name, folder in PACKAGE_DIR.items():
        packages += [name] + [f"{name}.{sub}" for sub in find_packages(str(ROOT / folder))]
    return sorted(set(packages))


setup(packages=discovered_packages())
