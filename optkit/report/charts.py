"""The interactive charts of report.html (plotly figures): the same figures as the PNGs of report.md, with hover
values (mean, std, rows used / expected), legend toggles (a click hides a series in every panel) and a button that
shows or hides the ±1 std bands. A value that is missing or undefined is a gap, never a zero; a mean over fewer
rows than the manifest expects is drawn with an open marker and says so on hover."""
from __future__ import annotations

import math

from optkit.report.results import (Results, expected_count, group_rows, metric_stats, point_means, series_list,
                                   series_name)
from optkit.report.tables import INCOMPLETE, axis_label

FONT = dict(family="DejaVu Sans, Arial, sans-serif", size=12)
BAND_ALPHA = 0.18


def _finite_or_none(values) -> list:
    """Floats with NaN and infinity as None (a gap in a plotly trace)."""
    return [float(v) if v is not None and math.isfinite(float(v)) else None for v in values]


def _rgba(hex_color: str, alpha: float) -> str:
    """'#1f77b4' -> 'rgba(31,119,180,alpha)'."""
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _layout(fig, title: str, height: int, width: int | None = None) -> None:
    fig.update_layout(title=dict(text=title, x=0.01, xanchor="left"), height=height, width=width, font=FONT,
                      template="plotly_white", hovermode="closest", margin=dict(l=60, r=20, t=90, b=60),
                      legend=dict(groupclick="togglegroup", title=dict(text="click: hide/show")))


def _band_buttons(fig, band_flags: list[bool]) -> None:
    """A "±1 std bands" on/off toggle (restyles the band traces only)."""
    if not any(band_flags):
        return
    idx = [i for i, flag in enumerate(band_flags) if flag]
    fig.update_layout(updatemenus=[dict(
        type="buttons", direction="right", x=1.0, xanchor="right", y=1.12, yanchor="bottom", showactive=True,
        buttons=[dict(label="bands on", method="restyle", args=[{"visible": True}, idx]),
                 dict(label="bands off", method="restyle", args=[{"visible": False}, idx])])])


def _line_with_band(fig, x, means, stds, *, name, color, group, showlegend, row, col, hover, symbols,
                    band_flags) -> None:
    """A mean line with markers and, where the std is finite, a shaded ±1 std band (two extra traces)."""
    import plotly.graph_objects as go

    means = _finite_or_none(means)
    stds = _finite_or_none(stds)
    if any(s is not None for s in stds):
        lo = [m - s if m is not None and s is not None else m for m, s in zip(means, stds)]
        hi = [m + s if m is not None and s is not None else m for m, s in zip(means, stds)]
        fig.add_trace(go.Scatter(x=x, y=hi, mode="lines", line=dict(width=0), hoverinfo="skip", showlegend=False,
                                 legendgroup=group, name=f"{name} +1 std"), row=row, col=col)
        band_flags.append(True)
        fig.add_trace(go.Scatter(x=x, y=lo, mode="lines", line=dict(width=0), fill="tonexty",
                                 fillcolor=_rgba(color, BAND_ALPHA), hoverinfo="skip", showlegend=False,
                                 legendgroup=group, name=f"{name} -1 std"), row=row, col=col)
        band_flags.append(True)
    fig.add_trace(go.Scatter(x=x, y=means, mode="lines+markers", name=name, legendgroup=group, showlegend=showlegend,
                             line=dict(color=color, width=2), marker=dict(color=color, size=8, symbol=symbols),
                             text=hover, hovertemplate="%{text}<extra></extra>", connectgaps=False),
                  row=row, col=col)
    band_flags.append(False)


def _x_values(res: Results, scenario: str):
    """x values (numbers on a numeric sweep, labels otherwise), axis label."""
    from optkit.report.figures import _x_axis

    xs, ticks, xlabel, numeric = _x_axis(res, scenario)
    return (xs if numeric else ticks), xlabel


def _hover_lines(res: Results, scenario: str, metric: str, method: str, config: str):
    """Hover text per point, marker symbols (open where incomplete)."""
    texts, symbols = [], []
    for label, _ in res.points[scenario]:
        rows = group_rows(res, scenario, label, method, config)
        expected = expected_count(res, scenario, label, method, config)
        mean, std, n = metric_stats(rows[metric]) if metric in rows else (float("nan"), float("nan"), 0)
        errors = len(group_rows(res, scenario, label, method, config, ok_only=False)) - len(rows)
        flag = f" {INCOMPLETE} incomplete" if len(rows) < expected else ""
        value = "no value" if n == 0 else f"{mean:.4g}" + (f" ± {std:.4g}" if n > 1 else "")
        text = (f"<b>{series_name(method, config)}</b><br>{label or scenario}<br>{res.labels.get(metric, metric)}: "
                f"{value}<br>rows {len(rows)}/{expected}{flag}")
        if errors:
            text += f"<br>{errors} error(s)"
        texts.append(text)
        symbols.append("circle-open" if len(rows) < expected else "circle")
    return texts, symbols


