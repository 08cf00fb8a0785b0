// The first-party tracker served as /script.js (docs/tracker.md). No cookies, no storage: the server
// counts a visitor by a keyed hash of site, address and browser that it forgets after a day.
(function (w, d, n) {
  "use strict";
  var script = d.currentScript;
  if (!script || w.__analyticsTag) return; // one tag per page, however often it is included
  w.__analyticsTag = true;
  var site = script.getAttribute("data-site");
  var endpoint = script.getAttribute("data-api") || new URL(script.src).origin + "/collect";
  var optedOut = script.getAttribute("data-do-not-track") === "true" &&
    (n.doNotTrack === "1" || w.doNotTrack === "1" || n.globalPrivacyControl === true);
  var last;

  function send(type) {
    if (!site || optedOut) return;
    var body = JSON.stringify({ site_id: site, event_type: type, url: location.href });
    // text/plain needs no CORS preflight; sendBeacon outlives the page, fetch with keepalive when it cannot.
    if (!(n.sendBeacon && n.sendBeacon(endpoint, body))) {
      fetch(endpoint, { method: "POST", body: body, keepalive: true, credentials: "omit", headers: { "Content-Type": "text/plain" } })
        .catch(function () {});
    }
  }

  // The server keeps the path only, so a new query or fragment on the same path is not a new page. A
  // prerendered page counts once it is shown (prerenderingchange), whatever its router did before.
  function pageview() {
    if (d.prerendering || location.pathname === last) return;
    last = location.pathname;
    send("pageview");
  }

  ["pushState", "replaceState"].forEach(function (name) {
    var original = w.history[name];
    w.history[name] = function () {
      var result = original.apply(this, arguments);
      pageview();
      return result;
    };
  });
  w.addEventListener("popstate", pageview);

  // An array, as Segment's snippet expects of a window.analytics it finds; its own track replaces ours.
  var api = w.analytics = w.analytics || [];
  if (!api.track) api.track = function (name) { send(String(name)); };

  if (d.prerendering) {
    d.addEventListener("prerenderingchange", pageview, { once: true });
  } else {
    pageview();
  }
})(window, document, navigator);
