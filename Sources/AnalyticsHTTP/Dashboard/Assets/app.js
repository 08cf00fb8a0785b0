// The dashboard: which page the URL names (/ lists the sites, /sites/SITE shows one), the sign-in, and
// the state of a site's page, which lives in the URL's query (range, from, to, tz) so that a link
// shares it and back and forward restore it. Data refreshes every 30 seconds while the tab is visible.

import { APIError, get, setToken, token } from "./api.js";
import { drawChart } from "./chart.js";
import { change, count, period } from "./format.js";
import { RANGES, browserZone, isDay, isZone, resolve, todayIn } from "./ranges.js";
import { BreakdownTable, PAGE_SIZE } from "./tables.js";

const REFRESH_MS = 30000;
const $ = (id) => document.getElementById(id);
// Rendered into the page by the server: whether the reporting API needs a read token.
const AUTH_REQUIRED = document.querySelector('meta[name="analytics-auth"]')?.content !== "off";

const view = {
  loading: $("loading"), signIn: $("sign-in"), siteList: $("site-list"), dashboard: $("dashboard"), message: $("message"),
};
let sites = null; // the last GET /sites answer
let generation = 0; // bumps on every navigation, so that an older answer never overwrites a newer one
let controller = null;
let renders = 0;

function show(...sections) {
  for (const [name, node] of Object.entries(view)) if (name !== "message") node.hidden = !sections.includes(name);
}

function say(text, { alert = true } = {}) {
  view.message.textContent = text;
  view.message.hidden = !text;
  view.message.setAttribute("role", alert ? "alert" : "status");
}

/** Tells tests and the benchmark that a render finished (and, the first time, marks it). */
function rendered(kind) {
  renders += 1;
  document.documentElement.dataset.renders = String(renders);
  document.documentElement.dataset.view = kind;
  if (kind === "dashboard" && performance.getEntriesByName("dashboard:rendered").length === 0) {
    requestAnimationFrame(() => performance.mark("dashboard:rendered"));
  }
}

// The URL.

function route() {
  const match = /^\/sites\/([^/]+)$/.exec(location.pathname);
  let site = null;
  if (match) {
    try {
      site = decodeURIComponent(match[1]);
    } catch {
      site = null;
    }
  }
  const query = new URLSearchParams(location.search);
  const range = RANGES.some(([value]) => value === query.get("range")) ? query.get("range") : "30d";
  const tz = isZone(query.get("tz")) ? query.get("tz") : browserZone();
  return { page: match ? "site" : "home", site, range, from: query.get("from"), to: query.get("to"), tz };
}

function siteURL(site, state) {
  const query = new URLSearchParams({ range: state.range });
  if (state.range === "custom") {
    query.set("from", state.from);
    query.set("to", state.to);
  }
  query.set("tz", state.tz);
  return `/sites/${encodeURIComponent(site)}?${query}`;
}

function navigate(url, { replace = false } = {}) {
  if (url !== location.pathname + location.search) history[replace ? "replaceState" : "pushState"](null, "", url);
  render();
}

// Sign-in and the list of sites.

async function loadSites() {
  try {
    sites = await get("/sites");
    return true;
  } catch (error) {
    sites = null;
    handle(error);
    return false;
  }
}

function handle(error) {
  if (error.name === "AbortError") return;
  if (error instanceof APIError && error.status === 401) {
    const had = token();
    setToken(null);
    signIn(had ? "That read token is not accepted: it is wrong, or it has been revoked. Sign in with a live token." : "");
    return;
  }
  show();
  if (error instanceof APIError && error.status === 403) say(`${error.message}. Pick a site this token reads.`);
  else if (error instanceof APIError && error.status === 400) say(`The reporting API refused this view: ${[error.message, ...error.details.map((d) => d.message)].join("; ")}`);
  else if (error instanceof APIError && (error.status === 503 || error.status === 0)) {
    say("The reporting server is unavailable for the moment; this page tries again in 30 seconds.");
    if (current) scheduleRefresh();
  }
  else say(error.message || "Something went wrong.");
  rendered("error");
}

function signIn(message) {
  current = null;
  controller?.abort();
  signedIn(false);
  show("signIn");
  say(message);
  $("token").focus();
  rendered("sign-in");
}

function signedIn(yes) {
  $("sign-out").hidden = !yes;
  $("who").hidden = !yes;
  if (yes && sites?.token) $("who").textContent = sites.token.name ? `Token “${sites.token.name}”` : `Token ${sites.token.id}`;
}

function showSites() {
  const list = $("sites");
  const zone = browserZone();
  list.replaceChildren(...sites.sites.map((site) => {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = siteURL(site, { range: "30d", tz: zone });
    link.textContent = site;
    item.append(link);
    return item;
  }));
  $("no-sites").hidden = sites.sites.length > 0;
  show("siteList");
  say("");
  rendered("sites");
}

// A site's page.

const tables = {
  path: new BreakdownTable($("paths"), (cursor) => page("path", cursor)),
  event_type: new BreakdownTable($("event-types"), (cursor) => page("event_type", cursor)),
};
let current = null; // {site, state, resolved}

function parametersOf(site, range, tz) {
  return { site_id: site, from: range.from, to: range.to, tz };
}

async function page(by, cursor) {
  if (!current) return null;
  try {
    return await get("/stats/breakdown", { ...parametersOf(current.site, current.resolved, current.state.tz), by, limit: PAGE_SIZE, cursor });
  } catch (error) {
    handle(error);
    return null;
  }
}

