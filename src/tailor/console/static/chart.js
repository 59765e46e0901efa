// Line charts as inline SVG (no library): points are [step, value]. Pointer and keyboard read the
// values: hovering, or focusing the chart and moving with the arrow keys (Home/End), shows the step
// and value beside the point and in a live text line; a visually hidden table lists every point.
const NS = "http://www.w3.org/2000/svg";
let charts = 0;

function el(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function html(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

/**
 * A chart of ``points`` over steps 0..``totalSteps``.
 * opts: label (accessible name), name (of the value: "loss"), format (value → text),
 * zero (the value axis starts at 0), marker (a step to mark, e.g. the current one, with its label
 * markerLabel), empty (text while there are no points).
 * Returns a <figure class="chart-figure"> holding the SVG (class "chart"), the readout and the table.
 */
export function lineChart(points, totalSteps, opts = {}) {
  const name = opts.name || "value";
  const fmt = opts.format || ((v) => v.toFixed(4));
  const label = opts.label || `${name} by step`;
  const id = `chart${++charts}`;
  // as wide as the page allows (so that labels stay legible on a phone), at most 960 units
  const W = Math.round(Math.min(960, Math.max(340, window.innerWidth - 60)));
  const H = Math.round((opts.height || 260) * (W < 600 ? 0.8 : 1)), L = 64, R = 16, T = 14, B = 30;
  const svg = el("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, "data-name": name });
  const figure = html("figure", { class: "chart-figure" });
  const pts = points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]));
  if (!pts.length) {
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
    svg.append(el("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, opts.empty || `The ${name} appears here once training reports it.`));
    figure.append(svg);
    return figure;
  }
  const maxX = Math.max(totalSteps || 0, ...pts.map((p) => p[0]), 1);
  let lo = opts.zero ? 0 : Math.min(...pts.map((p) => p[1]));
  let hi = Math.max(...pts.map((p) => p[1]));
  if (hi - lo < 1e-12) { hi += hi ? Math.abs(hi) * 0.5 : 0.5; lo = opts.zero ? 0 : Math.max(0, lo - (lo ? Math.abs(lo) * 0.5 : 0.5)); }
  const x = (s) => L + (s / maxX) * (W - L - R);
  const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  svg.append(el("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }));
  svg.append(el("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B }));
  for (const v of [lo, (lo + hi) / 2, hi]) svg.append(el("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, fmt(v)));
  svg.append(el("text", { x: L, y: H - 8 }, "0"));
  svg.append(el("text", { x: W - R, y: H - 8, "text-anchor": "end" }, `step ${maxX}`));
  const d = pts.map((p, i) => `${i ? "L" : "M"}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" ");
  svg.append(el("path", { class: "line", d }));

  // the marked step (the current one): a dashed line and the value there
  if (opts.marker !== undefined && opts.marker !== null) {
    const at = nearest(pts, opts.marker);
    const mx = x(opts.marker);
    svg.append(el("line", { class: "marker", x1: mx, y1: T, x2: mx, y2: H - B }));
    svg.append(el("circle", { class: "marker-dot", cx: mx, cy: y(pts[at][1]), r: 5 }));
    svg.append(el("text", { class: "marker-label", x: mx > W - 120 ? mx - 6 : mx + 6, y: T + 12, "text-anchor": mx > W - 120 ? "end" : "start" },
      opts.markerLabel || `step ${opts.marker}`));
  } else {
    const last = pts[pts.length - 1];
    svg.append(el("circle", { cx: x(last[0]), cy: y(last[1]), r: 3, fill: "currentColor" }));
  }

  // the hover: a guide, a dot and a label, hidden until the pointer or the keyboard picks a point
  const guide = el("line", { class: "guide", x1: 0, y1: T, x2: 0, y2: H - B, visibility: "hidden" });
  const dot = el("circle", { class: "guide-dot", r: 5, cx: 0, cy: 0, visibility: "hidden" });
  const tipBox = el("rect", { class: "tip", rx: 4, width: 0, height: 22, visibility: "hidden" });
  const tip = el("text", { class: "tip-text", visibility: "hidden" });
  svg.append(guide, dot, tipBox, tip);
  const readout = html("p", { class: "chart-readout", id: `${id}-readout`, "aria-live": "polite" },
    `Point at the chart, or focus it and use the arrow keys, to read the ${name} at each step.`);
  const text = (p) => `Step ${p[0]}: ${name} ${fmt(p[1])}`;
  let current = -1;
  function show(i) {
    current = Math.max(0, Math.min(pts.length - 1, i));
    const p = pts[current];
    const px = x(p[0]), py = y(p[1]);
    for (const e of [guide, dot, tipBox, tip]) e.setAttribute("visibility", "visible");
    guide.setAttribute("x1", px); guide.setAttribute("x2", px);
    dot.setAttribute("cx", px); dot.setAttribute("cy", py);
    tip.textContent = text(p);
    const width = 8.2 * tip.textContent.length + 12;
    const left = px + width + 12 > W - R ? px - width - 8 : px + 8;
    const top = Math.max(T, Math.min(py - 30, H - B - 26));
    tipBox.setAttribute("x", left); tipBox.setAttribute("y", top); tipBox.setAttribute("width", width);
    tip.setAttribute("x", left + 6); tip.setAttribute("y", top + 16);
    readout.textContent = text(p);
    svg.setAttribute("aria-valuenow", p[0]);
    svg.setAttribute("aria-valuetext", text(p));
  }
  function hide() {
    for (const e of [guide, dot, tipBox, tip]) e.setAttribute("visibility", "hidden");
  }
  svg.addEventListener("pointermove", (ev) => {
    const box = svg.getBoundingClientRect();
    const step = ((ev.clientX - box.left) / box.width * W - L) / (W - L - R) * maxX;
    show(nearest(pts, step));
  });
  svg.addEventListener("pointerleave", () => { if (document.activeElement !== svg) hide(); });
  svg.addEventListener("focus", () => show(current >= 0 ? current : pts.length - 1));
  svg.addEventListener("blur", hide);
  svg.addEventListener("keydown", (ev) => {
    const page = Math.max(1, Math.round(pts.length / 10));
    const moves = { ArrowLeft: -1, ArrowDown: -1, ArrowRight: 1, ArrowUp: 1, PageDown: -page, PageUp: page };
    if (ev.key in moves) show((current < 0 ? pts.length - 1 : current) + moves[ev.key]);
    else if (ev.key === "Home") show(0);
    else if (ev.key === "End") show(pts.length - 1);
    else return;
    ev.preventDefault();
  });
  // a focusable slider over the points: its value text is the step and value under the guide
  Object.entries({
    tabindex: 0, role: "slider", "aria-label": `${label} (arrow keys move between steps)`,
    "aria-valuemin": pts[0][0], "aria-valuemax": pts[pts.length - 1][0], "aria-valuenow": pts[pts.length - 1][0],
    "aria-valuetext": text(pts[pts.length - 1]), "aria-describedby": `${id}-readout`,
  }).forEach(([k, v]) => svg.setAttribute(k, String(v)));

  const table = html("table", { class: "visually-hidden" },
    html("caption", {}, label),
    html("thead", {}, html("tr", {}, html("th", { scope: "col" }, "Step"), html("th", { scope: "col" }, name))),
    html("tbody", {}, ...pts.map((p) => html("tr", {}, html("td", {}, String(p[0])), html("td", {}, fmt(p[1]))))));
  figure.append(svg, readout, table);
  return figure;
}

function nearest(pts, step) {
  let best = 0;
  for (let i = 1; i < pts.length; i++) if (Math.abs(pts[i][0] - step) < Math.abs(pts[best][0] - step)) best = i;
  return best;
}

/** The training loss by step. */
export function lossChart(points, totalSteps) {
  return lineChart(points, totalSteps, { label: "Training loss by step", name: "loss", format: (v) => v.toFixed(4) });
}

/** The learning rate by step as the trainer's schedule computes it, with the current step marked. */
export function lrChart(schedule, totalSteps, currentStep) {
  return lineChart(schedule, totalSteps, {
    label: "Learning rate by step", name: "learning rate", zero: true, height: 180,
    format: (v) => (v === 0 ? "0" : v.toExponential(2)),
    marker: currentStep || null, markerLabel: currentStep ? `now: step ${currentStep}` : undefined,
    empty: "The learning-rate schedule appears here once the run starts.",
  });
}