def sweep_chart(res: Results, scenario: str, panels: list, series: list, colors: dict):
    """Each sweep panel metric against the swept quantity, mean over seeds ± 1 std, one line per series."""
    from plotly.subplots import make_subplots

    x, xlabel = _x_values(res, scenario)
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[res.labels.get(m, m) for m in panels],
                        horizontal_spacing=0.08)
    bands: list[bool] = []
    for col, metric in enumerate(panels, start=1):
        for method, config in series:
            means, stds = point_means(res, scenario, metric, method, config)
            hover, symbols = _hover_lines(res, scenario, metric, method, config)
            _line_with_band(fig, x, means, stds, name=series_name(method, config), color=colors[(method, config)],
                            group=series_name(method, config), showlegend=col == 1, row=1, col=col, hover=hover,
                            symbols=symbols, band_flags=bands)
        fig.update_xaxes(title_text=xlabel, row=1, col=col)
        fig.update_yaxes(title_text=axis_label(res, metric), row=1, col=col)
    _layout(fig, f"{scenario}: mean over seeds, band ±1 std (open marker: incomplete seeds)", 470)
    _band_buttons(fig, bands)
    return fig


def radar_chart(res: Results, scenario: str, axes: list, raw: dict, scores: dict, colors: dict):
    """The radar: every axis oriented so that outward is better (lower-is-better metrics inverted); hover shows the
    raw mean and the score; a missing value is a gap in the outline, not a zero."""
    import plotly.graph_objects as go

    theta = [res.labels.get(m, m) + (" (inverted)" if res.better.get(m) == "lower" else "") for m in axes]
    fig = go.Figure()
    for s, values in scores.items():
        r = _finite_or_none(values)
        text = [f"<b>{series_name(*s)}</b><br>{res.labels.get(m, m)}: "
                + (f"{raw[s][i]:.4g}" if math.isfinite(raw[s][i]) else "no value")
                + (f"<br>score {values[i]:.3f}" if math.isfinite(values[i]) else "") for i, m in enumerate(axes)]
        fig.add_trace(go.Scatterpolar(r=r + r[:1], theta=theta + theta[:1], text=text + text[:1], name=series_name(*s),
                                      mode="lines+markers", fill="toself", fillcolor=_rgba(colors[s], 0.06),
                                      line=dict(color=colors[s]), hovertemplate="%{text}<extra></extra>",
                                      connectgaps=False))
    fig.update_layout(polar=dict(radialaxis=dict(range=[0, 1.05], tickvals=[0, 0.25, 0.5, 0.75, 1.0]),
                                 angularaxis=dict(direction="clockwise", rotation=90)))
    _layout(fig, f"{scenario}: radar, outward = better on every axis (1 = best method, 0 = worst)", 560, 760)
    return fig


def heat_chart(res: Results, scenario: str, panels: list, series: list):
    """Methods × sweep points of each heat metric (mean over seeds); cells without a value are grey, marked n/a."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    _, xlabel = _x_values(res, scenario)
    ticks = [p[0] or scenario for p in res.points[scenario]]
    names = [series_name(*s) for s in series]
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[axis_label(res, m) for m, _ in panels],
                        horizontal_spacing=0.22)
    for col, (metric, matrix) in enumerate(panels, start=1):
        z = [_finite_or_none(row) for row in matrix]
        text = [[f"{v:.3g}" if v is not None else "n/a" for v in row] for row in z]
        scale = "Viridis_r" if res.better.get(metric) == "lower" else "Viridis"
        bar_x = (col - 0.5) / len(panels) + 0.5 / len(panels) - 0.02
        fig.add_trace(go.Heatmap(z=z, x=ticks, y=names, text=text, texttemplate="%{text}", colorscale=scale,
                                 hoverongaps=True, xgap=2, ygap=2, colorbar=dict(x=bar_x, len=0.9, thickness=12),
                                 hovertemplate="%{y} @ %{x}: %{text}<extra>" + metric + "</extra>"),
                      row=1, col=col)
        fig.update_xaxes(title_text=xlabel, type="category", row=1, col=col)
        fig.update_yaxes(autorange="reversed", type="category", row=1, col=col)
    _layout(fig, f"{scenario}: mean over seeds per method and sweep point (grey n/a: no value)",
            180 + 40 * len(series))
    fig.update_layout(plot_bgcolor="#d9d9d9")
    return fig


def runtime_chart(res: Results, scenario: str, metric: str, series: list, colors: dict, ref_key, with_ratio: bool):
    """The runtime metric per series (log scale) and, with the reference's rows, its ratio to the reference's."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    x, xlabel = _x_values(res, scenario)
    titles = [f"{res.labels.get(metric, metric)} (mean over seeds)"]
    if with_ratio:
        titles.append(f"ratio to the reference {res.reference}")
    fig = make_subplots(rows=1, cols=len(titles), subplot_titles=titles, horizontal_spacing=0.1)
    ref_means = point_means(res, scenario, metric, *ref_key)[0] if with_ratio else None
    for s in series:
        means, _ = point_means(res, scenario, metric, *s)
        positive = [m if math.isfinite(m) and m > 0 else None for m in means]
        hover, symbols = _hover_lines(res, scenario, metric, *s)
        name = series_name(*s)
        fig.add_trace(go.Scatter(x=x, y=positive, mode="lines+markers", name=name, legendgroup=name,
                                 line=dict(color=colors[s]), marker=dict(symbol=symbols, size=8), text=hover,
                                 hovertemplate="%{text}<extra></extra>"), row=1, col=1)
        if with_ratio and s != ref_key:
            ratio = [m / r if math.isfinite(m) and math.isfinite(r) and m > 0 and r > 0 else None
                     for m, r in zip(means, ref_means)]
            fig.add_trace(go.Scatter(x=x, y=ratio, mode="lines+markers", name=name, legendgroup=name, showlegend=False,
                                     line=dict(color=colors[s]),
                                     hovertemplate=f"{name}: %{{y:.3g}} × {res.reference}<extra></extra>"),
                          row=1, col=2)
    for col in range(1, len(titles) + 1):
        fig.update_yaxes(type="log", row=1, col=col)
        fig.update_xaxes(title_text=xlabel, row=1, col=col)
    fig.update_yaxes(title_text=axis_label(res, metric), row=1, col=1)
    _layout(fig, f"{scenario}: runtime (log scale)", 440)
    return fig


