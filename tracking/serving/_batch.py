"""Batch scoring of CSV, Parquet or JSON files in chunks, so that a file larger than memory works."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np

from tracking.errors import InvalidParameter, SignatureError
from tracking.models import LoadedModel
from tracking.models._signature import is_pandas_frame, is_polars_frame

if TYPE_CHECKING:
    import polars as pl

DEFAULT_CHUNK_ROWS = 50_000
FORMATS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".jsonl": "ndjson",
    ".ndjson": "ndjson",
}


@dataclass(frozen=True, slots=True)
class BatchResult:
    rows: int
    chunks: int
    output: Path


def file_format(path: Path) -> str:
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise InvalidParameter(f"{path}: use a .csv, .parquet or .json (.jsonl, .ndjson) file") from None


def predict_file(
    model: LoadedModel, source: Path, target: Path, *, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> BatchResult:
    """Score every row of ``source`` into ``target`` (one prediction row per input row, in order).

    Rows are read, scored and written ``chunk_rows`` at a time; ``target`` appears only when
    every chunk was written (a failure leaves no partial file behind).
    """
    out_format = file_format(target)
    partial = target.with_name(f".{target.name}.partial")
    rows = chunks = 0
    try:
        with _Writer(partial, out_format) as writer:
            for chunk in _chunks(source, chunk_rows):
                try:
                    predictions = model.predict(_model_input(chunk, model))
                except SignatureError as exc:
                    raise SignatureError(f"{source}, rows {rows + 1}-{rows + chunk.height}: {exc}") from exc
                writer.write(_as_frame(predictions))
                rows += chunk.height
                chunks += 1
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return BatchResult(rows, chunks, target)


def _chunks(source: Path, chunk_rows: int) -> Iterator[pl.DataFrame]:
    import polars as pl

    try:
        for chunk in _scan(source).collect_batches(chunk_size=chunk_rows):
            if chunk.height:
                yield chunk
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InvalidParameter(f"cannot read {source}: {exc}") from None


def _scan(source: Path) -> pl.LazyFrame:
    import polars as pl

    kind = file_format(source)
    if kind == "csv":
        return pl.scan_csv(source)
    if kind == "parquet":
        return pl.scan_parquet(source)
    if kind == "json" and _starts_with(source, b"["):
        # A JSON array has to be parsed whole; newline-delimited JSON streams.
        return pl.read_json(source).lazy()
    return pl.scan_ndjson(source)


def _starts_with(path: Path, prefix: bytes) -> bool:
    with open(path, "rb") as f:
        head = f.read(4096).lstrip()
    return head.startswith(prefix)


def _model_input(chunk: pl.DataFrame, model: LoadedModel) -> object:
    spec = model.signature.inputs if model.signature else None
    if spec is None or spec.format == "pandas":
        import pandas as pd

        # Column by column through numpy: polars' to_pandas() would need pyarrow.
        return pd.DataFrame({name: chunk[name].to_numpy() for name in chunk.columns})
    if spec.format == "polars":
        return chunk
    return chunk.to_numpy()


def _as_frame(predictions: object) -> pl.DataFrame:
    import polars as pl

    if is_polars_frame(predictions):
        return predictions  # type: ignore[return-value]
    if is_pandas_frame(predictions):
        return pl.DataFrame({str(name): column.to_numpy() for name, column in predictions.items()})  # type: ignore[attr-defined]
    to_numpy = getattr(predictions, "to_numpy", None)
    array = np.asarray(to_numpy() if callable(to_numpy) else predictions)
    if array.ndim <= 1:
        return pl.DataFrame({"prediction": array.reshape(-1)})
    flat = array.reshape(array.shape[0], -1)
    return pl.DataFrame({f"prediction_{i}": flat[:, i] for i in range(flat.shape[1])})


class _Writer:
    """Appends frames to one output file of a format (a JSON array is written as it streams)."""

    def __init__(self, path: Path, kind: str) -> None:
        self.path = path
        self.kind = kind
        self._file: IO[bytes] | None = None
        self._parts: Path | None = None  # Parquet: one Arrow IPC file per chunk, joined at the end
        self._count = 0

    def __enter__(self) -> _Writer:
        if self.kind == "parquet":
            self._parts = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=self.path.parent))
            return self
        self._file = open(self.path, "wb")  # closed in __exit__
        if self.kind == "json":
            self._file.write(b"[")
        return self

    def write(self, frame: pl.DataFrame) -> None:
        first = self._count == 0
        self._count += 1
        if self._parts is not None:
            frame.write_ipc(self._parts / f"{self._count:09d}.arrow")
            return
        assert self._file is not None
        if self.kind == "csv":
            frame.write_csv(self._file, include_header=first)
        elif self.kind == "ndjson":
            frame.write_ndjson(self._file)
        else:
            for row in frame.to_dicts():
                self._file.write((b"" if first else b",\n") + json.dumps(row, default=str).encode())
                first = False

    def __exit__(self, exc_type: object, *exc: object) -> None:
        try:
            if self._parts is not None and exc_type is None:
                self._join_parquet()
            elif self._file is not None and exc_type is None and self.kind == "json":
                self._file.write(b"]\n")
        finally:
            if self._file is not None:
                self._file.close()
            if self._parts is not None:
                shutil.rmtree(self._parts, ignore_errors=True)

    def _join_parquet(self) -> None:
        # polars' streaming engine copies the parts into one Parquet file chunk by chunk (no pyarrow needed).
        import polars as pl

        assert self._parts is not None
        parts = sorted(self._parts.glob("*.arrow"))
        if parts:
            pl.scan_ipc(parts).sink_parquet(self.path)
        else:
            pl.DataFrame({"prediction": []}).write_parquet(self.path)
