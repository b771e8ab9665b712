"""What happens after the trials: register the winner's model, build the HTML report."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sweeps.config import RegisterSpec
from sweeps.errors import SweepsError
from tracking import sweep_layout as layout
from tracking.client import TrackingClient
from tracking.entities import Run

if TYPE_CHECKING:
    from tracking.registry import ModelVersion

__all__ = ["build_report", "default_report_path", "register_best"]


# Relative to the working directory, and named so that it never shadows (or writes into) the
# `reports` package when a sweep runs from the repository root.
REPORTS_FOLDER = "sweep-reports"

_UNSAFE = re.compile(r"[^\w.-]+")
# A file name may be 255 bytes; the rest of a long sweep id is cut (its random tail is in the report).
_MAX_STEM_BYTES = 200


def default_report_path(sweep_id: str) -> Path:
    """``sweep-reports/<sweep id>.html``, the id made one plain file name: anything but letters, digits
    and ``.-_`` replaced, so a sweep named ``../../x`` still writes inside ``sweep-reports/``."""
    stem = _UNSAFE.sub("_", sweep_id).strip(".")
    stem = stem.encode()[:_MAX_STEM_BYTES].decode(errors="ignore").strip(".")
    return Path(REPORTS_FOLDER) / f"{stem or 'sweep'}.html"


def register_best(
    client: TrackingClient, spec: RegisterSpec, best: Run | None, parent: Run, reason: str | None = None
) -> tuple[ModelVersion | None, str | None]:
    """Register the best trial's `model/` under `spec.model` with `spec.alias`; (version, note)."""
    if best is None:
        return None, f"nothing registered as {spec.model!r}: no trial finished"
    logged = [a.path for a in client.list_artifacts(best.run_id)]
    if "model" not in logged:
        return None, (
            f"nothing registered as {spec.model!r}: the best trial ({best.name}) logged no model; "
            "call trial.log_model(model) in the objective"
        )
    sweep_id = parent.tags.get(layout.SWEEP_ID, "")
    why = reason or f"best trial ({best.name}) of sweep {sweep_id}"
    # One call, one transaction: the version never exists without its alias.
    version = client.registry.register_model(
        spec.model, f"runs:/{best.run_id}/model", tags={layout.SWEEP_ID: sweep_id}, alias=spec.alias, reason=why
    )
    client.set_tags(parent.run_id, {layout.REGISTERED: f"models:/{spec.model}/{version.version}"})
    # The registration's webhook events: tried for a few seconds before the sweep ends; what a
    # receiver that is down misses stays in the store's outbox for a running server to deliver.
    client.registry.deliver_webhooks()
    return version, None


def build_report(client: TrackingClient, sweep_id: str, path: str | Path | None = None, *, top_k: int = 10) -> Path:
    """Write the HTML report of `sweep_id` (default ``sweep-reports/<sweep_id>.html``); returns its path."""
    import reports

    output = Path(path) if path is not None else default_report_path(sweep_id)
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        return Path(reports.build_report(client, sweep_id, output, top_k=top_k))
    except reports.ReportError as exc:
        raise SweepsError(f"could not write the report of {sweep_id}: {exc}") from exc
