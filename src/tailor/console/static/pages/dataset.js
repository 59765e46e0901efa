// One dataset: status and actions, upload, image grid, caption editor, visual schema.
import { api, list, V1 } from "../api.js";
import { badge, busy, errorBox, flash, h, label, page, pretty, renameButton } from "../ui.js";
import { schemaEditor } from "./schema.js";
import { uploader } from "./upload.js";

// Unsaved caption edits by image id: they survive the page's redraws and switching images.
const drafts = new Map();

function captionEditor(dataset, image, refresh) {
  const draft = dataset.status !== "completed";
  const unsaved = drafts.has(image.id);
  const text = h("textarea", { id: "caption-text", rows: 12, readOnly: !draft, spellcheck: false }, unsaved ? drafts.get(image.id) : pretty(image.caption));
  const note = h("p", { class: "hint", id: "caption-unsaved", "aria-live": "polite" }, unsaved ? "Unsaved changes." : "");
  text.addEventListener("input", () => {
    drafts.set(image.id, text.value);
    note.textContent = "Unsaved changes.";
    document.querySelector(`.thumb[data-image="${image.id}"]`)?.classList.add("unsaved");
  });
  const errors = h("div");
  const save = h("button", { type: "button", disabled: !draft }, "Save caption");
  const regen = h("button", { type: "button", class: "secondary", disabled: !draft }, "Regenerate caption");
  const del = h("button", { type: "button", class: "danger", disabled: !draft }, "Delete image");
  const path = `${V1}/datasets/${dataset.id}/images/${image.id}`;
  save.addEventListener("click", () => {
    errors.replaceChildren();
    busy(save, async () => {
      await api("PUT", path, { json: { caption: text.value } });
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
      refresh(null);
    }, errors);
  });
  return h("section", { class: "panel", id: "caption-editor", "aria-labelledby": "caption-title" },
    h("h2", { id: "caption-title" }, `Caption · ${image.image_name || `image ${image.id}`}`),
    h("div", { class: "row" },
      image.thumbnail_url || image.image_url ? h("img", { src: image.thumbnail_url || image.image_url, alt: image.image_name || "", width: 160 }) : null,
      h("dl", { class: "kv" },
        h("dt", {}, "Source"), h("dd", {}, badge(image.caption_source || "none")),
        h("dt", {}, "Size"), h("dd", {}, image.width && image.height ? `${image.width}×${image.height}` : "—"),
        h("dt", {}, "Image"), h("dd", {}, image.image_url ? h("a", { href: image.image_url, target: "_blank", rel: "noopener" }, "full size") : "—"))),
    image.caption_error ? errorBox(`Captioning failed: ${image.caption_error}`) : null,
    h("label", { for: "caption-text" }, "Structured caption (JSON)"), text, note,
    errors, h("div", { class: "row mt" }, save, regen, h("span", { class: "spacer" }), del));
}

const SEVERITY = { blocking: "failed", warning: "pending" };
const VERDICT = { ready: "completed", ready_with_warnings: "pending", not_ready: "failed" };

// The readiness report (GET /datasets/{id}/report): verdict, problems, buckets, captions.
function readinessPanel(report) {
  if (!report) return null;
  const caps = report.captions || {};
  const problems = (report.problems || []).map((p) => h("li", { class: `problem ${p.severity}`, "data-code": p.code },
    h("span", { class: `badge ${SEVERITY[p.severity] || ""}` }, p.severity), " ", p.message));
  const buckets = Object.entries(report.buckets || {}).map(([k, v]) => `${k}: ${v}`).join(" · ") || "—";
  return h("section", { class: "panel", id: "readiness", "aria-labelledby": "ready-title" },
    h("div", { class: "row" }, h("h2", { id: "ready-title" }, "Readiness"),
      h("span", { class: `badge ${VERDICT[report.verdict] || ""}`, id: "verdict" }, report.verdict.replaceAll("_", " "))),
    h("dl", { class: "kv" },
      h("dt", {}, "Captions"), h("dd", {}, `${Math.round((caps.coverage || 0) * 100)}% · ${caps.automatic || 0} automatic · ${caps.manual || 0} manual`),
      h("dt", {}, "Buckets"), h("dd", {}, buckets),
      h("dt", {}, "Upscaled"), h("dd", {}, `${Math.round((report.upscaled?.share || 0) * 100)}%`),
      h("dt", {}, "Images"), h("dd", {}, `${report.images_count} (recommended for ${report.image_count?.ip_type || "this IP"}: ${report.image_count?.recommended ?? "—"})`)),
    problems.length ? h("ul", { class: "problems" }, problems) : h("p", { class: "hint" }, "No problems found."));
}

