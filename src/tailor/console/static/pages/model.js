// One model: training (expert form, start/stop, live progress, loss chart), checkpoint comparison,
// checkpoints, download.
import { api, V1 } from "../api.js";
import { lossChart } from "../chart.js";
import { elapsedText, estimatePanel, samplesPanel, trainingCharts } from "../training.js";
import { badge, busy, duration, errorBox, field, flash, h, label, page, renameButton, select, when } from "../ui.js";

// The contract's ranges for expert training.
const EXPERT = [
  ["learning_rate", "Learning rate", { min: 0.000001, max: 0.001, step: "any", value: 0.0001 }, "1e-6 to 1e-3"],
  ["total_training_steps", "Total training steps", { min: 1, max: 5000, step: 1, value: 750 }, "1 to 5000"],
  ["rank", "LoRA rank", { min: 4, max: 256, step: 1, value: 128 }, "4 to 256"],
  ["checkpoint_interval", "Checkpoint interval", { min: 100, step: 1, value: 500 }, "at least 100 steps"],
  ["lr_warmup_steps", "Warm-up steps", { min: 0, max: 1000, step: 1, placeholder: "automatic", required: false }, "0 to 1000, fewer than the total steps; empty: 100, or a tenth of a run of 200 steps or less"],
];
const SCHEDULERS = ["constant_with_warmup", "constant", "linear", "cosine", "cosine_with_restarts", "polynomial"];
const ACTIVE = new Set(["InProgress", "Stopping"]);

function history(model, checkpoints, seen) {
  const tp = model.training_progress || {};
  const pts = new Map(seen);
  for (const item of tp.loss_history || tp.losses || []) {
    if (Array.isArray(item)) pts.set(Number(item[0]), Number(item[1]));
    else if (item && typeof item === "object") pts.set(Number(item.step), Number(item.loss));
  }
  for (const c of checkpoints) if (c.loss !== null && c.loss !== undefined) pts.set(Number(c.checkpoint_step), Number(c.loss));
  if (tp.loss !== null && tp.loss !== undefined && tp.step) pts.set(Number(tp.step), Number(tp.loss));
  for (const [k, v] of pts) seen.set(k, v);
  return [...pts.entries()].sort((a, b) => a[0] - b[0]);
}

function trainingForm(model, onStarted) {
  const errors = h("div");
  const submit = h("button", { type: "submit" }, "Start training");
  const fields = model.training_mode === "expert"
    ? [field("LR scheduler", select("lr_scheduler", SCHEDULERS, "constant_with_warmup")),
      ...EXPERT.map(([name, label, attrs, hint]) => field(label, h("input", { type: "number", name, required: true, ...attrs }), hint))]
    : [h("p", { class: "hint" }, "Fully automated: Tailor chooses the parameters from the dataset and IP type.")];
  const estimate = estimatePanel(model);
  const form = h("form", { "aria-labelledby": "train-title" }, h("h2", { id: "train-title" }, "Train"),
    h("div", { class: "fields" }, ...fields), estimate.el, errors, h("div", { class: "row mt" }, submit));
  const chosen = () => {
    const body = {};
    if (model.training_mode === "expert") {
      for (const [k, v] of new FormData(form).entries()) if (v !== "") body[k] = k === "lr_scheduler" ? v : Number(v);
    }
    return body;
  };
  // the estimate follows the parameters as they are typed
  form.addEventListener("input", () => estimate.refresh(chosen()));
  estimate.refresh(chosen(), 0);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    errors.replaceChildren();
    if (!form.reportValidity()) return;
    const body = chosen();
    busy(submit, async () => {
      await api("POST", `${V1}/models/${model.id}/start_training`, { json: body });
      flash("success", "Training started.");
      onStarted();
    }, errors);
  });
  return h("section", { class: "panel" }, form);
}

