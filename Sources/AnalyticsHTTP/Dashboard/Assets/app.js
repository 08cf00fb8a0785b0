// The dashboard: which page the URL names (/ lists the sites, /sites/SITE shows one), the sign-in, and
// the state of a site's page, which lives in the URL's query (range, from, to, tz) so that a link
// shares it and back and forward restore it. Data refreshes 30 seconds after each load while the tab is
// visible. Every view begins by aborting the one before: an older answer never lands on a newer view.

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
  loading: $("loading"), signIn: $("sign-in"), siteList: $("site-list"), dashboard: $("dashboard"),
};
let sites = null; // the last GET /sites answer
let current = null; // the site's view on the page: {site, state, resolved}
let generation = 0;
let controller = null;
// Table pages turned by hand have their own: a refresh of the same days does not cancel them.
let pages = new AbortController();
let renders = 0;
let loading = null; // the URL whose view is being loaded
let rangeTimer = null;

/** Shows these sections (and, for the dashboard, its numbers or not), hiding the others. */
function show(sections, { data = true } = {}) {
  for (const [name, node] of Object.entries(view)) node.hidden = !sections.includes(name);
  $("data").hidden = !data;
}

function say(text, { alert = true } = {}) {
  const message = $("message");
  message.textContent = text;
  message.hidden = !text;
  message.setAttribute("role", alert ? "alert" : "status");
}

/** Tells tests and the benchmark that a render finished; the first dashboard also sets a mark once the
 * frame that shows it has been drawn (a task queued from the frame's callback runs after its paint). */
function rendered(kind) {
  loading = null;
  renders += 1;
  document.documentElement.dataset.renders = String(renders);
  document.documentElement.dataset.view = kind;
  if (kind === "dashboard" && performance.getEntriesByName("dashboard:rendered").length === 0) {
    requestAnimationFrame(() => setTimeout(() => {
      if (performance.getEntriesByName("dashboard:rendered").length === 0) performance.mark("dashboard:rendered");
    }, 0));
  }
}

/** A new view: aborts the requests of the one before; its answers are dropped unless still `mine`. */
function begin() {
  generation += 1;
  controller?.abort();
  controller = new AbortController();
  return { mine: generation, signal: controller.signal };
}

// The URL.

