// One image: the large image beside its caption (a labelled form, raw JSON one click away), its
// metadata, and what changed in the caption's last regeneration, refinement or edit.
import { api, V1 } from "../api.js";
import { badge, busy, errorBox, flash, h, pretty, when } from "../ui.js";
import { FIBO_FIELDS, jsonDiff, jsonEditor } from "./jsonform.js";

export function bytes(n) {
  if (n === null || n === undefined) return "—";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(2)} MB`;
}

const SOURCES = { upload: "Uploaded file", zip: "Zip (bulk upload)", url: "Image URL" };

function metadata(image) {
  const upscaled = image.upscaled === true
    ? `Yes, from ${image.source_width}×${image.source_height}`
    : image.upscaled === false ? "No" : "—";
  return h("dl", { class: "kv", id: "image-meta" },
    h("dt", {}, "Size"), h("dd", {}, image.width && image.height ? `${image.width}×${image.height}` : "—"),
    h("dt", {}, "File"), h("dd", {}, bytes(image.file_size)),
    h("dt", {}, "Upscaled"), h("dd", {}, upscaled),
    h("dt", {}, "Source"), h("dd", {}, SOURCES[image.upload_source] || "—",
      image.upload_source_url ? [" · ", h("a", { href: image.upload_source_url, target: "_blank", rel: "noopener noreferrer" }, "origin")] : null),
    h("dt", {}, "Caption"), h("dd", {}, badge(image.caption_state || image.caption_source || "missing")),
    h("dt", {}, "Added"), h("dd", {}, when(image.created_at)),
    h("dt", {}, "Image"), h("dd", {}, image.image_url ? h("a", { href: image.image_url, target: "_blank", rel: "noopener" }, "full size") : "—"));
}

function short(v) {
  if (v === undefined) return h("span", { class: "muted" }, "(none)");
  return v.length > 160 ? `${v.slice(0, 160)}…` : v;
}

function diffTable(id, title, before, after) {
  const changes = jsonDiff(before, after);
  const rows = changes.map((c) => h("tr", { "data-field": c.field },
    h("th", { scope: "row" }, c.field), h("td", { class: "before" }, short(c.before)), h("td", { class: "after" }, short(c.after))));
  return h("details", { class: "diff", id, open: true },
    h("summary", {}, `${title} (${changes.length} field${changes.length === 1 ? "" : "s"})`),
    changes.length
      ? h("div", { class: "scroll-x" }, h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Field"), h("th", {}, "Before"), h("th", {}, "Now"))), h("tbody", {}, rows)))
      : h("p", { class: "hint" }, "No field changed."));
}

/** The field-by-field diff between the previous caption and this one (null when there is none). */
export function captionDiff(image) {
  if (!image.previous_caption || !image.caption) return null;
  return diffTable("caption-diff", "Changes in the last caption update", image.previous_caption, image.caption);
}

/**
 * The image view. ``drafts`` (Map id -> JSON text) keeps unsaved edits across redraws and image
 * switches; ``refresh(id)`` redraws the page with ``id`` still open (null: closed).
 */
export function imageView(dataset, image, drafts, refresh) {
  const draft = dataset.status !== "completed";
  const unsaved = drafts.has(image.id);
  const note = h("p", { class: "hint", id: "caption-unsaved", "aria-live": "polite" }, unsaved ? "Unsaved changes." : "");
  const editor = jsonEditor({
    id: "caption", textId: "caption-text", title: "Caption", readOnly: !draft, store: "tailor.view.caption",
    text: unsaved ? drafts.get(image.id) : pretty(image.caption), template: FIBO_FIELDS,
    onChange: (text) => {
      drafts.set(image.id, text);
      note.textContent = "Unsaved changes.";
      document.querySelector(`.thumb[data-image="${image.id}"]`)?.classList.add("unsaved");
    },
  });
  const errors = h("div");
  const save = h("button", { type: "button", disabled: !draft }, "Save caption");
  const regen = h("button", { type: "button", class: "secondary", disabled: !draft }, "Regenerate caption");
  const del = h("button", { type: "button", class: "danger", disabled: !draft }, "Delete image");
  const close = h("button", { type: "button", class: "secondary small", "aria-label": "Close the image view" }, "Close");
  const path = `${V1}/datasets/${dataset.id}/images/${image.id}`;
  save.addEventListener("click", () => {
    errors.replaceChildren();
    const checked = editor.check(); // a broken field or JSON is named inline; nothing is sent
    if (checked.error) return;
    busy(save, async () => {
      await api("PUT", path, { json: { caption: checked.value } });
      drafts.delete(image.id);
      flash("success", "Caption saved.");
      refresh(image.id);
    }, errors);
  });
  regen.addEventListener("click", () => {
    errors.replaceChildren();
    if ((drafts.has(image.id) || image.caption_source === "manual") && !confirm("Replace this caption (written or edited by hand) with a generated one?")) return;
    busy(regen, async () => {
      drafts.delete(image.id);
      await api("PUT", path, { json: { regenerate_caption: true } });
      flash("success", "Caption queued for regeneration.");
      refresh(image.id);
    }, errors);
  });
  del.addEventListener("click", () => {
    if (!confirm(`Delete ${image.image_name || "this image"}?`)) return;
    busy(del, async () => {
      await api("DELETE", path);
      drafts.delete(image.id);
      refresh(null);
    }, errors);
  });
  close.addEventListener("click", () => refresh(null));
  // refine by instruction: the answer goes into the editor, unsaved, with what it changed
  const unsavedDiff = h("div");
  const showUnsaved = () => unsavedDiff.replaceChildren(drafts.has(image.id) && image.caption
    ? diffTable("caption-draft-diff", "Unsaved changes against the saved caption", image.caption, drafts.get(image.id)) : "");
  const instruction = h("input", { type: "text", id: "caption-instruction", placeholder: "e.g. the background is a beach at sunset", disabled: !draft });
  const refine = h("button", { type: "button", class: "secondary", disabled: !draft }, "Refine");
  refine.addEventListener("click", () => {
    errors.replaceChildren();
    if (!instruction.value.trim()) { instruction.focus(); return; }
    const checked = editor.check();
    if (checked.error) return;
    busy(refine, async () => {
      const out = await api("POST", `${V1}/refine_structured_prompt`, {
        json: { dataset_id: dataset.id, structured_prompt: checked.value, instruction: instruction.value.trim() },
      });
      const text = pretty(out.structured_prompt);
      editor.set(text);
      drafts.set(image.id, text);
      note.textContent = "Refined, not saved yet: review the changes, then save.";
      showUnsaved();
    }, errors);
  });
  showUnsaved();
  const name = image.image_name || `image ${image.id}`;
  return h("section", { class: "panel", id: "caption-editor", "aria-labelledby": "caption-title" },
    h("div", { class: "row" }, h("h2", { id: "caption-title" }, `Caption · ${name}`), h("span", { class: "spacer" }), close),
    h("div", { class: "imageview" },
      h("figure", { class: "bigimage" },
        h("img", { src: image.image_url || image.thumbnail_url, alt: name, id: "image-large" }),
        h("figcaption", {}, metadata(image))),
      h("div", { class: "captionside" },
        image.caption_error ? errorBox(`Captioning failed: ${image.caption_error}`) : null,
        image.caption_state === "pending" ? h("p", { class: "hint" }, "A new caption is being made for this image.") : null,
        editor.el, note, errors,
        h("div", { class: "row mt" }, save, regen, h("span", { class: "spacer" }), del),
        draft ? h("div", {}, h("label", { for: "caption-instruction" }, "Refine this caption by instruction"),
          h("div", { class: "row" }, h("div", { class: "grow" }, instruction), refine)) : null,
        unsavedDiff, captionDiff(image))));
}
