"use strict";
// `/models/{name}`: versions, aliases, stages and the audit log, with the actions the
// caller's role allows (the server checks every one again; the buttons only save a refusal).
(() => {
  const { el, data, path, api, card, table, time, kv, message } = UI;
  const app = document.getElementById("app");
  const name = data.name;
  const feedback = el("div", { id: "action-message", role: "status" });

  function select(id, options, value) {
    return el("select", { id }, options.map((o) => el("option", { value: o, selected: String(o) === String(value) }, o)));
  }
  const versions = data.versions.map((v) => v.version);
  const latest = versions.length ? Math.max(...versions) : "";

  async function act(kind, body) {
    feedback.replaceChildren(message("working…"));
    try {
      const answer = await api(`/ui/api/models/${encodeURIComponent(name)}/${kind}`, { json: body });
      const text = kind === "promote" ? (answer.promoted ? "promoted: " : "champion stays: ") + answer.reason : "done";
      sessionStorage.setItem("sweeps-action", text);
      location.reload();
    } catch (error) {
      feedback.replaceChildren(message(`refused (${error.status}): ${error.message}`, "bad"));
      feedback.dataset.status = String(error.status);
    }
  }
  const done = sessionStorage.getItem("sweeps-action");
  if (done) { feedback.replaceChildren(message(done, "good")); sessionStorage.removeItem("sweeps-action"); }

  app.append(el("div", { class: "grid" },
    card("Model", kv([["name", name], ["your role", data.role], ["description", data.description || "—"],
      ["aliases", Object.entries(data.aliases).map(([a, v]) => `@${a} → v${v}`).join(", ") || "—"],
      ["protected aliases", data.protected.join(", ") || "—"]])),
    card("Actions", feedback, actions())));

  function actions() {
    const parts = [];
    const reason = el("input", { type: "text", id: "action-reason", placeholder: "why (kept in the audit log)" });
    parts.push(el("div", { class: "actions" }, el("label", {}, "reason", reason)));
    if (data.can.alias) {
      const alias = el("input", { type: "text", id: "alias-name", value: "champion" });
      const version = select("alias-version", versions, latest);
      const go = el("button", { class: "btn primary", id: "set-alias", type: "button" }, "Set alias");
      go.addEventListener("click", () => act("alias", { alias: alias.value, version: version.value, reason: reason.value }));
      parts.push(el("div", { class: "actions" }, el("label", {}, "alias", alias), el("label", {}, "version", version), go));
    }
    if (data.can.stage) {
      const version = select("stage-version", versions, latest);
      const stage = select("stage-name", data.stages, "Staging");
      const archive = el("input", { type: "checkbox", id: "archive-existing" });
      const go = el("button", { class: "btn primary", id: "set-stage", type: "button" }, "Set stage");
      go.addEventListener("click", () => act("stage", { version: version.value, stage: stage.value, archive_existing: archive.checked, reason: reason.value }));
      parts.push(el("div", { class: "actions" }, el("label", {}, "version", version), el("label", {}, "stage", stage),
        el("label", {}, "archive others", archive), go));
    }
    if (data.can.promote) {
      const metric = el("input", { type: "text", id: "promote-metric", placeholder: "val_accuracy" });
      const goal = select("promote-goal", ["maximize", "minimize"], "maximize");
      const delta = el("input", { type: "text", id: "promote-delta", value: "0", size: 6 });
      const go = el("button", { class: "btn primary", id: "promote", type: "button" }, "Promote challenger");
      go.addEventListener("click", () => act("promote", { metric: metric.value, goal: goal.value, min_delta: delta.value, reason: reason.value }));
      parts.push(el("div", { class: "actions" }, el("label", {}, "metric", metric), el("label", {}, "goal", goal), el("label", {}, "min delta", delta), go));
    }
    if (parts.length === 1) return el("p", { class: "note", id: "no-actions" }, `your role (${data.role}) allows no changes here`);
    return el("div", {}, parts);
  }

  app.append(card("Versions", table([
    { label: "version", num: true, value: (v) => el("a", { href: path.version(name, v.version) }, "v" + v.version) },
    { label: "stage", value: (v) => v.stage },
    { label: "aliases", value: (v) => v.aliases.map((a) => "@" + a).join(" ") },
    { label: "run", value: (v) => v.run_id ? el("a", { href: path.run(v.run_id) }, v.run_id.slice(0, 8)) : "—" },
    { label: "created", value: (v) => time(v.created_at) },
    { label: "source", value: (v) => v.source },
  ], [...data.versions].reverse(), { id: "versions-table" })));
  app.append(card("Audit log", data.audit.length ? table([
    { label: "when", value: (a) => time(a.at) }, { label: "action", value: (a) => a.action },
    { label: "what", value: (a) => a.subject || "" }, { label: "version", num: true, value: (a) => a.version === null ? "" : "v" + a.version },
    { label: "from", value: (a) => a.from || "" }, { label: "to", value: (a) => a.to || "" },
    { label: "who", value: (a) => a.actor }, { label: "why", value: (a) => a.reason || "" },
  ], [...data.audit].reverse(), { id: "audit-table" }) : el("p", { class: "note" }, "no entries")));
  UI.ready();
})();
