"""Drawing the report's figures with matplotlib (no pyplot, no global backend) and embedding them."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import matplotlib as mpl
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from reports._fit import fit
from reports.importance import ImportanceResult
from reports.plot_data import CurvesInfo, HistoryInfo, ParallelInfo, ParetoInfo, SliceInfo, SlicePanel, choose_scale

BLUE, RED, GREY, ORANGE = "#1f6feb", "#d1242f", "#8c959f", "#bc4c00"
# Above this many marks a figure is embedded as PNG: an SVG would grow past what a report should weigh.
RASTER_ABOVE = 1_500
# No figure is wider than this: at 96 px an inch it is shown at full size in an 900 px window.
MAX_WIDTH_IN = 8.6

_RC = {
    # Glyphs as paths: the SVG needs no font on the reader's machine.
    "svg.fonttype": "path",
    "svg.hashsalt": "sweeps-report",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}


def _plain(text: str, width: int = 60) -> str:
    """User text for a label, cut to ``width``; a ``$`` would otherwise start mathtext (a lone one fails)."""
    text = text if len(text) <= width else text[: width - 1] + "…"
    return text.replace("$", r"\$")


@contextmanager
def _style() -> Iterator[None]:
    with mpl.rc_context(_RC):
        yield


def to_data_uri(fig: Figure, raster: bool = False) -> str:
    """The figure as a ``data:`` URI: SVG normally, PNG when ``raster`` (many marks)."""
    buffer = io.BytesIO()
    with _style():
        if raster:
            fig.savefig(buffer, format="png", dpi=110)
            mime = "image/png"
        else:
            fig.savefig(buffer, format="svg", metadata={"Date": None})
            mime = "image/svg+xml"
    return f"data:{mime};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


def _figure(width: float, height: float, **margins: float) -> Figure:
    # Fixed margins rather than a layout engine: constrained/tight layout draw the figure
    # an extra time to measure it, which doubles the cost of every figure in the report.
    with _style():
        fig = Figure(figsize=(width, height))
        fig.subplots_adjust(**{"left": 0.09, "right": 0.97, "bottom": 0.14, "top": 0.93, **margins})
        return fig


def draw_history(infos: Sequence[HistoryInfo]) -> Figure:
    """Objective value per trial and the best so far, one panel per objective."""
    with _style():
        height = 3.2 * len(infos)
        fig = _figure(MAX_WIDTH_IN, height, bottom=0.45 / height, top=1 - 0.25 / height, hspace=0.35)
        for ax, info in zip(fig.subplots(len(infos), 1, squeeze=False)[:, 0], infos, strict=True):
            if len(info.pruned_numbers):
                ax.scatter(info.pruned_numbers, info.pruned_values, s=10, c=GREY, marker="x", label="pruned")
            ax.scatter(info.numbers, info.values, s=12, c=BLUE, alpha=0.7, label="finished", linewidths=0)
            if len(info.numbers):
                ax.step(info.best_numbers, info.best_values, where="post", c=RED, lw=1.6, label="best so far")
            ax.set_xlabel("trial")
            ax.xaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True))  # trial 2.5 does not exist
            ax.set_yscale(info.scale)
            ax.set_ylabel(_plain(f"{info.objective.name} ({info.objective.goal})"))
            ax.legend(loc="best", fontsize=8)
        return fit(fig)


def draw_curves(info: CurvesInfo) -> Figure:
    """Step-wise metric of the top trials (coloured) and of pruned trials (grey, ending in x)."""
    with _style():
        fig = _figure(MAX_WIDTH_IN, 4, right=0.74)
        ax = fig.subplots()
        colours = mpl.colormaps["tab10"]
        top = [s for s in info.series if not s.pruned]
        pruned = [s for s in info.series if s.pruned]
        if pruned:
            # One collection for all pruned curves: a hundred separate lines cost seconds to draw.
            segments = [np.column_stack([s.steps, s.values]) for s in pruned]
            ax.add_collection(LineCollection(segments, colors=GREY, linewidths=0.8, alpha=0.5))
            ends = np.array([[s.steps[-1], s.values[-1]] for s in pruned])
            ax.scatter(ends[:, 0], ends[:, 1], c=GREY, marker="x", s=14, alpha=0.8, linewidths=1)
            ax.autoscale_view()
        for i, series in enumerate(top):
            ax.plot(series.steps, series.values, c=colours(i % 10), lw=1.5, label=_plain(series.label, 34))
        if any(s.pruned for s in info.series):
            ax.plot([], [], c=GREY, marker="x", label="pruned")
        ax.set_xlabel("step")
        ax.xaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True))
        ax.set_yscale(info.scale)
        ax.set_ylabel(_plain(info.metric))
        if info.series:
            ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
        return fit(fig)


def draw_parallel(info: ParallelInfo) -> Figure:
    """One vertical axis per param and one for the objective; a line per trial, bright = good."""
    with _style():
        count = len(info.axes)
        width = min(MAX_WIDTH_IN, max(6.0, 0.8 * count + 1.6))
        fig = _figure(width, 4.4, left=0.04, right=0.9, bottom=0.24)
        ax = fig.subplots()
        order = np.argsort(info.colour)  # best drawn last, on top
        segments = [np.column_stack([np.arange(count), row]) for row in info.lines[order]]
        lines = LineCollection(segments, cmap="viridis", linewidths=0.9, alpha=0.55)
        lines.set_array(info.colour[order])
        lines.set_clim(0.0, 1.0)
        ax.add_collection(lines)
        # Tick texts sit right of their axis: cut them to the room before the next one.
        room = max(6, int(width * 0.85 / max(count, 1) * 72 / 4.5))
        for x, axis in enumerate(info.axes):
            ax.axvline(x, c="#57606a", lw=0.8)
            for position, label in zip(axis.tick_positions, axis.tick_labels, strict=True):
                text = _plain(label, room)
                ax.text(x + 0.04, position, text, fontsize=7, va="center", ha="left", color="#24292f")
        ax.set_xlim(-0.2, count - 0.6)
        ax.set_ylim(-0.05, 1.05)
        # 30 degrees: neighbouring names then clear each other at any spacing the width cap allows.
        names = [_plain(a.name, 24) + (" (log)" if a.scale == "log" and not a.categorical else "") for a in info.axes]
        ax.set_xticks(range(count), names, rotation=30, ha="right", rotation_mode="anchor")
        ax.set_yticks([])
        ax.grid(False)
        ax.spines[["left", "bottom"]].set_visible(False)  # the param axes are the only axes here
        ax.tick_params(axis="x", length=0)
        bar = fig.colorbar(lines, ax=ax, fraction=0.03, pad=0.01)
        bar.set_ticks([0.0, 1.0], labels=["worst", "best"])
        bar.set_label("rank of the objective", fontsize=8)
        return fit(fig)


def draw_importances(results: Sequence[ImportanceResult]) -> Figure:
    """Horizontal bars of each objective's importances, most important on top."""
    shown = [r for r in results if r.importances]
    with _style():
        height = max(1.8, 0.3 * max(len(r.importances) for r in shown) + 1) if shown else 1.8
        total = height * max(len(shown), 1)
        fig = _figure(8, total, left=0.25, right=0.95, bottom=0.5 / total, top=1 - 0.2 / total, hspace=0.6)
        for ax, result in zip(fig.subplots(max(len(shown), 1), 1, squeeze=False)[:, 0], shown, strict=False):
            names = [_plain(name) for name, _ in result.importances][::-1]
            values = [value for _, value in result.importances][::-1]
            ax.barh(names, values, color=BLUE)
            for y, value in enumerate(values):
                ax.text(value, y, f" {value:.2f}", va="center", fontsize=8)
            ax.set_xlabel(_plain(f"importance for {result.objective} ({result.evaluator})"))
            ax.set_xlim(0, max(values) * 1.15 if values and max(values) > 0 else 1)
            ax.grid(axis="y", visible=False)
        return fit(fig)


