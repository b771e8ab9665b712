"""A run's artifacts in the browser: the folder listing, previews (image, JSON, text, CSV) and downloads.

Every file goes out with ``Content-Security-Policy: sandbox`` and ``nosniff``: an HTML or SVG
artifact opened directly is a document without scripts or this origin's cookies.
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
from collections.abc import Callable, Iterator
from urllib.parse import quote

from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from reports.ui.core import Req, Ui, data_endpoint
from tracking import Run
from tracking.artifacts import ArtifactStore, safe_name
from tracking.errors import InvalidParameter
from tracking.wire import ArtifactMissing

CHUNK = 1024 * 1024
MAX_PREVIEW = 2 * 1024 * 1024
MAX_CSV_ROWS = 200
IMAGES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp"}
TEXT = {".txt", ".log", ".md", ".yaml", ".yml", ".py", ".cfg", ".ini", ".toml", ".html", ".svg", ".xml"}
SANDBOX = {
    "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'",
    "X-Content-Type-Options": "nosniff",
}

ReadRun = Callable[[Ui, Req, str], Run]


def kind_of(name: str) -> str:
    ext = posixpath.splitext(name.lower())[1]
    if ext in IMAGES:
        return "image"
    if ext == ".json":
        return "json"
    if ext in (".csv", ".tsv"):
        return "csv"
    if ext in TEXT:
        return "text"
    return "binary"


def _files(ui: Ui, run: Run) -> ArtifactStore:
    store = ui.server.store.artifacts(run)
    if not isinstance(store, ArtifactStore):
        raise InvalidParameter("this store's artifacts cannot be browsed")
    return store


def _file_path(ui: Ui, run: Run, name: str) -> tuple[ArtifactStore, str]:
    store = _files(ui, run)
    path = f"{store.root}/{safe_name(name)}"
    if not store.fs.exists(path) or store.fs.isdir(path):
        raise ArtifactMissing(f"no artifact file {name!r} in run {run.run_id}")
    return store, path


def listing(ui: Ui, run: Run, path: str | None) -> list[dict[str, object]]:
    entries = ui.server.store.artifacts(run).list(path)
    return [
        {"path": a.path, "dir": a.is_dir, "size": a.size, "kind": "dir" if a.is_dir else kind_of(a.path)}
        for a in sorted(entries, key=lambda a: (not a.is_dir, a.path))
    ]


def preview(ui: Ui, run: Run, name: str) -> dict[str, object]:
    """What the page shows of a file: JSON pretty-printed, CSV as rows, text; never markup."""
    kind = kind_of(name)
    if kind in ("image", "binary"):
        return {"kind": kind, "name": name}
    data = ui.server.store.artifacts(run).read_bytes(safe_name(name))
    cut = len(data) > MAX_PREVIEW
    text = data[:MAX_PREVIEW].decode("utf-8", errors="replace")
    if kind == "json" and not cut:
        try:
            return {"kind": "json", "name": name, "text": json.dumps(json.loads(text), indent=2)[:MAX_PREVIEW]}
        except ValueError:
            kind = "text"
    if kind == "csv":
        dialect = "excel-tab" if name.lower().endswith(".tsv") else "excel"
        rows = []
        for i, row in enumerate(csv.reader(io.StringIO(text), dialect)):
            if i > MAX_CSV_ROWS:
                cut = True
                break
            rows.append(row)
        return {"kind": "csv", "name": name, "rows": rows, "cut": cut}
    return {"kind": "text", "name": name, "text": text, "cut": cut}


def artifact_routes(ui: Ui, read_run: ReadRun) -> list[Route]:
    def files(ui: Ui, req: Req) -> object:
        run = read_run(ui, req, req.path["run_id"])
        return {"entries": listing(ui, run, req.query.get("path") or None)}

    def shown(ui: Ui, req: Req) -> object:
        run = read_run(ui, req, req.path["run_id"])
        return preview(ui, run, req.query.get("path") or "")

    def raw(ui: Ui, req: Req) -> object:
        """The file itself: inline for an image preview, else as a download."""
        run = read_run(ui, req, req.path["run_id"])
        name = req.query.get("path") or ""
        store, path = _file_path(ui, run, name)
        image = IMAGES.get(posixpath.splitext(name.lower())[1])
        inline = req.query.get("inline") == "1" and image is not None
        filename = quote(posixpath.basename(name))
        headers = {
            **SANDBOX,
            "Content-Disposition": f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{filename}",
        }
        handle = store.fs.open(path, "rb")

        def chunks() -> Iterator[bytes]:
            with handle as fh:
                while block := fh.read(CHUNK):
                    yield block

        media = image if inline and image else "application/octet-stream"
        response: Response = StreamingResponse(chunks(), media_type=media, headers=headers)
        return response

    return [
        Route("/ui/api/runs/{run_id}/artifacts", data_endpoint(ui, files), methods=["GET"]),
        Route("/ui/api/runs/{run_id}/preview", data_endpoint(ui, shown), methods=["GET"]),
        Route("/ui/api/runs/{run_id}/file", data_endpoint(ui, raw), methods=["GET"]),
    ]