async function loadDashboard(site, state, { fresh }) {
  const resolved = resolve(state, todayIn(state.tz));
  if (!resolved) {
    show("dashboard");
    say("Choose the first and the last day of the custom range (the last not before the first).", { alert: false });
    return;
  }
  if (fresh) {
    tables.path.reset();
    tables.event_type.reset();
  }
  current = { site, state, resolved };
  const mine = ++generation;
  controller?.abort();
  controller = new AbortController();
  const signal = controller.signal;
  const base = parametersOf(site, resolved, state.tz);
  try {
    const [, now, before, series, paths, types] = await Promise.all([
      sites ? Promise.resolve(sites) : get("/sites", {}, signal).then((answer) => (sites = answer)),
      get("/stats", { ...base, limit: 1 }, signal),
      get("/stats", { ...parametersOf(site, resolved.previous, state.tz), limit: 1 }, signal),
      get("/stats/timeseries", { ...base, interval: resolved.interval }, signal),
      get("/stats/breakdown", { ...base, by: "path", limit: PAGE_SIZE, cursor: tables.path.cursor }, signal),
      get("/stats/breakdown", { ...base, by: "event_type", limit: PAGE_SIZE, cursor: tables.event_type.cursor }, signal),
    ]);
    if (mine !== generation) return;
    signedIn(Boolean(sites.token));
    $("site-name").textContent = site;
    $("period").textContent = `${period(resolved.from, resolved.to)} · ${state.tz} · compared with ${period(resolved.previous.from, resolved.previous.to)}`;
    total("views", now.total_views, before.total_views);
    total("users", now.unique_users, before.unique_users);
    show("dashboard"); // before drawing: the chart takes the width it is shown at
    drawChart($("chart"), $("readout"), series.points, series.interval);
    $("chart-caption").textContent = `Views and unique users by ${series.interval}`;
    tables.path.show(paths);
    tables.event_type.show(types);
    scheduleRefresh();
    $("updated").textContent = `Updated ${new Date().toLocaleTimeString()}; refreshes every 30 seconds.`;
    say("");
    rendered("dashboard");
  } catch (error) {
    if (mine === generation) handle(error);
  }
}

function total(id, value, previous) {
  const number = $(id);
  number.textContent = count(value);
  number.dataset.value = value;
  const difference = $(`${id}-change`);
  const text = change(value, previous);
  difference.textContent = text;
  difference.dataset.previous = previous;
  difference.className = "change" + (text.startsWith("+") ? " up" : text.startsWith("\u2212") ? " down" : "");
  difference.title = `${count(previous)} in the previous period`;
}

function showControls(state) {
  $("range").value = state.range;
  $("custom").hidden = state.range !== "custom";
  $("tz").value = state.tz;
  if (state.range === "custom") {
    $("from").value = isDay(state.from) ? state.from : "";
    $("to").value = isDay(state.to) ? state.to : "";
  }
}

// Wiring.

async function render({ fresh = true } = {}) {
  if (AUTH_REQUIRED && !token()) {
    signIn("");
    return;
  }
  const where = route();
  if (where.page === "site" && !new URLSearchParams(location.search).has("tz")) {
    // A shared link keeps its zone: write the browser's into the URL.
    history.replaceState(null, "", siteURL(where.site, where));
  }
  if (where.page === "home") {
    current = null;
    controller?.abort();
    if (!(await loadSites())) return;
    signedIn(Boolean(sites.token));
    showSites();
    return;
  }
  if (where.site === null) {
    show();
    say("There is no such page.");
    rendered("error");
    return;
  }
  showControls(where);
  await loadDashboard(where.site, where, { fresh });
}

$("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const value = $("token").value.trim();
  if (!value) return;
  setToken(value);
  $("token").value = "";
  sites = null;
  render();
});

$("sign-out").addEventListener("click", () => {
  setToken(null);
  sites = null;
  signIn("");
  say("Signed out.", { alert: false });
});

$("range").addEventListener("change", () => {
  const where = route();
  const state = { ...where, range: $("range").value };
  if (state.range === "custom") {
    const resolved = current?.resolved;
    state.from = isDay(where.from) ? where.from : resolved?.from;
    state.to = isDay(where.to) ? where.to : resolved?.to;
  }
  navigate(siteURL(where.site, state));
});

$("controls").addEventListener("submit", (event) => {
  event.preventDefault();
  const where = route();
  const tz = $("tz").value.trim();
  if (!isZone(tz)) {
    say(`“${tz}” is not a time zone name (such as Europe/Berlin or UTC).`);
    return;
  }
  navigate(siteURL(where.site, { ...where, range: $("range").value, from: $("from").value, to: $("to").value, tz }));
});

$("tz").addEventListener("change", () => $("controls").requestSubmit());
$("tz").addEventListener("focus", () => {
  const list = $("zones");
  if (list.childElementCount || !Intl.supportedValuesOf) return;
  list.replaceChildren(...Intl.supportedValuesOf("timeZone").map((zone) => new Option(zone)));
}, { once: true });

document.addEventListener("click", (event) => {
  const link = event.target.closest?.("a[href^='/']");
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(link.getAttribute("href"));
});

window.addEventListener("popstate", () => render());

// 30 seconds after each load: at once if the tab is visible then, else as soon as it is again.
let refresh = null;
let refreshDue = false;
function scheduleRefresh() {
  clearTimeout(refresh);
  refreshDue = false;
  refresh = setTimeout(() => {
    if (!current) return;
    if (document.hidden) refreshDue = true;
    else render({ fresh: false });
  }, REFRESH_MS);
}
document.addEventListener("visibilitychange", () => {
  if (!document.hidden && refreshDue && current) render({ fresh: false });
});

render();
