// Projects: the list and a form to create one.
import { api, list, V1 } from "../api.js";
import { badge, busy, field, formValues, h, label, page, select, when } from "../ui.js";

const IP_TYPES = ["defined_character", "stylized_scene", "multi_object_set", "object_variants", "icons", "character_variants", "other"];

export async function render(root) {
  const projects = list(await api("GET", `${V1}/projects`), "projects");
  const rows = projects.map((p) => h("tr", {},
    h("td", {}, h("a", { href: `#/projects/${p.id}` }, p.project_name || `Project ${p.id}`)),
    h("td", {}, label(p.ip_type)), h("td", {}, label(p.ip_medium)),
    h("td", {}, badge(p.training_version || "untrained")), h("td", {}, when(p.created_at))));
  const table = projects.length
    ? h("table", {}, h("thead", {}, h("tr", {}, ["Name", "IP type", "Medium", "Training", "Created"].map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows))
    : h("p", { class: "empty" }, "No projects yet: create the first one.");

  const errors = h("div");
  const submit = h("button", { type: "submit" }, "Create project");
  const form = h("form", { class: "panel", "aria-labelledby": "new-project" },
    h("h2", { id: "new-project" }, "New project"),
    field("Name", h("input", { type: "text", name: "project_name", required: true })),
    field("Description", h("input", { type: "text", name: "project_description" })),
    field("Medium", select("ip_medium", ["illustration", "photography"].map((v) => [v, label(v)]), "illustration")),
    field("IP type", select("ip_type", IP_TYPES.map((v) => [v, label(v)]), "defined_character"), "object_variants, multi_object_set, icons and character_variants are illustration only."),
    field("IP name", h("input", { type: "text", name: "ip_name" }), "defined_character only; 1–3 words."),
    field("IP description", h("input", { type: "text", name: "ip_description" }), "defined_character and object_variants; up to 6 words."),
    errors, h("div", { class: "row" }, submit));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    errors.replaceChildren();
    busy(submit, async () => {
      const p = await api("POST", `${V1}/projects`, { json: formValues(form) });
      location.hash = `#/projects/${p.id}`;
    }, errors);
  });

  root.append(...page("Projects", null,
    h("div", { class: "grid2" }, h("section", { class: "panel", "aria-label": "Your projects" }, table), form)));
}
