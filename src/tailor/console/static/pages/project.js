// One project: its datasets and models, with forms to create both.
import { api, list, V1 } from "../api.js";
import { badge, busy, field, flash, formValues, h, label, page, renameButton, select, when } from "../ui.js";

export async function render(root, { id }) {
  const [project, datasetsRaw, modelsRaw] = await Promise.all([
    api("GET", `${V1}/projects/${id}`),
    api("GET", `${V1}/projects/${id}/datasets`),
    api("GET", `${V1}/projects/${id}/models`),
  ]);
  const datasets = list(datasetsRaw, "datasets");
  const models = list(modelsRaw, "models");

  const dsTable = datasets.length
    ? h("table", {}, h("thead", {}, h("tr", {}, ["Dataset", "Status", "Images", "Upload"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, datasets.map((d) => h("tr", {},
        h("td", {}, h("a", { href: `#/datasets/${d.id}` }, d.name || `Dataset ${d.id}`)),
        h("td", {}, badge(d.status)), h("td", {}, d.images_count ?? "—"), h("td", {}, label(d.upload_type))))))
    : h("p", { class: "empty" }, "No datasets yet.");

  const dsErrors = h("div");
  const dsSubmit = h("button", { type: "submit" }, "Create dataset");
  const dsForm = h("form", { "aria-labelledby": "new-dataset" },
    h("h3", { id: "new-dataset" }, "New dataset"),
    field("Name", h("input", { type: "text", name: "name", required: true })),
    field("Upload type", select("upload_type", [["basic", "basic (up to 200 images, one by one)"], ["advanced", "advanced (up to 5000, zip upload)"]], "basic")),
    dsErrors, h("div", { class: "row" }, dsSubmit));
  dsForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    dsErrors.replaceChildren();
    busy(dsSubmit, async () => {
      const d = await api("POST", `${V1}/datasets`, { json: { project_id: id, ...formValues(dsForm) } });
      location.hash = `#/datasets/${d.id}`;
    }, dsErrors);
  });

  const mTable = models.length
    ? h("table", {}, h("thead", {}, h("tr", {}, ["Model", "Status", "Mode", "Dataset"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, models.map((m) => h("tr", {},
        h("td", {}, h("a", { href: `#/models/${m.id}` }, m.name || `Model ${m.id}`)),
        h("td", {}, badge(m.status)), h("td", {}, label(m.training_mode)),
        h("td", {}, (datasets.find((d) => d.id === m.dataset_id) || {}).name || `Dataset ${m.dataset_id}`)))))
    : h("p", { class: "empty" }, "No models yet.");

  const completed = datasets.filter((d) => d.status === "completed");
  const mErrors = h("div");
  const mSubmit = h("button", { type: "submit", disabled: !datasets.length }, "Create model");
  const mForm = h("form", { "aria-labelledby": "new-model" },
    h("h3", { id: "new-model" }, "New model"),
    field("Name", h("input", { type: "text", name: "name", required: true })),
    field("Dataset", select("dataset_id", datasets.map((d) => [d.id, `${d.name} (${d.status})`]), completed[0]?.id),
      "Training needs a completed dataset."),
    field("Training mode", select("training_mode", [["fully_automated", "fully automated"], ["expert", "expert (choose the parameters)"]], "fully_automated")),
    field("Base model", select("training_version", [["fibo", "FIBO"], ["fibo-2", "FIBO 2 (also edits images)"]], project.training_version || "fibo"),
      "A project holds models of one base model."),
    field("Description", h("input", { type: "text", name: "description" })),
    mErrors, h("div", { class: "row" }, mSubmit));
  mForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    mErrors.replaceChildren();
    const values = formValues(mForm);
    values.dataset_id = Number(values.dataset_id);
    busy(mSubmit, async () => {
      const m = await api("POST", `${V1}/models`, { json: values });
      location.hash = `#/models/${m.id}`;
    }, mErrors);
  });

  const del = h("button", { type: "button", class: "danger" }, "Delete project");
  del.addEventListener("click", () => {
    if (!confirm(`Delete project "${project.project_name}" and everything in it?`)) return;
    busy(del, async () => {
      await api("DELETE", `${V1}/projects/${id}`);
      flash("success", "Project deleted.");
      location.hash = "#/projects";
    });
  });

  const info = h("dl", { class: "kv" },
    h("dt", {}, "IP type"), h("dd", {}, label(project.ip_type)),
    h("dt", {}, "Medium"), h("dd", {}, label(project.ip_medium)),
    h("dt", {}, "IP name"), h("dd", {}, project.ip_name || "—"),
    h("dt", {}, "Description"), h("dd", {}, project.project_description || "—"),
    h("dt", {}, "Created"), h("dd", {}, when(project.created_at)));

  root.append(...page(project.project_name || `Project ${id}`, [["Projects", "#/projects"]],
    h("section", { class: "panel row" }, info, h("span", { class: "spacer" }),
      renameButton("project", project.project_name, (name) => api("PUT", `${V1}/projects/${id}`, { json: { project_name: name } }), () => window.dispatchEvent(new HashChangeEvent("hashchange"))),
      del),
    h("div", { class: "grid2" },
      h("section", { class: "panel", "aria-labelledby": "ds-title" }, h("h2", { id: "ds-title" }, "Datasets"), dsTable, h("hr"), dsForm),
      h("section", { class: "panel", "aria-labelledby": "m-title" }, h("h2", { id: "m-title" }, "Models"), mTable, h("hr"), mForm))));
}
