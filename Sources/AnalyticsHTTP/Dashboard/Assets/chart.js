// The time series as an SVG line chart: views and unique users, one group per bucket (its values in
// data attributes and a <title>), gridlines with round values, and a keyboard readout: the chart takes
// focus, and the arrow keys, Home and End move through the buckets.

import { bucket, bucketInFull, compact, count } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const LEFT = 44, RIGHT = 12, TOP = 12, BOTTOM = 28;

function element(name, attributes = {}, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (parent) parent.append(node);
  return node;
}

/** A round step for gridlines: 1, 2 or 5 times a power of ten, giving about four lines; whole numbers. */
function step(maximum) {
  const raw = maximum / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  return Math.max(1, [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw));
}

let drawn = null; // what is on the page, to draw again at a new width
const resizes = typeof ResizeObserver === "function" ? new ResizeObserver(() => {
  if (drawn && Math.abs(drawn.host.clientWidth - drawn.width) > 4) drawChart(drawn.host, drawn.readout, drawn.points, drawn.interval);
}) : null;

/**
 * Draws `points` (the API's) into `host`, replacing what was there; `readout` shows the chosen bucket.
 * Drawn at the host's width in pixels (not scaled), so that its text stays readable on a phone.
 */
export function drawChart(host, readout, points, interval) {
  const WIDTH = Math.max(280, Math.round(host.clientWidth || 800));
  const HEIGHT = WIDTH < 560 ? 200 : 260;
  if (drawn?.host !== host) resizes?.observe(host);
  // Drawn again (a resize, a refresh): a keyboard user keeps focus and, for the same buckets, the one read.
  const focused = host.contains(document.activeElement);
  const keep = drawn?.host === host && drawn.points.length === points.length && drawn.points[0]?.start === points[0]?.start ? drawn.chosen : -1;
  drawn = { host, readout, points, interval, width: WIDTH, chosen: -1 };
  const top = Math.max(1, ...points.map((p) => p.views));
  const gap = step(top);
  const ceiling = Math.ceil(top / gap) * gap;
  const plotWidth = WIDTH - LEFT - RIGHT, plotHeight = HEIGHT - TOP - BOTTOM;
  const x = (index) => LEFT + (points.length === 1 ? plotWidth / 2 : (index / (points.length - 1)) * plotWidth);
  const y = (value) => TOP + plotHeight - (value / ceiling) * plotHeight;

  const svg = element("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`, width: WIDTH, height: HEIGHT, class: "chart-svg", role: "img", tabindex: 0,
    "aria-label": `Views and unique users by ${interval}, ${points.length} points. Use the arrow keys to read each.`,
  });
  const grid = element("g", { class: "grid" }, svg);
  for (let line = 0; line * gap <= ceiling; line += 1) {
    const value = line * gap;
    element("line", { x1: LEFT, x2: WIDTH - RIGHT, y1: y(value), y2: y(value) }, grid);
    element("text", { x: LEFT - 6, y: y(value) + 4, "text-anchor": "end" }, grid).textContent = compact(value);
  }
  const labels = element("g", { class: "labels" }, svg);
  const every = Math.max(1, Math.ceil(points.length / Math.max(2, Math.floor(WIDTH / 90))));
  points.forEach((point, index) => {
    if (index % every !== 0) return;
    const anchor = points.length === 1 ? "middle" : index === 0 ? "start" : "middle";
    element("text", { x: x(index), y: HEIGHT - 8, "text-anchor": anchor }, labels).textContent = bucket(point.start, interval);
  });
  // The lines stop at the bucket under way: the hours of today still to come are not a fall to zero.
  const now = Date.now();
  const begun = points.filter((p) => !(Date.parse(p.start) > now)).length;
  const line = (key, name) => element("polyline", {
    class: `line ${name}`, points: points.slice(0, begun).map((p, i) => `${x(i).toFixed(1)},${y(p[key]).toFixed(1)}`).join(" "),
  }, svg);
  line("views", "views");
  line("unique_users", "users");

  const width = points.length === 1 ? plotWidth : plotWidth / (points.length - 1);
  const buckets = element("g", { class: "buckets" }, svg);
  const groups = points.map((point, index) => {
    const group = element("g", {
      class: "bucket", "data-start": point.start, "data-views": point.views, "data-users": point.unique_users,
    }, buckets);
    element("title", {}, group).textContent =
      `${bucketInFull(point.start, interval)}: ${count(point.views)} views, ${count(point.unique_users)} unique users`;
    element("rect", { class: "hit", x: x(index) - width / 2, y: TOP, width, height: plotHeight }, group);
    element("circle", { class: "dot views", cx: x(index), cy: y(point.views), r: 3 }, group);
    element("circle", { class: "dot users", cx: x(index), cy: y(point.unique_users), r: 3 }, group);
    return group;
  });

  let chosen = -1;
  const choose = (index) => {
    if (chosen >= 0) groups[chosen].classList.remove("chosen");
    chosen = Math.max(0, Math.min(points.length - 1, index));
    if (drawn.svg === svg) drawn.chosen = chosen;
    groups[chosen].classList.add("chosen");
    const point = points[chosen];
    readout.textContent =
      `${bucketInFull(point.start, interval)}: ${count(point.views)} views, ${count(point.unique_users)} unique users`;
  };
  svg.addEventListener("keydown", (event) => {
    const moves = { ArrowLeft: chosen - 1, ArrowRight: chosen + 1, Home: 0, End: points.length - 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    choose(chosen < 0 && event.key.startsWith("Arrow") ? points.length - 1 : moves[event.key]);
  });
  const forget = () => {
    if (chosen >= 0) groups[chosen].classList.remove("chosen");
    chosen = -1;
    if (drawn.svg === svg) {
      drawn.chosen = -1;
      readout.textContent = "";
    }
  };
  svg.addEventListener("blur", forget);
  groups.forEach((group, index) => group.addEventListener("pointerenter", () => choose(index)));
  svg.addEventListener("pointerleave", () => {
    if (document.activeElement !== svg) forget();
  });
  drawn.svg = svg;
  host.replaceChildren(svg);
  if (focused) svg.focus({ preventScroll: true });
  if (keep >= 0) choose(keep);
  else readout.textContent = "";
}
