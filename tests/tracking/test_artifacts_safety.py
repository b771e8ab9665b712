"""An artifact folder holds only what was logged: no symbolic link is followed out of a logged
folder or out of the run's folder in the store, and names too long for a file system are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracking.artifacts import MAX_NAME_BYTES, ArtifactStore, safe_name
from tracking.errors import InvalidArtifactPath, InvalidParameter


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file outside every logged folder and every run folder, standing for /etc/passwd."""
    path = tmp_path / "outside" / "passwd"
    path.parent.mkdir()
    path.write_text("root:x:0:0")
    return path


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(str(tmp_path / "store" / "run" / "artifacts"))


def stored_files(store: ArtifactStore) -> list[str]:
    root = Path(store.root)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) if root.exists() else []


def test_a_logged_folder_with_a_link_to_a_file_outside_is_refused_and_nothing_is_copied(
    tmp_path: Path, store: ArtifactStore, secret: Path
) -> None:
    source = tmp_path / "outputs"
    source.mkdir()
    (source / "a_model.txt").write_text("weights")
    (source / "passwd").symlink_to(secret)
    with pytest.raises(InvalidArtifactPath, match=r"outputs/passwd.*symbolic link.*outside"):
        store.put_file(source)
    assert stored_files(store) == []


def test_a_logged_folder_with_a_link_to_a_folder_outside_is_refused(
    tmp_path: Path, store: ArtifactStore, secret: Path
) -> None:
    source = tmp_path / "outputs"
    source.mkdir()
    (source / "etc").symlink_to(secret.parent, target_is_directory=True)
    with pytest.raises(InvalidArtifactPath, match=r"outputs/etc.*symbolic link"):
        store.put_file(source)
    assert stored_files(store) == []


def test_a_relative_link_climbing_out_of_the_logged_folder_is_refused(
    tmp_path: Path, store: ArtifactStore, secret: Path
) -> None:
    source = tmp_path / "outputs"
    (source / "sub").mkdir(parents=True)
    (source / "sub" / "passwd").symlink_to(Path("..") / ".." / "outside" / "passwd")
    with pytest.raises(InvalidArtifactPath, match="outside"):
        store.put_file(source)
    assert stored_files(store) == []


def test_a_link_to_a_file_inside_the_logged_folder_is_stored_as_that_files_content(
    tmp_path: Path, store: ArtifactStore
) -> None:
    source = tmp_path / "outputs"
    source.mkdir()
    (source / "model-3.txt").write_text("weights 3")
    (source / "latest.txt").symlink_to("model-3.txt")
    assert store.put_file(source) == "outputs"
    assert stored_files(store) == ["outputs", "outputs/latest.txt", "outputs/model-3.txt"]
    assert not (Path(store.root) / "outputs" / "latest.txt").is_symlink()
    assert store.read_bytes("outputs/latest.txt") == b"weights 3"


def test_a_dangling_link_in_a_logged_folder_is_refused(tmp_path: Path, store: ArtifactStore) -> None:
    source = tmp_path / "outputs"
    source.mkdir()
    (source / "gone.txt").symlink_to(tmp_path / "nowhere")
    with pytest.raises(InvalidArtifactPath, match=r"outputs/gone.txt"):
        store.put_file(source)


@pytest.mark.parametrize("as_folder", [False, True])
def test_a_symbolic_link_logged_directly_is_refused(
    tmp_path: Path, store: ArtifactStore, secret: Path, as_folder: bool
) -> None:
    link = tmp_path / "innocent"
    link.symlink_to(secret.parent if as_folder else secret, target_is_directory=as_folder)
    with pytest.raises(InvalidArtifactPath, match=r"innocent.*symbolic link"):
        store.put_file(link)
    with pytest.raises(InvalidArtifactPath):
        store.put_file(link, "named.txt")
    assert stored_files(store) == []


def plant(store: ArtifactStore, name: str, target: Path) -> None:
    """A link put into the run's folder behind the store's back (another tool, another user)."""
    path = Path(store.root) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target, target_is_directory=target.is_dir())


def test_a_link_in_the_store_pointing_outside_is_not_read_through(
    tmp_path: Path, store: ArtifactStore, secret: Path
) -> None:
    store.put_bytes(b"fine", "d/ok.txt")
    plant(store, "d/passwd", secret)
    with pytest.raises(InvalidArtifactPath, match=r"d/passwd.*outside"):
        store.read_bytes("d/passwd")
    for path in ("d", None, "d/passwd"):
        with pytest.raises(InvalidArtifactPath, match="outside"):
            store.download(path, tmp_path / "dl")
    assert not any(p.read_bytes() == secret.read_bytes() for p in (tmp_path / "dl").rglob("*") if p.is_file())


def test_a_linked_folder_in_the_store_pointing_outside_is_not_read_or_written_through(
    tmp_path: Path, store: ArtifactStore, secret: Path
) -> None:
    plant(store, "etc", secret.parent)
    with pytest.raises(InvalidArtifactPath, match="outside"):
        store.read_bytes("etc/passwd")
    with pytest.raises(InvalidArtifactPath, match="outside"):
        store.download("etc", tmp_path / "dl")
    with pytest.raises(InvalidArtifactPath, match="outside"):
        store.list("etc")
    with pytest.raises(InvalidArtifactPath, match="outside"):
        store.put_bytes(b"overwritten", "etc/passwd")
    with pytest.raises(InvalidArtifactPath, match="outside"):
        store.fs.find(f"{store.root}/etc")  # the server streams through the store's file system
    assert secret.read_text() == "root:x:0:0"


def test_a_store_whose_root_lies_behind_a_link_still_works(tmp_path: Path) -> None:
    real = tmp_path / "disk"
    real.mkdir()
    (tmp_path / "data").symlink_to(real, target_is_directory=True)
    store = ArtifactStore(str(tmp_path / "data" / "run" / "artifacts"))
    store.put_bytes(b"x", "d/a.txt")
    assert store.read_bytes("d/a.txt") == b"x"
    assert (store.download(None, tmp_path / "dl") / "d" / "a.txt").read_bytes() == b"x"


def test_a_name_longer_than_a_file_system_allows_is_refused_clearly(store: ArtifactStore) -> None:
    with pytest.raises(InvalidParameter, match=r"longer than 255 bytes"):
        store.put_bytes(b"x", "a" * 5000)
    with pytest.raises(InvalidArtifactPath, match=r"longer than 255 bytes"):
        store.put_bytes(b"x", "d/" + "é" * 128)  # 256 bytes in UTF-8, 128 characters
    with pytest.raises(InvalidArtifactPath, match=f"longer than {MAX_NAME_BYTES} bytes"):
        safe_name("/".join(["d" * 200] * 30))
    with pytest.raises(InvalidArtifactPath, match="longer than 255 bytes"):
        store.read_bytes("b" * 300)
    assert stored_files(store) == []
    assert safe_name("a" * 255) == "a" * 255
