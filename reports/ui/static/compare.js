"use strict";
// `/compare?runs=...`: runs side by side. Params that differ come first; each stepped metric
// is one chart with every run's curve on the same step axis.
(() => {
  const { el, data, path, api, num, card, table, duration } = UI;
  const app = document.getElementById("app");
  const runs = data.runs;
  const runCols = runs.map((r, i) => ({ label: r.label, title: r.run_id, value: (row) => row.cell(i) }));
  app.append(card("Runs", table([
    { label: "run", value: (r) => el("a", { href: path.run(r.run_id) }, r.name) },
    { label: "experiment", value: (r) => r.experiment },
    { label: "sweep", value: (r) => r.sweep_id ? el("a", { href: path.sweep(r.sweep_id) }, r.sweep_id) : "—" },
    { label: "trial", num: true, value: (r) => r.trial === null ? "—" : String(r.trial) },
    { label: "status", value: (r) => UI.status(r.status) },
    { label: "duration", num: true, value: (r) => duration(r.duration_s) },
  ], runs, { id: "compare-runs" })));
  const params = data.params.map((p) => ({ key: p.key, differs: p.differs, cell: (i) => p.values[i] === null ? "—" : p.values[i] }));
  const differing = params.filter((p) => p.differs).length;
  app.append(card(`Params (${differing} differ)`, params.length ? table([{ label: "param", value: (p) => p.key }, ...runCols], params,
    { id: "compare-params", rowClass: (p) => p.differs ? "differs" : "same" }) : el("p", { class: "note" }, "no params")));
  const metrics = data.metrics.map((m) => ({ key: m.key, differs: m.differs, cell: (i) => num(m.final[i]) }));
  app.append(card("Metrics (last value)", metrics.length ? table([{ label: "metric", value: (m) => m.key }, ...runCols], metrics,
    { id: "compare-metrics", rowClass: (m) => m.differs ? "differs" : "same" }) : el("p", { class: "note" }, "no metrics")));
  const grid = el("div", { class: "grid", id: "compare-curves" });
  app.append(grid);
  const drawn = data.curves.map(async ({ key, runs: having }) => {
    const holder = el("div", { class: "chart small", "data-key": key });
    grid.append(el("section", { class: "card" }, el("h2", {}, key), holder));
    const traces = [];
    for (const r of runs.filter((x) => having.includes(x.run_id))) {
      const s = await api(`/ui/api/runs/${encodeURIComponent(r.run_id)}/series?` + new URLSearchParams({ key, buckets: "600" }));
      traces.push({ type: UI.traceType(s.total * runs.length), mode: "lines", name: r.label, x: s.steps, y: s.values });
    }
    await UI.charts;
    await Plotly.newPlot(holder, traces, UI.layoutBase({ xaxis: { title: { text: "step" }, automargin: true } }), UI.plotConfig);
  });
  Promise.all(drawn).then(() => UI.ready(), (error) => { app.prepend(UI.message(error.message, "bad")); UI.ready(); });
})();
