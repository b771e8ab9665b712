"""A real, small file system for disk-full tests: a tmpfs of a few hundred KB mounted in a temp folder.

Mounting needs root (or CAP_SYS_ADMIN); where the machine does not allow it the test is skipped.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def mounted(where: Path, size_kb: int) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k,mode=0777", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False, capture_output=True)


def remount_read_only(where: Path) -> None:
    """Make a mounted tmpfs read-only (what a read-only volume or a full quota look like)."""
    subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True, capture_output=True)
