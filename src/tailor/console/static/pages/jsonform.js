// A JSON object edited as labelled fields (nested objects and lists as fieldsets, list items added and
// removed), with the raw JSON one click away. Edits made in either view survive switching; a view
// that cannot be shown (invalid JSON, not an object) says why inline and keeps what was typed.
import { h, label } from "../ui.js";

// FIBO's structured prompt: the fields a caption (or a visual schema) may hold, and their shapes.
const OBJECT_ITEM = { description: "", location: "", relationship: "", relative_size: "", shape_and_color: "", texture: "", appearance_details: "", pose: "", action: "", orientation: "" };
export const FIBO_FIELDS = {
  short_description: "",
  objects: [],
  background_setting: "",
  lighting: { conditions: "", direction: "", shadows: "" },
  aesthetics: { composition: "", color_scheme: "", mood_atmosphere: "" },
  photographic_characteristics: { depth_of_field: "", focus: "", camera_angle: "", lens_focal_length: "" },
  style_medium: "",
  artistic_style: "",
  context: "",
  text_render: [],
};
const ITEM_TEMPLATES = { objects: OBJECT_ITEM, text_render: { text: "", location: "", size: "", color: "", font: "", appearance_details: "" } };
const LONG = /description|setting|context|details|style|composition|atmosphere/;

function kindOf(v) {
  if (v === null) return "null";
  if (Array.isArray(v)) return "list";
  if (typeof v === "object") return "object";
  if (typeof v === "number") return "number";
  if (typeof v === "boolean") return "true/false";
  return "text";
}

/** Where ``value`` breaks FIBO's field types (a list where a list belongs, ...): a message or "". */
export function typeProblem(value) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return `the JSON must be an object ({...}), not ${kindOf(value) === "list" ? "a list" : kindOf(value)}`;
  for (const [key, shape] of Object.entries(FIBO_FIELDS)) {
    if (!(key in value) || value[key] === null) continue;
    const want = kindOf(shape), got = kindOf(value[key]);
    if (want !== got) return `${key} must be ${want === "list" ? "a list" : want === "object" ? "an object" : "text"}, not ${got === "list" ? "a list" : got}`;
  }
  return "";
}

function blank(v) {
  if (Array.isArray(v)) return [];
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, blank(x)]));
  if (typeof v === "number") return 0;
  if (typeof v === "boolean") return false;
  return "";
}

function singular(key) {
  const t = label(key);
  return t.endsWith("s") && !t.endsWith("ss") ? t.slice(0, -1) : `${t} item`;
}

/**
 * jsonEditor({ id, textId, title, text, readOnly, store, template, onChange }) -> { el, text(), set(text), check() }
 * ``text()``: the JSON being edited (as typed in raw view); ``check()``: {value, error} before saving.
 * ``store``: localStorage key remembering the view (form or raw) between images and visits.
 */
