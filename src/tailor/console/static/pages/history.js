// The playground's server-side pieces: a project's generation history (GET
// /projects/{id}/generations, newest first, with Recreate and Delete) and a side-by-side comparison
// of 2 to 4 targets (models of the project and/or checkpoints) for one prompt and seed.
import { api, V1, waitForRequest } from "../api.js";
import { busy, errorBox, h, when } from "../ui.js";

const PAGE_SIZE = 8;

/** A history entry as the playground's result items are shaped (what Recreate loads). */
export function entryItem(g) {
  const p = g.parameters || {};
  const version = g.model_version === null || g.model_version === undefined ? null : /^\d+$/.test(g.model_version) ? Number(g.model_version) : g.model_version;
  return {
    image_url: g.image_url, seed: g.seed, structured_prompt: g.structured_prompt, prompt: g.prompt || "",
    request_id: g.request_id, aspect_ratio: p.aspect_ratio || "", model: p.tailored_model_id ?? (g.model_id ? String(g.model_id) : ""),
    influence: p.tailored_model_influence ?? null, steps_num: p.steps_num ?? null, negative_prompt: p.negative_prompt ?? null,
    guidance_scale: p.guidance_scale ?? null, model_version: version, edit: !!p.edit,
  };
}

function versionLabel(v) {
  if (v === null || v === undefined || v === "") return "served version";
  return v === "final" ? "final weights" : `checkpoint ${v}`;
}

/**
 * The history panel of a project. ``describe(item)`` is the playground's one-line summary and
 * ``recreate(item)`` loads an item into the form and generates it again.
 */