export async function render(root, { id }) {
  let timer = null;
  let selected = null;
  let upload = null; // kept across redraws so its progress and messages stay visible
  const body = h("div");
  root.append(body);

  async function load() {
    const dataset = await api("GET", `${V1}/datasets/${id}`);
    const images = list(await api("GET", `${V1}/datasets/${id}/images`), "images");
    const project = await api("GET", `${V1}/projects/${dataset.project_id}`).catch(() => null);
    const report = await api("GET", `${V1}/datasets/${id}/report`).catch(() => null);
    return { dataset, images, project, report };
  }

  async function draw(keepSelection = true) {
    const { dataset, images, project, report } = await load();
    const flagsOf = new Map((report?.images || []).map((i) => [i.id, i.flags || []]));
    if (!keepSelection) selected = null;
    const draft = dataset.status !== "completed";
    const pending = images.some((i) => i.caption_source === "pending") || dataset.captions_update_status === "in_progress";
    const editorSlot = h("div");
    const grid = h("div", { class: "thumbs", role: "list", "aria-label": "Images" }, images.map((img) => {
      const b = h("button", { type: "button", class: drafts.has(img.id) ? "thumb unsaved" : "thumb", "data-image": img.id, "aria-pressed": String(img.id === selected), title: img.image_name || "" },
        h("img", { src: img.thumbnail_url || img.image_url, alt: img.image_name || `image ${img.id}`, loading: "lazy" }),
        h("span", { class: "tag" }, drafts.has(img.id) ? "unsaved edit" : img.caption_error ? "caption failed" : label(img.caption_source || "no caption")),
        (flagsOf.get(img.id) || []).length
          ? h("span", { class: "flags", title: flagsOf.get(img.id).join(", "), "data-flags": flagsOf.get(img.id).join(" ") }, flagsOf.get(img.id).map((f) => f.replaceAll("_", " ")).join(", "))
          : null);
      b.addEventListener("click", () => {
        selected = img.id;
        grid.querySelectorAll(".thumb").forEach((t) => t.setAttribute("aria-pressed", String(t === b)));
        editorSlot.replaceChildren(captionEditor(dataset, img, refreshAfter));
        editorSlot.querySelector("textarea")?.focus();
      });
      return h("div", { role: "listitem" }, b);
    }));
    const current = images.find((i) => i.id === selected);
    const typing = document.activeElement && document.activeElement.id === "caption-text" ? document.activeElement : null;
    const caret = typing ? [typing.selectionStart, typing.selectionEnd, typing.scrollTop] : null;
    if (current) editorSlot.replaceChildren(captionEditor(dataset, current, refreshAfter));

    const complete = h("button", { type: "button", disabled: !draft }, "Mark completed");
    complete.addEventListener("click", () => busy(complete, async () => {
      await api("PUT", `${V1}/datasets/${id}`, { json: { status: "completed" } });
      flash("success", "Dataset completed: it is frozen and ready for training.");
      await draw();
    }));
    const clone = h("button", { type: "button", class: draft ? "secondary" : "" }, draft ? "Clone" : "Clone to edit");
    clone.addEventListener("click", () => busy(clone, async () => {
      const copy = await api("POST", `${V1}/datasets/${id}/clone`, { json: {} });
      flash("success", `Cloned into the draft "${copy.name}".`);
      location.hash = `#/datasets/${copy.id}`;
    }));
    const manual = images.filter((i) => i.caption_source === "manual").length;
    const blocked = draft && report && report.verdict === "not_ready" && images.length >= 5;
    const force = blocked ? h("button", { type: "button", class: "danger", id: "complete-anyway" }, "Complete anyway") : null;
    force?.addEventListener("click", () => {
      if (!confirm("The readiness report has blocking problems. Complete the dataset anyway?")) return;
      busy(force, async () => {
        await api("PUT", `${V1}/datasets/${id}`, { json: { status: "completed", force: true } });
        flash("success", "Dataset completed despite its blocking problems.");
        await draw();
      });
    });
    const recaption = h("button", { type: "button", class: "secondary", disabled: !draft || !images.length }, "Regenerate all captions");
    recaption.addEventListener("click", () => {
      if (manual && !confirm(`This overwrites ${manual} caption(s) written by hand. Regenerate them too?`)) return;
      busy(recaption, async () => {
        await api("PUT", `${V1}/datasets/${id}/images`, { json: {} });
        drafts.clear();
        flash("success", "Captions are being regenerated.");
        await draw();
      });
    });
    const recaptionAuto = h("button", { type: "button", class: "secondary", disabled: !draft || !images.length, hidden: !manual }, "Regenerate automatic captions only");
    recaptionAuto.addEventListener("click", () => busy(recaptionAuto, async () => {
      await api("PUT", `${V1}/datasets/${id}/images?which=automatic`, { json: {} });
      flash("success", `Automatic captions are being regenerated; ${manual} manual caption(s) kept.`);
      await draw();
    }));
    const del = h("button", { type: "button", class: "danger" }, "Delete dataset");
    del.addEventListener("click", () => {
      if (!confirm(`Delete dataset "${dataset.name}"?`)) return;
      busy(del, async () => {
        await api("DELETE", `${V1}/datasets/${id}`);
        location.hash = `#/projects/${dataset.project_id}`;
      });
    });

    const crumbs = [["Projects", "#/projects"], [project ? project.project_name : `Project ${dataset.project_id}`, `#/projects/${dataset.project_id}`]];
    body.replaceChildren(...page(dataset.name || `Dataset ${id}`, crumbs,
      h("section", { class: "panel" },
        h("div", { class: "row" },
          h("dl", { class: "kv" },
            h("dt", {}, "Status"), h("dd", {}, badge(dataset.status)),
            h("dt", {}, "Captions"), h("dd", {}, badge(pending ? "in_progress" : dataset.captions_update_status || "empty")),
            h("dt", {}, "Images"), h("dd", {}, String(dataset.images_count ?? images.length)),
            h("dt", {}, "Upload type"), h("dd", {}, label(dataset.upload_type || "basic"))),
          h("span", { class: "spacer" }), complete, force, clone,
          renameButton("dataset", dataset.name, (name) => api("PUT", `${V1}/datasets/${id}`, { json: { name } }), () => draw()), recaption, recaptionAuto, del),
        draft ? h("p", { class: "hint" }, "Training needs a completed dataset: at least 5 images, a visual schema and every image captioned. Completing freezes uploads, captions and the schema; clone it to change it later.")
          : h("p", { class: "hint" }, "Completed: frozen and ready for training. To change it, clone it into a new draft.")),
      draft ? readinessPanel(report) : null,
      h("div", { class: "grid2" },
        h("div", {},
          draft ? h("section", { class: "panel", "aria-labelledby": "up-title" }, h("h2", { id: "up-title" }, "Upload"), (upload ||= uploader(dataset, () => draw()))) : null,
          h("section", { class: "panel", "aria-labelledby": "img-title" },
            h("h2", { id: "img-title" }, `Images (${images.length})`, pending ? h("span", { class: "badge pending" }, " captioning…") : ""),
            images.length ? grid : h("p", { class: "empty" }, "No images yet."))),
        h("div", {}, editorSlot, schemaEditor(dataset, images, () => draw())))));
    if (caret) {
      const again = document.getElementById("caption-text");
      if (again) { again.focus(); again.setSelectionRange(caret[0], caret[1]); again.scrollTop = caret[2]; }
    }
    clearTimeout(timer);
    if (pending) timer = setTimeout(() => draw().catch(() => {}), 2000);
  }

  function refreshAfter(keepId) {
    selected = keepId;
    draw().catch((err) => flash("error", err));
  }

  await draw(false);
  return () => clearTimeout(timer);
}
