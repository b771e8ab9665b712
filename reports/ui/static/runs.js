"use strict";
// `/experiments/{name}`: the runs table. Filtering, sorting and paging happen on the server
// (100,000 runs never travel); a parent row expands to its child runs.
(() => {
  const { el, data, path, api, num, time, duration, status, card } = UI;
  const app = document.getElementById("app");
  const base = "/ui/api/experiments/" + encodeURIComponent(data.experiment);
  const params = new URLSearchParams(location.search);
  const state = {
    filter: params.get("filter") || "",
    order: params.get("order") || "",
    offset: Number(params.get("offset") || 0),
    nested: params.get("nested") !== "0",
    columns: null, // ["metrics:loss", "params:alpha", ...]
    selected: new Set(),
    total: 0,
  };

  const keyText = (prefix, key) => /^[A-Za-z_][A-Za-z0-9_.\-]*$/.test(key) && !key.includes("..")
    ? `${prefix}.${key}` : `${prefix}.\`${key.replace(/\\/g, "\\\\").replace(/`/g, "``")}\``;

  const filterBox = el("input", { type: "search", id: "filter", value: state.filter, spellcheck: "false",
    placeholder: "metrics.val_accuracy > 0.9 and params.penalty = 'l2'", "aria-label": "filter" });
  const applyButton = el("button", { class: "btn primary", id: "apply-filter", type: "submit" }, "Filter");
  const nestedBox = el("input", { type: "checkbox", id: "nested", checked: state.nested });
  const compareButton = el("button", { class: "btn", id: "compare-selected", type: "button", disabled: true }, "Compare selected");
  const columnsButton = el("button", { class: "btn", id: "choose-columns", type: "button" }, "Columns");
  const columnsMenu = el("div", { class: "menu", hidden: true, id: "columns-menu" });
  const errorBox = el("div", { class: "filter-error card", id: "filter-error", role: "alert" });
  const tableHolder = el("div", { id: "runs-holder" });
  const pager = el("div", { class: "pager", id: "pager" });
  const form = el("form", { class: "toolbar", id: "filter-form" }, filterBox, applyButton,
    el("label", {}, nestedBox, " nest children under parents"), el("span", { class: "columns" }, columnsButton, columnsMenu), compareButton);
  app.append(card(null, form, errorBox, tableHolder, pager));

  form.addEventListener("submit", (event) => { event.preventDefault(); state.filter = filterBox.value; state.offset = 0; load(); });
  nestedBox.addEventListener("change", () => { state.nested = nestedBox.checked; state.offset = 0; load(); });
  compareButton.addEventListener("click", () => { location.href = path.compare([...state.selected]); });
  columnsButton.addEventListener("click", () => { columnsMenu.hidden = !columnsMenu.hidden; if (!columnsMenu.hidden) fillColumnsMenu(); });

  function showFilterError(info) {
    errorBox.replaceChildren();
    const text = info.text || state.filter;
    const first = String(info.message).split("\n")[0];
    errorBox.append(el("div", { class: "error-text", id: "filter-error-message" }, first));
    if (typeof info.position === "number") {
      errorBox.append(el("pre", { id: "filter-error-excerpt" }, text, "\n",
        el("span", { class: "caret", id: "filter-error-caret", "data-position": info.position }, " ".repeat(info.position) + "^")));
      filterBox.focus();
      filterBox.setSelectionRange(info.position, Math.min(info.position + 1, filterBox.value.length));
    }
    errorBox.classList.add("shown");
  }

  function defaultColumns(runs) {
    const metrics = new Set(), params = new Set();
    for (const r of runs) {
      Object.keys(r.metrics).forEach((k) => metrics.add(k));
      Object.keys(r.params).forEach((k) => params.add(k));
    }
    const m = [...metrics].sort((a, b) => (b.startsWith("objective.") - a.startsWith("objective.")) || a.localeCompare(b)).slice(0, 6);
    return [...m.map((k) => "metrics:" + k), ...[...params].sort().slice(0, 6).map((k) => "params:" + k)];
  }

  async function fillColumnsMenu() {
    columnsMenu.replaceChildren(el("p", { class: "note" }, "loading keys…"));
    const keys = await api(base + "/keys");
    columnsMenu.replaceChildren();
    for (const kind of ["metrics", "params", "tags"]) {
      columnsMenu.append(el("strong", {}, kind));
      for (const key of keys[kind]) {
        const id = kind + ":" + key;
        const box = el("input", { type: "checkbox", checked: state.columns.includes(id), "data-column": id });
        box.addEventListener("change", () => {
          state.columns = box.checked ? [...state.columns, id] : state.columns.filter((c) => c !== id);
          load();
        });
        columnsMenu.append(el("label", { title: key }, box, " ", key));
      }
    }
  }

  function sortBy(orderKey) {
    const [current, dir] = state.order.split(/ (?=asc$|desc$)/);
    state.order = current === orderKey && dir === "desc" ? orderKey + " asc" : orderKey + " desc";
    state.offset = 0;
    load();
  }

  function header(label, orderKey, numeric) {
    const [current, dir] = state.order.split(/ (?=asc$|desc$)/);
    const sorted = orderKey && current === orderKey;
    const th = el("th", { class: (orderKey ? "sortable " : "") + (numeric ? "num" : ""), title: label,
      "aria-sort": sorted ? (dir === "asc" ? "ascending" : "descending") : null, "data-order": orderKey },
      label, sorted ? (dir === "asc" ? " ▲" : " ▼") : "");
    if (orderKey) th.addEventListener("click", () => sortBy(orderKey));
    return th;
  }

  function cell(run, column) {
    const [kind, ...rest] = column.split(":");
    const key = rest.join(":");
    const value = run[kind][key];
    return el("td", { class: kind === "metrics" ? "num" : null, title: value === undefined ? null : String(value) },
      value === undefined ? "" : kind === "metrics" ? num(value) : String(value));
  }

  function row(run, depth) {
    const box = el("input", { type: "checkbox", "aria-label": "select " + run.name, checked: state.selected.has(run.run_id) });
    box.addEventListener("change", () => {
      box.checked ? state.selected.add(run.run_id) : state.selected.delete(run.run_id);
      compareButton.disabled = state.selected.size < 2;
    });
    const name = el("td", { title: run.name },
      run.children ? el("button", { class: "btn expand", type: "button", "data-run": run.run_id, "aria-expanded": "false",
        title: `${run.children} child runs` }, "▸ " + run.children) : null, " ",
      el("a", { href: run.tags["sweeps.kind"] === "sweep" && run.tags["sweeps.sweep_id"] ? path.sweep(run.tags["sweeps.sweep_id"]) : path.run(run.run_id), class: "run-link" }, run.name));
    const tr = el("tr", { class: depth ? "child" : null, "data-run-id": run.run_id },
      el("td", {}, box), name, el("td", {}, status(run.status)), el("td", {}, time(run.start_time)),
      el("td", { class: "num" }, run.end_time ? duration((run.end_time - run.start_time) / 1000) : "—"),
      el("td", {}, el("a", { href: path.run(run.run_id), class: "mono" }, run.run_id.slice(0, 8))),
      state.columns.map((c) => cell(run, c)));
    const toggle = name.querySelector("button.expand");
    if (toggle) toggle.addEventListener("click", () => expand(tr, run, toggle));
    return tr;
  }

  async function expand(tr, run, toggle) {
    if (toggle.getAttribute("aria-expanded") === "true") {
      let next = tr.nextElementSibling;
      while (next && next.classList.contains("child")) { const gone = next; next = next.nextElementSibling; gone.remove(); }
      toggle.setAttribute("aria-expanded", "false");
      toggle.textContent = "▸ " + run.children;
      return;
    }
    const query = new URLSearchParams({ parent: run.run_id, limit: "500", order: state.order });
    const page = await api(base + "/runs?" + query);
    let after = tr;
    for (const child of page.runs) { const childRow = row(child, 1); after.after(childRow); after = childRow; }
    toggle.setAttribute("aria-expanded", "true");
    toggle.textContent = "▾ " + run.children;
  }

  let counting = 0;
  let preloaded = data.first; // the page the URL asked for, sent inside the HTML

  async function load() {
    const query = new URLSearchParams({ filter: state.filter, order: state.order, offset: String(state.offset),
      limit: String(data.page_size), nested: state.nested ? "1" : "0" });
    const shown = new URLSearchParams();
    if (state.filter) shown.set("filter", state.filter);
    if (state.order) shown.set("order", state.order);
    if (state.offset) shown.set("offset", String(state.offset));
    if (!state.nested) shown.set("nested", "0");
    history.replaceState(null, "", location.pathname + (shown.toString() ? "?" + shown : ""));
    document.body.removeAttribute("data-ready");
    const page = preloaded || await api(base + "/runs?" + query);
    preloaded = null;
    if (page.filter_error) { showFilterError(page.filter_error); UI.ready(); return; }
    errorBox.classList.remove("shown");
    errorBox.replaceChildren();
    if (state.columns === null) state.columns = defaultColumns(page.runs);
    const heads = el("tr", {}, el("th", {}, ""), header("name", "attributes.name"), header("status", "attributes.status"),
      header("start", "attributes.start_time"), header("duration", null, true), header("run", null),
      state.columns.map((c) => { const [kind, ...rest] = c.split(":"); const key = rest.join(":");
        return header(key, keyText(kind, key), kind === "metrics"); }));
    const body = el("tbody", {}, page.runs.map((r) => row(r, 0)));
    tableHolder.replaceChildren(page.runs.length
      ? el("div", { class: "scroll" }, el("table", { class: "data", id: "runs-table" }, el("thead", {}, heads), body))
      : el("p", { class: "note", id: "no-runs" }, state.filter ? "No run matches this filter." : "No runs in this experiment yet."));
    const last = state.offset + page.runs.length;
    const prev = el("button", { class: "btn", id: "prev-page", disabled: state.offset === 0 }, "‹ previous");
    const next = el("button", { class: "btn", id: "next-page", disabled: !page.more }, "next ›");
    prev.addEventListener("click", () => { state.offset = Math.max(0, state.offset - data.page_size); load(); });
    next.addEventListener("click", () => { state.offset += data.page_size; load(); });
    const info = el("span", { id: "page-info" }, page.runs.length ? `${num(state.offset + 1)}–${num(last)}` : "");
    pager.replaceChildren(prev, next, info);
    // The total comes after the page: counting 100,000 filtered runs must not hold the table back.
    const ticket = ++counting;
    api(base + "/count?" + query).then((answer) => {
      if (ticket !== counting || answer.total === null || !page.runs.length) return;
      info.textContent = `${num(state.offset + 1)}–${num(last)} of ${num(answer.total)} ${page.nested ? "top-level runs" : "runs"}`;
      info.dataset.total = String(answer.total);
    });
    UI.ready();
  }

  load();
})();
