"""``sweeps gc``: purges deleted runs with their data and artifacts, says what it purged, refuses bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

import tracking
from sweeps.cli.main import main
from tracking.store import open_store


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def store(tmp_path: Path) -> tuple[str, dict[str, str]]:
    """A SQLite store with a parent and two children (points, params, a file each) and a lone run."""
    uri = f"sqlite:///{tmp_path / 'gc.db'}"
    with tracking.connect(uri, str(tmp_path / "artifacts")) as client:
        ids = {}
        with client.start_run("e", "parent") as parent:
            ids["parent"] = parent.run_id
            for i in range(2):
                with client.start_run("e", f"child-{i}", parent=parent, params={"i": i}) as child:
                    child.log_metrics({"loss": 1.0}, step=0)
                    child.log_metrics({"loss": 0.5}, step=1)
                    child.log_text("x", "notes.txt")
                    ids[f"child-{i}"] = child.run_id
        with client.start_run("e", "lone") as lone:
            ids["lone"] = lone.run_id
    return uri, ids


def everything(uri: str) -> dict[str, bool]:
    """Every run the store holds, deleted or not: whether it is deleted."""
    with tracking.connect(uri) as client:
        ids = list(client.search_runs(lifecycle="all")["run_id"])
        return {r.name: r.deleted for r in client.get_runs(ids)}


def test_gc_purges_deleted_runs_and_says_what_went(
    capsys: pytest.CaptureFixture[str], store: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    uri, ids = store
    code, _, err = cli(capsys, "runs", "--store", uri, "delete", ids["parent"])
    assert code == 0, err
    code, out, err = cli(capsys, "gc", "--store", uri, "--older-than", "1")
    assert code == 0, err
    assert out.strip().splitlines()[-1].startswith("purged 0 run(s) deleted more than 1 day(s) ago")
    assert everything(uri) == {"parent": True, "child-0": True, "child-1": True, "lone": False}
    code, out, err = cli(capsys, "gc", "--store", uri)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert {line.split()[2] for line in lines[:-1]} == {ids["parent"], ids["child-0"], ids["child-1"]}
    assert lines[-1] == (
        f"purged 3 run(s) from {uri}: 2 params, 0 tags, 2 metric series with 4 points, "
        "2 artifact folder(s), 0 experiment(s)"
    )
    assert everything(uri) == {"lone": False}
    assert not any((tmp_path / "artifacts" / "1" / ids[k]).exists() for k in ("child-0", "child-1"))


def test_gc_keeps_a_run_that_backs_a_model_version(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'v.db'}"
    with tracking.connect(uri, str(tmp_path / "artifacts")) as client:
        with client.start_run("e", "r") as run:
            pass
        client.delete_run(run.run_id)
        # Registered after its run was deleted (the registry does not look): gc still keeps the run.
    sql = open_store(uri)
    try:
        source = f"runs:/{run.run_id}/model"
        sql.registry_store().register_version(
            "m", run_id=run.run_id, source=source, description=None, tags={}, actor="t", reason=None
        )
    finally:
        sql.close()
    code, out, err = cli(capsys, "gc", "--store", uri)
    assert code == 0, err
    assert f"kept run {run.run_id}: backs model 'm' version 1" in out
    assert everything(uri) == {"r": True}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--older-than", "-1"), "-1.0 is not in the range x>=0"),
        (("--older-than", "soon"), "'soon' is not a valid float"),
        (("--store", "http://127.0.0.1:9"), "sweeps gc works on a SQL store directly"),
        (("--store", "mysql://db/x"), "unknown store URI scheme 'mysql'"),
    ],
)
def test_bad_input_exits_2_and_purges_nothing(
    capsys: pytest.CaptureFixture[str], store: tuple[str, dict[str, str]], args: tuple[str, ...], message: str
) -> None:
    uri, ids = store
    cli(capsys, "runs", "--store", uri, "delete", ids["lone"])
    before = everything(uri)
    code, out, err = cli(capsys, "gc", "--store", uri, *args)
    assert code == 2 and message in err and "Traceback" not in err and out == ""
    assert everything(uri) == before == {"parent": False, "child-0": False, "child-1": False, "lone": True}


def test_gc_on_a_missing_store_exits_1_and_creates_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    code, _, err = cli(capsys, "gc", "--store", f"sqlite:///{path}")
    assert code == 1 and "no store at" in err
    assert not path.exists()
