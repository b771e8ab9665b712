"use strict";
// `/models/{name}/versions/{n}`: the version's lineage (tracking.registry.lineage): payload,
// run, sweep, code, environment and its audit trail.
(() => {
  const { el, data, path, card, kv, table, time, num } = UI;
  const app = document.getElementById("app");
  const l = data.lineage;
  const run = l.run || {};
  app.append(el("div", { class: "grid" },
    card("Version", kv([["model", el("a", { href: path.model(l.name) }, l.name)], ["version", "v" + l.version], ["uri", l.model_uri],
      ["stage", l.stage], ["aliases", l.aliases.map((a) => "@" + a).join(" ") || "—"], ["registered", time(l.created_at)],
      ["source", l.source], ["sha256 (registered)", l.sha256.registered || "—"], ["sha256 (payload)", l.sha256.payload || "—"]])),
    card("Run", kv([["run", run.run_id ? el("a", { href: path.run(run.run_id) }, run.run_id) : "—"], ["status", run.status || "—"],
      ...Object.entries(run.metrics || {}).sort().map(([k, v]) => [k, num(v)])])),
    card("Sweep", l.sweep ? kv([["sweep", l.sweep.sweep_id ? el("a", { href: path.sweep(l.sweep.sweep_id) }, l.sweep.sweep_id) : "—"],
      ["rank", l.sweep.rank === null ? "—" : `${l.sweep.rank} of ${l.sweep.size}`], ["metric", `${l.sweep.metric || "—"} (${l.sweep.goal || "—"})`],
      ["sampler / pruner", `${l.sweep.sampler || "—"} / ${l.sweep.pruner || "—"}`], ["objective", l.sweep.objective || "—"]]) : el("p", { class: "note" }, "not from a sweep")),
    card("Code and environment", kv([["commit", l.code.commit || "—"], ["dirty", l.code.dirty === null ? "—" : String(l.code.dirty)],
      ["python", l.environment.python || "—"], ["platform", l.environment.platform || "—"], ["packages", String(l.environment.package_count)]]))));
  app.append(card("Params", table([{ label: "param", value: (p) => p[0] }, { label: "value", value: (p) => p[1] }],
    Object.entries(run.params || {}).sort(), { id: "lineage-params" })));
  if (l.sweep && l.sweep.config) app.append(card("Config", el("pre", { class: "preview" }, l.sweep.config)));
  app.append(card("Audit trail", table([
    { label: "when", value: (a) => time(a.at_ms) }, { label: "action", value: (a) => a.action }, { label: "what", value: (a) => a.subject || "" },
    { label: "from", value: (a) => a.from || a.from_value || "" }, { label: "to", value: (a) => a.to || a.to_value || "" },
    { label: "who", value: (a) => a.actor }, { label: "why", value: (a) => a.reason || "" },
  ], l.audit, { id: "lineage-audit" })));
  if (l.notes.length) app.append(card("Notes", el("ul", {}, l.notes.map((n) => el("li", {}, n)))));
  UI.ready();
})();
