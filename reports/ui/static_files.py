"""The UI's scripts and styles, and plotly.js from the installed ``plotly`` package (never the internet)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

STATIC = Path(__file__).parent / "static"
TYPES = {".js": "text/javascript", ".css": "text/css"}
HEADERS = {"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"}


@cache
def plotly_js() -> Path:
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise FileNotFoundError(f"plotly.min.js is missing from the plotly package at {path}; reinstall plotly")
    return path


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    if name == "plotly.min.js":
        return FileResponse(plotly_js(), media_type="text/javascript", headers=HEADERS)
    path = STATIC / name
    # Only the package's own flat files: no folders, no dot-files, nothing outside.
    if "/" in name or name.startswith(".") or path.suffix not in TYPES or not path.is_file():
        return Response("not found", status_code=404)
    return FileResponse(path, media_type=TYPES[path.suffix], headers=HEADERS)


def routes() -> list[Route]:
    return [Route("/ui/static/{name}", static, methods=["GET"])]
