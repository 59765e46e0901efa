// Browsing a dataset of thousands of images: a page of the images list at a time (the API filters
// and counts: caption state, readiness flag, text search), as a grid or a caption table, with
// multi-select (checkboxes, shift-click ranges, the whole page) and one-request delete.
import { ApiError, api, getToken, V1 } from "../api.js";
import { busy, flash, h, label, select } from "../ui.js";

export const CAPTION_STATES = ["missing", "automatic", "manual", "pending", "failed"];
export const FLAGS = ["exact_duplicate", "near_duplicate", "blurry", "upscaled", "extreme_aspect_ratio", "cropped_in_half",
  "caption_missing", "caption_failed", "caption_contradicts_schema", "short_description", "not_measured"];
export const PAGE_SIZES = [24, 48, 96, 200];

export function newBrowseState() {
  const phone = window.matchMedia("(max-width: 600px)").matches;
  return { page: 0, size: phone ? 24 : 48, caption_state: "", flag: "", search: "", view: "grid", selected: new Set(), anchor: null };
}

/** One page of ``GET .../images`` with the filters of ``st``: {images, total}. */
export async function fetchPage(datasetId, st) {
  const q = new URLSearchParams({ limit: String(st.size), offset: String(st.page * st.size) });
  for (const k of ["caption_state", "flag", "search"]) if (st[k]) q.set(k, st[k]);
  let res;
  try {
    res = await fetch(`${V1}/datasets/${datasetId}/images?${q}`, { headers: { api_token: getToken(), accept: "application/json" } });
  } catch (err) {
    throw new ApiError(0, `cannot reach the server: ${err.message}`);
  }
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const e = body && body.error;
    throw new ApiError(res.status, (e && e.message) || `HTTP ${res.status}`, e && e.details);
  }
  return { images: body || [], total: Number(res.headers.get("x-total-count") || (body || []).length) };
}

function shortDescription(caption) {
  if (!caption) return "";
  try { return String(JSON.parse(caption).short_description || ""); } catch { return ""; }
}

/**
 * The images panel. ``st``: the browse state (kept by the page across redraws); ``found``: the
 * page from ``fetchPage``; ``open(id)``: show an image; ``redraw()``: load and draw again after a
 * change; ``navigate()``: the same after a page or filter change (the readiness report is reused).
 */