function progressPanel(model, points, checkpoints, onStop) {
  const tp = model.training_progress || {};
  const total = tp.total_steps || model.training_parameters?.total_training_steps || 0;
  const stop = h("button", { type: "button", class: "danger", disabled: model.status !== "InProgress" }, "Stop training");
  stop.addEventListener("click", () => {
    if (!confirm("Stop training? It cannot be resumed.")) return;
    busy(stop, async () => { await api("POST", `${V1}/models/${model.id}/stop_training`); onStop(); });
  });
  return h("section", { class: "panel", id: "prog", "aria-labelledby": "prog-title" },
    h("div", { class: "row" }, h("h2", { id: "prog-title" }, "Training progress"), h("span", { class: "spacer" }), ACTIVE.has(model.status) ? stop : null),
    h("progress", { max: total || 1, value: tp.step || 0, "aria-label": "Training steps" }),
    h("p", { id: "progress-text", "aria-live": "polite" },
      `Step ${tp.step ?? 0} of ${total || "?"} · loss ${tp.loss !== null && tp.loss !== undefined ? Number(tp.loss).toFixed(4) : "—"}` +
        (ACTIVE.has(model.status) ? ` · ETA ${duration(tp.eta_seconds)}` : ` · ${model.status}`)),
    elapsedText(model, tp, ACTIVE.has(model.status)),
    model.queue && model.queue.state === "queued" ? h("p", { id: "queue-text", class: "hint" }, `Waiting for a worker: ${model.queue.message}.`) : null,
    trainingCharts(tp, points, total),
    samplesPanel(checkpoints, tp));
}

// A Stopped model keeps the checkpoints its run saved: each can be downloaded, and completing the
// model from one (POST .../complete_from_checkpoint) makes it Completed, serving that checkpoint.
function completeButton(model, step, reload, text) {
  const b = h("button", { type: "button", class: "secondary", "data-complete": String(step) }, text);
  b.addEventListener("click", () => busy(b, async () => {
    await api("POST", `${V1}/models/${model.id}/complete_from_checkpoint`, { json: { checkpoint_step: step } });
    await reload();
    flash("success", `Model completed from checkpoint ${step}: it now serves it.`);
  }));
  return b;
}

function checkpointDownload(model, step, out) {
  const b = h("button", { type: "button", class: "secondary" }, "Download");
  b.addEventListener("click", () => busy(b, async () => {
    const d = await api("GET", `${V1}/models/${model.id}/download?checkpoint_step=${step}`);
    out.replaceChildren(h("a", { href: d.download_url, download: "" }, `Checkpoint ${d.checkpoint_step} weights`));
  }, out));
  return b;
}

function stoppedPanel(model, checkpoints, reload) {
  if (model.status !== "Stopped") return null;
  const steps = (checkpoints.checkpoints || []).map((c) => c.checkpoint_step);
  if (!steps.length) {
    return h("p", { class: "hint", id: "stopped-note" }, "Training was stopped before it saved a checkpoint, so there is nothing to serve or download (a stopped run cannot be resumed). Create a new model on the same dataset to train again.");
  }
  const latest = Math.max(...steps);
  return h("div", { id: "stopped-note" },
    h("p", { class: "hint" }, `Training was stopped before it finished (a stopped run cannot be resumed), but its checkpoints are kept: download any of them below, or complete the model from one to serve it — it then generates like a finished model.`),
    h("div", { class: "row" }, completeButton(model, latest, reload, `Complete from the latest checkpoint (${latest})`)));
}

