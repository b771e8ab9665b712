"""A store the sweep cannot write to is refused before Ray starts, with what is wrong with it (a
read-only volume, a folder, a missing folder) and no database-server advice; nothing is created."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import tracking
from sweeps.cli.main import main
from tests.support.tiny_fs import mounted, remount_read_only
from tests.sweeps.engine_checks import sweep_config


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out + err


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(sweep_config("quadratic", str(tmp_path / "artifacts"), trials=2, backend="ray")))
    return path


def test_a_store_on_a_read_only_volume_is_refused_before_ray_starts(
    tmp_path: Path, config_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sweeps.engine import ray_backend

    started: list[object] = []
    monkeypatch.setattr(ray_backend, "connect_ray", lambda address: started.append(address) or False)
    with mounted(tmp_path / "volume", 4096) as volume:
        store = f"sqlite:///{volume / 'store.db'}"
        tracking.connect(store).close()  # a store made while the volume was writable
        remount_read_only(volume)
        code, text = run_cli(capsys, "run", str(config_file), "--store", store, "--no-report")
        assert code == 1
        assert f"the folder {volume} is read-only" in text and "database server" not in text
        assert started == []  # refused before Ray was started (or joined)
        code, text = run_cli(capsys, "list", "--store", store)
        assert code == 1 and "read-only" in text and text.count("cannot open the store") == 1


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda tmp: tmp, "is a folder, not a store file"),
        (lambda tmp: tmp / "nodir" / "x.db", "does not exist; create it"),
    ],
    ids=["a-folder", "a-missing-folder"],
)
def test_a_bad_sqlite_path_says_what_is_wrong_once(
    tmp_path: Path, config_file: Path, capsys: pytest.CaptureFixture[str], make: object, says: str
) -> None:
    target = make(tmp_path)  # type: ignore[operator]
    code, text = run_cli(capsys, "run", str(config_file), "--store", f"sqlite:///{target}", "--no-report")
    assert code == 1 and says in text and "database server" not in text
    assert text.count("cannot open the store") == 1
    assert not (tmp_path / "nodir").exists()


@pytest.mark.postgres
def test_a_read_only_postgresql_database_is_refused_before_ray_starts(
    postgres_server: object, config_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sweeps.engine import ray_backend

    uri = postgres_server.create_database()  # type: ignore[attr-defined]
    tracking.connect(uri).close()  # the schema, while it could still be written
    name = uri.rpartition("/")[2]
    with postgres_server.admin_connection() as conn:  # type: ignore[attr-defined]
        conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')  # a read-only replica's view
    started: list[object] = []
    monkeypatch.setattr(ray_backend, "connect_ray", lambda address: started.append(address) or False)
    code, text = run_cli(capsys, "run", str(config_file), "--store", uri, "--no-report")
    assert code == 1 and "cannot write to the store" in text and "read-only transaction" in text
    assert started == []
    with tracking.connect(uri) as client:
        assert client.list_experiments() == []  # nothing was written


def test_a_process_local_artifact_root_is_refused_for_ray_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sweeps.engine import ray_backend

    started: list[object] = []
    monkeypatch.setattr(ray_backend, "connect_ray", lambda address: started.append(address) or False)
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(sweep_config("with_artifacts", "memory://sweeps/artifacts", trials=2)))
    store = f"sqlite:///{tmp_path / 'store.db'}"
    code, text = run_cli(capsys, "run", str(path), "--store", store, "--no-report")
    assert code == 2 and "artifacts" in text and "Ray workers cannot write there" in text
    assert started == [] and not (tmp_path / "store.db").exists()
    local = yaml.safe_load(path.read_text())
    local["execution"]["backend"] = "local"  # in one process, memory:// is a real (if fleeting) root
    path.write_text(yaml.safe_dump(local))
    code, text = run_cli(capsys, "run", str(path), "--store", store, "--no-report")
    assert code == 0, text


@pytest.mark.parametrize(
    "args",
    [
        ("models", "show", "nosuch-model"),
        ("models", "alias", "nosuch-model", "champion", "1"),
        ("compare", "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"),
    ],
    ids=["models-show", "models-alias", "compare"],
)
def test_not_found_names_the_store_it_looked_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    store = f"sqlite:///{tmp_path / 'team.db'}"
    tracking.connect(store).close()
    code, text = run_cli(capsys, *args, "--store", store)
    assert code == 1, text
    assert str(tmp_path / "team.db") in text and "Traceback" not in text


def test_load_model_on_the_default_store_names_it_when_nothing_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = f"sqlite:///{tmp_path / 'team.db'}"
    tracking.connect(store).close()
    monkeypatch.setenv("SWEEPS_STORE", store)
    with pytest.raises(tracking.ModelNotFound, match=r"looked in .*team\.db"):
        tracking.load_model("models:/nosuch@champion")
