// A loss chart as inline SVG (no library): points are [step, loss].
const NS = "http://www.w3.org/2000/svg";

function el(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

export function lossChart(points, totalSteps) {
  const W = 960, H = 260, L = 56, R = 16, T = 14, B = 30;
  const svg = el("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "Training loss by step" });
  const pts = points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]));
  if (!pts.length) {
    svg.append(el("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "The loss appears here once training reports it."));
    return svg;
  }
  const maxX = Math.max(totalSteps || 0, ...pts.map((p) => p[0]), 1);
  let lo = Math.min(...pts.map((p) => p[1])), hi = Math.max(...pts.map((p) => p[1]));
  if (hi - lo < 1e-9) { hi += 0.5; lo = Math.max(0, lo - 0.5); }
  const x = (s) => L + (s / maxX) * (W - L - R);
  const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  svg.append(el("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }));
  svg.append(el("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B }));
  for (const v of [lo, (lo + hi) / 2, hi]) {
    svg.append(el("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, v.toFixed(3)));
  }
  svg.append(el("text", { x: L, y: H - 8 }, "0"));
  svg.append(el("text", { x: W - R, y: H - 8, "text-anchor": "end" }, `step ${maxX}`));
  const d = pts.map((p, i) => `${i ? "L" : "M"}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" ");
  svg.append(el("path", { class: "line", d }));
  const last = pts[pts.length - 1];
  svg.append(el("circle", { cx: x(last[0]), cy: y(last[1]), r: 3, fill: "currentColor" }));
  svg.append(el("title", {}, `Latest loss ${last[1].toFixed(4)} at step ${last[0]}`));
  return svg;
}
