// The generation playground: prompt or structured prompt, influence, aspect ratio, seed; a gallery
// of results with "recreate" (same structured prompt + seed), "refine" (structured prompt + an edit) and,
// for tailored models, "animate" (a 5-second clip from the image, played inline); the project's
// generation history from the server, and a side-by-side comparison of models and checkpoints.
import { api, fileToBase64, list, V1, waitForRequest } from "../api.js";
import { busy, field, h, page, pretty, select } from "../ui.js";
import { comparePanel, historyPanel } from "./history.js";

const RATIOS = ["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9"];
const STORE = "tailor.gallery";

/** "queued, position 2: behind 1 running train_model job", "running (step 3 of 20)"... */
export function describeStatus(st) {
  const q = st.queue || {};
  const p = st.progress || {};
  if (q.state === "running" || (!q.state && st.status === "IN_PROGRESS")) {
    const step = p.step && p.total_steps ? ` (step ${p.step} of ${p.total_steps})` : "";
    return `Running${step}…`;
  }
  if (q.message) return q.message.charAt(0).toUpperCase() + q.message.slice(1) + ".";
  return `Request ${st.request_id}: ${st.status}`;
}

function describeItem(item) {
  const parts = [`seed ${item.seed ?? "—"}`, item.aspect_ratio || ""];
  if (item.model) {
    const version = item.model_version === null || item.model_version === undefined ? "" : item.model_version === "final" ? " (final weights)" : ` (checkpoint ${item.model_version})`;
    parts.push(`model #${item.model}${version}`);
    if (item.influence !== null && item.influence !== undefined) parts.push(`influence ${Number(item.influence).toFixed(2)}`);
  } else parts.push("base model");
  if (item.steps_num) parts.push(`${item.steps_num} steps`);
  if (item.negative_prompt) parts.push(`not: ${item.negative_prompt}`);
  return parts.filter(Boolean).join(" · ");
}

/** The request that makes ``item`` again, as a v2 body (structured prompt + seed + parameters). */
function recreateBody(item) {
  const body = { structured_prompt: item.structured_prompt, seed: item.seed, aspect_ratio: item.aspect_ratio || "1:1", sync: true };
  if (item.steps_num) body.steps_num = item.steps_num;
  if (item.negative_prompt) body.negative_prompt = item.negative_prompt;
  if (item.guidance_scale !== null && item.guidance_scale !== undefined) body.guidance_scale = item.guidance_scale;
  if (item.model) { body.tailored_model_id = String(item.model); body.tailored_model_influence = item.influence ?? 1; }
  if (item.model && Number.isInteger(item.model_version)) body.checkpoint_step = item.model_version;
  return body;
}

function asCode(item) {
  const body = recreateBody(item);
  const path = body.tailored_model_id ? "/v2/image/generate/tailored" : "/v2/image/generate";
  const json = JSON.stringify(body);
  const curl = `curl -s -X POST ${location.origin}${path} \\\n  -H "api_token: $TAILOR_TOKEN" -H "Content-Type: application/json" \\\n  -d '${json.replace(/'/g, "'\\''")}'`;
  const args = [`structured_prompt=${JSON.stringify(body.structured_prompt)}`, `seed=${body.seed}`, `aspect_ratio="${body.aspect_ratio}"`];
  if (body.tailored_model_id) args.push(`model_id=${body.tailored_model_id}`, `influence=${body.tailored_model_influence}`);
  if (body.steps_num) args.push(`steps_num=${body.steps_num}`);
  if (body.guidance_scale !== undefined) args.push(`guidance_scale=${body.guidance_scale}`);
  if (body.negative_prompt) args.push(`negative_prompt=${JSON.stringify(body.negative_prompt)}`);
  if (body.checkpoint_step) args.push(`checkpoint_step=${body.checkpoint_step}`);
  const python = `from tailor.client import Tailor\n\nwith Tailor("${location.origin}", TOKEN) as t:\n    result = t.generate(\n        ${args.join(",\n        ")},\n    )\n    t.save(result.image_url, "image.png")`;
  return { curl, python };
}

function loadGallery() {
  try { return JSON.parse(sessionStorage.getItem(STORE) || "[]"); } catch { return []; }
}

