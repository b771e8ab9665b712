"""``sweeps runs`` (search the store: filter, order, formats, refused filters, the table, --columns,
--sweep; ``delete`` / ``restore``) and ``sweeps db upgrade``."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import tracking
from sweeps.cli.main import main
from tests.tracking.test_migrations import make_0001_store
from tracking import RunStatus
from tracking import sweep_layout as layout

# name -> (experiment, penalty param or None, acc, status)
RUNS: dict[str, tuple[str, str | None, float, RunStatus]] = {
    "run-0": ("exp-a", "l2", 0.9, RunStatus.FINISHED),
    "run-1": ("exp-a", "l1", 0.7, RunStatus.FINISHED),
    "run-2": ("exp-a", "l2", 0.95, RunStatus.FINISHED),
    "other": ("exp-b", None, 0.1, RunStatus.FAILED),
}


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def store(tmp_path: Path) -> str:
    """A SQLite store holding `RUNS`."""
    uri = f"sqlite:///{tmp_path / 'runs.db'}"
    with tracking.connect(uri, str(tmp_path / "artifacts")) as client:
        for name, (experiment, penalty, acc, status) in RUNS.items():
            run = client.start_run(experiment, name)
            if penalty is not None:
                client.log_params(run.run_id, {"penalty": penalty})
            client.log_metrics(run.run_id, {"acc": acc}, step=0)
            client.end_run(run.run_id, status, "boom" if status is RunStatus.FAILED else None)
    return uri


def csv_rows(out: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(out)))


def names_csv(capsys: pytest.CaptureFixture[str], store: str, *args: str) -> list[str]:
    code, out, err = cli(capsys, "runs", "--store", store, "--format", "csv", *args)
    assert code == 0, err
    return [row["name"] for row in csv_rows(out)]


# -- sweeps runs ---------------------------------------------------------------------------------


def test_filter_and_order_select_and_sort_the_runs(capsys: pytest.CaptureFixture[str], store: str) -> None:
    l2 = ("--filter", "params.penalty = 'l2'")
    assert names_csv(capsys, store, *l2, "--order-by", "metrics.acc desc") == ["run-2", "run-0"]
    assert names_csv(capsys, store, *l2, "--order-by", "metrics.acc asc") == ["run-0", "run-2"]
    by_acc = ("--order-by", "metrics.acc desc")
    assert names_csv(capsys, store, "-e", "exp-a", *by_acc) == ["run-2", "run-0", "run-1"]
    assert names_csv(capsys, store, "-e", "exp-a", "-e", "exp-b", *by_acc) == ["run-2", "run-0", "run-1", "other"]
    assert names_csv(capsys, store, "--filter", "metrics.acc > 0.8 and metrics.acc < 0.92") == ["run-0"]
    assert names_csv(capsys, store, "--filter", "attributes.status = 'FAILED'") == ["other"]
    assert names_csv(capsys, store, *by_acc, "--max-results", "2") == ["run-2", "run-0"]


def test_csv_and_json_carry_the_same_columns_and_values(capsys: pytest.CaptureFixture[str], store: str) -> None:
    args = ("runs", "--store", store, "-e", "exp-a", "--order-by", "metrics.acc desc")
    code, out, _ = cli(capsys, *args, "--format", "csv")
    assert code == 0
    rows = csv_rows(out)
    code, out, _ = cli(capsys, *args, "--format", "json")
    assert code == 0
    records = json.loads(out)
    assert [r["name"] for r in records] == [r["name"] for r in rows] == ["run-2", "run-0", "run-1"]
    assert list(records[0]) == list(rows[0])  # same columns, same order
    assert {"run_id", "status", "start_time", "params.penalty", "metrics.acc"} <= set(records[0])
    assert [r["metrics.acc"] for r in records] == [0.95, 0.9, 0.7]  # numbers stay numbers in JSON
    assert [float(r["metrics.acc"]) for r in rows] == [0.95, 0.9, 0.7]
    assert [r["params.penalty"] for r in records] == ["l2", "l2", "l1"]
    for record, row in zip(records, rows, strict=True):
        assert len(record["run_id"]) == 32 and record["run_id"] == row["run_id"]
        assert record["start_time"] == row["start_time"] and record["start_time"].endswith("Z")  # ISO, UTC


def test_the_table_shows_every_run_and_the_count(capsys: pytest.CaptureFixture[str], store: str) -> None:
    code, out, err = cli(capsys, "runs", "--store", store)
    assert code == 0
    for name in RUNS:
        assert name in out
    assert "params.penalty" in out and "metrics.acc" in out
    assert "4 run(s)" in out + err  # on stdout, or stderr on a terminal


@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_a_password_stored_in_a_runs_params_or_tags_is_never_printed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str
) -> None:
    # A sweep of an older version stored its config's `store:` URI as given, password and all.
    secret = "s3cret-Pa55"
    uri = f"sqlite:///{tmp_path / 'old.db'}"
    with tracking.connect(uri, str(tmp_path / "artifacts")) as client:
        run = client.start_run("exp", "legacy", tags={"source": f"postgresql://reader:{secret}@warehouse/f"})
        client.log_params(run.run_id, {"store": f"postgresql+psycopg://sweeps:{secret}@db:5432/sweeps"})
        client.end_run(run.run_id)
    code, out, err = cli(capsys, "runs", "--store", uri, "--format", fmt)
    assert code == 0, err
    assert secret not in out + err
    if fmt != "table":  # the table shows params only, cut to 40 characters
        assert "postgresql+psycopg://sweeps:***@db:5432/sweeps" in out
        assert "postgresql://reader:***@warehouse/f" in out


@pytest.mark.parametrize(
    ("option", "text", "position"),
    [
        ("--filter", "metrics.acc >> 1", 13),
        ("--filter", "params.penalty = 'l2", 17),
        ("--filter", "nosuch.x = 1", 0),
        ("--order-by", "metrics.acc sideways", 12),
    ],
    ids=["operator", "unterminated-string", "prefix", "order-direction"],
)
def test_a_bad_filter_exits_2_naming_the_position_without_a_traceback(
    capsys: pytest.CaptureFixture[str], store: str, option: str, text: str, position: int
) -> None:
    code, out, err = cli(capsys, "runs", "--store", store, option, text)
    assert code == 2
    assert f"at position {position}:" in err
    lines = err.splitlines()
    shown = lines.index(f"  {text}")  # the text, then a caret under the position
    assert lines[shown + 1] == "  " + " " * position + "^"
    assert "Traceback" not in out + err and out == ""


def test_an_unknown_experiment_exits_1_naming_it(capsys: pytest.CaptureFixture[str], store: str) -> None:
    code, out, err = cli(capsys, "runs", "--store", store, "-e", "exp-a", "-e", "nope")
    assert code == 1
    assert "no experiment named 'nope'" in err and "Traceback" not in err and out == ""


def test_an_empty_result_in_every_format(capsys: pytest.CaptureFixture[str], store: str) -> None:
    none = ("runs", "--store", store, "--filter", "metrics.acc > 5")
    code, out, _ = cli(capsys, *none)
    assert code == 0 and out.strip() == "no runs match"
    code, out, _ = cli(capsys, *none, "--format", "json")
    assert code == 0 and json.loads(out) == []
    code, out, _ = cli(capsys, *none, "--format", "csv")
    assert code == 0 and csv_rows(out) == [] and out.startswith("run_id,")  # the header alone


def test_runs_on_a_store_that_does_not_exist_exits_1_and_creates_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "missing.db"
    code, _, err = cli(capsys, "runs", "--store", f"sqlite:///{path}")
    assert code == 1 and "no store at" in err
    assert not path.exists()


# -- sweeps db upgrade ---------------------------------------------------------------------------


def test_a_0001_store_is_refused_then_upgraded_and_its_runs_found(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    uri = f"sqlite:///{tmp_path / 'old.db'}"
    make_0001_store(uri, str(tmp_path / "artifacts"))

    code, out, err = cli(capsys, "list", "--store", uri)
    assert code == 1 and out == ""
    assert "schema 0001" in err and f"sweeps db upgrade --store '{uri}'" in err and "Traceback" not in err

    code, out, err = cli(capsys, "db", "upgrade", "--store", uri)
    assert code == 0, err
    assert f"{uri} is at the current schema" in out

    assert names_csv(capsys, uri, "-e", "old", "--order-by", "attributes.name asc") == ["run-a", "run-b"]
    assert names_csv(capsys, uri, "-e", "old", "--filter", "metrics.loss < 1") == ["run-a"]
    code, out, err = cli(capsys, "list", "--store", uri)
    assert code == 0, err


def test_upgrading_an_up_to_date_store_changes_nothing(capsys: pytest.CaptureFixture[str], store: str) -> None:
    listing = ("runs", "--store", store, "--format", "json", "--order-by", "attributes.name asc")
    code, before, _ = cli(capsys, *listing)
    assert code == 0
    for _ in range(2):
        code, out, err = cli(capsys, "db", "upgrade", "--store", store)
        assert code == 0, err
        assert out.strip() == f"{store} is at the current schema"
    code, after, _ = cli(capsys, *listing)
    assert code == 0 and after == before and len(json.loads(after)) == len(RUNS)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("mysql://db/sweeps", "unknown store URI scheme 'mysql'"),
        ("not-a-uri", "has no scheme"),
        ("sqlite://relative.db", "must look like sqlite:///relative.db"),
        ("sqlite:/x.db", "missing the '//' after 'sqlite:'; use sqlite:///relative/path.db"),
        ("postgresql:db", "missing the '//' after 'postgresql:'"),
    ],
)
def test_db_upgrade_with_a_bad_uri_exits_2_with_a_clear_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, uri: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, "db", "upgrade", "--store", uri)
    assert code == 2
    assert message in err and "Traceback" not in out + err
    assert list(tmp_path.iterdir()) == []  # no store file made on the way


def test_db_upgrade_of_an_unreachable_store_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}"
    code, _, err = cli(capsys, "db", "upgrade", "--store", uri)
    assert code == 1
    assert "cannot upgrade the store" in err and "Traceback" not in err


# -- the table, --columns, --sweep (issue 19) ------------------------------------------------------


def test_the_table_piped_is_one_aligned_line_per_run_without_dtypes(store: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sweeps.cli.main", "runs", "--store", store, "--order-by", "metrics.acc desc"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["run_id", "name", "status", "params.penalty", "metrics.acc"]
    assert set(lines[1].replace(" ", "")) == {"-"}  # a rule under the header, no dtype row
    assert [line.split()[1] for line in lines[2:6]] == ["run-2", "run-0", "run-1", "other"]
    assert lines[6] == "4 run(s)"
    assert not any(dtype in done.stdout for dtype in ("str", "f64", "shape:", "│"))
    assert all(len(line.split()[0]) == 12 for line in lines[2:6])  # short ids whole, not wrapped
    assert [line.split()[-1] for line in lines[2:6]] == ["0.95", "0.9", "0.7", "0.1"]


def test_numbers_show_four_significant_digits(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'n.db'}"
    with tracking.connect(uri, str(tmp_path / "a")) as client, client.start_run("e", "r") as run:
        run.log_metrics({"loss": 1234567.891, "acc": 1 / 3, "tiny": 0.000012345}, step=0)
    code, out, _ = cli(capsys, "runs", "--store", uri, "--columns", "loss,acc,tiny")
    assert code == 0
    assert out.splitlines()[2].split() == ["1.235e+06", "0.3333", "1.234e-05"]


def test_columns_choose_and_order_what_is_shown(capsys: pytest.CaptureFixture[str], store: str) -> None:
    args = ("runs", "--store", store, "-e", "exp-a", "--order-by", "metrics.acc desc", "--columns", "acc,name,penalty")
    code, out, _ = cli(capsys, *args)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["metrics.acc", "name", "params.penalty"]
    assert lines[2].split() == ["0.95", "run-2", "l2"]
    code, out, _ = cli(capsys, *args, "--format", "csv")
    assert code == 0 and out.splitlines()[0] == "metrics.acc,name,params.penalty"
    code, out, err = cli(capsys, "runs", "--store", store, "--columns", "name,nope")
    assert code == 2 and "no column 'nope'" in err and "params.penalty" in err and out == ""


def _sweep(uri: str, tmp_path: Path, sweep_id: str, trials: int) -> tuple[str, list[str]]:
    with tracking.connect(uri, str(tmp_path / "artifacts")) as client:
        tags = {layout.KIND: layout.KIND_SWEEP, layout.SWEEP_ID: sweep_id}
        with client.start_run("exp-s", sweep_id, tags=tags) as parent:
            ids = []
            for i in range(trials):
                with client.start_run("exp-s", f"{sweep_id}-t{i}", parent=parent) as trial:
                    trial.log_metrics({"acc": i / 10}, step=0)
                    ids.append(trial.run_id)
    return parent.run_id, ids


def test_sweep_lists_one_sweeps_trials_by_a_prefix(
    capsys: pytest.CaptureFixture[str], store: str, tmp_path: Path
) -> None:
    _, trials = _sweep(store, tmp_path, "digits-aaaa1111", 3)
    _sweep(store, tmp_path, "digits-bbbb2222", 2)
    code, out, err = cli(capsys, "runs", "--store", store, "--sweep", "digits-a", "--format", "csv")
    assert code == 0, err
    assert {row["run_id"] for row in csv_rows(out)} == set(trials)
    code, out, err = cli(capsys, "runs", "--store", store, "--sweep", "digits-")
    assert code == 1 and "ambiguous" in err and out == ""
    code, out, err = cli(capsys, "runs", "--store", store, "--sweep", "nosuch")
    assert code == 1 and "no sweep with id 'nosuch'" in err


# -- sweeps runs delete / restore ------------------------------------------------------------------


def _names(capsys: pytest.CaptureFixture[str], store: str) -> set[str]:
    return set(names_csv(capsys, store))


def test_delete_and_restore_by_short_id(capsys: pytest.CaptureFixture[str], store: str) -> None:
    with tracking.connect(store) as client:
        ids = {r.name: r.run_id for r in client.get_runs(list(client.search_runs()["run_id"]))}
    code, out, err = cli(capsys, "runs", "delete", ids["run-0"][:8], ids["run-1"], "--store", store)
    assert code == 0, err
    assert out.splitlines() == [f"deleted run {ids['run-0']}", f"deleted run {ids['run-1']}"]
    assert _names(capsys, store) == {"run-2", "other"}
    code, out, err = cli(capsys, "runs", "--store", store, "restore", ids["run-0"][:8])
    assert code == 0, err
    assert out.strip() == f"restored run {ids['run-0']}"
    assert _names(capsys, store) == {"run-0", "run-2", "other"}


def test_bad_ids_exit_1_naming_them_and_change_nothing(capsys: pytest.CaptureFixture[str], store: str) -> None:
    with tracking.connect(store) as client:
        ids = {r.name: r.run_id for r in client.get_runs(list(client.search_runs()["run_id"]))}
        client.delete_run(ids["other"])
    before = _names(capsys, store)
    cases = [
        ("delete", ids["run-0"], "f" * 32, "no run with id 'ffffffffffffffffffffffffffffffff'"),
        ("delete", ids["run-0"], "not an id!", "no run with id 'not an id!'"),
        ("delete", "abcd", "", "no run id starts with 'abcd'"),
        ("delete", ids["other"], "", f"run {ids['other']} is already deleted"),
        ("restore", ids["run-2"], "", f"run {ids['run-2']} is not deleted"),
    ]
    for command, first, second, message in cases:
        code, out, err = cli(capsys, "runs", "--store", store, command, first, *([second] if second else []))
        assert code == 1, (command, first, second)
        assert message in err and "Traceback" not in err and out == ""
        assert _names(capsys, store) == before  # the good id before a bad one is left alone too
    code, _, err = cli(capsys, "runs", "--store", store, "delete")
    assert code == 2 and "RUN_ID" in err


def test_a_deleted_sweep_is_gone_from_list_show_and_runs(
    capsys: pytest.CaptureFixture[str], store: str, tmp_path: Path
) -> None:
    parent, trials = _sweep(store, tmp_path, "digits-cccc3333", 2)
    code, out, _ = cli(capsys, "list", "--store", store)
    assert code == 0 and "digits-cccc3333" in out
    code, out, err = cli(capsys, "runs", "--store", store, "delete", parent[:10])
    assert code == 0, err
    assert out.strip() == f"deleted run {parent} with 2 run(s) below it"
    code, out, _ = cli(capsys, "list", "--store", store)
    assert "digits-cccc3333" not in out
    code, _, err = cli(capsys, "show", "digits-cccc3333", "--store", store)
    assert code == 1 and "no sweep" in err
    assert not set(trials) & set(names_csv(capsys, store))
    code, _, err = cli(capsys, "runs", "--store", store, "restore", parent)
    assert code == 0, err
    code, out, _ = cli(capsys, "show", "digits-cccc3333", "--store", store)
    assert code == 0
