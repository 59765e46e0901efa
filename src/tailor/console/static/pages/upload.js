// Drag-and-drop upload with progress: images one by one (basic), a zip through bulk upload (advanced).
import { api, upload, V1 } from "../api.js";
import { clearFlash, errorBox, h } from "../ui.js";

const IMAGE = /\.(jpe?g|png|webp)$/i;

export function uploader(dataset, onDone) {
  const advanced = dataset.upload_type === "advanced";
  const input = h("input", { type: "file", id: "upload-files", multiple: !advanced, accept: advanced ? ".zip,application/zip" : "image/png,image/jpeg,image/webp", class: "visually-hidden", tabindex: -1 });
  const choose = h("button", { type: "button", class: "secondary" }, advanced ? "Choose a zip…" : "Choose images…");
  const bar = h("progress", { max: 1, value: 0, hidden: true, "aria-label": "Upload progress" });
  const status = h("p", { class: "hint", "aria-live": "polite" });
  const errors = h("div");
  const zone = h("div", { class: "dropzone", id: "dropzone" },
    h("p", {}, advanced ? "Drop a zip of images here (bulk upload)" : "Drop images here (jpg, png, webp)"),
    h("label", { for: "upload-files", class: "visually-hidden" }, "Files to upload"), input, choose);
  choose.addEventListener("click", () => input.click());
  input.addEventListener("change", () => { start([...input.files]); input.value = ""; });
  zone.addEventListener("dragover", (ev) => { ev.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (ev) => { ev.preventDefault(); zone.classList.remove("over"); start([...ev.dataTransfer.files]); });

  let running = false;
  async function start(files) {
    if (running || !files.length) return;
    errors.replaceChildren();
    clearFlash(); // an earlier message about the dataset (e.g. "needs 5 images") is about to be stale
    running = true;
    choose.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    try {
      if (advanced) await bulk(files);
      else await oneByOne(files);
    } finally {
      running = false;
      choose.disabled = false;
      // the page redraws around the uploader: give focus back to where the upload started
      await Promise.resolve(onDone()).catch(() => {});
      choose.focus();
    }
  }

  async function oneByOne(files) {
    const images = files.filter((f) => IMAGE.test(f.name));
    const skipped = files.length - images.length;
    const failures = [];
    for (let i = 0; i < images.length; i++) {
      const f = images[i];
      status.textContent = `Uploading ${f.name} (${i + 1} of ${images.length})…`;
      const form = new FormData();
      form.append("file", f, f.name);
      try {
        await upload(`${V1}/datasets/${dataset.id}/images`, form, (frac) => { bar.value = (i + frac) / images.length; });
      } catch (err) {
        failures.push(`${f.name}: ${err.message}`);
      }
      bar.value = (i + 1) / images.length;
    }
    status.textContent = `Uploaded ${images.length - failures.length} of ${images.length} image(s)` + (skipped ? `; skipped ${skipped} file(s) that are not jpg/png/webp.` : ".");
    if (failures.length) errors.replaceChildren(errorBox(failures.join("\n")));
  }

  async function bulk(files) {
    const zip = files.find((f) => /\.zip$/i.test(f.name));
    if (!zip) { errors.replaceChildren(errorBox("An advanced dataset takes a zip of images.")); return; }
    const form = new FormData();
    form.append("file", zip, zip.name);
    status.textContent = `Uploading ${zip.name}…`;
    try {
      await upload(`${V1}/datasets/${dataset.id}/images/bulk-upload`, form, (frac) => { bar.value = frac * 0.5; });
      for (;;) {
        const st = await api("GET", `${V1}/datasets/${dataset.id}/images/bulk-upload/status`);
        bar.value = 0.5 + (Number(st.progress_percentage) || 0) / 200;
        const waiting = st.queue && st.queue.state === "queued" ? ` (${st.queue.message})` : "";
        status.textContent = `Bulk upload ${st.status}: ${st.done ?? 0} done, ${st.failed ?? 0} failed${waiting}.`;
        if (st.status === "completed" || st.status === "failed") {
          const bad = (st.failed_images || []).map((f) => `${f.filename}: ${f.error_message}`);
          if (bad.length) errors.replaceChildren(errorBox(bad.join("\n")));
          break;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    } catch (err) {
      errors.replaceChildren(errorBox(err));
    }
  }

  return h("div", {}, zone, bar, status, errors);
}