def convergence_chart(method: str, columns: list, panels: list, window_text: str):
    """Training curves of one method: one panel per curve column; per configuration a moving-average mean line
    with a ±1 std band, and the greedy validation score (markers) beside the training-mode score where the
    curves have it. `panels`: [(column, [(label, color, x, mean, std, n_runs, val) ...])], val = (x, mean) or None."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    n_cols = min(3, len(columns))
    n_rows = -(-len(columns) // n_cols)
    fig = make_subplots(rows=n_rows, cols=n_cols, subplot_titles=list(columns), horizontal_spacing=0.07,
                        vertical_spacing=min(0.25, 0.5 / n_rows))
    bands: list[bool] = []
    seen: set = set()
    for i, (column, lines) in enumerate(panels):
        row, col = i // n_cols + 1, i % n_cols + 1
        for label, color, x, mean, std, n_runs, val in lines:
            name = f"{label} ({n_runs} run{'s' if n_runs != 1 else ''})"
            hover = [f"<b>{label}</b><br>episode {int(e)}<br>{column}: {m:.4g}" if m is not None and math.isfinite(m)
                     else "" for e, m in zip(x, mean)]
            _line_with_band(fig, list(x), mean, std if std is not None else [float("nan")] * len(x), name=name,
                            color=color, group=label, showlegend=label not in seen, row=row, col=col, hover=hover,
                            symbols="circle", band_flags=bands)
            fig.data[-1].update(mode="lines", line=dict(width=1.5))
            seen.add(label)
            if val is not None:
                vx, vy = val
                fig.add_trace(go.Scatter(x=list(vx), y=_finite_or_none(vy), mode="lines+markers",
                                         name=f"{label}: greedy validation", legendgroup=label + " val",
                                         showlegend=(label + " val") not in seen,
                                         line=dict(color=color, dash="dash", width=1.5),
                                         marker=dict(symbol="diamond", size=7, color=color),
                                         hovertemplate=f"<b>{label}</b> greedy validation<br>episode %{{x}}<br>"
                                                       f"{column}: %{{y:.4g}}<extra></extra>"), row=row, col=col)
                bands.append(False)
                seen.add(label + " val")
        fig.update_xaxes(title_text="episode", tickformat="d", row=row, col=col)
    _layout(fig, f"{method}: training curves, moving average over {window_text} episode(s), mean over training runs "
                 "± 1 std; dashed diamonds: greedy validation", 120 + 320 * n_rows)
    _band_buttons(fig, bands)
    return fig


def bar_chart(title: str, labels: list, colors: list, panels: list):
    """Horizontal bars, one panel per metric: panels = [(title, means, stds)]; a missing value is 'n/a'."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    n_cols = min(2, len(panels))
    n_rows = -(-len(panels) // n_cols)
    fig = make_subplots(rows=n_rows, cols=n_cols, subplot_titles=[p[0] for p in panels], shared_yaxes=False,
                        horizontal_spacing=0.25, vertical_spacing=min(0.3, 0.4 / n_rows))
    for i, (metric_title, means, stds) in enumerate(panels):
        row, col = i // n_cols + 1, i % n_cols + 1
        means, stds = _finite_or_none(means), _finite_or_none(stds)
        text = [f"{m:.4g}" + (f" ± {s:.3g}" if s else "") if m is not None else "n/a" for m, s in zip(means, stds)]
        fig.add_trace(go.Bar(x=means, y=labels, orientation="h", marker_color=colors, showlegend=False,
                             error_x=dict(type="data", array=[s or 0.0 for s in stds], visible=True),
                             text=text, textposition="none",
                             hovertemplate="%{y}: %{text}<extra>" + metric_title + "</extra>"), row=row, col=col)
        fig.update_yaxes(autorange="reversed", row=row, col=col)
    _layout(fig, title, 120 + n_rows * (90 + 26 * len(labels)))
    return fig
