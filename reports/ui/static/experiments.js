"use strict";
// `/`: every experiment the caller may read, with run and sweep counts and last activity.
(() => {
  const { el, data, path, table, card, num, time } = UI;
  const app = document.getElementById("app");
  if (!data.experiments.length) {
    app.append(card(null, el("p", {}, "No experiments yet. Run a sweep (`sweeps run configs/digits-sgd.yaml`) or log a run, then reload.")));
  } else {
    app.append(card(null, table([
      { label: "experiment", value: (e) => el("a", { href: path.experiment(e.name), class: "experiment-link" }, e.name) },
      { label: "runs", num: true, value: (e) => num(e.runs) },
      { label: "sweeps", num: true, value: (e) => num(e.sweeps) },
      { label: "last activity", value: (e) => time(e.last_activity) },
    ], data.experiments, { id: "experiments-table" })));
  }
  UI.ready();
})();
