// The training part of the model page: the estimate before a run starts, elapsed time, the loss
// and learning-rate charts, and the checkpoint samples (large, labelled, with a lightbox).
import { api, V1 } from "./api.js";
import { lossChart, lrChart } from "./chart.js";
import { duration, errorBox, h } from "./ui.js";

function about(seconds) {
  if (seconds === null || seconds === undefined) return "unknown";
  if (seconds < 1) return "under a second";
  if (seconds < 90) return `about ${Math.round(seconds)} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 90 ? `about ${minutes} min` : `about ${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

export function bytes(n) {
  if (n === null || n === undefined) return null;
  for (const [unit, scale] of [["GB", 1e9], ["MB", 1e6], ["kB", 1e3]]) if (n >= scale) return `${(n / scale).toFixed(1)} ${unit}`;
  return `${n} B`;
}

/** One line of an estimate, and the line that says what it is based on. */
function estimateView(est) {
  const marks = est.checkpoint_steps.length;
  const disk = bytes(est.disk_bytes);
  const parts = [`${est.total_steps} steps`, `${marks} checkpoint${marks === 1 ? "" : "s"}`];
  if (disk) parts.push(`${disk} of checkpoint files`);
  const perStep = est.seconds_per_step !== null ? `${Number(est.seconds_per_step).toPrecision(3)} s per step` : null;
  return [
    h("p", { id: "estimate-text" }, h("strong", {}, `Estimated duration: ${about(est.estimated_seconds)}`), ` · ${parts.join(" · ")}`),
    h("p", { class: "hint", id: "estimate-basis", "data-source": est.basis.source },
      `Estimate${perStep ? ` (${perStep})` : ""}, based on: ${est.basis.description}.`),
    (est.overrides || []).length ? h("p", { class: "hint", id: "estimate-overrides" }, `This server's settings: ${est.overrides.join("; ")}.`) : null,
  ];
}

/**
 * The estimate panel of the training form: ``refresh(params)`` asks the API for the run these
 * parameters would make (expert ones are checked as a start checks them) and shows it.
 */
export function estimatePanel(model) {
  const box = h("div", { id: "estimate", class: "estimate", "aria-live": "polite" }, h("p", { class: "hint" }, "Estimating…"));
  let timer = null, seq = 0;
  async function load(params) {
    const mine = ++seq;
    const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v !== undefined && v !== null));
    try {
      const est = await api("GET", `${V1}/models/${model.id}/training_estimate${q.size ? `?${q}` : ""}`);
      if (mine === seq) box.replaceChildren(...estimateView(est).filter(Boolean));
    } catch (err) {
      if (mine === seq) box.replaceChildren(errorBox(err));
    }
  }
  return {
    el: box,
    refresh(params, delay = 300) { clearTimeout(timer); timer = setTimeout(() => load(params), delay); },
  };
}

/** "Elapsed 1m 05s" while training; "Took 5m 03s" after it ended. */
export function elapsedText(model, tp, active) {
  if (tp.elapsed_seconds === null || tp.elapsed_seconds === undefined) return null;
  const text = active ? `Elapsed ${duration(tp.elapsed_seconds)}` : `Took ${duration(tp.elapsed_seconds)}`;
  const started = tp.started_at ? ` (started ${new Date(tp.started_at).toLocaleString()})` : "";
  return h("p", { id: "elapsed-text", class: "hint" }, text + started);
}

/** The loss chart and, under it, the learning-rate schedule with the current step marked. */
export function trainingCharts(tp, points, total) {
  const lr = tp.learning_rate !== null && tp.learning_rate !== undefined ? ` · learning rate now ${Number(tp.learning_rate).toExponential(2)}` : "";
  return h("div", { class: "charts" },
    h("h3", { class: "mt" }, "Loss"), lossChart(points, total),
    h("h3", { class: "mt" }, "Learning rate", h("span", { class: "hint" }, lr)),
    lrChart(tp.lr_schedule || [], total, tp.step || null));
}

function promptSummary(prompt) {
  if (!prompt) return "—";
  try {
    const sp = JSON.parse(prompt);
    if (sp && typeof sp === "object" && sp.short_description) return sp.short_description;
  } catch { /* a plain prompt */ }
  return prompt;
}

let box = null;
/** The lightbox: one <dialog> for the page, closed with Escape, its button or a click beside the image. */
function lightbox() {
  if (box && box.isConnected) return box;
  const img = h("img", { alt: "" });
  const caption = h("figcaption", {});
  const close = h("button", { type: "button", class: "secondary lightbox-close" }, "Close");
  box = h("dialog", { class: "lightbox", id: "lightbox", "aria-label": "Sample" }, h("figure", {}, img, caption), close);
  close.addEventListener("click", () => box.close());
  box.addEventListener("click", (ev) => { if (ev.target === box) box.close(); });
  box.addEventListener("close", () => { if (box.opener && box.opener.isConnected) box.opener.focus(); });
  document.body.append(box);
  return box;
}

function openSample(src, alt, text, opener) {
  const d = lightbox();
  const [img, caption] = d.querySelector("figure").children;
  img.src = src; img.alt = alt;
  caption.textContent = text;
  d.setAttribute("aria-label", alt);
  d.opener = opener;
  d.showModal();
  d.querySelector(".lightbox-close").focus();
}

/** Checkpoint samples, large, each with its step, prompt and seed; a click enlarges one. */
export function samplesPanel(checkpoints, tp) {
  const shown = (checkpoints || []).filter((c) => c.sample_image_url).sort((a, b) => a.checkpoint_step - b.checkpoint_step);
  if (!shown.length) return null;
  const prompt = promptSummary(tp.sample_prompt);
  const seed = tp.sample_seed ?? "—";
  const cards = shown.map((c) => {
    const alt = `Sample at step ${c.checkpoint_step}`;
    const label = `Step ${c.checkpoint_step} · seed ${seed}${c.loss !== null && c.loss !== undefined ? ` · loss ${Number(c.loss).toFixed(4)}` : ""}`;
    const open = h("button", { type: "button", class: "sample-open", "aria-label": `Enlarge the sample at step ${c.checkpoint_step}` },
      h("img", { src: c.sample_image_url, alt, loading: "lazy" }));
    open.addEventListener("click", () => openSample(c.sample_image_url, alt, `${label} · prompt: ${prompt}`, open));
    return h("figure", { class: "sample-card", "data-step": String(c.checkpoint_step) }, open,
      h("figcaption", {}, h("strong", {}, label), h("span", { class: "sample-prompt" }, `Prompt: ${prompt}`)));
  });
  return h("div", { id: "samples" },
    h("h3", { class: "mt" }, "Samples"),
    h("p", { class: "hint" }, "Rendered at each checkpoint from the first caption of the dataset, with the same seed, so they show how the model changes."),
    h("div", { class: "sample-grid" }, cards));
}
