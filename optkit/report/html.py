"""report.html: the report as one self-contained page that works offline.

The page holds the same sections as report.md (what ran and its provenance, completeness, statuses, errors,
reference quality, results tables, the family's tables), rendered from the same markdown lines, with every figure
as an interactive plotly chart where the report drew one (hover values, legend toggles, band toggles) and as the
embedded PNG otherwise. plotly.js is inlined once, so the file opens without a network. Missing and failed cells
are flagged: table cells that carry the incomplete or reference marks and the error and missing counts are
highlighted, and a summary line at the top counts them.
"""
from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from optkit.report.tables import INCOMPLETE, REF_FLAG

REPORT_HTML = "report.html"
CHART_CONFIG = {"displaylogo": False, "responsive": True, "toImageButtonOptions": {"format": "png", "scale": 2}}
STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 0 auto; max-width: 1400px; padding: 0 24px 48px;
       color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #1f77b4; padding-bottom: 6px; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 4px; margin-top: 36px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
th, td { border: 1px solid #d0d0d0; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f2f5f9; position: sticky; top: 0; }
tr:nth-child(even) td { background: #fafafa; }
td.incomplete { background: #fff3cd !important; }
td.refflag { background: #fde2c8 !important; }
td.errorcell { background: #f8d7da !important; }
strong.flag { color: #b00020; }
.summary { padding: 8px 12px; border-left: 4px solid #1f77b4; background: #f2f5f9; }
.summary.bad { border-left-color: #b00020; background: #fdecee; }
figure { margin: 16px 0 28px; }
figcaption { font-size: 13px; color: #444; max-width: 1100px; }
img.figure { max-width: 100%; border: 1px solid #eee; }
code { background: #f3f3f3; padding: 0 3px; border-radius: 3px; }
nav ul { columns: 3; font-size: 13px; }
footer { margin-top: 40px; font-size: 12px; color: #666; }
"""


def write_html(directory: Path, title: str, lines: list[str], charts: dict, figures_folder: str, bad: bool) -> Path:
    """Write DIR/report.html from the markdown lines of report.md; `charts` {figure name: plotly figure} replace
    the PNG of those figures; `bad` marks the summary line (missing or failed cells). Returns the path."""
    import plotly
    from plotly.offline import get_plotlyjs

    body, toc = _render(lines, charts, Path(directory) / figures_folder, bad)
    nav = "<nav><ul>" + "".join(f'<li><a href="#{anchor}">{html.escape(text)}</a></li>' for anchor, text in toc)
    nav += "</ul></nav>"
    page = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(title)}</title>",
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<style>{STYLE}</style>",
            f'<script type="text/javascript">{get_plotlyjs()}</script>',
            "</head><body>", body[0], nav, *body[1:],
            f"<footer>Written by <code>optkit report</code> from the results directory; interactive charts: plotly "
            f"{html.escape(plotly.__version__)} (plotly.js inlined, no network needed). Click a legend entry to hide "
            "or show a series in every panel, double-click to show it alone; hover a point for its values.</footer>",
            "</body></html>"]
    path = Path(directory) / REPORT_HTML
    tmp = path.with_name(REPORT_HTML + ".tmp")
    tmp.write_text("\n".join(page) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


# ----------------------------------------------------------------------------------------------- markdown subset

_IMAGE = re.compile(r"^!\[([^\]]*)\]\(([^)]*)\)$")
_HEADING = re.compile(r"^(#{1,6}) (.*)$")


def _inline(text: str) -> str:
    """Escaped text with `code`, **bold** (flagged when it reports a problem) and nothing else interpreted."""
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) >= 2:
            out.append(f"<code>{html.escape(part[1:-1])}</code>")
            continue
        escaped = html.escape(part)

        def bold(match):
            inner = match.group(1)
            flag = any(word in inner for word in ("MISSING", "error", "flagged"))
            return f'<strong class="flag">{inner}</strong>' if flag else f"<strong>{inner}</strong>"

        out.append(re.sub(r"\*\*(.+?)\*\*", bold, escaped))
    return "".join(out)


def _split_row(line: str) -> list[str]:
    """Cells of a markdown table row written by md_table ('|' inside a cell is escaped as '\\|')."""
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    cells = re.split(r"(?<!\\)\|", inner)
    return [c.strip().replace("\\|", "|") for c in cells]


def _cell_class(text: str, column: str) -> str:
    if column == "error" and text not in ("0", "") or text.startswith("error"):
        return ' class="errorcell"'
    if column == "missing" and text not in ("0", ""):
        return ' class="errorcell"'
    if INCOMPLETE in text:
        return ' class="incomplete"'
    if REF_FLAG in text:
        return ' class="refflag"'
    return ""


def _table(rows: list[str]) -> str:
    header = _split_row(rows[0])
    body = [_split_row(r) for r in rows[2:]]
    out = ["<table><thead><tr>" + "".join(f"<th>{_inline(h)}</th>" for h in header) + "</tr></thead><tbody>"]
    for cells in body:
        out.append("<tr>" + "".join(f"<td{_cell_class(c, header[i] if i < len(header) else '')}>{_inline(c)}</td>"
                                    for i, c in enumerate(cells)) + "</tr>")
    return "\n".join(out + ["</tbody></table>"])


def _figure(name: str, charts: dict, folder: Path, n: int) -> str:
    """An interactive chart when the report drew one, the embedded PNG otherwise."""
    import plotly.io as pio

    chart = charts.get(name)
    if chart is not None:
        div = pio.to_html(chart, full_html=False, include_plotlyjs=False, div_id=f"chart-{n}", config=CHART_CONFIG)
        return f'<div class="chart" data-figure="{html.escape(name)}">{div}</div>'
    path = folder / name
    if path.is_file():
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f'<img class="figure" alt="{html.escape(name)}" src="data:image/png;base64,{data}">'
    return f"<p><strong class=\"flag\">figure {html.escape(name)} not found</strong></p>"


def _render(lines: list[str], charts: dict, folder: Path, bad: bool):
    """HTML blocks of the markdown lines (the first block is the title and summary) and the table of contents."""
    blocks: list[str] = []
    toc: list[tuple[str, str]] = []
    i, n_fig, paragraph = 0, 0, []

    def flush():
        if paragraph:
            blocks.append("<p>" + " ".join(_inline(p) for p in paragraph) + "</p>")
            paragraph.clear()

    first_paragraph_done = False
    while i < len(lines):
        line = lines[i].rstrip()
        heading = _HEADING.match(line)
        image = _IMAGE.match(line)
        if not line:
            flush()
            i += 1
            continue
        if heading:
            flush()
            level, text = len(heading.group(1)), heading.group(2)
            anchor = f"s{len(blocks)}"
            if level == 2:
                toc.append((anchor, re.sub(r"[`*]", "", text)))
            blocks.append(f'<h{level} id="{anchor}">{_inline(text)}</h{level}>')
        elif line.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i])
                i += 1
            blocks.append(_table(rows))
            continue
        elif image:
            flush()
            name = image.group(1)
            caption = ""
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j < len(lines) and lines[j].startswith("*") and lines[j].rstrip().endswith("*") \
                    and not lines[j].startswith("**"):
                caption = lines[j].strip()[1:-1]
                i = j
            n_fig += 1
            blocks.append(f"<figure>{_figure(name, charts, folder, n_fig)}<figcaption><b>{html.escape(name)}</b>: "
                          f"{_inline(caption)}</figcaption></figure>")
        elif line.startswith("- "):
            flush()
            items = []
            while i < len(lines) and lines[i].startswith("- "):
                items.append(f"<li>{_inline(lines[i][2:])}</li>")
                i += 1
            blocks.append("<ul>" + "".join(items) + "</ul>")
            continue
        else:
            paragraph.append(line)
            if not first_paragraph_done and len(blocks) == 1:
                flush()
                blocks[-1] = blocks[-1].replace("<p>", f'<p class="summary{" bad" if bad else ""}">', 1)
                first_paragraph_done = True
        i += 1
    flush()
    head = blocks[:2] if len(blocks) > 1 else blocks
    return ["\n".join(head)] + blocks[len(head):], toc
