"""Figures, images and tables turned into artifact bytes, checked before anything is stored.

Heavy libraries (matplotlib, plotly, PIL, pandas, polars) are imported only when an object of
theirs is logged, and recognised through ``sys.modules``: a Ray worker that logs none of
them never loads them.
"""

from __future__ import annotations

import io
import json
import math
import posixpath
import sys

import numpy as np

from tracking.errors import InvalidParameter

__all__ = ["figure_bytes", "image_bytes", "table_bytes"]

_FIGURE_FORMATS = ("png", "svg", "pdf", "jpg", "jpeg", "eps", "ps")
_PLOTLY_TEXT = ("html", "json")
_TABLE_FORMATS = ("json", "csv", "parquet")


def _extension(name: str, call: str) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidParameter(f"{call}: the artifact name must be a non-empty string, got {name!r}")
    ext = posixpath.splitext(name)[1].lower().lstrip(".")
    if not ext:
        raise InvalidParameter(f"{call}: artifact name {name!r} has no extension; it picks the format (e.g. .png)")
    return ext


# -- figures -------------------------------------------------------------------------------


def figure_bytes(figure: object, name: str) -> bytes:
    """A matplotlib or plotly figure rendered in the format of ``name``'s extension."""
    ext = _extension(name, "log_figure")
    if _is_instance(figure, "matplotlib.figure", "Figure"):
        if ext not in _FIGURE_FORMATS:
            raise InvalidParameter(
                f"log_figure: cannot save a matplotlib figure as .{ext}; use one of {', '.join(_FIGURE_FORMATS)}"
            )
        buffer = io.BytesIO()
        figure.savefig(buffer, format=ext)  # type: ignore[attr-defined]
        return buffer.getvalue()
    if _is_instance(figure, "plotly.graph_objects", "Figure") or _is_instance(figure, "plotly.graph_objs", "Figure"):
        return _plotly_bytes(figure, ext)
    hint = "; pass ax.figure" if _is_instance(figure, "matplotlib.axes", "Axes") else ""
    raise InvalidParameter(
        f"log_figure takes a matplotlib or plotly figure, got {type(figure).__qualname__}{hint}; "
        "log other images with log_image"
    )


def _plotly_bytes(figure: object, ext: str) -> bytes:
    if ext == "html":
        return figure.to_html(include_plotlyjs="cdn").encode()  # type: ignore[attr-defined]
    if ext == "json":
        return figure.to_json().encode()  # type: ignore[attr-defined]
    try:
        return figure.to_image(format=ext)  # type: ignore[attr-defined]
    except (ValueError, ImportError, RuntimeError) as exc:  # no kaleido, or a format it lacks
        raise InvalidParameter(
            f"log_figure: plotly could not render .{ext} ({exc}); use .html or .json, or install kaleido"
        ) from exc


# -- images --------------------------------------------------------------------------------


def image_bytes(image: object, name: str) -> bytes:
    """A numpy array (HxW, HxWx1, HxWx3, HxWx4; uint8, or float in [0, 1]) or PIL image, encoded by extension."""
    ext = _extension(name, "log_image")
    if _is_instance(image, "PIL.Image", "Image"):
        return _encode(image, ext, name)
    if not isinstance(image, np.ndarray):
        raise InvalidParameter(
            f"log_image takes a numpy array or a PIL image, got {type(image).__qualname__}; "
            "log matplotlib figures with log_figure"
        )
    pixels = _pixels(image)
    from PIL import Image  # matplotlib depends on Pillow; imported only to encode

    return _encode(Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels), ext, name)


