"""The documentation site builds from docs/ with warnings as errors (broken links, missing anchors and pages left
out of the navigation are warnings through the `validation` block of mkdocs.yml), and the numbers the code cites
exist on its family page."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_mkdocs_build_is_strict_clean(tmp_path):
    pytest.importorskip("mkdocs")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
         "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "families" / "allocate" / "index.html").is_file()


def test_allocate_citations_exist_on_the_family_page():
    """Every §, E, D and DV number cited by the allocate code, tests, data files and benchmarks is on
    docs/families/allocate.md: § as a heading, E, D and DV as the bold label of their entry."""
    page = (ROOT / "docs" / "families" / "allocate.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^#+ §([0-9.]+)", page, re.M))
    sources = [p for pattern in ("formulations/allocate/*.py", "heuristics/allocate/*.py", "learners/allocate/*.py",
                                 "tests/allocate/*.py", "datasets/allocate/*.toml", "benchmarks/allocate_*.py")
               for p in ROOT.glob(pattern)]
    assert sources
    missing = set()
    for path in sources:
        text = path.read_text(encoding="utf-8")
        missing |= {f"§{s.rstrip('.')}" for s in re.findall(r"§ ?([0-9]+(?:\.[0-9]+)*)", text)
                    if s.rstrip(".") not in headings}
        for label in re.findall(r"\b(E[0-9]{1,2}|D[1-9][0-9]?|DV-[A-Z]+[0-9]+)\b", text):
            if not re.search(rf"\*\*{label}\b", page):
                missing.add(label)
    assert not missing, sorted(missing)
