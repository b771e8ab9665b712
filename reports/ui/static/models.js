"use strict";
// `/models`: the registered models the caller may read.
(() => {
  const { el, data, path, card, table, time } = UI;
  const app = document.getElementById("app");
  app.append(card(null, data.models.length ? table([
    { label: "model", value: (m) => el("a", { href: path.model(m.name), class: "model-link" }, m.name) },
    { label: "latest version", num: true, value: (m) => m.latest === null ? "—" : el("a", { href: path.version(m.name, m.latest) }, "v" + m.latest) },
    { label: "aliases", value: (m) => Object.entries(m.aliases).map(([a, v]) => `@${a} → v${v}`).join(", ") || "—" },
    { label: "updated", value: (m) => time(m.updated_at) },
    { label: "description", value: (m) => m.description || "" },
  ], data.models, { id: "models-table" }) : el("p", { class: "note" }, "No registered models. A sweep registers its winner as @challenger; `sweeps models list` shows them too.")));
  UI.ready();
})();
