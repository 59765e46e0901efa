// One dataset: status and actions, readiness, upload, visual schema, the image view and the images
// browser (pages, filters, grid or caption table, multi-select delete).
import { api, V1 } from "../api.js";
import { badge, busy, flash, h, label, page, renameButton } from "../ui.js";
import { fetchPage, imageBrowser, newBrowseState } from "./browse.js";
import { imageView } from "./imageview.js";
import { schemaEditor } from "./schema.js";
import { uploader } from "./upload.js";

// Unsaved caption edits by image id: they survive the page's redraws and switching images.
const drafts = new Map();

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

// The element that had focus (and its caret) before a redraw, to give it back after.
function focusState() {
  const el = document.activeElement;
  if (!el || !el.id || el === document.body) return null;
  const caret = typeof el.selectionStart === "number" ? [el.selectionStart, el.selectionEnd] : null;
  return { id: el.id, caret, scroll: el.scrollTop };
}

function restoreFocus(saved) {
  const el = saved && document.getElementById(saved.id);
  if (!el) return;
  el.focus({ preventScroll: true });
  if (saved.caret) { try { el.setSelectionRange(saved.caret[0], saved.caret[1]); } catch { /* not a text field */ } }
  el.scrollTop = saved.scroll;
}

export async function render(root, { id }) {
  let timer = null;
  let selected = null;
  let upload = null; // kept across redraws so its progress and messages stay visible
  let project = null;
  let report = null;
  let reportFresh = false; // false: something changed, read the report again
  const st = newBrowseState();
  const body = h("div");
  root.append(body);

  async function load() {
    const dataset = await api("GET", `${V1}/datasets/${id}?max_images=1`);
    let found = await fetchPage(id, st);
    const pages = Math.max(1, Math.ceil(found.total / st.size));
    if (st.page >= pages) { st.page = pages - 1; found = await fetchPage(id, st); }
    project ||= await api("GET", `${V1}/projects/${dataset.project_id}`).catch(() => null);
    // the report reads every image of the dataset: paging and filtering reuse the last one
    if (!reportFresh) { report = await api("GET", `${V1}/datasets/${id}/report`).catch(() => null); reportFresh = true; }
    let current = selected === null ? null : found.images.find((i) => i.id === selected);
    if (selected !== null && !current) current = await api("GET", `${V1}/datasets/${id}/images/${selected}`).catch(() => null);
    return { dataset, found, report, current };
  }

  async function draw(keepSelection = true, { navigating = false } = {}) {
    if (!keepSelection) selected = null;
    if (!navigating) reportFresh = false;
    const { dataset, found, report, current } = await load();
    if (!current) selected = null;
    const images = found.images;
    const draft = dataset.status !== "completed";
    const caps = report?.captions || {};
    const pending = images.some((i) => i.caption_source === "pending") || (caps.pending || 0) > 0 || dataset.captions_update_status === "in_progress";
    const focus = focusState();

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
    const total = dataset.images_count ?? found.total;
    const manual = report ? caps.manual || 0 : images.filter((i) => i.caption_source === "manual").length;
    const blocked = draft && report && report.verdict === "not_ready" && total >= 5;
    const force = blocked ? h("button", { type: "button", class: "danger", id: "complete-anyway" }, "Complete anyway") : null;
    force?.addEventListener("click", () => {
      if (!confirm("The readiness report has blocking problems. Complete the dataset anyway?")) return;
      busy(force, async () => {
        await api("PUT", `${V1}/datasets/${id}`, { json: { status: "completed", force: true } });
        flash("success", "Dataset completed despite its blocking problems.");
        await draw();
      });
    });
    const recaption = h("button", { type: "button", class: "secondary", disabled: !draft || !total }, "Regenerate all captions");
    recaption.addEventListener("click", () => {
      if (manual && !confirm(`This overwrites ${manual} caption(s) written by hand. Regenerate them too?`)) return;
      busy(recaption, async () => {
        await api("PUT", `${V1}/datasets/${id}/images`, { json: {} });
        drafts.clear();
        flash("success", "Captions are being regenerated.");
        await draw();
      });
    });
    const recaptionAuto = h("button", { type: "button", class: "secondary", disabled: !draft || !total, hidden: !manual }, "Regenerate automatic captions only");
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

    const open = (imageId) => {
      selected = imageId;
      refreshAfter(imageId, true);
    };
    const browser = imageBrowser({ dataset, st, found, report, drafts, openId: selected, open, redraw: (keep = selected) => refreshAfter(keep), navigate: () => refreshAfter(selected, false, true) });
    const missingCount = async () => (await fetchPage(id, { ...st, page: 0, size: 1, caption_state: "missing", flag: "", search: "" })).total;

    const crumbs = [["Projects", "#/projects"], [project ? project.project_name : `Project ${dataset.project_id}`, `#/projects/${dataset.project_id}`]];
    body.replaceChildren(...page(dataset.name || `Dataset ${id}`, crumbs,
      h("section", { class: "panel" },
        h("div", { class: "row" },
          h("dl", { class: "kv" },
            h("dt", {}, "Status"), h("dd", {}, badge(dataset.status)),
            h("dt", {}, "Captions"), h("dd", {}, badge(pending ? "in_progress" : dataset.captions_update_status || "empty")),
            h("dt", {}, "Images"), h("dd", {}, String(total)),
            h("dt", {}, "Upload type"), h("dd", {}, label(dataset.upload_type || "basic"))),
          h("span", { class: "spacer" }), complete, force, clone,
          renameButton("dataset", dataset.name, (name) => api("PUT", `${V1}/datasets/${id}`, { json: { name } }), () => draw()), recaption, recaptionAuto, del),
        draft ? h("p", { class: "hint" }, "Training needs a completed dataset: at least 5 images, a visual schema and every image captioned. Completing freezes uploads, captions and the schema; clone it to change it later.")
          : h("p", { class: "hint" }, "Completed: frozen and ready for training. To change it, clone it into a new draft.")),
      draft ? readinessPanel(report) : null,
      h("div", { class: "grid2" },
        draft ? h("section", { class: "panel", "aria-labelledby": "up-title" }, h("h2", { id: "up-title" }, "Upload"), (upload ||= uploader(dataset, () => draw()))) : null,
        schemaEditor(dataset, images, () => draw(), missingCount)),
      current ? imageView(dataset, current, drafts, refreshAfter) : null,
      browser));
    restoreFocus(focus);
    clearTimeout(timer);
    if (pending) timer = setTimeout(() => draw().catch(() => {}), total > 1000 ? 6000 : 2000); // a large report costs seconds
  }

  async function refreshAfter(keepId, reveal = false, navigating = false) {
    selected = keepId;
    try {
      await draw(true, { navigating: navigating || reveal });
    } catch (err) {
      flash("error", err);
      return;
    }
    if (reveal) {
      const view = document.getElementById("caption-editor");
      view?.scrollIntoView({ block: "start" });
      (view?.querySelector("#caption-form input, #caption-form textarea, #caption-text:not([hidden])"))?.focus({ preventScroll: true });
    }
  }

  await draw(false);
  return () => clearTimeout(timer);
}
