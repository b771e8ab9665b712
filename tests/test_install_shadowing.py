"""The installed packages win over same-named folders in the working directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_folders_named_like_the_packages_do_not_shadow_them(tmp_path: Path) -> None:
    # The user's own `reports/`, `tracking/` and `sweeps/` folders (no __init__.py: what a tool
    # writing reports/x.html leaves behind), and a script run from that folder.
    for name in ("reports", "tracking", "sweeps"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "x.html").write_text("<html></html>")
    script = tmp_path / "use.py"
    script.write_text(
        "import reports, sweeps, tracking\n"
        "print(callable(reports.build_report), callable(sweeps.run), callable(tracking.connect))\n"
    )
    for argv in ([sys.executable, str(script)], [sys.executable, "-c", script.read_text()]):
        done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["True", "True", "True"]
