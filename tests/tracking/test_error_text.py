"""A failure's one-line summary is the line that says what went wrong, on real error texts."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.error_texts import RAY_OOM, RAY_OOM_NEW
from tracking.error_text import error_summary


def sqlalchemy_traceback(tmp_path: Path) -> str:
    """The traceback SQLAlchemy really gives for a constraint violation, [SQL] and Background lines included."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (k TEXT PRIMARY KEY)"))
            conn.execute(sa.text("INSERT INTO t VALUES ('a')"))
            conn.execute(sa.text("INSERT INTO t VALUES ('a')"))
    except sa.exc.IntegrityError as exc:
        return "".join(traceback.format_exception(exc))
    finally:
        engine.dispose()
    raise AssertionError("no IntegrityError")


def test_a_sqlalchemy_error_keeps_its_exception_line_not_the_background_link(tmp_path: Path) -> None:
    text = sqlalchemy_traceback(tmp_path)
    assert text.strip().splitlines()[-1].startswith("(Background on this error at:")  # the real text
    summary = error_summary(text)
    assert summary is not None
    assert summary.startswith("sqlalchemy.exc.IntegrityError: (sqlite3.IntegrityError) UNIQUE constraint failed")
    assert "Background on this error" not in error_summary(str(sa.exc.OperationalError("SELECT 1", {}, None)) or "")


def test_a_sqlalchemy_message_without_traceback_keeps_its_reason() -> None:
    exc = sa.exc.OperationalError("SELECT 1", {}, OSError("connection refused"))
    assert str(exc).splitlines()[-1].startswith("(Background on this error at:")
    assert error_summary(str(exc)) == "(builtins.OSError) connection refused"


@pytest.mark.parametrize(
    ("text", "figures"),
    [(RAY_OOM, "was 59.49GB / 62.58GB (0.950744)"), (RAY_OOM_NEW, "was 30.12GB used / 31.00GB limit (0.971613)")],
    ids=["ray-2.x", "ray-2.60"],
)
def test_a_ray_oom_kill_keeps_the_memory_figures(text: str, figures: str) -> None:
    summary = error_summary(text)
    assert summary is not None and summary.startswith("Memory on the node (IP: "), summary
    assert figures in summary
    assert "Refer to the documentation" not in summary and "RAY_memory" not in summary
    assert len(summary) <= 150  # fits the report's table cell whole


def test_an_ordinary_traceback_keeps_its_exception_line() -> None:
    try:
        raise ValueError("learning rate must be positive\n(got -1)")
    except ValueError as exc:
        text = "".join(traceback.format_exception(exc))
    assert error_summary(text) == "ValueError: learning rate must be positive"
    assert error_summary("killed: trial timeout") == "killed: trial timeout"
    assert error_summary("ValueError: boom on trial 1\n") == "ValueError: boom on trial 1"
    assert error_summary("") is None and error_summary(None) is None
    assert error_summary("x" * 1000, limit=50) == "x" * 49 + "…"


def test_a_ray_task_error_keeps_the_exception_not_the_ray_header() -> None:
    # RayTaskError's text: a ray:: header, then the remote frames, then the exception.
    text = (
        "ray::Trial.run() (pid=4331, ip=10.0.0.5, actor_id=5e1b9e4d2a6c0f1e8b3a7d0001000000)\n"
        '  File "/home/u/objective.py", line 12, in objective\n'
        "    raise KeyError(name)\n"
        "KeyError: 'lr'\n"
    )
    assert error_summary(text) == "KeyError: 'lr'"
