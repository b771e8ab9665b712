"""``sweeps run / resume / list / show``: exit codes, refused configs, overrides, store views."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import sweeps
from sweeps.cli.main import main
from sweeps.engine.result import SweepProgress
from tests.sweeps import objectives
from tests.sweeps.conftest import SweepPlace
from tests.sweeps.engine_checks import check_store
from tracking import RunStatus


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def write_config(place: SweepPlace, objective: str = "quadratic", backend: str = "local", trials: int = 3) -> Path:
    path = place.root / "sweep.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            name: cli-test
            experiment: cli
            objective: {objectives.ref(objective)}
            metric: {{name: loss, goal: minimize}}
            parameters:
              x: {{type: float, low: 0.0, high: 4.0}}
            sampler: {{name: tpe, seed: 1}}
            budget: {{trials: {trials}}}
            execution: {{backend: {backend}, concurrency: 2}}
            artifacts: {place.artifacts}
            tags: {{team: core}}
            """
        )
    )
    return path


def run_sweep(capsys: pytest.CaptureFixture[str], place: SweepPlace, *extra: str) -> tuple[int, str, str, str]:
    """`sweeps run` of the tiny local config; returns (code, stdout, stderr, sweep_id)."""
    code, out, err = cli(capsys, "run", str(write_config(place)), "--store", place.store, *extra)
    with place.client() as client:
        ids = client.search_runs(filter="tags.`sweeps.kind` = 'sweep'")["tags.sweeps.sweep_id"].to_list()
    return code, out, err, ids[0] if ids else ""


# -- refused configs: exit 2, nothing runs ------------------------------------------------------


def test_bad_config_exits_2_naming_key_and_line_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], place: SweepPlace
) -> None:
    path = write_config(place)
    text = path.read_text().replace("budget: {trials: 3}", "budget: {trails: 3}")
    path.write_text(text.replace("goal: minimize", "goal: smallest"))
    code, out, err = cli(capsys, "run", str(path), "--store", place.store)
    assert code == 2
    assert "budget.trails" in err and f"{path}:8" in err and "did you mean 'trials'" in err
    assert "metric.goal" in err and f"{path}:4" in err
    assert "nothing was run" in err
    assert not (place.root / "sweeps.db").exists()
    assert "[0:" not in out  # no progress: the sweep never started


def test_bad_override_exits_2_and_names_the_override(capsys: pytest.CaptureFixture[str], place: SweepPlace) -> None:
    code, _, err = cli(capsys, "run", str(write_config(place)), "--store", place.store, "--set", "budget.trials=none")
    assert code == 2 and "budget.trials" in err and "--set" in err
    assert not (place.root / "sweeps.db").exists()


def test_objective_that_cannot_be_imported_exits_2(capsys: pytest.CaptureFixture[str], place: SweepPlace) -> None:
    path = write_config(place)
    path.write_text(path.read_text().replace(objectives.ref("quadratic"), "no_such_module_xyz:train"))
    code, _, err = cli(capsys, "run", str(path), "--store", place.store)
    assert code == 2 and "no_such_module_xyz" in err and "objective" in err
    assert not (place.root / "sweeps.db").exists()


def test_missing_config_file_exits_2(capsys: pytest.CaptureFixture[str], place: SweepPlace) -> None:
    code, _, err = cli(capsys, "run", str(place.root / "nope.yaml"), "--store", place.store)
    assert code == 2 and "cannot read config" in err


# -- running -----------------------------------------------------------------------------------


def test_run_applies_overrides_prints_leaderboard_and_exits_0(
    capsys: pytest.CaptureFixture[str], place: SweepPlace
) -> None:
    code, out, _, sweep_id = run_sweep(
        capsys, place, "--set", "budget.trials=2", "--set", "tags.team=qa", "--set", "sampler.seed=5", "--no-report"
    )
    assert code == 0, out
    assert sweep_id.startswith("cli-test-")
    assert f"sweep {sweep_id} FINISHED: 2 trials (2 finished, 0 pruned, 0 failed)" in out
    assert "rank" in out and "objective.loss" in out
    assert "\x1b[" not in out  # not a terminal: plain lines only
    assert "2/2 done" in out
    with place.client() as client:
        parent = client.search_runs(filter="tags.`sweeps.kind` = 'sweep'")
        run = client.get_run(parent["run_id"][0])
        assert run.tags["team"] == "qa"
        assert run.params["budget.trials"] == "2" and run.params["sampler.seed"] == "5"
        assert len(client.child_runs(run.run_id)) == 2


