"""32 clients logging into one real server process at once: every point stored exactly once."""

from __future__ import annotations

import sqlite3
import threading

import tracking
from tests.support.server import ServerProcess

CLIENTS = 32
STEPS = 1_500


def test_32_concurrent_clients_each_point_stored_once(http_uri: str, http_server: ServerProcess) -> None:
    with tracking.connect(http_uri) as setup:
        shared = setup.start_run("concurrent", name="shared").run_id
    start = threading.Barrier(CLIENTS)
    own: list[str] = [""] * CLIENTS
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            with tracking.connect(http_uri, batch_size=500) as client:
                run = client.start_run("concurrent", name=f"writer-{i}")
                own[i] = run.run_id
                start.wait()
                for step in range(STEPS):
                    run.log_metrics({"loss": step / STEPS, "aux": float(i)}, step=step)
                    client.log_metric(shared, f"k{i}", float(step), step=step)  # one series per client
                run.end()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    path = http_server.store_uri.partition(":///")[2]
    with sqlite3.connect(path) as db:  # what the server stored, read beside it
        rows = db.execute(
            "SELECT s.run_id || '/' || s.key, COUNT(*), COUNT(DISTINCT m.step) FROM metrics m "
            "JOIN metric_summaries s ON s.series_id = m.series_id GROUP BY s.run_id, s.key"
        ).fetchall()
    counts = {series: (points, steps) for series, points, steps in rows}
    expected = {f"{run}/{key}": (STEPS, STEPS) for run in own for key in ("loss", "aux")}
    expected |= {f"{shared}/k{i}": (STEPS, STEPS) for i in range(CLIENTS)}
    assert counts == expected
