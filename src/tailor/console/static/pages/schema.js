// The visual-schema editor: generate from sample images, refine by instruction, save. The schema is
// edited as labelled fields, with the raw JSON one click away.
import { api, fileToBase64, V1 } from "../api.js";
import { busy, flash, h, pretty } from "../ui.js";
import { jsonEditor } from "./jsonform.js";

async function urlToBase64(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`cannot read ${url}: HTTP ${res.status}`);
  return fileToBase64(await res.blob());
}

// Unsaved schema edits by dataset id: they survive the page's redraws.
const schemaDrafts = new Map();

export function schemaEditor(dataset, images, onSaved, missingCount) {
  const draft = dataset.status !== "completed";
  const editor = jsonEditor({
    id: "schema", textId: "schema-text", title: "Visual schema", readOnly: !draft, store: "tailor.view.schema",
    text: schemaDrafts.get(dataset.id) ?? pretty(dataset.visual_schema),
    onChange: (t) => schemaDrafts.set(dataset.id, t),
  });
  const text = { get value() { return editor.text(); }, set value(t) { schemaDrafts.set(dataset.id, t); editor.set(t); } };
  const errors = h("div");
  const samples = h("input", { type: "file", id: "schema-samples", multiple: true, accept: "image/png,image/jpeg,image/webp" });
  const gen = h("button", { type: "button", class: "secondary", disabled: !draft }, "Generate schema");
  const instruction = h("input", { type: "text", id: "schema-instruction", placeholder: "e.g. the character's name is Lucy" });
  const refine = h("button", { type: "button", class: "secondary", disabled: !draft }, "Refine");
  const save = h("button", { type: "button", disabled: !draft }, "Save schema");

  gen.addEventListener("click", () => {
    errors.replaceChildren();
    busy(gen, async () => {
      let picked = [...samples.files];
      let encoded;
      if (picked.length) encoded = await Promise.all(picked.slice(0, 10).map(fileToBase64));
      else {
        picked = images.filter((i) => i.image_url).slice(0, 10);
        if (picked.length < 5) throw new Error("Choose 5–10 sample images (or upload at least 5 to the dataset first).");
        encoded = await Promise.all(picked.map((i) => urlToBase64(i.image_url)));
      }
      const out = await api("POST", `${V1}/generate_visual_schema`, { json: { images: encoded } });
      text.value = pretty(out.visual_schema);
      flash("success", "Schema generated: review it, then save.");
    }, errors);
  });

  refine.addEventListener("click", () => {
    errors.replaceChildren();
    if (!instruction.value.trim()) { instruction.focus(); return; }
    busy(refine, async () => {
      const out = await api("POST", `${V1}/refine_structured_prompt`, {
        json: { dataset_id: dataset.id, structured_prompt: text.value, instruction: instruction.value.trim() },
      });
      text.value = pretty(out.structured_prompt);
      flash("success", "Schema refined: review it, then save.");
    }, errors);
  });

  save.addEventListener("click", () => {
    errors.replaceChildren();
    busy(save, async () => {
      const checked = editor.check(); // named inline; nothing is saved
      if (checked.error) return;
      await api("PUT", `${V1}/datasets/${dataset.id}`, { json: { visual_schema: checked.value } });
      schemaDrafts.delete(dataset.id);
      const uncaptioned = missingCount ? await missingCount() : images.filter((i) => !i.caption && i.caption_source !== "pending").length;
      if (uncaptioned && confirm(`Visual schema saved. Caption the ${uncaptioned} image(s) that have no caption now?`)) {
        await api("PUT", `${V1}/datasets/${dataset.id}/images?which=missing`, { json: {} });
        flash("success", `Visual schema saved; captioning ${uncaptioned} image(s).`);
      } else {
        flash("success", "Visual schema saved.");
      }
      onSaved();
    }, errors);
  });

  return h("section", { class: "panel", "aria-labelledby": "schema-title" },
    h("h2", { id: "schema-title" }, "Visual schema"),
    h("p", { class: "hint" }, "What stays constant across the IP (style, medium, palette, lighting, recurring subject). Captions are written against it."),
    editor.el,
    draft ? h("div", {},
      h("label", { for: "schema-samples" }, "Sample images for generation (5–10; default: this dataset's images)"), samples,
      h("div", { class: "row mt" }, gen),
      h("label", { for: "schema-instruction" }, "Refine by instruction"),
      h("div", { class: "row" }, h("div", { class: "grow" }, instruction), refine),
      h("div", { class: "row mt" }, save)) : h("p", { class: "hint" }, "The dataset is completed: its schema is frozen."),
    errors);
}