def test_every_trial_failing_exits_1_with_the_first_error(
    capsys: pytest.CaptureFixture[str], place: SweepPlace
) -> None:
    path = write_config(place, objective="always_fails", trials=2)
    code, out, err = cli(capsys, "run", str(path), "--store", place.store, "--no-report")
    assert code == 1
    assert "FAILED" in out and "every trial failed" in err
    assert "RuntimeError: this objective always fails" in err
    with place.client() as client:
        parent = client.search_runs(filter="tags.`sweeps.kind` = 'sweep'")
        assert parent["status"][0] == RunStatus.FAILED.value


def test_ctrl_c_exits_130_and_says_how_to_resume(
    capsys: pytest.CaptureFixture[str], place: SweepPlace, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted_run(config: object, **kw: object) -> None:
        progress = kw["progress"]
        progress(  # type: ignore[operator]
            SweepProgress(
                sweep_id="cli-test-0000abcd",
                parent_run_id="p",
                status="KILLED",
                budget=3,
                started=1,
                finished=0,
                pruned=0,
                failed=0,
                killed=1,
                running=(),
                elapsed_s=1.0,
            )
        )
        raise KeyboardInterrupt

    monkeypatch.setattr(sweeps, "run", interrupted_run)
    code, _, err = cli(capsys, "run", str(write_config(place)), "--store", place.store)
    assert code == 130
    assert "sweeps resume cli-test-0000abcd" in err


def test_password_in_store_uri_is_never_printed(capsys: pytest.CaptureFixture[str], place: SweepPlace) -> None:
    store = "postgresql+psycopg://alice:hunter2@127.0.0.1:9/sweeps"
    for args in (["list", "--store", store], ["show", "x", "--store", store]):
        code, out, err = cli(capsys, *args)
        assert code == 1
        assert "hunter2" not in out + err and "alice:***@" in err


# -- reading the store ---------------------------------------------------------------------------


def test_list_and_show_read_the_sweep_from_the_store(capsys: pytest.CaptureFixture[str], place: SweepPlace) -> None:
    code, _, _, sweep_id = run_sweep(capsys, place, "--no-report")
    assert code == 0

    code, out, _ = cli(capsys, "list", "--store", place.store)
    assert code == 0
    header, row = out.splitlines()[:2]
    assert header.split()[:9] == [
        "sweep_id", "experiment", "status", "trials", "finished", "pruned", "failed", "killed", "best",
    ]  # fmt: skip
    assert row.split()[:8] == [sweep_id, "cli", "FINISHED", "3/3", "3", "0", "0", "0"]
    assert "loss=" in row

    code, out, _ = cli(capsys, "list", "--experiment", "cli", "--store", place.store)
    assert code == 0 and sweep_id in out

    code, out, _ = cli(capsys, "show", sweep_id, "--store", place.store)
    assert code == 0
    assert f"sweep {sweep_id} · FINISHED · 3/3 trials" in out and "best: loss=" in out
    table = out.splitlines()[out.splitlines().index(next(ln for ln in out.splitlines() if ln.startswith("rank"))) :]
    assert len(table) == 1 + 3 and table[1].split()[:3] == ["1", table[1].split()[1], "FINISHED"]

    code, out, _ = cli(capsys, "show", sweep_id, "--top", "1", "--store", place.store)
    rows = [ln for ln in out.splitlines() if ln[:1].isdigit()]
    assert code == 0 and len(rows) == 1


def test_list_on_an_empty_store(capsys: pytest.CaptureFixture[str], place: SweepPlace) -> None:
    place.client().close()  # a store with nothing in it (a missing one is "no store at")
    code, out, _ = cli(capsys, "list", "--store", place.store)
    assert code == 0 and "no sweeps" in out


def test_unknown_sweep_exits_1_with_a_clear_message(capsys: pytest.CaptureFixture[str], place: SweepPlace) -> None:
    code, *_ = run_sweep(capsys, place, "--no-report", "--set", "budget.trials=1")
    assert code == 0
    for command in ("show", "resume"):
        code, out, err = cli(capsys, command, "cli-test-ffffffff", "--store", place.store)
        assert code == 1, (command, out, err)
        assert "cli-test-ffffffff" in err and "no sweep" in err


def test_resume_of_a_finished_sweep_runs_nothing_more(capsys: pytest.CaptureFixture[str], place: SweepPlace) -> None:
    code, _, _, sweep_id = run_sweep(capsys, place, "--no-report", "--set", "budget.trials=2")
    assert code == 0
    code, out, _ = cli(capsys, "resume", sweep_id, "--store", place.store, "--no-report")
    assert code == 0 and f"resuming sweep {sweep_id}" in out
    with place.client() as client:
        parent = client.search_runs(filter="tags.`sweeps.kind` = 'sweep'")
        assert len(client.child_runs(parent["run_id"][0])) == 2


@pytest.mark.usefixtures("ray_session")
def test_run_on_a_real_ray(capsys: pytest.CaptureFixture[str], place: SweepPlace) -> None:
    path = write_config(place, backend="ray", trials=4)
    code, out, _ = cli(capsys, "run", str(path), "--store", place.store, "--no-report")
    assert code == 0, out
    assert "ray @ local x2" in out and "4/4 done" in out
    with place.client() as client:
        parent = client.search_runs(filter="tags.`sweeps.kind` = 'sweep'")
        sweep_id = parent["tags.sweeps.sweep_id"][0]
        result = sweeps.SweepResult(
            sweep_id=sweep_id,
            parent_run_id=parent["run_id"][0],
            status="FINISHED",
            best=None,
            n_trials=4,
            n_finished=4,
            n_pruned=0,
            n_failed=0,
        )
        check_store(client, result, metric="loss")


def test_sweeps_list_counts_killed_trials_apart_from_failed_ones_as_the_run_summary_does() -> None:
    from sweeps.cli.run_cmd import LIST_HEADERS, sweep_row
    from tracking import Run

    def run(status: RunStatus) -> Run:
        return Run("r" * 32, 1, "t", status, 0, None, None, "/tmp/a")

    parent = run(RunStatus.KILLED)
    children = [run(RunStatus.FINISHED), run(RunStatus.FAILED), run(RunStatus.KILLED), run(RunStatus.KILLED)]
    row = dict(zip(LIST_HEADERS, sweep_row(parent, children, "e"), strict=True))
    assert (row["finished"], row["failed"], row["killed"]) == ("1", "1", "2")


@pytest.mark.parametrize(
    "args",
    [["list"], ["show", "x"], ["runs"], ["report", "x"], ["models", "list"], ["models", "show", "m"]],
    ids=lambda a: " ".join(a),
)
def test_a_read_command_on_a_missing_store_says_so_and_creates_nothing(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SWEEPS_STORE", raising=False)
    code = main(args)
    _, err = capsys.readouterr()
    assert code == 1 and "no store at sweeps.db" in err
    assert list(tmp_path.iterdir()) == []


def test_load_model_on_a_missing_default_store_says_so_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tracking

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SWEEPS_STORE", raising=False)
    with pytest.raises(tracking.StoreError, match=r"no store at sweeps\.db"):
        tracking.load_model("models:/m@champion")
    assert list(tmp_path.iterdir()) == []


def test_a_sweep_and_its_runs_are_found_by_any_unambiguous_prefix(
    capsys: pytest.CaptureFixture[str], place: SweepPlace
) -> None:
    import tracking

    code, *_ = run_sweep(capsys, place, "--no-report", "--set", "budget.trials=2")
    assert code == 0
    with tracking.connect(place.store) as client:
        (parent,) = client.runs_with_tag("sweeps.kind", "sweep")
        sweep_id = parent.tags["sweeps.sweep_id"]
        a, b = (r.run_id for r in client.child_runs(parent.run_id))
        assert client.resolve_run_id(a[:8]) == a
        with pytest.raises(tracking.RunNotFound, match="no run id starts with 'ffffffff' in store"):
            client.resolve_run_id("ffffffff" if not a.startswith("ffff") else "00000000")
    code, out, err = cli(capsys, "show", sweep_id[:-4], "--store", place.store)  # the id, less 4 characters
    assert code == 0 and sweep_id in out + err
    code, out, err = cli(capsys, "compare", a[:8], b[:12], "--store", place.store)  # the short ids printed
    assert code == 0, err
    code, _, err = cli(capsys, "show", "cli-test-zz", "--store", place.store)  # a prefix no sweep id has
    assert code == 1 and "no sweep" in err
