"use strict";
// `/sweeps/{id}`: the sweep page. It polls its JSON while the sweep runs and redraws in place
// (Plotly.react; parcoords.js for the parallel axes), so trials appear without a reload and
// brushes on the parallel axes survive.
(() => {
  const { el, data, path, api, num, status, card, kv, table } = UI;
  const app = document.getElementById("app");
  const url = "/ui/api/sweeps/" + encodeURIComponent(data.sweep_id);
  const colours = { FINISHED: "#1a7f37", RUNNING: "#2457c5", PRUNED: "#d4a72c", FAILED: "#b42318", KILLED: "#8c959f" };

  const slots = {};
  const slot = (id, title, wide) => {
    slots[id] = el("div", { id: "section-" + id });
    return el("section", { class: "card", style: wide ? "grid-column: 1 / -1" : null }, el("h2", {}, title), slots[id]);
  };
  const liveBadge = el("span", { id: "live", class: "live", hidden: true }, "live");
  app.append(
    el("div", { class: "grid" }, slot("progress", "Progress"), slot("summary", "Summary")),
    card(null, el("h2", {}, "Leaderboard ", liveBadge), slots.leaderboard = el("div", { id: "section-leaderboard" })),
    el("div", { class: "grid" },
      slot("history", "Optimization history"), slot("curves", "Learning curves"),
      slot("parallel", "Parallel coordinates", true), slot("importances", "Parameter importances"),
      slot("pareto", "Pareto front"), slot("verdict", "Best vs runner-up: noise"), slot("failures", "Failed and pruned trials", true)));

  const charts = {};
  function chart(id, traces, layout) {
    if (!charts[id]) {
      charts[id] = el("div", { class: "chart", id: "chart-" + id });
      slots[id].replaceChildren(charts[id]);
    }
    return Plotly.react(charts[id], traces, UI.layoutBase(layout), UI.plotConfig);
  }
  function noChart(id, text) { delete charts[id]; slots[id].replaceChildren(el("p", { class: "note" }, text)); }
  function withNote(id, note) {
    let holder = slots[id].querySelector("p.figure-note");
    if (!note) { if (holder) holder.remove(); return; }
    if (!holder) { holder = el("p", { class: "note figure-note" }); slots[id].append(holder); }
    holder.textContent = note;
  }
  function progress(p, d) {
    const order = ["FINISHED", "RUNNING", "PRUNED", "FAILED", "KILLED"];
    const total = Math.max(p.budget || 0, p.trials, 1);
    const bar = el("div", { class: "progress", title: "trials by status" },
      order.map((s) => el("span", { style: `width:${(100 * (p.counts[s] || 0)) / total}%;background:${colours[s]}` })));
    const counts = order.filter((s) => p.counts[s]).map((s) => `${p.counts[s]} ${s.toLowerCase()}`).join(", ") || "no trials yet";
    slots.progress.replaceChildren(
      el("p", {}, el("strong", { id: "trial-count", "data-trials": p.trials }, String(p.trials)), p.budget ? ` of ${p.budget} trials` : " trials", " · ", status(d.status)),
      bar, el("p", { class: "note", id: "status-counts" }, counts));
  }

  function leaderboard(board, objectives) {
    const columns = [
      { label: "rank", num: true, value: (r) => r.rank === null ? "—" : String(r.rank) },
      { label: "trial", num: true, value: (r) => r.number === null ? "—" : String(r.number) },
      { label: "name", value: (r) => el("a", { href: path.run(r.run_id) }, r.name) },
      { label: "status", value: (r) => status(r.status) },
      ...objectives.map((o, i) => ({ label: `${o.name} (${o.goal === "maximize" ? "max" : "min"})`, num: true, value: (r) => num(r.values[i]) })),
      ...board.params.map((k) => ({ label: k, value: (r) => { const v = r.params[k]; return v === undefined ? "" : (isNaN(Number(v)) ? v : num(v)); } })),
    ];
    slots.leaderboard.replaceChildren(table(columns, board.rows, { id: "leaderboard-table" }),
      board.total > board.rows.length ? el("p", { class: "note" }, `showing the first ${board.rows.length} of ${board.total} trials`) : "");
  }

  function history(list) {
    const h = list[0];
    if (!h || !h.numbers.length) { noChart("history", "no trial finished with an objective value yet"); return; }
    const traces = [
      { type: UI.traceType(h.numbers.length), mode: "markers", name: "trial", x: h.numbers, y: h.values, marker: { size: 5, color: "#2457c5", opacity: 0.7 },
        hovertemplate: "trial %{x}<br>%{y}<extra></extra>" },
      // A few dozen points (where the best changed): SVG, as a WebGL line costs a software
      // renderer far more to draw than 10,000 WebGL markers do.
      { type: UI.traceType(h.best_numbers.length), mode: "lines", name: "best so far", x: h.best_numbers, y: h.best, line: { color: "#b42318", width: 2, shape: "hv" } },
    ];
    if (h.pruned_numbers.length) traces.push({ type: UI.traceType(h.pruned_numbers.length), mode: "markers", name: "pruned (last value)", x: h.pruned_numbers, y: h.pruned_values, marker: { size: 5, color: "#d4a72c", symbol: "x" } });
    chart("history", traces, { xaxis: { title: { text: "trial" }, tickformat: "d", automargin: true, gridcolor: "#eef0f3" },
      yaxis: { title: { text: h.objective }, type: h.scale, automargin: true, gridcolor: "#eef0f3" } });
  }

  // plotly's default colours, given outright: the pruned trace comes first (drawn underneath).
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  function curves(c) {
    if (!c || !c.series.length) { noChart("curves", "no trial logged a metric over more than one step"); return; }
    const points = c.series.reduce((n, s) => n + s.steps.length, 0);
    const top = c.series.filter((s) => !s.pruned);
    const traces = top.map((s, i) => ({ type: UI.traceType(points), mode: "lines", name: s.label, x: s.steps, y: s.values,
      line: { width: 2, color: PALETTE[i % PALETTE.length] } }));
    const pruned = c.series.filter((s) => s.pruned);
    if (pruned.length) {
      // One trace, broken by nulls: a hundred traces cost plotly a hundred times the set-up.
      const x = [], y = [], text = [];
      for (const s of pruned) {
        for (let i = 0; i < s.steps.length; i++) { x.push(s.steps[i]); y.push(s.values[i]); text.push(s.label); }
        x.push(null); y.push(null); text.push(null);
      }
      traces.unshift({ type: UI.traceType(points), mode: "lines", name: "pruned", legendgroup: "pruned", x, y, text,
        opacity: 0.6, line: { width: 1, dash: "dot", color: "#8c959f" },
        hovertemplate: "%{text}<br>step %{x}: %{y}<extra>pruned</extra>" });
      // Each ends in an x where it was pruned, as in the static report: on top, to stay visible.
      const ends = pruned.filter((s) => s.steps.length);
      traces.push({ type: "scatter", mode: "markers", name: "pruned here", legendgroup: "pruned", showlegend: false,
        x: ends.map((s) => s.steps[s.steps.length - 1]), y: ends.map((s) => s.values[s.values.length - 1]),
        text: ends.map((s) => s.label), marker: { symbol: "x", size: 7, color: "#57606a" },
        hovertemplate: "%{text}: pruned after step %{x}<extra></extra>" });
    }
    chart("curves", traces, { xaxis: { title: { text: "step" }, automargin: true, gridcolor: "#eef0f3" },
      yaxis: { title: { text: c.metric }, type: c.scale, automargin: true, gridcolor: "#eef0f3" } });
    withNote("curves", c.note);
  }

  // Our own canvas chart (parcoords.js): its brushes are kept by axis name across live redraws.
  let parcoords = null;
  function parallel(p) {
    if (!p) { if (parcoords) parcoords.destroy(); parcoords = null; noChart("parallel", "needs at least 2 finished trials and a parameter that varies"); return; }
    if (!parcoords) {
      const holder = el("div", { class: "pc", id: "chart-parallel" });
      const count = el("span", { id: "parallel-count" });
      const clear = el("button", { class: "btn small", id: "parallel-clear", type: "button", hidden: true }, "clear brushes");
      slots.parallel.replaceChildren(holder, el("p", { class: "note pc-foot" }, count, clear));
      parcoords = new Parcoords.Chart(holder, ({ selected, lines, brushes }) => {
        count.textContent = brushes ? `${selected} of ${lines} trials selected` : `${lines} trials`;
        clear.hidden = !brushes;
      });
      clear.addEventListener("click", () => parcoords.clear());
    }
    parcoords.update(p);
    withNote("parallel", (p.note ? p.note + "; " : "") + "colour: rank by the objective; drag along an axis to brush (several axes: all must hold); click an axis outside its brush to clear it");
  }

  // Bars in a table, not a chart: a few rows that read at a glance, without plotly's set-up.
  function importances(list) {
    const r = (list || []).find((x) => x.pairs.length);
    if (!r) { noChart("importances", (list || []).map((x) => x.note).filter(Boolean).join("; ") || "nothing to show yet"); return; }
    const most = Math.max(...r.pairs.map((p) => p[1]), 1e-12);
    const rows = r.pairs.map(([name, value]) => el("tr", {},
      el("th", { scope: "row", title: name }, name),
      el("td", { class: "bar" }, el("span", { style: `width:${(100 * Math.max(0, value)) / most}%` })),
      el("td", { class: "num" }, num(value, 3))));
    slots.importances.replaceChildren(
      el("table", { class: "bars", id: "importances-table" }, el("tbody", {}, rows)),
      el("p", { class: "note" }, `importance by ${r.evaluator}: the parameter's share of the objective's variation`));
    withNote("importances", r.note);
  }

  function pareto(p, multi) {
    if (!multi) { noChart("pareto", "single-objective sweep: no Pareto front"); return; }
    if (!p) { noChart("pareto", "no trial finished with all objective values yet"); return; }
    chart("pareto", [
      { type: UI.traceType(p.x.length), mode: "markers", name: "trials", x: p.x, y: p.y, marker: { size: 6, color: "#8c959f" } },
      { type: UI.traceType(p.x.length), mode: "lines+markers", name: "Pareto front", x: p.front_x, y: p.front_y, marker: { size: 8, color: "#b42318" } },
    ], { xaxis: { title: { text: p.objectives[0] }, type: p.scales[0], automargin: true },
         yaxis: { title: { text: p.objectives[1] }, type: p.scales[1], automargin: true } });
    withNote("pareto", p.note);
  }

  function verdict(v) {
    const pairs = [["verdict", v.verdict || "—"], ["why", v.message || "—"]];
    if (v.gap !== null && v.gap !== undefined) pairs.push(["gap", num(v.gap)]);
    if (v.p_value !== null && v.p_value !== undefined) pairs.push(["p-value", num(v.p_value)], ["test", v.method]);
    slots.verdict.replaceChildren(kv(pairs));
  }

  function failures(f) {
    if (!f.total) { slots.failures.replaceChildren(el("p", { class: "note", id: "no-failures" }, "no failed or pruned trials")); return; }
    const parts = [];
    if (f.by_error.length) parts.push(el("p", {}, "commonest errors: ", f.by_error.map(([e, n]) => `${e} (${n})`).join(" · ")));
    parts.push(table([
      { label: "trial", num: true, value: (r) => r.trial },
      { label: "name", value: (r) => r.name },
      { label: "status", value: (r) => status(r.status) },
      { label: "value", num: true, value: (r) => r.value },
      { label: "params", value: (r) => r.params },
      { label: "error", value: (r) => r.error ? el("details", { class: "err" }, el("summary", {}, r.summary), el("pre", { class: "error-text" }, r.error)) : r.summary },
    ], f.rows, { id: "failures-table" }));
    slots.failures.replaceChildren(...parts);
  }

  function draw(d, settled) {
    document.getElementById("title").textContent = `Sweep ${d.sweep_id} · ${d.name}`;
    progress(d.progress, d);
    slots.summary.replaceChildren(kv(d.summary));
    leaderboard(d.leaderboard, d.objectives);
    verdict(d.verdict);
    failures(d.failures);
    // Cheap SVG and canvas charts first; the WebGL ones (whose contexts cost most to start) after them.
    pareto(d.pareto, d.objectives.length > 1);
    if (settled) showImportances(settled);
    parallel(d.parallel);
    curves(d.curves);
    history(d.history);
    liveBadge.hidden = !d.live;
    document.body.dataset.trials = String(d.progress.trials);
    document.body.dataset.live = d.live ? "1" : "0";
  }

  let importancesFor = null;

  // A request's outcome once it has come: { value } or { error }.
  const outcome = (request) => request.then((value) => ({ value }), (error) => ({ error }));
  function showImportances(result) {
    if (result.error) noChart("importances", result.error.message);
    else importances(result.value);
  }

  async function poll() {
    // The first time, importances (a model fit on the server) are asked for at once, in
    // parallel with the page's data, and drawn with it if they came first.
    let settled = null;
    const early = importancesFor === null ? outcome(api(url + "/importances")) : null;
    if (early) early.then((result) => { settled = result; });
    let d;
    try {
      d = await api(url);
      await UI.charts;
    } catch (error) {
      app.prepend(UI.message("could not refresh: " + error.message, "bad"));
      UI.ready();
      return;
    }
    draw(d, settled);
    if (d.finished !== importancesFor) {
      importancesFor = d.finished;
      if (settled === null) showImportances(await (early || outcome(api(url + "/importances"))));
    }
    UI.ready();
    // Poll while the sweep runs; poll once more after it ends, to show the final state.
    if (d.live) setTimeout(poll, data.poll_ms);
  }
  poll();
})();
