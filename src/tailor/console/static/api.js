// The JSON API, called from the browser with the `api_token` header.
const KEY = "tailor.token";

export class ApiError extends Error {
  constructor(status, message, details, requestId) {
    super(message);
    this.status = status;
    this.details = details || "";
    this.requestId = requestId || "";
  }
}

export function getToken() {
  return sessionStorage.getItem(KEY) || localStorage.getItem(KEY) || "";
}

export function setToken(token, remember) {
  clearToken();
  (remember ? localStorage : sessionStorage).setItem(KEY, token);
}

export function clearToken() {
  sessionStorage.removeItem(KEY);
  localStorage.removeItem(KEY);
}

function errorFrom(status, body, text) {
  if (body && typeof body === "object") {
    const e = body.error;
    if (e && typeof e === "object") return new ApiError(status, e.message || `HTTP ${status}`, e.details, body.request_id);
    if (typeof e === "string") return new ApiError(status, e, "", body.request_id);
    if (typeof body.detail === "string") return new ApiError(status, body.detail);
    if (body.status) return new ApiError(status, `status ${body.status}`);
  }
  return new ApiError(status, (text || "").slice(0, 200) || `HTTP ${status}`);
}

async function parse(res) {
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = null; }
  if (!res.ok) throw errorFrom(res.status, body, body ? "" : text);
  return body;
}

/** Call the API: `api("GET", "/v1/...")`, `api("POST", path, {json})`, `api("POST", path, {form})`. */
export async function api(method, path, { json, form, token } = {}) {
  const headers = { api_token: token ?? getToken(), accept: "application/json" };
  let body;
  if (json !== undefined) { headers["content-type"] = "application/json"; body = JSON.stringify(json); }
  else if (form !== undefined) body = form;
  let res;
  try {
    res = await fetch(path, { method, headers, body });
  } catch (err) {
    throw new ApiError(0, `cannot reach the server: ${err.message}`);
  }
  return parse(res);
}

/** Upload with progress (fetch has no upload progress): resolves with the JSON answer. */
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("api_token", getToken());
    xhr.setRequestHeader("accept", "application/json");
    xhr.upload.onprogress = (e) => { if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total); };
    xhr.onerror = () => reject(new ApiError(0, "upload failed: the server could not be reached"));
    xhr.onload = () => {
      let body = null;
      try { body = xhr.responseText ? JSON.parse(xhr.responseText) : null; } catch { body = null; }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(errorFrom(xhr.status, body, body ? "" : xhr.responseText));
    };
    xhr.send(form);
  });
}

/** Read a file as base64 (without the data: prefix), for JSON image fields. */
export function fileToBase64(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).split(",", 2)[1] || "");
    r.onerror = () => reject(new ApiError(0, `cannot read ${file.name}`));
    r.readAsDataURL(file);
  });
}

export const V1 = "/v1/tailored-gen";

export function list(data, key) {
  if (Array.isArray(data)) return data;
  if (data && typeof data === "object") {
    for (const k of [key, "items", "data", "results"]) if (Array.isArray(data[k])) return data[k];
  }
  return [];
}

/** Poll /v2/status until COMPLETED (resolve result) or ERROR (throw). */
export async function waitForRequest(requestId, onTick, timeoutMs = 600000) {
  const start = Date.now();
  let delay = 400;
  for (;;) {
    const st = await api("GET", `/v2/status/${encodeURIComponent(requestId)}`);
    if (onTick) onTick(st);
    if (st.status === "COMPLETED") return st.result || {};
    if (st.status === "ERROR") {
      const e = st.error;
      throw new ApiError(500, (e && (e.message || e)) || "the request failed");
    }
    if (Date.now() - start > timeoutMs) throw new ApiError(0, `request ${requestId} is still running`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 1.5, 2500);
  }
}