def draw_slice(info: SliceInfo, panel: SlicePanel) -> Figure:
    """The objective against one param, coloured by trial number (later = darker).

    One figure per param, so that the page can flow them into as many columns as its width allows.
    """
    # One colour scale for every panel; it starts below 0 so that the earliest trials are pale, not white.
    latest = max((float(p.numbers.max()) for p in info.panels if len(p.numbers)), default=1.0)
    with _style():
        fig = _figure(3.2, 2.8, left=0.2, right=0.96, bottom=0.22, top=0.95)
        ax = fig.subplots()
        marks = ax.scatter(
            panel.x,
            panel.y,
            c=panel.numbers,
            cmap="Blues",
            s=12,
            vmin=-0.3 * max(latest, 1.0),
            vmax=max(latest, 1.0),
            edgecolors="#1f2328",
            linewidths=0.2,
        )
        if panel.categories is not None:
            labels = [_plain(c, 14) for c in panel.categories]
            ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", rotation_mode="anchor")
        elif panel.log:
            ax.set_xscale("log")
        elif panel.integer:
            ax.xaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True))
        ax.set_yscale(info.scale)
        ax.set_xlabel(_plain(panel.name, 40))
        ax.set_ylabel(_plain(info.objective.name, 32))
        marks.set_rasterized(len(panel.x) > RASTER_ABOVE)
        return fit(fig)


def draw_pareto(info: ParetoInfo, hypervolume: float | None) -> Figure:
    """All finished trials in the plane of the first two objectives, the front joined up."""
    first, second = info.objectives
    with _style():
        fig = _figure(7, 4.5, left=0.12)
        ax = fig.subplots()
        ax.scatter(info.points[:, 0], info.points[:, 1], s=12, c=GREY, alpha=0.6, label="finished", linewidths=0)
        if len(info.front):
            ax.plot(
                info.front[:, 0],
                info.front[:, 1],
                c=RED,
                marker="o",
                ms=4,
                lw=1.2,
                drawstyle="steps-post",
                label="Pareto front",
            )
        ax.set_xscale(info.scales[0])
        ax.set_yscale(info.scales[1])
        ax.set_xlabel(_plain(f"{first.name} ({first.goal})"))
        ax.set_ylabel(_plain(f"{second.name} ({second.goal})"))
        if hypervolume is not None:
            ax.set_title(f"hypervolume {hypervolume:.4g}", fontsize=9)
        ax.legend(loc="best", fontsize=8)
        return fit(fig)


def draw_metric_curves(metric: str, series: Sequence[tuple[str, np.ndarray, np.ndarray]]) -> Figure:
    """One metric of several runs against the step (for comparisons)."""
    with _style():
        fig = _figure(MAX_WIDTH_IN, 3.4, right=0.72, bottom=0.16)
        ax = fig.subplots()
        colours = mpl.colormaps["tab10"]
        for i, (label, steps, values) in enumerate(series):
            marker = "o" if len(steps) < 3 else None  # a line of one or two points needs its points shown
            ax.plot(steps, values, c=colours(i % 10), lw=1.4, label=_plain(label, 36), marker=marker)
        ax.set_xlabel("step")
        ax.xaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True))
        ax.set_yscale(choose_scale(*(values for _, _, values in series)))
        ax.set_ylabel(_plain(metric))
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
        return fit(fig)