function checkpointsPanel(model, data, reload) {
  const stopped = model.status === "Stopped";
  const rows = (data.checkpoints || []).map((c) => {
    const active = String(data.active_model_version) === String(c.checkpoint_step);
    const use = stopped ? completeButton(model, c.checkpoint_step, reload, "Complete from this one")
      : h("button", { type: "button", class: "secondary", disabled: active || model.status !== "Completed" }, active ? "Active" : "Use this version");
    if (!stopped) use.addEventListener("click", () => busy(use, async () => {
      await api("PUT", `${V1}/models/${model.id}`, { json: { active_model_version: c.checkpoint_step } });
      await reload();
      flash("success", `Checkpoint ${c.checkpoint_step} is now served.`);
    }));
    const dlOut = h("span", { class: "ck-download" });
    const dl = model.status === "Completed" || stopped ? checkpointDownload(model, c.checkpoint_step, dlOut) : null;
    const del = h("button", { type: "button", class: "danger", disabled: active }, "Delete");
    del.addEventListener("click", () => busy(del, async () => {
      await api("DELETE", `${V1}/models/${model.id}/checkpoints/${c.checkpoint_step}`);
      await reload();
    }));
    return h("tr", {},
      h("td", {}, String(c.checkpoint_step), active ? " ★" : ""),
      h("td", {}, c.loss !== null && c.loss !== undefined ? Number(c.loss).toFixed(4) : "—"),
      h("td", {}, c.sample_image_url ? h("img", { src: c.sample_image_url, alt: `Sample at step ${c.checkpoint_step}`, width: 96, height: 96 }) : "—"),
      h("td", {}, when(c.created_at)), h("td", {}, h("div", { class: "row" }, use, dl, del), dlOut));
  });
  return h("section", { class: "panel", "aria-labelledby": "ck-title" },
    h("h2", { id: "ck-title" }, "Checkpoints"),
    h("p", { class: "hint" }, `Active version: ${data.active_model_version ?? "final weights"}`),
    rows.length ? h("div", { class: "scroll-x" }, h("table", {}, h("thead", {}, h("tr", {}, ["Step", "Loss", "Sample", "Created", ""].map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows)))
      : h("p", { class: "empty" }, "No checkpoints yet."));
}

const SCORES = [["dino", "DINO"], ["clip_i", "CLIP-I"], ["clip_t", "CLIP-T"], ["memorisation", "Memorisation"]];

function scoreTable(scores) {
  if (!scores) return null;
  return h("table", {}, h("tbody", {}, SCORES.map(([k, label]) => h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, Number(scores[k]).toFixed(4))))));
}

// Checkpoint comparison (GET /models/{id}/evaluation): validation grids side by side with their
// scores, the base model's as the reference, the loss curve, and "serve this one".
function comparisonPanel(model, ev, points, reload) {
  if (!ev || !(ev.checkpoints || []).some((c) => c.scores || c.error)) return null;
  const serve = (version, button) => busy(button, async () => {
    await api("PUT", `${V1}/models/${model.id}`, { json: { active_model_version: version } });
    await reload();
    flash("success", `Checkpoint ${version === "best" ? ev.best_checkpoint_step : version} is now served.`);
  });
  const cards = [];
  if (ev.base) {
    cards.push(h("div", { class: "card", "data-step": "base" }, h("h3", {}, "Base model"),
      ...(ev.base.grid_image_urls || []).map((u) => h("img", { src: u, alt: "Base model validation grid" })), scoreTable(ev.base.scores)));
  }
  for (const c of ev.checkpoints) {
    const step = String(c.checkpoint_step);
    const best = step === ev.best_checkpoint_step;
    const active = String(ev.active_model_version) === step;
    const use = h("button", { type: "button", class: "secondary", disabled: active || model.status !== "Completed" }, active ? "Served" : "Serve this one");
    use.addEventListener("click", () => serve(c.checkpoint_step, use));
    cards.push(h("div", { class: `card${best ? " best" : ""}`, "data-step": step },
      h("h3", {}, `Step ${step}`, best ? " · suggested" : "", active ? " ★" : ""),
      ...(c.grid_image_urls || []).map((u) => h("img", { src: u, alt: `Validation grid at step ${step}` })),
      c.error ? errorBox(`Scoring failed: ${c.error}`) : scoreTable(c.scores),
      h("p", { class: "hint" }, `loss ${c.loss !== null && c.loss !== undefined ? Number(c.loss).toFixed(4) : "—"}`),
      h("div", { class: "row" }, use)));
  }
  const serveBest = h("button", { type: "button", id: "serve-best", disabled: !ev.best_checkpoint_step || model.status !== "Completed" }, "Serve the suggested checkpoint");
  serveBest.addEventListener("click", () => serve("best", serveBest));
  return h("section", { class: "panel", id: "evaluation", "aria-labelledby": "ev-title" },
    h("div", { class: "row" }, h("h2", { id: "ev-title" }, "Checkpoint comparison"), h("span", { class: "spacer" }), serveBest),
    h("p", { class: "hint" }, `Suggested: ${ev.best_checkpoint_step ?? "none"}. Rule: ${ev.best_rule}.`),
    h("div", { class: "compare" }, cards),
    lossChart(points, model.training_progress?.total_steps || 0));
}

