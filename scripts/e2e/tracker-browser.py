#!/usr/bin/env python3
"""The script tag in a real browser: Debian's Chromium, headless, driven by selenium (docs/tracker.md).

    scripts/e2e/tracker-browser.py path/to/analytics

Needs REDIS_URL and DATABASE_URL (scripts/test's throwaway servers); works in a schema and key prefix of
its own, dropped afterwards. Serves with INGEST_SITES=registered and REPORTING_AUTH=required; the site
`browser` lists the test page's origin, a static server on another port.

1. The page loads /script.js with `data-site` (twice, as a template and a tag manager might), navigates
   three routes with pushState, changes only the query once, goes back once and calls analytics.track: /stats then shows exactly those pageviews and paths, one visitor, and the
   custom event at the path it was sent from.
2. Nothing is left in the browser: no cookie, nothing in localStorage or sessionStorage.
3. A page whose tag says data-do-not-track="true", in a browser that sends Do-Not-Track, sends nothing
   (a request sent after it is stored, and nothing of the page is).
4. The browser's console has no errors.

Exits non-zero on any failure.
"""
import http.server
import os
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from serve_under_test import ServeUnderTest, check, finish, free_port, wait_until

serve = ServeUnderTest(sys.argv[1], "browser")
ingest_port, page_port = serve.ingest_port, free_port()
page_origin = f"http://127.0.0.1:{page_port}"
serve.cli("sites", "add", "browser", "--origin", page_origin)
serve.cli("sites", "add", "dnt", "--origin", page_origin)
serve.token = serve.cli("tokens", "create", "--site", "browser", "--site", "dnt", "--name", "browser-check")
stats, get = serve.stats, serve.get

# The test pages, from a static server on an origin of their own.
pages = tempfile.mkdtemp()
tag = f'<script defer src="http://127.0.0.1:{ingest_port}/script.js" data-site="%s"%s></script>'
with open(os.path.join(pages, "index.html"), "w") as page:
    # The tag twice, as a template and a tag manager might both add it: still one count per page.
    page.write(f'<!doctype html><html><head><meta charset="utf-8"><title>shop</title>{tag % ("browser", "")}{tag % ("browser", "")}</head>'
               '<body><h1>shop</h1></body></html>')
with open(os.path.join(pages, "private.html"), "w") as page:
    private_tag = tag % ("dnt", ' data-do-not-track="true"')
    page.write(f'<!doctype html><html><head><meta charset="utf-8"><title>private</title>{private_tag}'
               '</head><body><h1>private</h1></body></html>')
with open(os.path.join(pages, "favicon.ico"), "wb") as icon:
    icon.write(b"")


class Quiet(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *arguments, **keywords):
        super().__init__(*arguments, directory=pages, **keywords)

    def log_message(self, *arguments):
        pass


static = http.server.ThreadingHTTPServer(("127.0.0.1", page_port), Quiet)
threading.Thread(target=static.serve_forever, daemon=True).start()




options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"):
    options.add_argument(argument)
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = None
try:
    serve.start(INGEST_SITES="registered", REPORTING_AUTH="required")
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.get(f"{page_origin}/index.html")
    wait_until(lambda: driver.execute_script("return !!(window.analytics && window.analytics.track)"), "the script loaded")
    for route in ("/a", "/b", "/c"):
        driver.execute_script("history.pushState({}, '', arguments[0])", route)
    # A new query on the same path (a search box) is not a new page: the server keeps paths only.
    driver.execute_script("history.replaceState({}, '', '/c?q=shoes')")
    driver.back()
    wait_until(lambda: driver.execute_script("return location.pathname") == "/b", "back to /b")
    driver.execute_script("window.analytics.track('Signup Clicked')")

    want_paths = {"/index.html": 1, "/a": 1, "/b": 2, "/c": 1}
    wait_until(lambda: stats("browser")["total_views"] >= 6, "6 events stored")
    pageviews = stats("browser", event_type="pageview")
    paths = {row["path"]: row["views"] for row in pageviews["top_paths"]}
    check(pageviews["total_views"] == 5, f"5 pageviews ({pageviews['total_views']})")
    check(paths == want_paths, f"pageview paths {paths} == {want_paths}")
    custom = stats("browser", event_type="Signup Clicked")
    check(custom["total_views"] == 1 and custom["top_paths"] == [{"path": "/b", "views": 1}],
          f"the custom event once, at /b ({custom})")
    everything = stats("browser")
    check(everything["total_views"] == 6, f"6 events in all ({everything['total_views']})")
    check(everything["unique_users"] == 1, f"one visitor ({everything['unique_users']})")

    check(driver.get_cookies() == [], f"no cookies ({driver.get_cookies()})")
    stored = driver.execute_script("return localStorage.length + sessionStorage.length")
    check(stored == 0, f"nothing in localStorage or sessionStorage ({stored})")

    # Do-Not-Track, honoured because the tag asks for it.
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {
        "source": "Object.defineProperty(Navigator.prototype, 'doNotTrack', {get() { return '1'; }});"})
    driver.get(f"{page_origin}/private.html")
    wait_until(lambda: driver.execute_script("return !!(window.analytics && window.analytics.track)"), "the script loaded on the private page")
    driver.execute_script("history.pushState({}, '', '/private/next'); window.analytics.track('Private Click')")
    driver.execute_script("""
        navigator.sendBeacon(arguments[0], JSON.stringify({site_id: 'dnt', event_type: 'sentinel', url: location.href}));
    """, f"http://127.0.0.1:{ingest_port}/collect")
    wait_until(lambda: stats("dnt")["total_views"] >= 1, "the sentinel stored")
    time.sleep(0.5)
    dnt = get("/stats/breakdown?" + urllib.parse.urlencode({"site_id": "dnt", "by": "event_type"}))["rows"]
    check([row["value"] for row in dnt] == ["sentinel"], f"the do-not-track page sent nothing ({dnt})")

    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    check(not errors, f"no console errors ({errors})")
finally:
    if driver is not None:
        driver.quit()
    static.shutdown()
    serve.stop()

finish("tracker-browser")
