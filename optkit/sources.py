"""The source files a computed artefact depends on (checkpoint code versions, on-disk cache keys)."""
from __future__ import annotations

from pathlib import Path


def import_closure(*module_files, packages=("optkit.formulations", "optkit.learners")) -> list[Path]:
    """The given module files and every module of `packages` they import, transitively (imports inside functions
    included; read from the source, nothing is executed): the code a trained model depends on, so that no module
    it uses can change without changing the checkpoint's code version. Sorted paths."""
    import ast
    import importlib.util

    def origin(name: str) -> Path | None:
        spec = importlib.util.find_spec(name)
        return Path(spec.origin).resolve() if spec is not None and spec.origin else None

    def imported(path: Path) -> set[Path]:
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                if name.startswith(tuple(f"{p}." for p in packages)):
                    try:
                        where = origin(name)
                    except ModuleNotFoundError:           # `from pkg import attribute`: not a module
                        where = None
                    if where is not None and where.suffix == ".py":
                        found.add(where)
        return {f for f in found if f.name != "__init__.py"}     # packages: their modules are listed themselves

    todo = [Path(f).resolve() for f in module_files]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo.extend(imported(path) - seen)
    return sorted(seen)