export function historyPanel({ describe, recreate }) {
  const list = h("div", { class: "gallery", id: "history" });
  const title = h("h2", { id: "hist-title" }, "History");
  const note = h("p", { class: "hint", id: "hist-note", "aria-live": "polite" });
  const older = h("button", { type: "button", class: "secondary", id: "hist-older" }, "Older");
  const newer = h("button", { type: "button", class: "secondary", id: "hist-newer" }, "Newer");
  const errors = h("div");
  let project = null, pageNo = 1;

  async function load() {
    errors.replaceChildren();
    if (!project) {
      title.textContent = "History";
      note.textContent = "Choose a tailored model: its project's generations are kept on the server and listed here.";
      list.replaceChildren(); older.hidden = newer.hidden = true;
      return;
    }
    const data = await api("GET", `${V1}/projects/${project.id}/generations?page=${pageNo}&page_size=${PAGE_SIZE}`);
    const pages = Math.max(1, Math.ceil(data.total / data.page_size));
    if (pageNo > pages) { pageNo = pages; return load(); }
    title.textContent = `History of ${project.name}`;
    note.textContent = data.total ? `${data.total} image(s) made with this project's models · page ${pageNo} of ${pages}` : "Nothing generated with this project's models yet.";
    older.hidden = pageNo >= pages; newer.hidden = pageNo <= 1;
    list.replaceChildren(...data.generations.map(card));
  }

  function card(g) {
    const item = entryItem(g);
    const usable = g.model_status === "Completed" && !item.edit && !!g.structured_prompt;
    const again = h("button", { type: "button", class: "secondary", disabled: !usable }, "Recreate");
    again.addEventListener("click", () => recreate(item));
    const del = h("button", { type: "button", class: "danger" }, "Delete");
    del.addEventListener("click", () => {
      if (!confirm("Delete this image from the history?")) return;
      busy(del, async () => { await api("DELETE", `${V1}/projects/${g.project_id}/generations/${g.id}`); await load(); }, errors);
    });
    const why = g.model_status !== "Completed" ? `model ${g.model_status ? g.model_status.toLowerCase() : "gone"}: it cannot generate again` : item.edit ? "an edit: recreate it from the edit form" : null;
    return h("figure", { class: "card", "data-request": g.request_id },
      h("img", { src: g.image_url, alt: g.prompt || "Generated image", loading: "lazy" }),
      h("figcaption", { class: "body" },
        h("div", {}, g.prompt || (item.edit ? "(an edit)" : "(from a structured prompt)")),
        h("div", { class: "muted" }, `${g.model_name || `model #${g.model_id}`} · ${describe(item)}`),
        h("div", { class: "muted" }, when(g.created_at)),
        why ? h("div", { class: "hint" }, why) : null,
        h("div", { class: "row mt" }, again, del, h("a", { href: g.image_url, download: "", class: "button secondary" }, "Download"))));
  }

  older.addEventListener("click", () => busy(older, async () => { pageNo += 1; await load(); }, errors));
  newer.addEventListener("click", () => busy(newer, async () => { pageNo -= 1; await load(); }, errors));
  const panel = h("section", { class: "panel mt", "aria-labelledby": "hist-title" },
    title, note, errors, list, h("div", { class: "row mt" }, newer, older));
  return {
    panel,
    /** Show ``p`` (a project {id, name}, or null); back to its first page when it changes. */
    async show(p) {
      if ((p && p.id) !== (project && project.id)) pageNo = 1;
      project = p;
      await load().catch((e) => errors.replaceChildren(errorBox(e)));
    },
    refresh: () => load().catch((e) => errors.replaceChildren(errorBox(e))),
  };
}

/**
 * Side by side: the same prompt and seed on 2-4 targets. The first target turns the prompt into a
 * structured prompt; every other target renders that structured prompt with the same seed, so the
 * adapter (model or checkpoint) is the only difference. ``request()`` gives the form's body.
 */
export function comparePanel({ request, onDone }) {
  const targets = h("fieldset", { class: "targets", id: "cmp-targets" }, h("legend", {}, "Targets (2 to 4)"));
  const go = h("button", { type: "button", id: "cmp-go" }, "Compare side by side");
  const status = h("p", { class: "hint", "aria-live": "polite" });
  const errors = h("div");
  const grid = h("div", { class: "compare", id: "compare" });
  let options = [];

  async function setProject(models) {
    const lists = await Promise.all(models.map((m) => api("GET", `${V1}/models/${m.id}/checkpoints`).catch(() => ({ checkpoints: [] }))));
    options = [];
    models.forEach((m, i) => {
      options.push({ model: m, step: null, label: `${m.name} (#${m.id}) · served version` });
      for (const c of lists[i].checkpoints || []) options.push({ model: m, step: c.checkpoint_step, label: `${m.name} (#${m.id}) · checkpoint ${c.checkpoint_step}` });
    });
    targets.replaceChildren(h("legend", {}, "Targets (2 to 4)"), ...(options.length
      ? options.map((o, i) => h("label", { class: "check" }, h("input", { type: "checkbox", value: String(i), "data-label": o.label }), ` ${o.label}`))
      : [h("p", { class: "hint" }, "Choose a tailored model: the models of its project and their checkpoints can be compared.")]));
    grid.replaceChildren();
  }

  async function one(option, body) {
    const b = { ...body, sync: false, tailored_model_id: String(option.model.id) };
    if (option.step !== null) b.checkpoint_step = option.step; else delete b.checkpoint_step;
    const started = await api("POST", "/v2/image/generate/tailored", { json: b });
    return waitForRequest(started.request_id, () => {});
  }

  function tile(option, r, influence) {
    const p = r.parameters || {};
    const version = versionLabel(p.model_version ?? option.step);
    return h("figure", { class: "card", "data-target": option.label },
      h("img", { src: r.image_url, alt: `${option.model.name}, ${version}` }),
      h("figcaption", { class: "body" },
        h("strong", {}, `${option.model.name} (#${option.model.id})`),
        h("div", { class: "muted" }, `${version} · influence ${Number(p.tailored_model_influence ?? influence).toFixed(2)} · seed ${r.seed}`)));
  }

  go.addEventListener("click", () => {
    errors.replaceChildren();
    const chosen = [...targets.querySelectorAll("input:checked")].map((el) => options[Number(el.value)]);
    if (chosen.length < 2 || chosen.length > 4) {
      errors.replaceChildren(errorBox(`Choose 2 to 4 targets to compare (${chosen.length} chosen).`));
      return;
    }
    const body = request();
    if (!body.prompt && !body.structured_prompt) {
      errors.replaceChildren(errorBox("Write a prompt (or load a structured prompt) in the request form first."));
      return;
    }
    if (body.seed === undefined) body.seed = Math.floor(Math.random() * 2 ** 31);
    delete body.tailored_model_id;
    busy(go, async () => {
      grid.replaceChildren();
      status.textContent = `Rendering on ${chosen[0].label}…`;
      const first = await one(chosen[0], body);
      const same = { ...body, structured_prompt: first.structured_prompt, seed: first.seed };
      delete same.prompt;
      status.textContent = `Rendering the same structured prompt and seed on ${chosen.length - 1} more target(s)…`;
      const rest = await Promise.all(chosen.slice(1).map((o) => one(o, same)));
      grid.replaceChildren(...[first, ...rest].map((r, i) => tile(chosen[i], r, body.tailored_model_influence)));
      status.textContent = `Same structured prompt, seed ${first.seed}, influence ${Number(body.tailored_model_influence ?? 1).toFixed(2)}.`;
      if (onDone) onDone();
    }, errors);
  });

  const panel = h("section", { class: "panel mt", id: "compare-panel", "aria-labelledby": "cmp-title" },
    h("h2", { id: "cmp-title" }, "Compare"),
    h("p", { class: "hint" }, "Renders the request form's prompt, seed, influence, aspect ratio and steps on each target."),
    targets, errors, status, h("div", { class: "row mt" }, go), grid);
  return { panel, setProject };
}
