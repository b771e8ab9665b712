"""The default report path stays a file inside ``reports/`` whatever the sweep is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweeps.engine.hooks import default_report_path

NAMES = [
    "../../x-1a2b3c4d",
    "../../../etc/cron.d/x",
    "/etc/passwd",
    "a/b\\c",
    "..",
    ".",
    "",
    "x" * 5000,
    "é" * 300,
    "name with spaces:and*stars?",
]


@pytest.mark.parametrize("sweep_id", NAMES, ids=range(len(NAMES)))
def test_the_default_report_path_stays_inside_the_reports_folder(sweep_id: str) -> None:
    path = default_report_path(sweep_id)
    assert path.parent == Path("sweep-reports"), path
    assert path.suffix == ".html" and path.name not in (".html", "..html")
    assert len(path.name.encode()) <= 255
    assert (Path.cwd() / path).resolve().parent == Path.cwd().resolve() / "sweep-reports"


def test_an_ordinary_sweep_id_keeps_its_name() -> None:
    assert default_report_path("digits-sgd-1a2b3c4d") == Path("sweep-reports/digits-sgd-1a2b3c4d.html")
    assert default_report_path("Ünïcode_ok.v2") == Path("sweep-reports/Ünïcode_ok.v2.html")
