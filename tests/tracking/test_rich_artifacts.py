"""Figures, images and tables as artifacts: what is stored reads back as logged; bad input stores nothing."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display in tests

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import polars as pl
import pytest
from PIL import Image

import tracking
from tracking import InvalidParameter
from tracking.run_handle import ActiveRun


@pytest.fixture
def run(tmp_path: Path) -> Iterator[ActiveRun]:
    client = tracking.connect(f"sqlite:///{tmp_path / 'rich.db'}", str(tmp_path / "artifacts"))
    with client, client.start_run("rich") as handle:
        yield handle


def stored(run: ActiveRun) -> list[str]:
    return [a.path for a in run.list_artifacts()]


def read(run: ActiveRun, name: str) -> bytes:
    return run.client.artifacts(run.run_id).read_bytes(name)


# -- figures ---------------------------------------------------------------------------------


def test_a_matplotlib_figure_is_saved_in_the_names_format(run: ActiveRun) -> None:
    fig, ax = plt.subplots(figsize=(2, 1.5), dpi=50)
    ax.plot([0, 1, 2], [2, 1, 3])
    assert run.log_figure(fig, "plots/curve.png") == "plots/curve.png"
    run.log_figure(fig, "curve.svg")
    run.log_figure(fig, "curve.pdf")
    plt.close(fig)
    with Image.open(io.BytesIO(read(run, "plots/curve.png"))) as png:
        assert (png.format, png.size) == ("PNG", (100, 75))
    assert b"<svg" in read(run, "curve.svg")
    assert read(run, "curve.pdf").startswith(b"%PDF")


@pytest.mark.parametrize(
    ("figure", "name", "message"),
    [
        ([1, 2, 3], "f.png", "takes a matplotlib or plotly figure, got list"),
        ("figure", "f.png", "got str"),
        (None, "f.png", "got NoneType"),
    ],
)
def test_what_is_not_a_figure_is_refused(run: ActiveRun, figure: object, name: str, message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        run.log_figure(figure, name)
    assert stored(run) == []


def test_axes_get_a_hint_and_a_bad_extension_is_refused(run: ActiveRun) -> None:
    fig, ax = plt.subplots()
    with pytest.raises(InvalidParameter, match=r"pass ax\.figure"):
        run.log_figure(ax, "f.png")
    with pytest.raises(InvalidParameter, match=r"as \.txt; use one of png, svg"):
        run.log_figure(fig, "f.txt")
    with pytest.raises(InvalidParameter, match="has no extension"):
        run.log_figure(fig, "figure")
    plt.close(fig)
    assert stored(run) == []


# -- images ----------------------------------------------------------------------------------


def decoded(run: ActiveRun, name: str) -> np.ndarray:
    with Image.open(io.BytesIO(read(run, name))) as image:
        return np.asarray(image)


def test_arrays_become_pngs_with_the_same_pixels(run: ActiveRun) -> None:
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (4, 5), dtype=np.uint8)
    rgb = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
    rgba = rng.integers(0, 256, (4, 5, 4), dtype=np.uint8)
    unit = rng.random((3, 2, 3))
    run.log_image(grey, "grey.png")
    run.log_image(rgb, "rgb.png")
    run.log_image(rgba, "rgba.png")
    run.log_image(unit, "unit.png")
    run.log_image(grey[:, :, np.newaxis], "one-channel.png")
    run.log_image(np.arange(6, dtype=np.int64).reshape(2, 3) * 50, "int64.png")
    assert (decoded(run, "grey.png") == grey).all()
    assert (decoded(run, "rgb.png") == rgb).all()
    assert (decoded(run, "rgba.png") == rgba).all()
    assert (decoded(run, "unit.png") == np.rint(unit * 255).astype(np.uint8)).all()
    assert (decoded(run, "one-channel.png") == grey).all()
    assert decoded(run, "int64.png").tolist() == [[0, 50, 100], [150, 200, 250]]


def test_a_pil_image_and_a_jpeg(run: ActiveRun) -> None:
    image = Image.new("RGBA", (6, 4), (10, 20, 30, 255))
    run.log_image(image, "pil.png")
    run.log_image(image, "pil.jpg")  # alpha dropped: JPEG has none
    assert decoded(run, "pil.png").shape == (4, 6, 4)
    with Image.open(io.BytesIO(read(run, "pil.jpg"))) as jpeg:
        assert (jpeg.format, jpeg.mode, jpeg.size) == ("JPEG", "RGB", (6, 4))


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((4, 5, 2), np.uint8), r"shape \(4, 5, 2\) is not an image"),
        (np.zeros(5, np.uint8), r"shape \(5,\) is not an image"),
        (np.zeros((2, 4, 5, 3), np.uint8), "is not an image"),
        (np.zeros((0, 5), np.uint8), "is not an image"),
        (np.full((2, 2), 1.5), r"float image must hold finite values in \[0, 1\]"),
        (np.array([[0.0, np.nan]]), "finite values"),
        (np.array([[-1, 300]]), r"integer image must hold values in \[0, 255\]"),
        (np.zeros((2, 2), bool), "dtype bool is not an image dtype"),
        (np.zeros((2, 2), complex), "dtype complex128"),
        ([[0, 1], [1, 0]], "takes a numpy array or a PIL image, got list"),
    ],
)
def test_bad_images_are_refused_and_nothing_is_stored(run: ActiveRun, image: object, message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        run.log_image(image, "bad.png")
    assert stored(run) == []


def test_an_unknown_image_extension_is_refused(run: ActiveRun) -> None:
    with pytest.raises(InvalidParameter, match="unknown image extension"):
        run.log_image(np.zeros((2, 2), np.uint8), "bad.xyz")
    assert stored(run) == []


# -- tables ----------------------------------------------------------------------------------

ROWS = {"name": ["a", "b", "c"], "score": [0.5, float("nan"), 2.0], "n": [1, 2, 3]}


@pytest.mark.parametrize("kind", ["pandas", "polars"])
def test_frames_as_json_csv_and_parquet(run: ActiveRun, kind: str) -> None:
    frame = pd.DataFrame(ROWS) if kind == "pandas" else pl.DataFrame(ROWS, nan_to_null=True)
    for ext in ("json", "csv", "parquet"):
        assert run.log_table(frame, f"tables/errors.{ext}") == f"tables/errors.{ext}"
    body = json.loads(read(run, "tables/errors.json"))
    assert body == {"columns": ["name", "score", "n"], "data": [["a", 0.5, 1], ["b", None, 2], ["c", 2.0, 3]]}
    back = pl.read_csv(io.BytesIO(read(run, "tables/errors.csv")))
    assert back["name"].to_list() == ["a", "b", "c"] and back["n"].to_list() == [1, 2, 3]
    parquet = pl.read_parquet(io.BytesIO(read(run, "tables/errors.parquet")))
    assert parquet.columns == ["name", "score", "n"] and parquet["score"].to_list()[::2] == [0.5, 2.0]


@pytest.mark.parametrize(
    ("table", "name", "message"),
    [
        ({"a": [1, 2]}, "t.json", "takes a pandas or polars DataFrame, got dict"),
        (pd.Series([1, 2]), "t.json", "got Series"),
        ([[1, 2]], "t.csv", "got list"),
        (pd.DataFrame(ROWS), "t.xlsx", r"cannot write a table as \.xlsx"),
    ],
)
def test_what_is_not_a_frame_is_refused(run: ActiveRun, table: object, name: str, message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        run.log_table(table, name)
    assert stored(run) == []


def test_the_fluent_calls_write_the_same_artifacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWEEPS_STORE", "sqlite:///unused.db")
    monkeypatch.setenv("SWEEPS_ARTIFACTS", str(tmp_path / "unused"))
    tracking.set_store(f"sqlite:///{tmp_path / 'f.db'}", str(tmp_path / "art"))
    try:
        fig = plt.figure(figsize=(1, 1), dpi=20)
        with tracking.start_run() as active:
            tracking.log_figure(fig, "fig.png")
            tracking.log_image(np.ones((2, 2, 3)), "white.png")
            tracking.log_table(pl.DataFrame({"a": [1]}), "t.json")
            with pytest.raises(InvalidParameter):
                tracking.log_image(np.ones((2, 2, 3)) * 2, "too-bright.png")
        plt.close(fig)
        names = [a.path for a in tracking.fluent.default_client().list_artifacts(active.run_id)]
        assert names == ["fig.png", "t.json", "white.png"]
    finally:
        tracking.fluent.close()


class PlotlyLike:
    """Stands in for plotly.graph_objects.Figure (plotly is not a dependency): the calls log_figure makes."""

    def to_html(self, include_plotlyjs: str) -> str:
        return f"<html>{include_plotlyjs}</html>"

    def to_json(self) -> str:
        return '{"data": []}'

    def to_image(self, format: str) -> bytes:
        raise ValueError("Image export using the 'kaleido' engine requires the kaleido package")


def test_a_plotly_figure_as_html_or_json_and_a_clear_error_without_kaleido(
    run: ActiveRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    import types

    fake = types.ModuleType("plotly.graph_objects")
    fake.Figure = PlotlyLike  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", fake)
    run.log_figure(PlotlyLike(), "interactive.html")
    run.log_figure(PlotlyLike(), "figure.json")
    assert read(run, "interactive.html") == b"<html>cdn</html>"
    assert json.loads(read(run, "figure.json")) == {"data": []}
    with pytest.raises(InvalidParameter, match=r"plotly could not render \.png .*install kaleido"):
        run.log_figure(PlotlyLike(), "static.png")
    assert stored(run) == ["figure.json", "interactive.html"]