export async function render(root, { id }) {
  let timer = null;
  const seen = new Map();
  const body = h("div");
  // Kept across redraws (polling, a new active version) so a download link stays on the page.
  const dlOut = h("div");
  let dlVersion = null;
  root.append(body);

  async function draw() {
    const model = await api("GET", `${V1}/models/${id}`);
    if (dlVersion !== null && String(model.active_model_version) !== dlVersion) dlOut.replaceChildren();
    dlVersion = String(model.active_model_version);
    const [checkpoints, project, dataset, evaluation] = await Promise.all([
      api("GET", `${V1}/models/${id}/checkpoints`).catch(() => ({ checkpoints: [] })),
      api("GET", `${V1}/projects/${model.project_id}`).catch(() => null),
      api("GET", `${V1}/datasets/${model.dataset_id}?max_images=1`).catch(() => null),
      api("GET", `${V1}/models/${id}/evaluation`).catch(() => null),
    ]);
    const points = history(model, checkpoints.checkpoints || [], seen);
    const hasCheckpoints = (checkpoints.checkpoints || []).length > 0;
    const download = h("button", { type: "button", class: "secondary", disabled: !(model.status === "Completed" || (model.status === "Stopped" && hasCheckpoints)) }, "Download weights");
    download.addEventListener("click", () => busy(download, async () => {
      const d = await api("GET", `${V1}/models/${id}/download`);
      const weights = d.base_model_weights && d.base_model_weights !== "briaai/FIBO" ? ` (trained on the weights "${d.base_model_weights}", not Bria's FIBO release)` : "";
      dlOut.replaceChildren(h("p", {}, h("a", { href: d.download_url, download: "" }, "Download the adapter"), ` · base model: ${d.base_model_name || "—"}${weights}`));
    }, dlOut));
    const del = h("button", { type: "button", class: "danger" }, "Delete model");
    del.addEventListener("click", () => {
      if (!confirm(`Delete model "${model.name}"?`)) return;
      busy(del, async () => { await api("DELETE", `${V1}/models/${id}`); location.hash = `#/projects/${model.project_id}`; });
    });
    // a chart focused from the keyboard keeps the focus across the redraw of a run in progress
    const focusedChart = document.activeElement?.closest?.("#prog svg.chart")?.dataset.name;
    const params = model.training_parameters || {};
    const crumbs = [["Projects", "#/projects"], [project ? project.project_name : `Project ${model.project_id}`, `#/projects/${model.project_id}`]];
    body.replaceChildren(...page(model.name || `Model ${id}`, crumbs,
      h("section", { class: "panel" },
        h("div", { class: "row" },
          h("dl", { class: "kv" },
            h("dt", {}, "Status"), h("dd", { id: "model-status" }, badge(model.status)),
            h("dt", {}, "Mode"), h("dd", {}, label(model.training_mode)),
            h("dt", {}, "Dataset"), h("dd", {}, h("a", { href: `#/datasets/${model.dataset_id}` }, dataset && dataset.name ? dataset.name : `Dataset ${model.dataset_id}`)),
            h("dt", {}, "Version"), h("dd", {}, model.training_version || "—"),
            ...Object.entries(params).flatMap(([k, v]) => [h("dt", {}, label(k)), h("dd", {}, v === null ? "—" : String(v))])),
          h("span", { class: "spacer" }),
          model.status === "Completed" ? h("a", { class: "button", href: `#/playground?model=${id}` }, "Open in playground") : null,
          download, renameButton("model", model.name, (name) => api("PUT", `${V1}/models/${id}`, { json: { name } }), () => draw()), del),
        model.error ? errorBox(`Training failed: ${model.error}`) : null,
        stoppedPanel(model, checkpoints, () => draw()),
        dlOut),
      model.status === "Created" ? trainingForm(model, () => draw()) : null,
      model.training_progress || ACTIVE.has(model.status) ? progressPanel(model, points, checkpoints.checkpoints || [], () => draw()) : null,
      comparisonPanel(model, evaluation, points, () => draw()),
      checkpointsPanel(model, checkpoints, () => draw())));
    if (focusedChart) body.querySelector(`#prog svg.chart[data-name="${focusedChart}"]`)?.focus();
    clearTimeout(timer);
    if (ACTIVE.has(model.status)) timer = setTimeout(() => draw().catch((e) => flash("error", e)), 2000);
  }

  await draw();
  return () => clearTimeout(timer);
}
