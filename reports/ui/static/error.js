"use strict";
// A page that could not be shown: the status and the server's message, as text.
(() => {
  const { el, data, card } = UI;
  document.getElementById("app").append(
    card(null, el("p", { class: "error-text", id: "error-message" }, data.message), el("p", {}, el("a", { href: "/" }, "back to the experiments"))));
  UI.ready();
})();
