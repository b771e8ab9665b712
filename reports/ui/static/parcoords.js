"use strict";
// Parallel coordinates on a 2D canvas, with brushing. Lines are stroked as one path per colour
// bucket (and one for the faded ones), so 10,000 lines cost a few dozen strokes and no WebGL
// context, whose start-up alone took plotly's parcoords over a second without a GPU.
// Axis names are user data: they are set with textContent / title only.
const Parcoords = (() => {
  const VIRIDIS = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725"];
  const BUCKETS = 24;
  const HIT = 14; // px either side of an axis where a drag starts a brush
  const PAD = { top: 34, bottom: 14, right: 92 }; // the left pad follows the first axis' tick labels
  const FONT = "11px system-ui, sans-serif";
  const FADED = "rgba(140, 149, 159, 0.2)";

  const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  function viridis(t) {
    const at = Math.min(Math.max(t, 0), 1) * (VIRIDIS.length - 1);
    const i = Math.min(Math.floor(at), VIRIDIS.length - 2);
    const [a, b] = [rgb(VIRIDIS[i]), rgb(VIRIDIS[i + 1])];
    return a.map((x, k) => Math.round(x + (b[k] - x) * (at - i)));
  }
  const BUCKET_RGB = [...Array(BUCKETS).keys()].map((b) => viridis((b + 0.5) / BUCKETS));

  // The longest prefix of ``text`` (with "…") that fits in ``width`` px.
  function fit(ctx, text, width) {
    if (ctx.measureText(text).width <= width) return text;
    let n = text.length;
    while (n > 1 && ctx.measureText(text.slice(0, n) + "…").width > width) n--;
    return text.slice(0, n) + "…";
  }

  class Chart {
    constructor(holder, onchange) {
      this.holder = holder;
      this.onchange = onchange || (() => {});
      this.brushes = new Map(); // axis name -> [low, high] in the axis' [0, 1] units
      this.canvas = document.createElement("canvas");
      this.canvas.className = "pc-canvas";
      this.names = document.createElement("div");
      this.names.className = "pc-names";
      holder.replaceChildren(this.names, this.canvas);
      this.drag = null;
      this.pending = false;
      this.canvas.addEventListener("pointerdown", (e) => this.down(e));
      this.canvas.addEventListener("pointermove", (e) => this.move(e));
      this.canvas.addEventListener("pointerup", (e) => this.up(e));
      this.canvas.addEventListener("pointercancel", () => { this.drag = null; });
      this.observer = new ResizeObserver(() => this.later());
      this.observer.observe(holder);
    }

    // New data (a live redraw): brushes stay on the axes of the same name.
    update(p) {
      this.p = p;
      const names = new Set(p.axes.map((a) => a.name));
      for (const name of [...this.brushes.keys()]) if (!names.has(name)) this.brushes.delete(name);
      this.lines = p.colour.length;
      this.bucket = Uint8Array.from(p.colour, (c) => (c === null ? 0 : Math.min(BUCKETS - 1, Math.floor(c * BUCKETS))));
      this.names.replaceChildren(...p.axes.map((a) => {
        const span = document.createElement("span");
        span.className = "pc-name";
        span.textContent = a.name;
        span.title = a.name;
        return span;
      }));
      this.draw();
    }

    later() {
      if (this.pending) return;
      this.pending = true;
      requestAnimationFrame(() => { this.pending = false; this.draw(); });
    }

    layout(ctx) {
      const width = this.holder.clientWidth;
      const height = this.holder.clientHeight;
      const first = this.p.axes[0];
      const left = Math.min(120, 14 + Math.max(20, ...first.labels.map((l) => ctx.measureText(l).width)));
      const n = this.p.axes.length;
      const span = Math.max(1, width - left - PAD.right);
      const xs = this.p.axes.map((_, i) => left + (n > 1 ? (i * span) / (n - 1) : span / 2));
      return { width, height, xs, gap: n > 1 ? span / (n - 1) : span, top: PAD.top, bottom: height - PAD.bottom };
    }

    // Whether line ``i`` is inside every brush.
    selector() {
      const brushed = this.p.axes.map((a, k) => [k, this.brushes.get(a.name)]).filter(([, b]) => b);
      const cols = this.p.columns;
      return (i) => brushed.every(([k, [lo, hi]]) => cols[k][i] !== null && cols[k][i] >= lo && cols[k][i] <= hi);
    }

    draw() {
      if (!this.p || !this.holder.isConnected) return;
      const ratio = Math.max(1, window.devicePixelRatio || 1);
      const ctx = this.canvas.getContext("2d");
      ctx.font = FONT;
      const L = this.layout(ctx);
      this.L = L;
      if (this.canvas.width !== Math.round(L.width * ratio) || this.canvas.height !== Math.round(L.height * ratio)) {
        this.canvas.width = Math.round(L.width * ratio);
        this.canvas.height = Math.round(L.height * ratio);
        this.canvas.style.width = L.width + "px";
        this.canvas.style.height = L.height + "px";
      }
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.clearRect(0, 0, L.width, L.height);
      ctx.font = FONT;
      const inside = this.selector();
      const faded = [];
      const chosen = [...Array(BUCKETS)].map(() => []);
      for (let i = 0; i < this.lines; i++) (inside(i) ? chosen[this.bucket[i]] : faded).push(i);
      const selected = this.lines - faded.length;
      ctx.lineWidth = 1;
      ctx.lineJoin = "round";
      this.stroke(ctx, L, faded, FADED);
      // Fainter lines when there are many, so that dense bundles still show their shape.
      const alpha = selected > 3000 ? 0.3 : selected > 300 ? 0.45 : 0.85;
      chosen.forEach((list, b) => this.stroke(ctx, L, list, `rgba(${BUCKET_RGB[b].join(",")},${alpha})`));
      this.axes(ctx, L);
      this.colourBar(ctx, L);
      // Each name centred over its axis, cut to the room between axes, and kept inside the chart.
      const room = Math.max(40, Math.min(L.gap - 8, 220));
      this.names.querySelectorAll(".pc-name").forEach((span, k) => {
        span.style.maxWidth = room + "px";
        const half = span.offsetWidth / 2;
        span.style.left = Math.min(Math.max(L.xs[k], half), L.width - half) + "px";
      });
      const d = this.holder.dataset;
      d.lines = String(this.lines);
      d.selected = String(selected);
      d.drawn = String(this.lines); // every line stroked: faded or in colour
      d.axisX = L.xs.map((x) => x.toFixed(1)).join(",");
      d.plotTop = String(L.top);
      d.plotBottom = String(L.bottom);
      d.brushes = String(this.brushes.size);
      this.onchange({ selected, lines: this.lines, brushes: this.brushes.size });
    }

    stroke(ctx, L, list, colour) {
      if (!list.length) return;
      const cols = this.p.columns;
      const h = L.bottom - L.top;
      ctx.beginPath();
      for (const i of list) {
        let pen = false; // a missing value breaks the line instead of inventing a position
        for (let k = 0; k < cols.length; k++) {
          const v = cols[k][i];
          if (v === null) { pen = false; continue; }
          const y = L.top + (1 - v) * h;
          if (pen) ctx.lineTo(L.xs[k], y); else ctx.moveTo(L.xs[k], y);
          pen = true;
        }
      }
      ctx.strokeStyle = colour;
      ctx.stroke();
    }

    axes(ctx, L) {
      const h = L.bottom - L.top;
      this.p.axes.forEach((a, k) => {
        const x = L.xs[k];
        const brush = this.brushes.get(a.name);
        if (brush) {
          const [y0, y1] = [L.top + (1 - brush[1]) * h, L.top + (1 - brush[0]) * h];
          ctx.fillStyle = "rgba(36, 87, 197, 0.16)";
          ctx.fillRect(x - 6, y0, 12, Math.max(2, y1 - y0));
          ctx.strokeStyle = "rgba(36, 87, 197, 0.9)";
          ctx.lineWidth = 1.5;
          ctx.strokeRect(x - 6, y0, 12, Math.max(2, y1 - y0));
        }
        ctx.strokeStyle = "#3b4450";
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(x, L.top);
        ctx.lineTo(x, L.bottom);
        ctx.stroke();
        // Tick labels sit left of their axis, on a white halo so lines do not cross them.
        ctx.textAlign = "right";
        const room = k === 0 ? x - 10 : Math.max(24, L.gap - 28);
        a.ticks.forEach((t, j) => {
          const y = L.top + (1 - t) * h;
          const text = fit(ctx, String(a.labels[j] ?? ""), room);
          ctx.textBaseline = t >= 0.99 ? "top" : t <= 0.01 ? "bottom" : "middle";
          ctx.beginPath();
          ctx.moveTo(x - 4, y);
          ctx.lineTo(x, y);
          ctx.stroke();
          ctx.lineWidth = 3;
          ctx.strokeStyle = "rgba(255, 255, 255, 0.85)";
          ctx.strokeText(text, x - 8, y);
          ctx.fillStyle = "#1d232b";
          ctx.fillText(text, x - 8, y);
          ctx.lineWidth = 1;
          ctx.strokeStyle = "#3b4450";
        });
      });
    }

    colourBar(ctx, L) {
      const x = L.width - PAD.right + 30;
      const top = L.top + 16;
      const bottom = L.bottom - 4;
      const gradient = ctx.createLinearGradient(0, bottom, 0, top);
      VIRIDIS.forEach((c, i) => gradient.addColorStop(i / (VIRIDIS.length - 1), c));
      ctx.fillStyle = gradient;
      ctx.fillRect(x, top, 10, bottom - top);
      ctx.fillStyle = "#5d6875";
      ctx.textAlign = "left";
      ctx.textBaseline = "middle";
      ctx.fillText("best", x + 14, top + 4);
      ctx.fillText("worst", x + 14, bottom - 4);
      ctx.textAlign = "center";
      ctx.textBaseline = "bottom";
      ctx.fillText("rank", x + 5, top - 5);
    }

    // The axis under the pointer, and the value there; null away from every axis.
    at(e) {
      if (!this.L) return null;
      const box = this.canvas.getBoundingClientRect();
      const [x, y] = [e.clientX - box.left, e.clientY - box.top];
      const L = this.L;
      if (y < L.top - 8 || y > L.bottom + 8) return null;
      let k = -1;
      L.xs.forEach((ax, i) => { if (Math.abs(ax - x) <= HIT && (k < 0 || Math.abs(ax - x) < Math.abs(L.xs[k] - x))) k = i; });
      if (k < 0) return null;
      return { k, name: this.p.axes[k].name, value: Math.min(1, Math.max(0, 1 - (y - L.top) / (L.bottom - L.top))), y };
    }

    down(e) {
      const hit = this.at(e);
      if (!hit) return;
      e.preventDefault();
      this.canvas.setPointerCapture(e.pointerId);
      this.drag = { ...hit, moved: false };
    }

    move(e) {
      if (!this.drag) {
        this.canvas.style.cursor = this.at(e) ? "ns-resize" : "default";
        return;
      }
      const L = this.L;
      const box = this.canvas.getBoundingClientRect();
      const y = e.clientY - box.top;
      if (Math.abs(y - this.drag.y) < 3 && !this.drag.moved) return;
      this.drag.moved = true;
      const v = Math.min(1, Math.max(0, 1 - (y - L.top) / (L.bottom - L.top)));
      this.brushes.set(this.drag.name, [Math.min(v, this.drag.value), Math.max(v, this.drag.value)]);
      this.later();
    }

    up(e) {
      const drag = this.drag;
      this.drag = null;
      if (!drag) return;
      if (this.canvas.hasPointerCapture(e.pointerId)) this.canvas.releasePointerCapture(e.pointerId);
      if (!drag.moved) {
        // A click outside an axis' brush clears it, as in plotly's parcoords.
        const brush = this.brushes.get(drag.name);
        if (brush && (drag.value < brush[0] || drag.value > brush[1])) this.brushes.delete(drag.name);
      }
      this.draw();
    }

    // The chart is gone from the page: stop following its size.
    destroy() {
      this.observer.disconnect();
    }

    clear() {
      this.brushes.clear();
      this.draw();
    }
  }

  return { Chart, viridis };
})();
