#!/usr/bin/env python3
"""The dashboard's first render, measured in Chromium (headless) with the Performance API.

    dashboard_render.py BASE_URL TOKEN RUNS PATH [PATH ...]

For each PATH (a dashboard URL such as /sites/bench?range=custom&from=…&to=…&tz=UTC), loads the page
RUNS times, each a new navigation with the read token in sessionStorage, and takes from each load:

- requests_to_render_ms: from the start of the page's first API request (the earliest `fetch` resource
  entry) to the `dashboard:rendered` mark the page sets in the frame after it has drawn its data (totals,
  chart, both tables): what the issue's 300 ms target is about;
- navigation_to_render_ms: from the navigation's start to the same mark (HTML, scripts and style sheet
  included; they are cached after the first load, as for a returning user);
- which of the page's requests took longest (its path, `by` for a breakdown, `from` for a /stats).

Prints one JSON object: per path, every run's figures, their median and maximum.
"""
import collections
import json
import statistics
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

base, token, runs, paths = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"):
    options.add_argument(argument)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.set_window_size(1280, 1000)

MEASURE = """
const mark = performance.getEntriesByName("dashboard:rendered")[0];
if (!mark) return null;
const fetches = performance.getEntriesByType("resource").filter((e) => e.initiatorType === "fetch");
return {
  requests_to_render_ms: mark.startTime - Math.min(...fetches.map((e) => e.startTime)),
  navigation_to_render_ms: mark.startTime,
  requests: fetches.length,
  slowest_request_ms: Math.max(...fetches.map((e) => e.duration)),
  slowest_request: (() => {
    const slowest = fetches.reduce((a, b) => (b.duration > a.duration ? b : a));
    const url = new URL(slowest.name);
    return url.pathname + (url.searchParams.has("by") ? " by " + url.searchParams.get("by") : "")
      + (url.pathname === "/stats" ? " " + url.searchParams.get("from") : "");
  })(),
  view: document.documentElement.dataset.view,
};
"""

results = {}
try:
    driver.get(base + "/")
    driver.execute_script("sessionStorage.setItem('analytics.readToken', arguments[0])", token)
    for path in paths:
        loads = []
        for _ in range(runs):
            driver.get(base + path)
            deadline = time.monotonic() + 60
            measured = None
            while time.monotonic() < deadline:
                measured = driver.execute_script(MEASURE)
                if measured is not None:
                    break
                time.sleep(0.02)
            if measured is None or measured["view"] != "dashboard":
                raise SystemExit(f"{path}: the dashboard did not render ({measured})")
            loads.append(measured)
        figures = [load["requests_to_render_ms"] for load in loads]
        results[path] = {
            "runs": len(loads),
            "requests": loads[0]["requests"],
            "requests_to_render_ms": [round(value, 1) for value in figures],
            "p50_ms": round(statistics.median(figures), 1),
            "max_ms": round(max(figures), 1),
            "first_ms": round(figures[0], 1),
            "navigation_p50_ms": round(statistics.median(load["navigation_to_render_ms"] for load in loads), 1),
            "slowest_request_p50_ms": round(statistics.median(load["slowest_request_ms"] for load in loads), 1),
            "slowest_requests": dict(collections.Counter(load["slowest_request"] for load in loads)),
        }
finally:
    driver.quit()
print(json.dumps(results))
