"""What a sweep ran with, captured at its start: every installed package, Python, platform and git state.

Packages come from `importlib.metadata` (what ``pip freeze`` lists, without a subprocess); the
git state (commit, uncommitted changes, an untracked objective file) from ``git`` itself.
"""

from __future__ import annotations

import hashlib
import importlib.util
import platform
import re
import socket
import subprocess
import sys
from importlib.metadata import distributions
from pathlib import Path

__all__ = ["capture_environment", "installed_packages", "source_state"]

_GIT_TIMEOUT_S = 10
_NORMALISE = re.compile(r"[-_.]+")


def installed_packages() -> dict[str, str]:
    """Every installed distribution's name (normalised as pip does) and version, sorted by name."""
    found: dict[str, str] = {}
    for dist in distributions():
        name = dist.metadata["Name"] if dist.metadata else None
        if not name:
            continue  # a broken .dist-info without metadata: pip freeze skips it too
        # The first on sys.path wins, as it does for imports.
        found.setdefault(_NORMALISE.sub("-", name).lower(), dist.version or "")
    return dict(sorted(found.items()))


def capture_environment(commit: str) -> dict[str, object]:
    """Python, platform, host, git commit and the full package list of this interpreter."""
    packages = installed_packages()
    return {
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
        "git_commit": commit,
        "package_count": len(packages),
        "packages": packages,
    }


def _git(folder: str, *args: str) -> subprocess.CompletedProcess[bytes] | None:
    try:
        return subprocess.run(["git", "-C", folder, *args], capture_output=True, timeout=_GIT_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError):
        return None


def _objective_file(objective: str, base_dir: str | None) -> Path | None:
    """The file of the objective: ``path/file.py:function`` or the origin of ``module:function``."""
    target = objective.rsplit(":", 1)[0]
    if target.endswith(".py"):
        path = Path(target)
        return path if path.is_absolute() else Path(base_dir or ".") / path
    try:
        spec = importlib.util.find_spec(target)
    except (ImportError, ValueError):
        return None
    return Path(spec.origin) if spec is not None and spec.origin and spec.has_location else None


def source_state(objective: str, base_dir: str | None) -> dict[str, object]:
    """Git state of the config's folder: dirty (tracked files changed), diff hash, untracked objective.

    Outside a git work tree every value is None: there is nothing to say, and nothing is guessed.
    """
    folder = str(Path(base_dir or ".").resolve())
    state: dict[str, object] = {"git_dirty": None, "git_diff_sha256": None, "objective_untracked": None}
    top = _git(folder, "rev-parse", "--show-toplevel")
    if top is None or top.returncode != 0:
        return state
    status = _git(folder, "status", "--porcelain", "--untracked-files=no")
    diff = _git(folder, "diff", "HEAD", "--binary")
    if status is not None and status.returncode == 0:
        state["git_dirty"] = bool(status.stdout.strip())
    if diff is not None and diff.returncode == 0:
        state["git_diff_sha256"] = hashlib.sha256(diff.stdout).hexdigest()
    path = _objective_file(objective, base_dir)
    root = Path(top.stdout.decode().strip())
    if path is not None and path.resolve().is_relative_to(root):
        tracked = _git(folder, "ls-files", "--error-unmatch", "--", str(path.resolve()))
        state["objective_untracked"] = tracked is not None and tracked.returncode != 0
    else:
        state["objective_untracked"] = False  # an installed module outside this work tree
    return state
