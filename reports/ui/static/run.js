"use strict";
// `/runs/{id}`: what the run is, every metric series as a zoomable WebGL chart (the server
// downsamples, keeping each bucket's min and max; a zoom fetches the visible range again),
// and its artifacts with previews.
(() => {
  const { el, data, path, api, num, time, duration, status, card, kv, table } = UI;
  const app = document.getElementById("app");
  const run = data.run;
  const base = "/ui/api/runs/" + encodeURIComponent(run.run_id);

  const facts = [
    ["run id", run.run_id], ["name", run.name], ["status", status(run.status)], ["experiment", el("a", { href: path.experiment(data.experiment) }, data.experiment)],
    ["started", time(run.start_time)], ["ended", time(run.end_time)],
    ["duration", run.end_time ? duration((run.end_time - run.start_time) / 1000) : "—"], ["user", run.user || "—"],
  ];
  if (run.parent_run_id) facts.push(["parent", el("a", { href: path.run(run.parent_run_id) }, run.parent_run_id)]);
  if (run.tags["sweeps.sweep_id"]) facts.push(["sweep", el("a", { href: path.sweep(run.tags["sweeps.sweep_id"]) }, run.tags["sweeps.sweep_id"])]);
  const overview = [kv(facts)];
  if (run.error) overview.push(el("h2", {}, "error"), el("pre", { class: "error-text", id: "run-error" }, run.error));
  const pairs = (obj) => Object.keys(obj).sort().map((k) => [k, obj[k]]);
  const kvTable = (obj, id) => Object.keys(obj).length
    ? table([{ label: "key", value: (p) => p[0] }, { label: "value", value: (p) => p[1] }], pairs(obj), { id }) : el("p", { class: "note" }, "none");

  const top = el("div", { class: "grid" }, card("Run", ...overview), card("Params", kvTable(run.params, "params-table")), card("Tags", kvTable(run.tags, "tags-table")));
  app.append(top);
  if (data.child_count) {
    app.append(card(`Child runs (${data.child_count})`, table([
      { label: "name", value: (c) => el("a", { href: path.run(c.run_id) }, c.name) }, { label: "status", value: (c) => status(c.status) },
    ], data.children, { id: "children-table" })));
  }

  // -- metric charts ------------------------------------------------------------------------
  const keys = Object.keys(data.metrics);
  const charts = el("div", { class: "grid", id: "charts" });
  app.append(card(`Metrics (${keys.length})`,
    keys.length ? el("p", { class: "note" }, "Drag to zoom: the zoomed range is fetched again at full resolution; double-click resets.") : el("p", { class: "note" }, "no metrics logged"),
    charts));

  async function fetchSeries(key, lo, hi, width) {
    const query = new URLSearchParams({ key, buckets: String(Math.max(100, Math.round(width || 800))) });
    if (lo !== null && lo !== undefined) query.set("lo", String(Math.floor(lo)));
    if (hi !== null && hi !== undefined) query.set("hi", String(Math.ceil(hi)));
    return api(base + "/series?" + query);
  }

  function caption(s) {
    return s.downsampled ? `${num(s.shown)} of ${num(s.total)} points shown (each bucket's min and max kept)` : `${num(s.total)} points`;
  }

  async function drawChart(key, holder, note) {
    const summary = data.metrics[key];
    const s = await fetchSeries(key, null, null, holder.clientWidth);
    if (summary.last_step === 0 && s.total <= 1) {
      holder.replaceWith(el("p", { class: "metric-single", "data-key": key }, "one value: ", el("strong", {}, num(s.values[0]))));
      note.textContent = "";
      return;
    }
    note.textContent = caption(s);
    holder.dataset.fetches = "1";
    holder.dataset.points = String(s.shown);
    // By the points handed over (at most two per bucket), not the points stored: a few thousand draw
    // sooner as SVG than a WebGL context takes to start.
    const trace = { type: UI.traceType(s.shown), mode: s.total > 200 ? "lines" : "lines+markers", x: s.steps, y: s.values, name: key,
      line: { width: 1.5, color: "#2457c5" }, marker: { size: 4 }, hovertemplate: "step %{x}<br>%{y}<extra></extra>" };
    await UI.charts;
    await Plotly.newPlot(holder, [trace], UI.layoutBase({ showlegend: false, margin: { l: 64, r: 16, t: 8, b: 44 },
      xaxis: { title: { text: "step" }, automargin: true, gridcolor: "#eef0f3" }, yaxis: { automargin: true, gridcolor: "#eef0f3", exponentformat: "power" } }), UI.plotConfig);
    let pending = 0;
    holder.on("plotly_relayout", async (event) => {
      const zoomed = event["xaxis.range[0]"] !== undefined;
      const reset = event["xaxis.autorange"] === true;
      if (!zoomed && !reset) return;
      const ticket = ++pending;
      const lo = zoomed ? event["xaxis.range[0]"] : null;
      const hi = zoomed ? event["xaxis.range[1]"] : null;
      holder.dataset.loading = "1";
      const again = await fetchSeries(key, lo, hi, holder.clientWidth);
      if (ticket !== pending) return; // a later zoom won
      await Plotly.restyle(holder, { x: [again.steps], y: [again.values], mode: again.total > 200 ? "lines" : "lines+markers" });
      holder.dataset.fetches = String(Number(holder.dataset.fetches) + 1);
      holder.dataset.points = String(again.shown);
      holder.dataset.range = zoomed ? `${Math.floor(lo)}:${Math.ceil(hi)}` : "";
      delete holder.dataset.loading;
      note.textContent = (zoomed ? `steps ${num(Math.floor(lo))}–${num(Math.ceil(hi))}: ` : "") + caption(again);
    });
  }

  const drawn = [];
  for (const key of keys) {
    const holder = el("div", { class: "chart small metric-chart", "data-key": key });
    const note = el("p", { class: "note" }, "loading…");
    charts.append(el("section", { class: "card" }, el("h2", { title: key }, key), holder, note));
    drawn.push(drawChart(key, holder, note));
  }

  // -- artifacts ----------------------------------------------------------------------------
  const preview = el("div", { id: "artifact-preview" });
  const tree = el("div", { class: "artifacts", id: "artifacts" });
  app.append(el("div", { class: "grid" }, card("Artifacts", tree), card("Preview", preview)));
  const fileUrl = (p, inline) => base + "/file?" + new URLSearchParams({ path: p, inline: inline ? "1" : "0" });

  async function show(entry) {
    delete preview.dataset.shown;
    preview.replaceChildren(el("p", { class: "note" }, "loading…"));
    await showFile(entry);
    preview.dataset.shown = entry.path;
  }

  async function showFile(entry) {
    const head = el("p", {}, el("strong", {}, entry.path), " ", el("a", { href: fileUrl(entry.path, false), download: "", class: "download" }, "download"));
    if (entry.kind === "image") {
      preview.replaceChildren(head, el("img", { class: "preview", src: fileUrl(entry.path, true), alt: entry.path }));
      return;
    }
    if (entry.kind === "binary") { preview.replaceChildren(head, el("p", { class: "note" }, "no preview for this kind of file")); return; }
    const shown = await api(base + "/preview?" + new URLSearchParams({ path: entry.path }));
    if (shown.kind === "csv") {
      const [first, ...rest] = shown.rows.length ? shown.rows : [[]];
      const cols = first.map((label, i) => ({ label, value: (r) => r[i] === undefined ? "" : r[i] }));
      preview.replaceChildren(head, table(cols, rest, { id: "csv-preview" }), shown.cut ? el("p", { class: "note" }, "first rows only") : "");
    } else {
      preview.replaceChildren(head, el("pre", { class: "preview", id: "text-preview" }, shown.text), shown.cut ? el("p", { class: "note" }, "cut: the file is longer") : "");
    }
  }

  async function list(folder, into) {
    const found = await api(base + "/artifacts" + (folder ? "?" + new URLSearchParams({ path: folder }) : ""));
    const ul = el("ul", {});
    for (const entry of found.entries) {
      const label = entry.path.split("/").pop();
      if (entry.dir) {
        const li = el("li", {}, el("button", { class: "btn", type: "button" }, "▸ " + label + "/"));
        li.firstChild.addEventListener("click", async () => { li.firstChild.disabled = true; await list(entry.path, li); });
        ul.append(li);
      } else {
        const link = el("a", { href: "#", class: "artifact-link", "data-path": entry.path }, label);
        link.addEventListener("click", (event) => { event.preventDefault(); show(entry); });
        ul.append(el("li", {}, link, " ", el("span", { class: "note" }, entry.size === null ? "" : num(entry.size) + " B")));
      }
    }
    if (!found.entries.length && !folder) ul.append(el("li", { class: "note" }, "no artifacts"));
    into.append(ul);
  }

  Promise.all([...drawn, list(null, tree)]).then(() => UI.ready(), (error) => {
    app.prepend(UI.message(String(error.message), "bad"));
    UI.ready();
  });
})();