export async function render(root, { params }) {
  const [allModels, projects] = await Promise.all([
    api("GET", `${V1}/models`).then((d) => list(d, "models")),
    api("GET", `${V1}/projects`).then((d) => list(d, "projects")).catch(() => []),
  ]);
  const models = allModels.filter((m) => m.status === "Completed");
  const projectName = new Map(projects.map((p) => [String(p.id), p.project_name]));
  const gallery = loadGallery();

  const modelSel = select("model", [["", "Base model (no adapter)"], ...models.map((m) => [m.id, `${m.name} (#${m.id})`])], params.model || "");
  modelSel.id = "pg-model";
  const prompt = h("textarea", { id: "pg-prompt", name: "prompt", rows: 3, placeholder: "What to draw, or how to change the structured prompt" });
  const sp = h("textarea", { id: "pg-sp", name: "structured_prompt", rows: 8, spellcheck: false });
  const influence = h("input", { type: "range", id: "pg-influence", min: 0, max: 1.5, step: 0.05, value: 1 });
  const influenceOut = h("output", { for: "pg-influence", id: "pg-influence-out" }, "1.00");
  const ratio = select("aspect_ratio", RATIOS, "1:1");
  ratio.id = "pg-ratio";
  const seed = h("input", { type: "number", id: "pg-seed", min: 0, step: 1, placeholder: "random" });
  const steps = h("input", { type: "number", id: "pg-steps", min: 1, max: 50, step: 1, placeholder: "default for the model", "aria-describedby": "pg-steps-hint" });
  const negative = h("input", { type: "text", id: "pg-negative", name: "negative_prompt", placeholder: "optional" });
  const checkpoint = select("checkpoint_step", [["", "The version it serves"]], "");
  checkpoint.id = "pg-checkpoint";
  const modeText = h("span", { id: "pg-mode-text" });
  const clearMode = h("button", { type: "button", class: "secondary", id: "pg-clear" }, "Clear structured prompt and seed");
  const mode = h("div", { class: "mode", id: "pg-mode", role: "status" }, modeText, clearMode);
  const errors = h("div");
  const status = h("p", { class: "hint", "aria-live": "polite" });
  const go = h("button", { type: "submit" }, "Generate image");
  const spOnly = h("button", { type: "button", class: "secondary" }, "Structured prompt only");
  const grid = h("div", { class: "gallery", id: "gallery" });

  const stepsHint = h("p", { class: "hint", id: "pg-steps-hint" });
  const syncInfluence = () => {
    influenceOut.textContent = Number(influence.value).toFixed(2);
    influence.disabled = !modelSel.value;
    // the contract's ranges: per family with a tailored model, 35-50 on the base model
    steps.min = modelSel.value ? 1 : 35;
    stepsHint.textContent = modelSel.value
      ? "FIBO: 20 to 50 (50); FIBO 2: 10 to 50 (30); FIBO 2 turbo: 1 to 8 (4)."
      : "35 to 50 on the base model.";
  };
  influence.addEventListener("input", syncInfluence);
  modelSel.addEventListener("change", syncInfluence);
  syncInfluence();

  const history = historyPanel({ describe: describeItem, recreate: (item) => recreateItem(item) });
  const compare = comparePanel({ request: () => payload(), onDone: () => history.refresh() });
  let shownProject = null;
  // The chosen model's checkpoints (generate with one of them) and its project (history, compare).
  async function syncModel(version = null) {
    const model = models.find((m) => String(m.id) === modelSel.value);
    const steps = model ? await api("GET", `${V1}/models/${model.id}/checkpoints`).then((d) => d.checkpoints || []).catch(() => []) : [];
    const served = model && model.active_model_version && model.active_model_version !== "default" ? ` (checkpoint ${model.active_model_version})` : "";
    checkpoint.replaceChildren(...[["", `The version it serves${served}`], ...steps.map((c) => [c.checkpoint_step, `Checkpoint ${c.checkpoint_step}`])]
      .map(([v, t]) => h("option", { value: v }, t)));
    checkpoint.value = Number.isInteger(version) && steps.some((c) => c.checkpoint_step === version) ? String(version) : "";
    checkpoint.disabled = !model;
    const project = model ? { id: model.project_id, name: projectName.get(String(model.project_id)) || `project ${model.project_id}` } : null;
    if ((project && project.id) !== shownProject) {
      shownProject = project && project.id;
      await Promise.all([history.show(project), compare.setProject(project ? models.filter((m) => m.project_id === project.id) : [])]);
    }
  }
  modelSel.addEventListener("change", () => { syncModel().catch(() => {}); });

  // What the next request will do, always visible: a loaded structured prompt or seed changes it.
  function syncMode() {
    const hasSp = !!sp.value.trim(), hasPrompt = !!prompt.value.trim();
    const seedNote = seed.value !== "" ? ` with seed ${seed.value}` : " with a random seed";
    let text;
    if (hasSp && hasPrompt) text = "Refine: the prompt edits the loaded structured prompt" + seedNote + ".";
    else if (hasSp) text = "Recreate: the loaded structured prompt" + seedNote + ".";
    else text = "New image from the prompt" + seedNote + ".";
    modeText.textContent = `Mode: ${text}`;
    mode.classList.toggle("new", !hasSp);
    clearMode.hidden = !hasSp && seed.value === "";
    const box = sp.closest("details");
    if (box && hasSp) box.open = true;
  }
  for (const el of [sp, prompt, seed]) el.addEventListener("input", syncMode);
  clearMode.addEventListener("click", () => {
    sp.value = ""; seed.value = "";
    syncMode();
    status.textContent = "Cleared: the next image starts from the prompt alone.";
    prompt.focus();
  });

  function payload() {
    const body = { sync: false, aspect_ratio: ratio.value };
    if (prompt.value.trim()) body.prompt = prompt.value.trim();
    if (sp.value.trim()) body.structured_prompt = sp.value.trim();
    if (seed.value !== "") body.seed = Number(seed.value);
    if (steps.value !== "") body.steps_num = Number(steps.value);
    if (negative.value.trim()) body.negative_prompt = negative.value.trim();
    if (modelSel.value) { body.tailored_model_id = modelSel.value; body.tailored_model_influence = Number(influence.value); }
    if (modelSel.value && checkpoint.value !== "") body.checkpoint_step = Number(checkpoint.value);
    return body;
  }

  async function run(path, body) {
    const started = await api("POST", path, { json: body });
    if (started && started.result) return { ...started.result, request_id: started.request_id };
    status.textContent = `Request ${started.request_id} is running…`;
    const result = await waitForRequest(started.request_id, (st) => { status.textContent = describeStatus(st); });
    return { ...result, request_id: started.request_id };
  }

  function saveGallery() {
    sessionStorage.setItem(STORE, JSON.stringify(gallery.slice(0, 24)));
  }

  // The image is sent as base64 (read from its signed link, same origin), so the worker never has
  // to fetch a URL of this server.
  async function animate(item, note, stopSlot) {
    const res = await fetch(item.image_url);
    if (!res.ok) throw new Error(`cannot read the image (HTTP ${res.status})`);
    const image = await fileToBase64(await res.blob());
    const body = { tailored_model_id: String(item.model), image, sync: false };
    if (item.seed !== undefined && item.seed !== null) body.seed = item.seed;
    const started = await api("POST", "/v2/video/generate/tailored/image-to-video", { json: body });
    const stop = h("button", { type: "button", class: "secondary" }, "Cancel");
    stop.addEventListener("click", () => {
      stop.disabled = true;
      api("POST", `/v2/status/${encodeURIComponent(started.request_id)}/cancel`).catch(() => { stop.disabled = false; });
    });
    stopSlot.replaceChildren(stop);
    const result = await waitForRequest(started.request_id, (st) => {
      const p = st.progress || {};
      note.textContent = p.total_steps ? `Animating: step ${p.step || 0} of ${p.total_steps}` : `Animating (${p.stage || st.status.toLowerCase()})…`;
    }, 3600000).finally(() => stopSlot.replaceChildren());
    item.video_url = result.video_url;
    item.video_prompt = result.prompt;
    saveGallery();
    note.textContent = `Clip ready: ${result.frames} frames at ${result.fps} fps.`;
  }

  function player(item) {
    return h("video", { src: item.video_url, controls: true, loop: true, muted: true, playsinline: true, preload: "auto", class: "clip", "aria-label": `Animated clip of ${item.prompt || "the image"}` });
  }

  function drawGallery() {
    grid.replaceChildren(...(gallery.length ? gallery.map(card) : [h("p", { class: "empty" }, "Results appear here.")]));
  }

  // Load everything that made ``item`` into the form (exactly: recreate must not use today's values),
  // the checkpoint that served it included.
  async function loadItem(item) {
    sp.value = pretty(item.structured_prompt); seed.value = item.seed ?? ""; prompt.value = "";
    ratio.value = item.aspect_ratio || "1:1"; modelSel.value = item.model || "";
    if (item.influence !== undefined && item.influence !== null) influence.value = item.influence;
    steps.value = item.steps_num ?? "";
    negative.value = item.negative_prompt || "";
    syncInfluence(); syncMode();
    await syncModel(item.model_version);
  }

  async function recreateItem(item) {
    await loadItem(item);
    form.requestSubmit();
  }

  function card(item) {
    const recreate = h("button", { type: "button", class: "secondary" }, "Recreate");
    recreate.addEventListener("click", () => { recreateItem(item); });
    const refine = h("button", { type: "button", class: "secondary" }, "Refine");
    refine.addEventListener("click", async () => {
      await loadItem(item);
      status.textContent = "Describe the change in the prompt box, then generate.";
      prompt.focus();
    });
    const note = h("div", { class: "muted", "aria-live": "polite" });
    const animateBtn = item.model ? h("button", { type: "button", class: "secondary" }, item.video_url ? "Animate again" : "Animate") : null;
    const media = h("div", {}, item.video_url ? player(item) : null);
    const animErrors = h("div");
    const stopSlot = h("span");
    if (animateBtn) {
      animateBtn.addEventListener("click", () => {
        animErrors.replaceChildren();
        busy(animateBtn, async () => {
          await animate(item, note, stopSlot);
          media.replaceChildren(player(item));
        }, animErrors);
      });
    }
    return h("figure", { class: "card" },
      h("img", { src: item.image_url, alt: item.prompt || "Generated image" }),
      media,
      h("figcaption", { class: "body" },
        h("div", {}, item.prompt || "(from a structured prompt)"),
        h("div", { class: "muted" }, describeItem(item)),
        h("div", { class: "row mt" }, item.edit ? null : recreate, item.edit ? null : refine, animateBtn, stopSlot, h("a", { href: item.image_url, download: "", class: "button secondary" }, "Download")),
        note, animErrors,
        item.structured_prompt ? h("details", {}, h("summary", {}, "Structured prompt"), h("pre", {}, pretty(item.structured_prompt))) : null,
        item.structured_prompt ? (() => { const code = asCode(item); return h("details", { class: "as-code" }, h("summary", {}, "As curl / Python"), h("pre", { class: "curl" }, code.curl), h("pre", { class: "python" }, code.python)); })() : null));
  }

  const form = h("form", { class: "panel", "aria-labelledby": "pg-form-title" },
    h("h2", { id: "pg-form-title" }, "Request"),
    field("Model", modelSel),
    field("Prompt", prompt, "A prompt alone makes a new image; with a structured prompt it refines it."),
    h("details", { open: !!sp.value }, h("summary", {}, "Structured prompt (JSON)"), field("Structured prompt", sp, "With a seed and no prompt: recreates the same image.")),
    h("div", {}, h("label", { for: "pg-influence" }, "Tailored model influence: ", influenceOut), influence,
      h("p", { class: "hint" }, "0 to 1.5 (tailored models only).")),
    h("div", { class: "pair" }, field("Aspect ratio", ratio), field("Seed", seed)),
    field("Checkpoint", checkpoint, "Tailored models: generate with one of its checkpoints (the served version stays as it is)."),
    h("div", {}, h("label", { for: "pg-steps" }, "Steps"), steps, stepsHint),
    field("Negative prompt", negative, "What to avoid."),
    mode, errors, status,
    h("div", { class: "row mt" }, go, spOnly));

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    errors.replaceChildren();
    const body = payload();
    const path = body.tailored_model_id ? "/v2/image/generate/tailored" : "/v2/image/generate";
    busy(go, async () => {
      const started = Date.now();
      const r = await run(path, body);
      const p = r.parameters || {};
      // What the server says made the image; the request's values where an older server says nothing.
      gallery.unshift({
        image_url: r.image_url, seed: r.seed ?? body.seed, structured_prompt: r.structured_prompt,
        prompt: body.prompt || "", request_id: r.request_id,
        aspect_ratio: p.aspect_ratio ?? body.aspect_ratio, model: p.tailored_model_id ?? body.tailored_model_id ?? "",
        influence: p.tailored_model_influence ?? body.tailored_model_influence ?? null,
        steps_num: p.steps_num ?? body.steps_num ?? null, negative_prompt: p.negative_prompt ?? body.negative_prompt ?? null,
        guidance_scale: p.guidance_scale ?? null, model_version: p.model_version ?? null,
        seconds: Math.round((Date.now() - started) / 100) / 10,
      });
      saveGallery();
      // The form keeps what was typed: the result's structured prompt and seed stay on its card
      // (Recreate / Refine load them), so the next "new" prompt never silently refines this image.
      status.textContent = `Done in ${gallery[0].seconds}s (seed ${r.seed ?? "—"}).`;
      drawGallery();
      if (body.tailored_model_id) history.refresh();
    }, errors);
  });

  spOnly.addEventListener("click", () => {
    errors.replaceChildren();
    const body = payload();
    delete body.aspect_ratio; delete body.steps_num; delete body.tailored_model_influence;
    const path = body.tailored_model_id ? "/v2/structured_prompt/generate/tailored" : "/v2/structured_prompt/generate";
    busy(spOnly, async () => {
      const r = await run(path, body);
      sp.value = pretty(r.structured_prompt);
      sp.closest("details").open = true;
      syncMode();
      status.textContent = "Structured prompt ready: edit it or generate an image from it.";
    }, errors);
  });

  // Editing: images (dropped or chosen; up to 5 with a FIBO 2 model, <image_1>...), an optional mask.
  const editModels = models.filter((m) => m.training_version === "fibo-2");
  const editModel = select("edit_model", [["", "Base model (FIBO 2)"], ...editModels.map((m) => [m.id, `${m.name} (#${m.id})`])], "");
  editModel.id = "ed-model";
  const editImages = h("input", { type: "file", id: "ed-images", accept: "image/png,image/jpeg,image/webp", multiple: true });
  const editMask = h("input", { type: "file", id: "ed-mask", accept: "image/png,image/jpeg,image/webp" });
  const instruction = h("textarea", { id: "ed-instruction", rows: 3, placeholder: "Make it winter; or: put <image_2> into <image_1>" });
  const editSeed = h("input", { type: "number", id: "ed-seed", min: 0, step: 1, placeholder: "random" });
  const editErrors = h("div");
  const editGo = h("button", { type: "submit" }, "Edit image");
  const drop = h("div", { class: "dropzone", id: "ed-drop" }, "Drop images here, or choose them below.");
  let dropped = [];
  drop.addEventListener("dragover", (ev) => ev.preventDefault());
  drop.addEventListener("drop", (ev) => {
    ev.preventDefault();
    dropped = [...ev.dataTransfer.files].filter((f) => f.type.startsWith("image/"));
    drop.textContent = `${dropped.length} image(s): ${dropped.map((f) => f.name).join(", ")}`;
  });
  const asBase64 = (file) => new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1]);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
  const editForm = h("form", { class: "panel", "aria-labelledby": "ed-title" },
    h("h2", { id: "ed-title" }, "Edit"),
    field("Model", editModel, "Editing uses FIBO 2: the base model or a model trained on FIBO 2."),
    drop, field("Images", editImages, "One image; up to 5 with a tailored model."),
    field("Mask (optional)", editMask, "White where the image may change; one image only."),
    field("Instruction", instruction), field("Seed", editSeed),
    editErrors, h("div", { class: "row mt" }, editGo));
  editForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    editErrors.replaceChildren();
    const files = dropped.length ? dropped : [...editImages.files];
    busy(editGo, async () => {
      const body = { sync: false, images: await Promise.all(files.map(asBase64)), instruction: instruction.value.trim() };
      if (editMask.files.length) body.mask = await asBase64(editMask.files[0]);
      if (editSeed.value !== "") body.seed = Number(editSeed.value);
      if (editModel.value) body.tailored_model_id = editModel.value;
      const r = await run(editModel.value ? "/v2/image/edit/tailored" : "/v2/image/edit", body);
      gallery.unshift({
        image_url: r.image_url, seed: r.seed, structured_prompt: r.structured_prompt,
        prompt: `edit: ${body.instruction}`, aspect_ratio: "", model: body.tailored_model_id || "", request_id: r.request_id, edit: true,
      });
      sessionStorage.setItem(STORE, JSON.stringify(gallery.slice(0, 24)));
      status.textContent = `Edited (seed ${r.seed ?? "—"}).`;
      drawGallery();
    }, editErrors);
  });

  drawGallery();
  syncMode();
  root.append(...page("Playground", [["Projects", "#/projects"]],
    h("div", { class: "grid2" }, h("div", {}, form, editForm), h("section", { "aria-labelledby": "gal-title" }, h("h2", { id: "gal-title" }, "Results"), grid)),
    compare.panel, history.panel));
  await syncModel();
}
