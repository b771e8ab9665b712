"""`/compare?runs=ID,ID,...`: runs of any sweeps side by side, differing params first, curves on one step axis."""

from __future__ import annotations

from starlette.routing import Route

from reports.compare import MAX_CURVES, comparison_of
from reports.ui.core import Page, Req, Ui, page_endpoint
from reports.ui.run_page import readable_run
from tracking.errors import InvalidParameter

MAX_RUNS = 20


def compare_page(ui: Ui, req: Req) -> Page:
    ids = list(dict.fromkeys(i.strip() for i in (req.query.get("runs") or "").split(",") if i.strip()))
    if not ids:
        raise InvalidParameter("name the runs to compare: /compare?runs=RUN_ID,RUN_ID")
    if len(ids) > MAX_RUNS:
        raise InvalidParameter(f"compare at most {MAX_RUNS} runs at once, not {len(ids)}")
    runs = [readable_run(ui, req, i) for i in ids]
    experiments = {e.experiment_id: e.name for e in ui.server.store.list_experiments()}
    found = comparison_of(runs, {}, {}, experiments)
    stepped = [
        m.key
        for m in found.metrics
        if any(k in r.metrics and r.metrics[k].last_step > 0 for r in runs for k in [m.key])
    ]
    data = {
        "runs": [
            {
                "run_id": c.run_id,
                "name": c.name,
                "status": c.status,
                "experiment": c.experiment,
                "sweep_id": c.sweep_id,
                "trial": c.trial,
                "duration_s": c.duration_s,
                "label": c.label,
            }
            for c in found.runs
        ],
        "params": [{"key": p.key, "values": list(p.values), "differs": p.differs} for p in found.params],
        "metrics": [
            {"key": m.key, "goal": m.goal, "final": list(m.final), "best": list(m.best), "differs": m.differs}
            for m in found.metrics
        ],
        "curves": [{"key": k, "runs": [r.run_id for r in runs if k in r.metrics]} for k in stepped[:MAX_CURVES]],
    }
    return Page(f"Compare {len(runs)} runs", "compare.js", data, crumbs=(("Experiments", "/"),))


def routes(ui: Ui) -> list[Route]:
    return [Route("/compare", page_endpoint(ui, compare_page), methods=["GET"])]
