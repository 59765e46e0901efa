// Entry point: a hash router over the console's pages.
import { clearToken, getToken } from "./api.js";
import { clearFlash, errorBox, h } from "./ui.js";

const ROUTES = [
  [/^#\/signin$/, "signin"],
  [/^#\/projects$/, "projects"],
  [/^#\/projects\/(\d+)$/, "project"],
  [/^#\/datasets\/(\d+)$/, "dataset"],
  [/^#\/models\/(\d+)$/, "model"],
  [/^#\/playground$/, "playground"],
];

let cleanup = null;

function parse(hash) {
  const [path, query] = (hash || "").split("?", 2);
  const params = Object.fromEntries(new URLSearchParams(query || ""));
  for (const [re, name] of ROUTES) {
    const m = path.match(re);
    if (m) return { name, id: m[1] ? Number(m[1]) : null, params };
  }
  return null;
}

async function route() {
  if (cleanup) { try { cleanup(); } catch { /* page already gone */ } cleanup = null; }
  clearFlash();
  const main = document.getElementById("main");
  const signedIn = !!getToken();
  document.getElementById("nav").hidden = !signedIn;
  let target = parse(location.hash);
  if (!signedIn && (!target || target.name !== "signin")) {
    // keep the deep link: signing in comes back to it
    if (target) sessionStorage.setItem("tailor.next", location.hash);
    location.replace("#/signin");
    return;
  }
  if (!target) { location.replace(signedIn ? "#/projects" : "#/signin"); return; }
  main.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  try {
    const mod = await import(`./pages/${target.name}.js`);
    const content = document.createElement("div");
    cleanup = (await mod.render(content, target)) || null;
    main.replaceChildren(content);
    const heading = main.querySelector("h1");
    document.title = heading ? `${heading.textContent} · Tailor` : "Tailor console";
    main.focus({ preventScroll: true });
  } catch (err) {
    if (err && err.status === 401) { clearToken(); location.replace("#/signin"); return; }
    main.replaceChildren(h("h1", {}, "Something went wrong"), errorBox(err), h("p", {}, h("a", { href: "#/projects" }, "Back to projects")));
  }
}

document.getElementById("signout").addEventListener("click", () => {
  clearToken();
  location.hash = "#/signin";
});
window.addEventListener("hashchange", route);
route();
