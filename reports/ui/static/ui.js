// Shared helpers of the Sweeps pages. Every user string goes in as text (textContent / text
// nodes / setAttribute of plain attributes): nothing here ever parses data as HTML.
"use strict";

const UI = (() => {
  const data = JSON.parse(document.getElementById("page-data").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const path = {
    experiment: (name) => "/experiments/" + encodeURIComponent(name),
    run: (id) => "/runs/" + encodeURIComponent(id),
    sweep: (id) => "/sweeps/" + encodeURIComponent(id),
    model: (name) => "/models/" + encodeURIComponent(name),
    version: (name, v) => "/models/" + encodeURIComponent(name) + "/versions/" + encodeURIComponent(v),
    compare: (ids) => "/compare?runs=" + ids.map(encodeURIComponent).join(","),
  };

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.error && body.error.message) || "HTTP " + status);
      this.status = status;
      this.body = body;
    }
  }

  async function api(url, options) {
    const opts = Object.assign({ headers: {} }, options || {});
    opts.headers = Object.assign({ Accept: "application/json" }, opts.headers);
    if (opts.json !== undefined) {
      opts.method = opts.method || "POST";
      opts.body = JSON.stringify(opts.json);
      opts.headers["Content-Type"] = "application/json";
      opts.headers["X-CSRF-Token"] = csrf;
      delete opts.json;
    }
    opts.credentials = "same-origin";
    const answer = await fetch(url, opts);
    let body = null;
    try { body = await answer.json(); } catch (e) { body = null; }
    if (!answer.ok) throw new ApiError(answer.status, body);
    return body;
  }

  function num(value, digits) {
    if (value === null || value === undefined || value === "") return "—";
    const n = Number(value);
    if (Number.isNaN(n)) return "NaN";
    if (!Number.isFinite(n)) return n > 0 ? "inf" : "-inf";
    if (Number.isInteger(n) && Math.abs(n) < 1e15) return String(n);
    const a = Math.abs(n);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return n.toExponential((digits || 4) - 1);
    return String(Number(n.toPrecision(digits || 4)));
  }

  function time(ms) {
    if (!ms) return "—";
    const d = new Date(Number(ms));
    const pad = (x) => String(x).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined || Number.isNaN(Number(seconds))) return "—";
    const s = Number(seconds);
    if (s < 1) return s.toFixed(2) + " s";
    if (s < 60) return s.toFixed(1) + " s";
    if (s < 3600) return Math.floor(s / 60) + " m " + Math.round(s % 60) + " s";
    return Math.floor(s / 3600) + " h " + Math.round((s % 3600) / 60) + " m";
  }

  function status(text) {
    return el("span", { class: "status " + String(text).replace(/[^A-Z]/g, "") }, text);
  }

  function card(title, ...children) {
    return el("section", { class: "card" }, title ? el("h2", {}, title) : null, ...children);
  }

  function kv(pairs) {
    const list = el("dl", { class: "kv" });
    for (const [k, v] of pairs) list.append(el("dt", {}, k), el("dd", {}, v));
    return list;
  }

  // columns: [{label, value(row) -> Node|string, num, sort}], rows: array
  function table(columns, rows, options) {
    const opts = options || {};
    const head = el("tr", {}, columns.map((c) => el("th", { class: c.num ? "num" : null, title: c.title || c.label }, c.label)));
    const body = el("tbody", {});
    for (const row of rows) {
      const tr = el("tr", { class: opts.rowClass ? opts.rowClass(row) : null },
        columns.map((c) => el("td", { class: c.num ? "num" : null }, c.value(row))));
      body.append(tr);
    }
    return el("div", { class: "scroll" }, el("table", { class: "data", id: opts.id || null }, el("thead", {}, head), body));
  }

  function message(text, kind) {
    return el("p", { class: "message " + (kind || "") }, text);
  }

  // WebGL charts at the screen's own pixel ratio: plotly's default (2) draws four times the pixels
  // on an ordinary screen, which a browser without a GPU pays for in every frame.
  const plotConfig = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d"],
    plotGlPixelRatio: Math.min(4, Math.max(1, window.devicePixelRatio || 1)) };
  const layoutBase = (extra) => Object.assign({
    margin: { l: 64, r: 24, t: 16, b: 60 },
    font: { family: "system-ui, sans-serif", size: 12 },
    paper_bgcolor: "#fff", plot_bgcolor: "#fff",
    legend: { orientation: "h", yanchor: "top", y: -0.3 },
    xaxis: { automargin: true, gridcolor: "#eef0f3" },
    yaxis: { automargin: true, gridcolor: "#eef0f3" },
  }, extra || {});

  // WebGL past a few thousand points (where SVG slows down); below that SVG draws sooner, since
  // a WebGL context costs more to start than a path of a few thousand points costs to draw.
  const GL_ABOVE = 4000;
  const traceType = (points) => (points > GL_ABOVE ? "scattergl" : "scatter");

  function ready() { document.body.setAttribute("data-ready", "1"); }

  // plotly.js comes after the page's own script (templates/page.html), so that a page asks for
  // its data while the browser is still reading 4.8 MB of plotly; charts wait for this first.
  const charts = new Promise((resolve) => {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => resolve(), { once: true });
    else resolve();
  });

  return { data, csrf, el, path, api, ApiError, num, time, duration, status, card, kv, table, message, plotConfig, layoutBase, traceType, ready, charts };
})();
