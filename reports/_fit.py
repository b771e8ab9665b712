"""Fitting a drawn figure: tick labels that do not collide, margins that keep every label inside."""

from __future__ import annotations

from itertools import pairwise

from matplotlib.axis import Axis
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, MaxNLocator, NullFormatter
from matplotlib.transforms import Bbox

LABEL_GAP_PX = 4.0  # the least space between two tick labels of one axis
EDGE_IN = 0.05  # the least space between a label and the figure's edge


def fit(fig: Figure) -> Figure:
    """Thin colliding tick labels, then grow the margins until every label lies inside ``fig``.

    Measures text only (no full draw), so it costs a fraction of what a layout engine does.
    """
    renderer = FigureCanvasAgg(fig).get_renderer()
    for ax in fig.axes:
        _shorten(ax.xaxis.label, fig.bbox.width * 0.9, renderer, horizontal=True)
        _shorten(ax.yaxis.label, fig.bbox.height * 0.9, renderer, horizontal=False)
    for _ in range(2):  # margins change axis lengths, and axis lengths change which ticks fit
        for ax in fig.axes:
            if ax.get_visible():
                _thin(ax.xaxis, renderer)
                # Matplotlib spaces linear y ticks by the font's height already: only a log y axis can clash.
                if ax.yaxis.get_scale() == "log":
                    _thin(ax.yaxis, renderer)
        if not _fit_margins(fig, renderer):
            break
    return fig


def label_boxes(axis: Axis, renderer: RendererBase) -> list[Bbox]:
    """Display boxes of the tick labels ``axis`` draws (inside its view, with text), major and minor."""
    low, high = sorted(axis.get_view_interval())
    slack = (high - low) * 1e-9
    boxes = []
    pairs = [(axis.get_majorticklocs(), axis.get_majorticklabels())]
    if not isinstance(axis.get_minor_formatter(), NullFormatter):  # building minor ticks costs: only if labelled
        pairs.append((axis.get_minorticklocs(), axis.get_minorticklabels()))
    for locs, labels in pairs:
        for loc, label in zip(locs, labels, strict=False):
            if low - slack <= loc <= high + slack and label.get_text():
                boxes.append(label.get_window_extent(renderer))
    return boxes


def collide(boxes: list[Bbox], horizontal: bool, gap: float = LABEL_GAP_PX) -> bool:
    """Whether any two neighbouring boxes along the axis come closer than ``gap`` pixels."""
    spans = sorted((b.x0, b.x1) if horizontal else (b.y0, b.y1) for b in boxes)
    return any(nxt[0] < prev[1] + gap for prev, nxt in pairwise(spans))


def _shorten(label: Text, limit: float, renderer: RendererBase, horizontal: bool) -> None:
    """Cut an axis label longer than ``limit`` pixels: no margin can make room for it, as it is centred."""
    text = label.get_text()
    while len(text) > 8:
        box = label.get_window_extent(renderer)
        if (box.width if horizontal else box.height) <= limit:
            return
        text = text[: int(len(text) * limit / max(box.width if horizontal else box.height, 1.0)) - 1].rstrip()
        label.set_text(text + "…")


def _thin(axis: Axis, renderer: RendererBase) -> None:
    # Fixed ticks are categories or named axes: every one of them is wanted.
    if isinstance(axis.get_major_locator(), FixedLocator):
        return
    horizontal = axis.axis_name == "x"
    for _ in range(8):
        boxes = label_boxes(axis, renderer)
        if not collide(boxes, horizontal):
            return
        fewer = max(len(boxes) - 1, 2)  # one fewer at a time: keep as many labels as fit
        locator = axis.get_major_locator()
        if axis.get_scale() == "log":
            # Labelled minor ticks (2e-3, 3e-3 ...) are what collides first on a log axis.
            axis.set_minor_formatter(NullFormatter())
            if isinstance(locator, LogLocator):
                locator.set_params(numticks=fewer)
            if len(label_boxes(axis, renderer)) < 2:
                # Less than a decade in view: plain numbers at a few round values read best.
                axis.set_major_locator(MaxNLocator(nbins=3, min_n_ticks=2))
                axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.3g}"))
        elif isinstance(locator, MaxNLocator):  # AutoLocator is one too; integer=True is kept
            locator.set_params(nbins=max(fewer - 1, 1))
        else:
            return


def _fit_margins(fig: Figure, renderer: RendererBase) -> bool:
    """Move the margins so that everything drawn lies inside the figure; whether they moved."""
    width, height = fig.get_size_inches()
    box = fig.get_tightbbox(renderer)  # inches; the costliest step here, so measured once a round
    left = max(0.0, EDGE_IN - box.x0) / width
    right = max(0.0, box.x1 - (width - EDGE_IN)) / width
    bottom = max(0.0, EDGE_IN - box.y0) / height
    top = max(0.0, box.y1 - (height - EDGE_IN)) / height
    if not (left or right or bottom or top):
        return False
    params = fig.subplotpars
    new_left, new_right = params.left + left, params.right - right
    new_bottom, new_top = params.bottom + bottom, params.top - top
    if new_right - new_left < 0.2 or new_top - new_bottom < 0.2:
        return False  # labels this long would leave no plot: better a cut label than no figure
    fig.subplots_adjust(left=new_left, right=new_right, bottom=new_bottom, top=new_top)
    return True