export function imageBrowser({ dataset, st, found, report, drafts, openId, open, redraw, navigate = redraw }) {
  const draft = dataset.status !== "completed";
  const { images, total } = found;
  const pages = Math.max(1, Math.ceil(total / st.size));
  const flagsOf = new Map((report?.images || []).map((i) => [i.id, i.flags || []]));
  const flagCounts = {};
  for (const fl of flagsOf.values()) for (const f of fl) flagCounts[f] = (flagCounts[f] || 0) + 1;
  const go = (changes) => { Object.assign(st, changes); navigate(); };

  // --- filters
  const search = h("input", { type: "search", id: "image-search", value: st.search, placeholder: "Text in a caption or a file name", autocomplete: "off" });
  let typing = null;
  search.addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(() => go({ search: search.value.trim(), page: 0 }), 350); });
  search.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); clearTimeout(typing); go({ search: search.value.trim(), page: 0 }); } });
  const state = select("caption_state", [["", "Any"], ...CAPTION_STATES.map((s) => [s, label(s)])], st.caption_state);
  state.id = "filter-caption";
  state.addEventListener("change", () => go({ caption_state: state.value, page: 0 }));
  const flag = select("flag", [["", "Any"], ...FLAGS.map((f) => [f, `${label(f)}${flagCounts[f] ? ` (${flagCounts[f]})` : ""}`])], st.flag);
  flag.id = "filter-flag";
  flag.addEventListener("change", () => go({ flag: flag.value, page: 0 }));
  const size = select("size", PAGE_SIZES.map((n) => [n, String(n)]), st.size);
  size.id = "page-size";
  size.addEventListener("change", () => go({ size: Number(size.value), page: 0 }));
  const viewBtn = (v, text) => {
    const b = h("button", { type: "button", class: "secondary small", "aria-pressed": String(st.view === v) }, text);
    b.addEventListener("click", () => go({ view: v }));
    return b;
  };
  const filters = h("div", { class: "filters", role: "search", "aria-label": "Filter images" },
    h("div", { class: "grow" }, h("label", { for: "image-search" }, "Search captions and names"), search),
    h("div", {}, h("label", { for: "filter-caption" }, "Caption"), state),
    h("div", {}, h("label", { for: "filter-flag" }, "Readiness flag"), flag),
    h("div", {}, h("label", { for: "page-size" }, "Per page"), size),
    h("div", { class: "views", role: "group", "aria-label": "View" }, viewBtn("grid", "Grid"), viewBtn("table", "Caption table")));

  // --- selection
  const onPage = images.map((i) => i.id);
  const selectedHere = onPage.filter((i) => st.selected.has(i)).length;
  const count = h("span", { id: "selected-count", "aria-live": "polite" }, `${st.selected.size} selected`);
  const all = h("input", { type: "checkbox", id: "select-page", disabled: !images.length });
  all.checked = images.length > 0 && selectedHere === images.length;
  all.indeterminate = selectedHere > 0 && selectedHere < images.length;
  const boxes = [];
  function refreshSelection() {
    const here = onPage.filter((i) => st.selected.has(i)).length;
    all.checked = images.length > 0 && here === images.length;
    all.indeterminate = here > 0 && here < images.length;
    count.textContent = `${st.selected.size} selected`;
    remove.disabled = !draft || !st.selected.size;
    clear.hidden = !st.selected.size;
    for (const b of boxes) b.checked = st.selected.has(Number(b.dataset.id));
  }
  all.addEventListener("change", () => {
    for (const i of onPage) all.checked ? st.selected.add(i) : st.selected.delete(i);
    refreshSelection();
  });
  const remove = h("button", { type: "button", class: "danger", id: "delete-selected" }, "Delete selected");
  remove.addEventListener("click", () => {
    const ids = [...st.selected];
    if (!confirm(`Delete ${ids.length} image(s) from "${dataset.name}"? This cannot be undone.`)) return;
    busy(remove, async () => {
      const out = await api("POST", `${V1}/datasets/${dataset.id}/images/delete`, { json: { image_ids: ids } });
      for (const i of ids) drafts.delete(i);
      st.selected.clear();
      flash("success", `Deleted ${out.deleted} image(s).`);
      redraw(ids.includes(openId) ? null : openId);
    });
  });
  const clear = h("button", { type: "button", class: "link" }, "Clear selection");
  clear.addEventListener("click", () => { st.selected.clear(); refreshSelection(); });
  const selection = h("div", { class: "row selectionbar" },
    h("label", { class: "inline", for: "select-page" }, all, "Select all on this page"), count, clear,
    h("span", { class: "spacer" }), remove);

  function checkbox(img, index) {
    const name = img.image_name || `image ${img.id}`;
    const box = h("input", { type: "checkbox", class: "pick", "data-id": img.id, "aria-label": `Select ${name}` });
    box.checked = st.selected.has(img.id);
    box.addEventListener("click", (ev) => {
      // shift-click: the range from the last box clicked on this page takes this box's state
      if (ev.shiftKey && st.anchor !== null && onPage.includes(st.anchor)) {
        const from = onPage.indexOf(st.anchor);
        const [a, b] = from < index ? [from, index] : [index, from];
        for (const i of onPage.slice(a, b + 1)) box.checked ? st.selected.add(i) : st.selected.delete(i);
      } else if (box.checked) st.selected.add(img.id);
      else st.selected.delete(img.id);
      st.anchor = img.id;
      refreshSelection();
    });
    boxes.push(box);
    return box;
  }

  function openButton(img, cls, ...content) {
    const b = h("button", { type: "button", class: cls, "data-image": img.id, "aria-pressed": String(img.id === openId), title: img.image_name || "" }, ...content);
    b.addEventListener("click", () => open(img.id));
    return b;
  }

  function tag(img) {
    return drafts.has(img.id) ? "unsaved edit" : img.caption_error ? "caption failed" : label(img.caption_source || "no caption");
  }

  function flagsBadge(img) {
    const fl = flagsOf.get(img.id) || [];
    return fl.length ? h("span", { class: "flags", title: fl.join(", "), "data-flags": fl.join(" ") }, fl.map((f) => f.replaceAll("_", " ")).join(", ")) : null;
  }

  let body;
  if (!images.length) {
    body = h("p", { class: "empty" }, total || st.search || st.caption_state || st.flag ? "No image matches these filters." : "No images yet.");
  } else if (st.view === "table") {
    body = h("div", { class: "scroll-x" }, h("table", { id: "caption-table", class: "captions" },
      h("thead", {}, h("tr", {}, h("th", {}, h("span", { class: "visually-hidden" }, "Select")), h("th", {}, "Image"), h("th", {}, "Caption"), h("th", {}, "Short description"), h("th", {}, "Flags"))),
      h("tbody", {}, images.map((img, i) => h("tr", { "data-row": img.id, class: img.id === openId ? "open" : "" },
        h("td", {}, draft ? checkbox(img, i) : ""),
        h("td", {}, openButton(img, drafts.has(img.id) ? "rowthumb unsaved" : "rowthumb",
          h("img", { src: img.thumbnail_url, alt: "", loading: "lazy", width: 48, height: 48 }), h("span", {}, img.image_name || `image ${img.id}`))),
        h("td", {}, h("span", { class: `badge ${img.caption_state}` }, tag(img))),
        h("td", { class: "desc" }, shortDescription(drafts.get(img.id) ?? img.caption) || h("span", { class: "muted" }, "—")),
        h("td", {}, flagsBadge(img) || ""))))));
  } else {
    body = h("div", { class: "thumbs", role: "list", "aria-label": "Images" }, images.map((img, i) => h("div", { role: "listitem", class: "cell" },
      openButton(img, drafts.has(img.id) ? "thumb unsaved" : "thumb",
        h("img", { src: img.thumbnail_url || img.image_url, alt: img.image_name || `image ${img.id}`, loading: "lazy" }),
        h("span", { class: "tag" }, tag(img)), flagsBadge(img)),
      draft ? checkbox(img, i) : null)));
  }

  // --- pager
  const prev = h("button", { type: "button", class: "secondary", id: "page-prev", disabled: st.page <= 0 }, "‹ Previous");
  const next = h("button", { type: "button", class: "secondary", id: "page-next", disabled: st.page + 1 >= pages }, "Next ›");
  prev.addEventListener("click", () => go({ page: Math.max(0, st.page - 1) }));
  next.addEventListener("click", () => go({ page: Math.min(pages - 1, st.page + 1) }));
  const first = images.length ? st.page * st.size + 1 : 0;
  const pager = h("nav", { class: "row pager", "aria-label": "Pages" }, prev,
    h("span", { id: "page-info" }, `Page ${Math.min(st.page + 1, pages)} of ${pages} · ${first}–${first + images.length - (images.length ? 1 : 0)} of ${total}`),
    next);

  refreshSelection();
  return h("section", { class: "panel", "aria-labelledby": "img-title", id: "images-panel" },
    h("h2", { id: "img-title" }, `Images (${dataset.images_count ?? total})`),
    filters, draft ? selection : null, body, pager);
}
