// The reporting API, with the read token this tab was given. The token lives in sessionStorage (gone
// when the tab closes) and travels only in the Authorization header, never in a URL.

const KEY = "analytics.readToken";
// Where the token is kept when the browser refuses storage to this page: until the page is left.
let kept = null;

export function token() {
  try {
    return sessionStorage.getItem(KEY) ?? kept;
  } catch {
    return kept;
  }
}

export function setToken(value) {
  kept = value || null;
  try {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  } catch {
    // Storage refused (a browser setting): the token lives in this page only.
  }
}

/** An answer other than 200, with the API's error text and the status that tells what to do. */
export class APIError extends Error {
  constructor(status, message, details = []) {
    super(message);
    this.status = status;
    this.details = details;
  }
}

/** GET `path` with `parameters`; the parsed body of a 200, or an APIError. */
export async function get(path, parameters = {}, signal) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) if (value !== undefined && value !== null) query.set(name, value);
  const headers = { Accept: "application/json" };
  const current = token();
  if (current) headers.Authorization = "Bearer " + current;
  let response;
  try {
    const text = String(query);
    response = await fetch(path + (text ? "?" + text : ""), { headers, signal, cache: "no-store", credentials: "omit" });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new APIError(0, "The reporting server cannot be reached.");
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (response.ok && body) return body;
  const message = body && typeof body.error === "string" ? body.error : `The server answered ${response.status}.`;
  throw new APIError(response.status, message, body && Array.isArray(body.details) ? body.details : []);
}
