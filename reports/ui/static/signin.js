"use strict";
// The sign-in form: a token from `sweeps auth token add`, posted to this server only.
(() => {
  const { el, data, card } = UI;
  const form = el("form", { method: "post", action: "/signin", class: "signin", id: "signin-form" },
    el("label", { for: "token" }, "Token"),
    el("input", { type: "password", name: "token", id: "token", autocomplete: "off", required: true, placeholder: "sweeps_…" }),
    el("input", { type: "hidden", name: "next", value: data.next || "/" }),
    el("button", { type: "submit", class: "btn primary", id: "signin-button" }, "Sign in"));
  const parts = [form, el("p", { class: "note" }, "A token comes from `sweeps auth token add NAME` (or `sweeps auth user add NAME`) on the store's host.")];
  if (data.message) parts.unshift(UI.message(data.message, "bad"));
  document.getElementById("app").append(card(null, ...parts));
  UI.ready();
})();
