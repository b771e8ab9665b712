"""Offline evidence bundles of a model version: one zip of its lineage, records and a sha256 manifest.

`write_bundle` writes the files a reviewer needs without the store; `verify_bundle` recomputes
every hash and names the first file changed, added or removed. Nothing is extracted to disk.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tracking.errors import TrackingError

__all__ = [
    "MANIFEST",
    "BundleError",
    "Verification",
    "bundle_files",
    "verify_bundle",
    "write_bundle",
]

MANIFEST = "manifest.json"
FORMAT = "sweeps-evidence/1"
# A bundle is a few MB; refuse to read more than this from a zip handed to verify (zip bombs).
MAX_BUNDLE_BYTES = 1 << 30


class BundleError(TrackingError):
    """The file is not an evidence bundle, or not a safe one (paths escaping the folder)."""


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    problem: str | None  # the first file changed, added or removed, said in one line
    files: int  # files the manifest lists


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def bundle_files(
    lineage: Mapping[str, object],
    *,
    report_html: str | None,
    config: str | None,
    environment: Mapping[str, object] | None,
    model_metadata: bytes | None,
    audit_log: list[Mapping[str, object]],
) -> dict[str, bytes]:
    """The bundle's files by name (absent parts are left out, and listed as missing in the manifest)."""
    files: dict[str, bytes] = {
        "lineage.json": _json(lineage),
        "audit_log.json": _json(audit_log),
    }
    if report_html is not None:
        files["report.html"] = report_html.encode()
    if config is not None:
        files["config.yaml"] = config.encode()
    if environment is not None:
        files["environment.json"] = _json(environment)
    if model_metadata is not None:
        files["model.json"] = model_metadata
    return files


def _json(value: object) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True, default=str).encode()


def write_bundle(path: str | Path, files: Mapping[str, bytes], *, subject: str) -> Path:
    """Write ``files`` and their manifest to the zip ``path`` (replaced whole: written aside, then renamed)."""
    target = Path(path)
    expected = ("lineage.json", "audit_log.json", "report.html", "config.yaml", "environment.json", "model.json")
    manifest = {
        "format": FORMAT,
        "subject": subject,
        "files": {name: _sha256(data) for name, data in sorted(files.items())},
        "missing": [name for name in expected if name not in files],
    }
    partial = target.with_name(target.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for name, data in sorted(files.items()):
            out.writestr(name, data)
        out.writestr(MANIFEST, _json(manifest))
    partial.replace(target)
    return target


def _safe_name(name: str) -> bool:
    """A plain relative member name: no absolute path, drive, backslash or ``..`` part."""
    if not name or "\\" in name or name.startswith("/") or ":" in name.split("/")[0]:
        return False
    # Split by hand: PurePosixPath would quietly drop "." and empty parts.
    return all(part not in ("", ".", "..") for part in name.split("/"))


def verify_bundle(path: str | Path) -> Verification:
    """Recompute every sha256 of the bundle at ``path``; `BundleError` when it is not a (safe) bundle."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise BundleError(f"{path} is not an evidence bundle: {exc}") from None
    with archive:
        members = archive.infolist()
        for info in members:
            if not _safe_name(info.filename):
                raise BundleError(f"{path} holds the path {info.filename!r}, which escapes the bundle's folder")
        if sum(i.file_size for i in members) > MAX_BUNDLE_BYTES:
            raise BundleError(f"{path} unpacks to more than {MAX_BUNDLE_BYTES} bytes; not an evidence bundle")
        names = [i.filename for i in members]
        if len(set(names)) != len(names):
            raise BundleError(f"{path} holds the same name twice; not an evidence bundle")
        manifest = _manifest(archive, path, names)
        listed: dict[str, str] = manifest["files"]
        for name in sorted(listed):
            if name not in names:
                return Verification(False, f"{name}: removed (listed in the manifest, not in the bundle)", len(listed))
            try:
                data = archive.read(name)
            except (zipfile.BadZipFile, OSError) as exc:
                return Verification(False, f"{name}: changed (unreadable: {exc})", len(listed))
            if _sha256(data) != listed[name]:
                return Verification(False, f"{name}: changed (sha256 differs from the manifest)", len(listed))
        for name in sorted(names):
            if name != MANIFEST and name not in listed:
                return Verification(False, f"{name}: added (not in the manifest)", len(listed))
    return Verification(True, None, len(listed))


def _manifest(archive: zipfile.ZipFile, path: str | Path, names: list[str]) -> dict:  # type: ignore[type-arg]
    if MANIFEST not in names:
        raise BundleError(f"{path} has no {MANIFEST}; not an evidence bundle")
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except (ValueError, zipfile.BadZipFile, OSError) as exc:
        raise BundleError(f"{path}: {MANIFEST} is not valid JSON ({exc}); not an evidence bundle") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"{path}: {MANIFEST} is not a {FORMAT} manifest; not an evidence bundle")
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and _safe_name(k) and isinstance(v, str) for k, v in files.items()
    ):
        raise BundleError(f"{path}: {MANIFEST} has no valid 'files' map; not an evidence bundle")
    return manifest
