"""report.html: one self-contained page (tables, interactive charts, flags, provenance) that opens in headless
Chromium without a console message and with every chart drawn.

Chromium is Debian's `chromium` package (`.ci/run` installs it when absent). The browser loads the page from a
file:// URL with the network switched off; its console goes to stderr (`--enable-logging=stderr --v=0`), where
any `CONSOLE` line fails the test (the page logs nothing of its own), and `--dump-dom` gives the DOM after the
scripts ran, where every chart must hold plotly's SVG with at least one drawn mark.
"""
from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_report import write_results

from optkit import bench
from optkit.report import REPORT_HTML, write_report
from optkit.report.html import _split_row

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def chromium() -> str | None:
    """Path of a Chromium binary, or None."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def open_in_chromium(page: Path, tmp_path: Path) -> tuple[str, list[str]]:
    """(DOM after the page's scripts ran, console lines) of `page` in headless Chromium, offline."""
    binary = chromium()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (CI must install it: .ci/run runs apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    profile = tmp_path / "chromium-profile"
    cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
           "--disable-extensions", "--disable-background-networking", "--proxy-server=127.0.0.1:9",
           "--proxy-bypass-list=<-loopback>", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
           "--virtual-time-budget=10000", "--dump-dom", page.resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    return proc.stdout, console


def chart_segments(dom: str) -> dict[str, str]:
    """{figure name: DOM of its chart} for every interactive chart of the page."""
    parts = dom.split('<div class="chart" data-figure="')[1:]
    return {part.split('"', 1)[0]: part[:part.find("</figure>")] for part in parts}


def drawn_marks(segment: str) -> int:
    """Data marks plotly drew in one chart: line and fill paths with points, markers, heat-map images, bars."""
    paths = len(re.findall(r'class="js-(?:line|fill)"[^>]*\sd="M[^"]*L', segment))
    return paths + segment.count('class="point"') + segment.count('class="hm"')


def results_with_everything(out: Path) -> None:
    """A sweep with a missing cell, an error cell, a time-limited reference and training curves with a greedy
    validation column beside the training-mode one."""
    write_results(out, drop={("15", 2, "random")}, errors={("10", 1, "greedy-fake")}, curves=True)
    for path in sorted((out / bench.CURVES).glob("*.csv")):
        frame = pd.read_csv(path)
        frame["val_return"] = np.where(frame["episode"] % 30 == 29, np.log1p(frame["episode"]), np.nan)
        frame.to_csv(path, index=False)


# ----------------------------------------------------------------------------------------------- page content

def test_html_is_self_contained_with_tables_flags_and_provenance(tmp_path):
    results_with_everything(tmp_path)
    write_report(tmp_path)
    page = (tmp_path / REPORT_HTML).read_text(encoding="utf-8")
    # offline: plotly.js inline (the first script), no external script, stylesheet or image elsewhere
    head, library, rest = re.split(r'<script type="text/javascript">|</script>', page, maxsplit=2)
    assert len(library) > 3_000_000 and "plotly" in library[:2000].lower()
    assert "Plotly.newPlot" in rest
    for text in (head, rest):
        assert not re.search(r"<script[^>]+src=", text)
        assert not re.search(r"<link[^>]+href=", text)
        assert not re.search(r'src="(?!data:)', text)
    # the five charts of the run, each once, and the same sections as report.md
    names = re.findall(r'<div class="chart" data-figure="([^"]+)"', page)
    assert sorted(names) == ["convergence-perfect.png", "heat-sweep-requests.png", "radar-sweep-requests.png",
                             "runtime-sweep-requests.png", "sweep-sweep-requests.png"]
    markdown = (tmp_path / "report.md").read_text()
    for heading in re.findall(r"^## (.+)$", markdown, flags=re.M):
        assert f">{heading.replace('`', '')}<" in re.sub(r"</?code>", "", page), heading
    # flags: the summary line, the missing and error counts, the incomplete means
    assert '<p class="summary bad">' in page
    assert '<strong class="flag">1 MISSING</strong>' in page and '<strong class="flag">1 error(s)</strong>' in page
    assert re.search(r'<td class="incomplete">[^<]*†</td>', page)
    assert '<td class="errorcell">1</td>' in page                       # the status table's error count
    assert "RuntimeError: boom at 10/1" in page
    # provenance
    for text in ("<td>git revision</td><td>abc1234</td>", "<td>optkit version</td><td>0.1.0</td>", "numpy 2.0"):
        assert text in page, text
    # greedy validation beside the training-mode curve
    assert "greedy validation" in page


def test_html_numbers_equal_markdown(tmp_path):
    write_results(tmp_path)
    write_report(tmp_path)
    page = (tmp_path / REPORT_HTML).read_text(encoding="utf-8")
    markdown = (tmp_path / "report.md").read_text()
    row = next(line for line in markdown.splitlines() if line.startswith("| random | 3/3 |"))
    cells = "".join(f"<td>{c.replace('±', '±')}</td>" for c in _split_row(row))
    assert cells in page


def test_html_without_curves_or_radar_still_written(tmp_path):
    write_results(tmp_path, methods=["allocate", "random"], points=["7"], seeds=[0], errors={("7", 0, "random")})
    write_report(tmp_path)
    page = (tmp_path / REPORT_HTML).read_text(encoding="utf-8")
    assert html.escape("radar of 'sweep-requests' needs at least 2 methods") in page
    assert "<figure>" in page


# ----------------------------------------------------------------------------------------------- in a browser

@pytest.mark.slow
def test_html_opens_in_headless_chromium(tmp_path):
    out = tmp_path / "run"
    results_with_everything(out)
    write_report(out)
    dom, console = open_in_chromium(out / REPORT_HTML, tmp_path)
    assert console == [], "\n".join(console)
    charts = chart_segments(dom)
    assert len(charts) == 5, sorted(charts)
    for name, segment in charts.items():
        assert "js-plotly-plot" in segment and 'class="main-svg"' in segment, f"{name}: plotly did not draw"
        assert drawn_marks(segment) > 0, f"{name}: an empty chart"


@pytest.mark.slow
def test_chromium_check_catches_console_errors_and_empty_charts(tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text('<html><body><div class="chart" data-figure="x.png"><div id="c"></div></div></figure>'
                      "<script>console.error('bad'); notAFunction();</script></body></html>")
    dom, console = open_in_chromium(broken, tmp_path)
    assert any("bad" in line for line in console) and any("notAFunction" in line for line in console)
    assert drawn_marks(chart_segments(dom)["x.png"]) == 0