export function jsonEditor({ id, textId, title, text, readOnly = false, store, template = null, onChange = () => {} }) {
  let mode = (store && localStorage.getItem(store)) || "form";
  let value = null;
  const raw = h("textarea", { id: textId, rows: 14, readOnly, spellcheck: false, class: "raw-json" });
  const form = h("div", { class: "jform", id: `${id}-form` });
  const problem = h("p", { class: "field-error", id: `${id}-problem`, role: "alert", hidden: true });
  const toggle = h("button", { type: "button", class: "secondary small", id: `${id}-toggle`, "aria-controls": `${id}-form ${textId}` });
  const rawLabel = h("label", { for: textId }, `${title} (JSON)`);

  function say(message) { problem.textContent = message; problem.hidden = !message; }
  function sync() { raw.value = JSON.stringify(value, null, 2); onChange(raw.value); }

  function parse(t) {
    if (!t.trim()) return { value: template ? structuredClone(template) : {}, error: "" };
    let v;
    try { v = JSON.parse(t); } catch (e) { return { value: null, error: `This is not valid JSON (${e.message}): fix it here to see the form.` }; }
    const bad = typeProblem(v);
    return bad ? { value: null, error: `Cannot show this as a form: ${bad}` } : { value: v, error: "" };
  }

  function control(path, v, name, onSet) {
    const fid = `${id}-${path.join("-")}`.replace(/[^A-Za-z0-9_-]/g, "_");
    const kind = kindOf(v);
    if (kind === "object") return fieldset(path, v, name);
    if (kind === "list") return list(path, v, name);
    let input;
    if (kind === "true/false") {
      input = h("input", { type: "checkbox", id: fid, checked: v, disabled: readOnly });
      input.addEventListener("change", () => { onSet(input.checked); sync(); });
      return h("div", { class: "jfield check" }, h("label", { class: "inline", for: fid }, input, name));
    }
    const long = kind === "text" && (LONG.test(path[path.length - 1] ?? "") || String(v).length > 70);
    input = long ? h("textarea", { id: fid, rows: 2, readOnly, class: "jtext" }, String(v ?? ""))
      : h("input", { type: kind === "number" ? "number" : "text", step: kind === "number" ? "any" : undefined, id: fid, readOnly, value: v === null ? "" : String(v), placeholder: v === null ? "null" : undefined });
    const err = h("p", { class: "field-error", id: `${fid}-err`, hidden: true });
    input.addEventListener("input", () => {
      if (kind === "number") {
        const n = Number(input.value);
        const bad = input.value.trim() === "" || !Number.isFinite(n);
        err.textContent = bad ? `${name} must be a number` : "";
        err.hidden = !bad;
        input.setAttribute("aria-invalid", String(bad));
        if (bad) { input.dataset.invalid = "1"; return; }
        delete input.dataset.invalid;
        onSet(n);
      } else onSet(kind === "null" && input.value === "" ? null : input.value);
      sync();
    });
    return h("div", { class: "jfield" }, h("label", { for: fid }, name), input, err);
  }

  function fieldset(path, obj, name) {
    const parts = Object.entries(obj).map(([k, v]) => control([...path, k], v, label(k), (x) => { obj[k] = x; }));
    return h("fieldset", { class: "jset" }, name ? h("legend", {}, name) : null, parts);
  }

  function list(path, arr, name) {
    const key = path[path.length - 1];
    const items = arr.map((item, i) => {
      const itemName = `${singular(key)} ${i + 1}`;
      const remove = h("button", { type: "button", class: "danger small", disabled: readOnly, "aria-label": `Remove ${itemName.toLowerCase()}` }, "Remove");
      remove.addEventListener("click", () => { arr.splice(i, 1); sync(); draw(); });
      const inner = control([...path, i], item, itemName, (x) => { arr[i] = x; });
      return h("div", { class: "jitem" }, inner, h("div", { class: "row" }, remove));
    });
    const add = h("button", { type: "button", class: "secondary small", disabled: readOnly }, `Add ${singular(key).toLowerCase()}`);
    add.addEventListener("click", () => {
      arr.push(arr.length ? blank(arr[0]) : structuredClone(ITEM_TEMPLATES[key] ?? ""));
      sync();
      draw();
      const added = form.querySelectorAll(`[id^="${`${id}-${[...path, arr.length - 1].join("-")}`.replace(/[^A-Za-z0-9_-]/g, "_")}"]`);
      added[0]?.focus();
    });
    return h("fieldset", { class: "jset jlist" }, h("legend", {}, `${name} (${arr.length})`), items, h("div", { class: "row" }, add));
  }

  function addField() {
    const missing = Object.keys(FIBO_FIELDS).filter((k) => !(k in value));
    if (!missing.length || readOnly) return null;
    const pick = h("select", { id: `${id}-add-field`, "aria-label": "Field to add" }, h("option", { value: "" }, "Add a field…"), missing.map((k) => h("option", { value: k }, label(k))));
    pick.addEventListener("change", () => {
      const k = pick.value;
      if (!k) return;
      value[k] = structuredClone(FIBO_FIELDS[k]);
      sync();
      draw();
    });
    return h("div", { class: "row mt" }, pick);
  }

  function draw() {
    form.replaceChildren(fieldset([], value, ""), addField());
  }

  function show(next) {
    if (next === "form") {
      const parsed = parse(raw.value);
      if (parsed.error) { say(parsed.error); mode = "raw"; }
      else { value = parsed.value; say(""); draw(); mode = "form"; }
    } else {
      say("");
      mode = "raw";
    }
    form.hidden = mode !== "form";
    raw.hidden = rawLabel.hidden = mode !== "raw";
    toggle.textContent = mode === "form" ? "Raw JSON" : "Form";
    toggle.setAttribute("aria-pressed", String(mode === "raw"));
  }

  toggle.addEventListener("click", () => {
    const next = mode === "form" ? "raw" : "form";
    if (store) localStorage.setItem(store, next);
    show(next);
    (mode === "raw" ? raw : form.querySelector("input, textarea, select"))?.focus();
  });
  raw.addEventListener("input", () => { say(""); onChange(raw.value); });

  function set(t) {
    raw.value = t || (template ? JSON.stringify(template, null, 2) : "");
    show(mode);
  }

  set(text);
  const el = h("div", { class: "jeditor", id },
    h("div", { class: "row" }, h("span", { class: "jtitle" }, title), h("span", { class: "spacer" }), toggle),
    problem, form, rawLabel, raw);
  return {
    el,
    text: () => raw.value,
    set,
    /** The JSON to save, or the reason it cannot be saved (shown inline too). */
    check() {
      const bad = form.querySelector("[data-invalid]");
      if (mode === "form" && bad) { const msg = document.getElementById(`${bad.id}-err`)?.textContent || "a field is invalid"; say(msg); bad.focus(); return { error: msg }; }
      let v;
      try { v = JSON.parse(raw.value); } catch (e) { const msg = `The ${title.toLowerCase()} is not valid JSON: ${e.message}`; say(msg); return { error: msg }; }
      const wrong = typeProblem(v);
      if (wrong) { const msg = `The ${title.toLowerCase()} cannot be saved: ${wrong}`; say(msg); return { error: msg }; }
      say("");
      return { value: JSON.stringify(v) };
    },
  };
}

/** Flatten a JSON value into {"lighting.direction": "left", "objects[0].description": ...}. */
function flatten(v, prefix = "", out = {}) {
  if (Array.isArray(v)) {
    if (!v.length) out[prefix] = "[]";
    v.forEach((x, i) => flatten(x, `${prefix}[${i}]`, out));
  } else if (v && typeof v === "object") {
    if (!Object.keys(v).length && prefix) out[prefix] = "{}";
    for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else out[prefix] = v === null ? "null" : String(v);
  return out;
}

/** Field-by-field changes from ``before`` to ``after`` (JSON texts): [{field, before, after}]. */
export function jsonDiff(beforeText, afterText) {
  let a = {}, b = {};
  try { a = flatten(JSON.parse(beforeText || "{}")); } catch { a = { "(raw)": beforeText }; }
  try { b = flatten(JSON.parse(afterText || "{}")); } catch { b = { "(raw)": afterText }; }
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.filter((k) => a[k] !== b[k]).map((k) => ({ field: k, before: a[k], after: b[k] }));
}