def _pixels(array: np.ndarray) -> np.ndarray:
    """The array as HxWxC uint8, or a clear error saying which rule it breaks."""
    shape = array.shape
    if array.ndim == 2:
        array = array[:, :, np.newaxis]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4) or array.shape[0] == 0 or array.shape[1] == 0:
        raise InvalidParameter(
            f"log_image: array of shape {shape} is not an image; expected HxW (grey), HxWx3 (RGB) or HxWx4 (RGBA)"
        )
    kind = array.dtype.kind
    if kind == "f":
        if not np.isfinite(array).all() or array.min() < 0.0 or array.max() > 1.0:
            raise InvalidParameter(
                "log_image: a float image must hold finite values in [0, 1]; "
                f"this one spans [{np.nanmin(array):g}, {np.nanmax(array):g}]"
            )
        return np.rint(array * 255.0).astype(np.uint8)
    if kind in "ui":
        if array.dtype != np.uint8 and (array.min() < 0 or array.max() > 255):
            raise InvalidParameter(
                f"log_image: an integer image must hold values in [0, 255]; this {array.dtype} one spans "
                f"[{array.min()}, {array.max()}]"
            )
        return array.astype(np.uint8, copy=False)
    raise InvalidParameter(f"log_image: dtype {array.dtype} is not an image dtype; use uint8, or float in [0, 1]")


def _encode(image: object, ext: str, name: str) -> bytes:
    from PIL import Image

    format_ = Image.registered_extensions().get(f".{ext}")
    if format_ is None:
        raise InvalidParameter(f"log_image: unknown image extension in {name!r}; use .png or .jpg")
    if format_ == "JPEG" and image.mode not in ("L", "RGB"):  # type: ignore[attr-defined]
        image = image.convert("RGB")  # type: ignore[attr-defined]  # JPEG has no alpha channel
    buffer = io.BytesIO()
    image.save(buffer, format=format_)  # type: ignore[attr-defined]
    return buffer.getvalue()


# -- tables --------------------------------------------------------------------------------


def table_bytes(table: object, name: str) -> bytes:
    """A pandas or polars frame as JSON (``{"columns", "data"}``), CSV or parquet, by ``name``'s extension."""
    ext = _extension(name, "log_table")
    if ext not in _TABLE_FORMATS:
        raise InvalidParameter(f"log_table: cannot write a table as .{ext}; name it .json, .csv or .parquet")
    if _is_instance(table, "pandas", "DataFrame"):
        return _pandas_bytes(table, ext)
    if _is_instance(table, "polars", "DataFrame"):
        return _polars_bytes(table, ext)
    raise InvalidParameter(
        f"log_table takes a pandas or polars DataFrame, got {type(table).__qualname__}; "
        "build one first (e.g. polars.DataFrame(data)), or log a dict with log_dict"
    )


def _pandas_bytes(frame: object, ext: str) -> bytes:
    if ext == "json":
        return frame.to_json(orient="split", index=False, date_format="iso").encode()  # type: ignore[attr-defined]
    if ext == "csv":
        return frame.to_csv(index=False).encode()  # type: ignore[attr-defined]
    buffer = io.BytesIO()
    try:
        frame.to_parquet(buffer, index=False)  # type: ignore[attr-defined]
    except ImportError as exc:
        raise InvalidParameter(
            f"log_table: pandas needs pyarrow to write parquet ({exc}); install it, or name the table .csv or .json"
        ) from exc
    return buffer.getvalue()


def _polars_bytes(frame: object, ext: str) -> bytes:
    if ext == "json":
        rows = [[_json_value(v) for v in row] for row in frame.rows()]  # type: ignore[attr-defined]
        return json.dumps({"columns": list(frame.columns), "data": rows}, default=str).encode()  # type: ignore[attr-defined]
    buffer = io.BytesIO()
    if ext == "csv":
        frame.write_csv(buffer)  # type: ignore[attr-defined]
    else:
        frame.write_parquet(buffer)  # type: ignore[attr-defined]
    return buffer.getvalue()


def _json_value(value: object) -> object:
    # JSON has no NaN or infinity: write null, as pandas' to_json does.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _is_instance(obj: object, module: str, cls: str) -> bool:
    loaded = sys.modules.get(module)
    kind = getattr(loaded, cls, None) if loaded is not None else None
    return isinstance(kind, type) and isinstance(obj, kind)