function route() {
  const match = /^\/sites\/([^/]+)\/*$/.exec(location.pathname);
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
    if (isDay(state.from)) query.set("from", state.from);
    if (isDay(state.to)) query.set("to", state.to);
  }
  query.set("tz", state.tz);
  // Site ids ([A-Za-z0-9._:-]) go into the path as they are; anything else is encoded.
  return `/sites/${site.replace(/[^A-Za-z0-9._:-]/g, (c) => encodeURIComponent(c))}?${query}`;
}

function navigate(url) {
  clearTimeout(rangeTimer);
  const here = location.pathname + location.search;
  if (url === here && loading === here) return; // already on its way (Enter in the zone field submits twice)
  if (url !== here) history.pushState(null, "", url);
  render();
}

function dropPages() {
  pages.abort();
  pages = new AbortController();
}

// Refreshing: 30 seconds after each load (or failed load), at once if the tab is visible then, else as
// soon as it is again.

let refreshTimer = null;
let refreshDue = false;

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshDue = false;
  refreshTimer = setTimeout(() => {
    if (document.hidden) refreshDue = true;
    else render({ fresh: false });
  }, REFRESH_MS);
}

function stopRefresh() {
  clearTimeout(refreshTimer);
  refreshDue = false;
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden && refreshDue) render({ fresh: false });
});

// Errors: never numbers from an incomplete set of answers.

function handle(error) {
  if (error.name === "AbortError") return;
  if (error instanceof APIError && error.status === 401) {
    const had = token();
    setToken(null);
    signIn(had ? "That read token is not accepted: it is wrong, or it has been revoked. Sign in with a live token." : "");
    return;
  }
  const status = error instanceof APIError ? error.status : -1;
  const text = error.message || "";
  if (status === 400 && current) {
    // Something the controls can change (a zone the server does not know, a range too long): keep them.
    show(["dashboard"], { data: false });
    say(`The reporting API refused this view: ${[error.message, ...error.details.map((d) => `${d.path} ${d.message}`)].join("; ")}`);
  } else {
    show([]);
    if (status === 403) say(`${text.charAt(0).toUpperCase()}${text.slice(1)}. Pick a site this token reads on the first page.`);
    else if (status === 503 || status === 0) say("The reporting server is unavailable for the moment; this page tries again in 30 seconds.");
    else say(text || "Something went wrong.");
  }
  if (status === 503 || status === 0) scheduleRefresh();
  else stopRefresh();
  rendered("error");
}

function signIn(message) {
  begin();
  dropPages();
  clearTimeout(rangeTimer);
  stopRefresh();
  current = null;
  signedIn(false);
  show(["signIn"]);
  say(message);
  $("token").focus();
  rendered("sign-in");
}

function signedIn(yes) {
  $("sign-out").hidden = !yes;
  $("who").hidden = !yes;
  if (yes && sites?.token) $("who").textContent = sites.token.name ? `Token “${sites.token.name}”` : `Token ${sites.token.id}`;
}

// The list of sites.

async function renderHome() {
  current = null;
  dropPages();
  stopRefresh();
  const { mine, signal } = begin();
  try {
    const answer = await get("/sites", {}, signal);
    if (mine !== generation) return;
    sites = answer;
  } catch (error) {
    if (mine === generation) handle(error);
    return;
  }
  signedIn(Boolean(sites.token));
  const zone = browserZone();
  $("sites").replaceChildren(...sites.sites.map((site) => {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = siteURL(site, { range: "30d", tz: zone });
    link.textContent = site;
    item.append(link);
    return item;
  }));
  $("no-sites").hidden = sites.sites.length > 0;
  show(["siteList"]);
  say("");
  rendered("sites");
}

// A site's page.

const tables = {
  path: new BreakdownTable($("paths"), (cursor) => page("path", cursor)),
  event_type: new BreakdownTable($("event-types"), (cursor) => page("event_type", cursor)),
};

function parametersOf(site, range, tz) {
  return { site_id: site, from: range.from, to: range.to, tz };
}

async function page(by, cursor) {
  if (!current) return null;
  const { site, resolved, state } = current;
  const mine = generation;
  try {
    return await get("/stats/breakdown", { ...parametersOf(site, resolved, state.tz), by, limit: PAGE_SIZE, cursor }, pages.signal);
  } catch (error) {
    if (mine === generation) handle(error);
    return null;
  }
}

async function loadDashboard(site, state, { fresh }) {
  const { mine, signal } = begin();
  $("site-name").textContent = site;
  signedIn(Boolean(token()));
  let resolved = null;
  let zoneKnown = true;
  try {
    resolved = resolve(state, todayIn(state.tz));
  } catch {
    zoneKnown = false; // Intl throws for a zone this browser does not know
  }
  if (!resolved) {
    current = null;
    stopRefresh();
    show(["dashboard"], { data: false });
    say(zoneKnown
      ? "Choose the first and the last day of the custom range (the last not before the first)."
      : `“${state.tz}” is not a time zone this browser knows: choose another, such as UTC.`);
    rendered("error");
    return;
  }
  // The tables keep their page across a refresh of the same days; anything else starts at page one.
  const same = current && current.site === site && current.state.tz === state.tz
    && current.resolved.from === resolved.from && current.resolved.to === resolved.to;
  if (fresh || !same) {
    dropPages();
    tables.path.reset();
    tables.event_type.reset();
  }
  current = { site, state, resolved };
  const shown = { path: tables.path.snapshot(), event_type: tables.event_type.snapshot() };
  const base = parametersOf(site, resolved, state.tz);
  try {
    const [listed, now, before, series, paths, types] = await Promise.all([
      sites ? Promise.resolve(sites) : get("/sites", {}, signal),
      get("/stats", { ...base, limit: 1 }, signal),
      get("/stats", { ...parametersOf(site, resolved.previous, state.tz), limit: 1 }, signal),
      get("/stats/timeseries", { ...base, interval: resolved.interval }, signal),
      get("/stats/breakdown", { ...base, by: "path", limit: PAGE_SIZE, cursor: shown.path.cursor }, signal),
      get("/stats/breakdown", { ...base, by: "event_type", limit: PAGE_SIZE, cursor: shown.event_type.cursor }, signal),
    ]);
    if (mine !== generation) return;
    sites = listed;
    signedIn(Boolean(sites.token));
    $("period").textContent = `${period(resolved.from, resolved.to)} · ${state.tz} · compared with ${period(resolved.previous.from, resolved.previous.to)}`;
    total("views", now.total_views, before.total_views);
    total("users", now.unique_users, before.unique_users);
    show(["dashboard"]); // before drawing: the chart takes the width it is shown at
    drawChart($("chart"), $("readout"), series.points, series.interval);
    $("chart-caption").textContent = `Views and unique users by ${series.interval}`;
    // A page turned while these were in flight is newer than what they answer.
    tables.path.show(paths, shown.path);
    tables.event_type.show(types, shown.event_type);
    $("updated").textContent = `Updated ${new Date().toLocaleTimeString()}; refreshes every 30 seconds.`;
    say("");
    scheduleRefresh();
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
  $("from").value = isDay(state.from) ? state.from : "";
  $("to").value = isDay(state.to) ? state.to : "";
}

// Wiring.

async function render({ fresh = true } = {}) {
  loading = location.pathname + location.search;
  if (AUTH_REQUIRED && !token()) {
    signIn("");
    return;
  }
  const where = route();
  if (where.page === "home") return renderHome();
  if (where.site === null) {
    begin();
    stopRefresh();
    current = null;
    show([]);
    say("There is no such page.");
    rendered("error");
    return;
  }
  if (!new URLSearchParams(location.search).has("tz")) {
    // A shared link keeps its zone: write the browser's into the URL.
    history.replaceState(null, "", siteURL(where.site, where));
  }
  // A refresh leaves the controls alone: someone may be typing in them.
  if (fresh) showControls(where);
  await loadDashboard(where.site, where, { fresh });
}

$("sign-in-form").addEventListener("submit", (event) => {
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

// The range applies a moment after it was chosen: arrow keys on a closed <select> change it once per key.
$("range").addEventListener("change", () => {
  $("custom").hidden = $("range").value !== "custom";
  clearTimeout(rangeTimer);
  rangeTimer = setTimeout(() => {
    const where = route();
    if (where.page !== "site" || where.site === null) return;
    const state = { ...where, range: $("range").value };
    if (state.range === "custom") {
      state.from = isDay(where.from) ? where.from : current?.resolved.from;
      state.to = isDay(where.to) ? where.to : current?.resolved.to;
    }
    navigate(siteURL(where.site, state));
  }, 250);
});

$("controls").addEventListener("submit", (event) => {
  event.preventDefault();
  clearTimeout(rangeTimer);
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

window.addEventListener("popstate", () => {
  clearTimeout(rangeTimer);
  render();
});

render();
