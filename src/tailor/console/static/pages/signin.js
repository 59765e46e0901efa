// Sign in with an API token (checked against the API before it is kept).
import { api, setToken, V1 } from "../api.js";
import { busy, h } from "../ui.js";

export async function render(root) {
  const input = h("input", { type: "password", id: "token", name: "token", autocomplete: "current-password", required: true });
  const remember = h("input", { type: "checkbox", id: "remember", name: "remember" });
  const errors = h("div", { "aria-live": "assertive" });
  const submit = h("button", { type: "submit" }, "Sign in");
  const form = h("form", { class: "panel signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in"),
    h("p", { class: "muted" }, "Paste an API token. ", h("code", {}, "tailor serve"),
      " prints one and saves it to ", h("code", {}, ".tailor/token"), "; ",
      h("code", {}, "tailor token create --org NAME"), " makes more."),
    h("label", { for: "token" }, "API token"), input,
    h("label", { class: "inline", for: "remember" }, remember, "Remember on this device"),
    h("p", { class: "hint" }, "Without it the token is kept only for this browser tab."),
    errors,
    h("div", { class: "row" }, submit));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    errors.replaceChildren();
    const token = input.value.trim();
    busy(submit, async () => {
      await api("GET", `${V1}/projects`, { token });
      setToken(token, remember.checked);
      const next = sessionStorage.getItem("tailor.next");
      sessionStorage.removeItem("tailor.next");
      location.hash = next && next.startsWith("#/") && !next.startsWith("#/signin") ? next : "#/projects";
    }, errors);
  });
  root.append(form);
  setTimeout(() => input.focus(), 0);
}
