"""Evidence bundles on their own: written whole, verified without extraction, unsafe zips refused."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tracking.evidence import MANIFEST, BundleError, bundle_files, verify_bundle, write_bundle


def bundle(tmp_path: Path) -> Path:
    files = bundle_files(
        {"model_uri": "models:/m/1"},
        report_html="<html></html>",
        config="name: x\n",
        environment={"python": "3.11"},
        model_metadata=None,
        audit_log=[{"action": "register"}],
    )
    return write_bundle(tmp_path / "b.zip", files, subject="models:/m/1")


def test_a_written_bundle_verifies_and_lists_what_it_lacks(tmp_path: Path) -> None:
    path = bundle(tmp_path)
    result = verify_bundle(path)
    assert result.ok and result.problem is None and result.files == 5
    with zipfile.ZipFile(path) as z:
        manifest = json.loads(z.read(MANIFEST))
    assert manifest["missing"] == ["model.json"] and manifest["subject"] == "models:/m/1"
    assert not (tmp_path / "b.zip.partial").exists()


@pytest.mark.parametrize("name", ["/etc/passwd", "../x", "a/../../x", "a\\..\\x", "C:/x", "./x", "a//b"])
def test_a_member_path_that_could_escape_is_refused(tmp_path: Path, name: str) -> None:
    path = bundle(tmp_path)
    with zipfile.ZipFile(path, "a") as z:
        z.writestr(name, b"x")
    with pytest.raises(BundleError, match="escapes the bundle's folder"):
        verify_bundle(path)


def test_a_manifest_naming_an_escaping_path_is_not_a_bundle(tmp_path: Path) -> None:
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(MANIFEST, json.dumps({"format": "sweeps-evidence/1", "files": {"../x": "0" * 64}}))
    with pytest.raises(BundleError, match="no valid 'files' map"):
        verify_bundle(path)


def test_a_foreign_manifest_is_not_a_bundle(tmp_path: Path) -> None:
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(MANIFEST, json.dumps({"files": {}}))
    with pytest.raises(BundleError, match="not a sweeps-evidence/1 manifest"):
        verify_bundle(path)
