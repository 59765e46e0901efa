// Small DOM helpers: h() builds elements, flash() shows messages, errors show the API's message.

/** h("button", {class: "x", onclick: fn}, "text", child...) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let ids = 0;
/** A labelled form field: returns [wrapper, input]. */
export function field(labelText, input, hint) {
  if (!input.id) input.id = `f${++ids}`;
  const hintEl = hint ? h("p", { class: "hint", id: `${input.id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute("aria-describedby", hintEl.id);
  return h("div", {}, h("label", { for: input.id }, labelText), input, hintEl);
}

export function select(name, options, value) {
  return h("select", { name }, options.map((o) => {
    const [v, text] = Array.isArray(o) ? o : [o, o];
    return h("option", { value: v, selected: String(v) === String(value) }, text);
  }));
}

export function errorBox(err) {
  const msg = err && err.message ? err.message : String(err);
  const extra = err && err.details && err.details !== msg ? `\n${err.details}` : "";
  return h("div", { class: "error", role: "alert" }, msg + extra);
}

/** Show a message at the top of the page ("error" or "success"). */
export function flash(kind, message) {
  const box = document.getElementById("flash");
  box.replaceChildren(kind === "error" ? errorBox(message) : h("div", { class: "success" }, message));
  if (kind !== "error") setTimeout(() => { if (box.textContent === message) box.replaceChildren(); }, 4000);
}

export function clearFlash() {
  document.getElementById("flash").replaceChildren();
}

/** Run an async action from a button: disables it meanwhile and shows the API's error. */
export async function busy(button, fn, errorTarget) {
  if (button) button.disabled = true;
  try {
    return await fn();
  } catch (err) {
    if (errorTarget) { clearFlash(); errorTarget.replaceChildren(errorBox(err)); } // no stale success next to it
    else flash("error", err);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

/** "in_progress" -> "In progress", "InProgress" -> "In progress": what a person reads. */
export function label(text) {
  if (text === null || text === undefined || text === "") return "—";
  const words = String(text).replace(/_/g, " ").replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function badge(text) {
  return h("span", { class: `badge ${text}` }, label(text));
}

export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString();
}

export function pretty(jsonText) {
  if (!jsonText) return "";
  try { return JSON.stringify(JSON.parse(jsonText), null, 2); } catch { return jsonText; }
}

export function page(title, crumbs, ...content) {
  const trail = crumbs && crumbs.length
    ? h("div", { class: "crumbs" }, crumbs.flatMap((c, i) => [i ? " / " : "", c[1] ? h("a", { href: c[1] }, c[0]) : c[0]]))
    : null;
  return [trail, h("h1", {}, title), ...content].filter((x) => x !== null && x !== undefined && x !== false);
}

export function formValues(form) {
  const out = {};
  for (const [k, v] of new FormData(form).entries()) if (v !== "") out[k] = v;
  return out;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60), r = s % 60;
  return m ? `${m}m ${String(r).padStart(2, "0")}s` : `${r}s`;
}

/** A button that asks for a new name and saves it with ``save(name)``, then calls ``done``. */
export function renameButton(what, current, save, done) {
  const b = h("button", { type: "button", class: "secondary" }, `Rename ${what}`);
  b.addEventListener("click", () => {
    const name = prompt(`New name for the ${what}:`, current || "");
    if (name === null || !name.trim() || name.trim() === current) return;
    busy(b, async () => {
      await save(name.trim());
      flash("success", `Renamed to "${name.trim()}".`);
      if (done) await done();
    });
  });
  return b;
}
