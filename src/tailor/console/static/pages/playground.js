// The generation playground: prompt or structured prompt, influence, aspect ratio, seed; a gallery
// of results with "recreate" (same structured prompt + seed) and "refine" (structured prompt + an edit).
import { api, list, V1, waitForRequest } from "../api.js";
import { busy, field, h, page, pretty, select } from "../ui.js";

const RATIOS = ["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9"];
const STORE = "tailor.gallery";

function loadGallery() {
  try { return JSON.parse(sessionStorage.getItem(STORE) || "[]"); } catch { return []; }
}

export async function render(root, { params }) {
  const models = list(await api("GET", `${V1}/models`), "models").filter((m) => m.status === "Completed");
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
  const steps = h("input", { type: "number", id: "pg-steps", min: 1, max: 50, step: 1, placeholder: "default for the model" });
  const errors = h("div");
  const status = h("p", { class: "hint", "aria-live": "polite" });
  const go = h("button", { type: "submit" }, "Generate image");
  const spOnly = h("button", { type: "button", class: "secondary" }, "Structured prompt only");
  const grid = h("div", { class: "gallery", id: "gallery" });

  const syncInfluence = () => {
    influenceOut.textContent = Number(influence.value).toFixed(2);
    influence.disabled = !modelSel.value;
  };
  influence.addEventListener("input", syncInfluence);
  modelSel.addEventListener("change", syncInfluence);
  syncInfluence();

  function payload() {
    const body = { sync: false, aspect_ratio: ratio.value };
    if (prompt.value.trim()) body.prompt = prompt.value.trim();
    if (sp.value.trim()) body.structured_prompt = sp.value.trim();
    if (seed.value !== "") body.seed = Number(seed.value);
    if (steps.value !== "") body.steps_num = Number(steps.value);
    if (modelSel.value) { body.tailored_model_id = modelSel.value; body.tailored_model_influence = Number(influence.value); }
    return body;
  }

  async function run(path, body) {
    const started = await api("POST", path, { json: body });
    if (started && started.result) return { ...started.result, request_id: started.request_id };
    status.textContent = `Request ${started.request_id} is running…`;
    const result = await waitForRequest(started.request_id, (st) => { status.textContent = `Request ${started.request_id}: ${st.status}`; });
    return { ...result, request_id: started.request_id };
  }

  function drawGallery() {
    grid.replaceChildren(...(gallery.length ? gallery.map(card) : [h("p", { class: "empty" }, "Results appear here.")]));
  }

  function card(item) {
    const recreate = h("button", { type: "button", class: "secondary" }, "Recreate");
    recreate.addEventListener("click", () => {
      sp.value = pretty(item.structured_prompt); seed.value = item.seed ?? ""; prompt.value = "";
      ratio.value = item.aspect_ratio || "1:1"; modelSel.value = item.model || ""; syncInfluence();
      form.requestSubmit();
    });
    const refine = h("button", { type: "button", class: "secondary" }, "Refine");
    refine.addEventListener("click", () => {
      sp.value = pretty(item.structured_prompt); seed.value = item.seed ?? ""; prompt.value = "";
      modelSel.value = item.model || ""; syncInfluence();
      status.textContent = "Describe the change in the prompt box, then generate.";
      prompt.focus();
    });
    return h("figure", { class: "card" },
      h("img", { src: item.image_url, alt: item.prompt || "Generated image" }),
      h("figcaption", { class: "body" },
        h("div", {}, item.prompt || "(from a structured prompt)"),
        h("div", { class: "muted" }, `seed ${item.seed ?? "—"} · ${item.aspect_ratio || ""} · ${item.model ? `model #${item.model}` : "base model"}`),
        h("div", { class: "row mt" }, item.edit ? null : recreate, item.edit ? null : refine, h("a", { href: item.image_url, download: "", class: "button secondary" }, "Download")),
        item.structured_prompt ? h("details", {}, h("summary", {}, "Structured prompt"), h("pre", {}, pretty(item.structured_prompt))) : null));
  }

  const form = h("form", { class: "panel", "aria-labelledby": "pg-form-title" },
    h("h2", { id: "pg-form-title" }, "Request"),
    field("Model", modelSel),
    field("Prompt", prompt, "A prompt alone makes a new image; with a structured prompt it refines it."),
    h("details", { open: !!sp.value }, h("summary", {}, "Structured prompt (JSON)"), field("Structured prompt", sp, "With a seed and no prompt: recreates the same image.")),
    h("div", {}, h("label", { for: "pg-influence" }, "Tailored model influence: ", influenceOut), influence,
      h("p", { class: "hint" }, "0 to 1.5 (tailored models only).")),
    h("div", { class: "pair" }, field("Aspect ratio", ratio), field("Seed", seed)),
    field("Steps", steps, "FIBO: 20 to 50 (50); FIBO 2: 10 to 50 (30); FIBO 2 turbo: 1 to 8 (4)."),
    errors, status,
    h("div", { class: "row mt" }, go, spOnly));

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    errors.replaceChildren();
    const body = payload();
    const path = body.tailored_model_id ? "/v2/image/generate/tailored" : "/v2/image/generate";
    busy(go, async () => {
      const r = await run(path, body);
      gallery.unshift({
        image_url: r.image_url, seed: r.seed ?? body.seed, structured_prompt: r.structured_prompt,
        prompt: body.prompt || "", aspect_ratio: body.aspect_ratio, model: body.tailored_model_id || "", request_id: r.request_id,
      });
      sessionStorage.setItem(STORE, JSON.stringify(gallery.slice(0, 24)));
      status.textContent = `Done (seed ${r.seed ?? "—"}).`;
      if (r.structured_prompt) sp.value = pretty(r.structured_prompt);
      if (r.seed !== undefined && r.seed !== null) seed.value = r.seed;
      drawGallery();
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
  root.append(...page("Playground", [["Projects", "#/projects"]],
    h("div", { class: "grid2" }, h("div", {}, form, editForm), h("section", { "aria-labelledby": "gal-title" }, h("h2", { id: "gal-title" }, "Results"), grid))));
}
