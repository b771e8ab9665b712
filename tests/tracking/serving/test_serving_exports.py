"""The public names of `tracking.serving`, and the CLI not paying for the server until it serves."""

from __future__ import annotations

import subprocess
import sys

import tracking.serving


def test_exported_names_are_pinned() -> None:
    assert sorted(tracking.serving.__all__) == sorted(
        [
            "DEFAULT_MAX_BODY",
            "FACTORY",
            "JSON_FORMATS",
            "BatchResult",
            "BodyTooLarge",
            "LoadFailure",
            "ModelFollower",
            "PredictionFailed",
            "ScoringInputError",
            "ServeConfig",
            "ServedModel",
            "UnsupportedContentType",
            "app_factory",
            "build_scoring_app",
            "open_follower",
            "parse_body",
            "predict_file",
            "show_swaps",
        ]
    )
    for name in tracking.serving.__all__:
        assert getattr(tracking.serving, name) is not None


def test_sweeps_models_imports_no_server_until_it_serves() -> None:
    code = (
        "import sys, sweeps.cli.models_cmd as m; "
        "assert {'serve', 'predict'} <= set(m.models.commands); "
        "loaded = [n for n in ('uvicorn', 'starlette', 'tracking.serving') if n in sys.modules]; "
        "sys.exit(', '.join(loaded) or 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
