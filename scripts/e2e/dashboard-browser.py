#!/usr/bin/env python3
"""The dashboard in a real browser: Debian's Chromium, headless, driven by selenium (docs/dashboard.md).

    scripts/e2e/dashboard-browser.py path/to/analytics [--screenshots DIR]

Needs REDIS_URL and DATABASE_URL (scripts/test's throwaway servers); works in a schema and key prefix of
its own, dropped afterwards. Serves with REPORTING_AUTH=required. The site `shop.example` gets 13 months of
a growing site's events (today's among them) through POST /events; `app:eu` and `other.example` a few. One
token reads shop.example and app:eu. The browser's time zone is Asia/Kolkata (a half-hour offset), which
the page takes as its default.

1. A wrong token gets a clear message and the sign-in again; the right one lists exactly its sites.
2. For three ranges (last 30 days, the site link's default; then today and the last 12 months, chosen
   with the range picker): the URL holds the range and the zone, and every number on the page equals the
   JSON endpoints' answers computed here for the same days: totals and their change against the previous
   period of as many days, one chart point per bucket with its values, the first page of top paths and
   of event types.
3. The chart is read with the keyboard (Tab, End, ArrowLeft); prefers-color-scheme: dark darkens the page;
   nothing overflows at 375 px.
4. Next and Previous page through the top paths as the breakdown's cursors do; back and forward restore
   the picker and the numbers; new events appear within the 30-second refresh; a custom range works; a
   shared URL opens the same view in a new tab, after its own sign-in.
5. A zone the browser does not know gets a message and the controls; correcting it works. A site id with
   a colon keeps it in its link, and opens reloaded and percent-encoded.
6. A revoked token sends the page back to the sign-in with a message, never an empty chart. The token is
   in no URL the page requested or showed, only in sessionStorage.
7. The browser's console has no errors (the network's 401s for the wrong and revoked tokens aside).
8. Screenshots at 1280 and 375 px wide, and at 1280 in the dark scheme, are written to DIR (docs/ in
   scripts/test).

Exits non-zero on any failure.
"""
import datetime
import json
import os
import random
import sys
import time
import urllib.parse
import urllib.error
import urllib.request
import uuid
import zoneinfo

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from serve_under_test import ServeUnderTest, check, finish, wait_until

ZONE = "Asia/Kolkata"
SITE = "shop.example"
screenshots = sys.argv[sys.argv.index("--screenshots") + 1] if "--screenshots" in sys.argv else None

serve = ServeUnderTest(sys.argv[1], "dashboard")
serve.cli("sites", "add", SITE)
serve.cli("sites", "add", "other.example")
serve.cli("sites", "add", "app:eu")
serve.token = serve.cli("tokens", "create", "--site", SITE, "--site", "app:eu", "--name", "dashboard-check")
report = f"http://127.0.0.1:{serve.report_port}"


def local_today():
    return datetime.datetime.now(zoneinfo.ZoneInfo(ZONE)).date()


def send(events):
    for start in range(0, len(events), 500):
        body = json.dumps(events[start:start + 500]).encode()
        request = urllib.request.Request(f"{serve.ingestion}/events", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200, response.status


def make_events(site, count, seed, span_days=395):
    """`count` events with timestamps spread over the last 13 months, all in the past (from the
    history's shape), or, with count None, the history itself: a site growing from about 20 events a
    day to 80, quieter at weekends, with today's share so far (at least 40); Zipf-ish paths (25, so the
    top paths span three pages), four event types, 2,000 users and some anonymous."""
    rng = random.Random(seed)
    now = datetime.datetime.now(datetime.timezone.utc)
    today = local_today()
    midnight = datetime.datetime.combine(today, datetime.time(), zoneinfo.ZoneInfo(ZONE)).astimezone(datetime.timezone.utc)
    elapsed = max(60.0, (now - midnight).total_seconds() - 5)
    paths = ["/", "/pricing", "/blog", "/docs"] + [f"/docs/page-{n}" for n in range(21)]
    moments = []
    for back in range(395, -1, -1):
        day = today - datetime.timedelta(days=back)
        rate = (20 + 60 * (1 - back / 395)) * (0.6 if day.weekday() >= 5 else 1)
        start = datetime.datetime.combine(day, datetime.time(), zoneinfo.ZoneInfo(ZONE)).astimezone(datetime.timezone.utc)
        if back == 0:
            for _ in range(max(40, round(rate * elapsed / 86400))):
                moments.append(start + datetime.timedelta(seconds=rng.random() * elapsed))
        else:
            for _ in range(round(rate * (0.8 + 0.4 * rng.random()))):
                moments.append(start + datetime.timedelta(seconds=rng.random() * 86400))
    if count is not None:
        moments = [now - datetime.timedelta(seconds=rng.random() * span_days * 86400 + 1) for _ in range(count)]
    events = []
    for moment in moments:
        events.append({
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "site_id": site,
            "event_type": rng.choice(["pageview"] * 6 + ["click", "signup", "Order Completed"]),
            "path": paths[min(int(rng.paretovariate(0.9)) - 1, len(paths) - 1)],
            "user_id": None if rng.random() < 0.1 else f"user-{rng.randrange(2000)}",
            "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        })
    return events


def days(range_name, today):
    """The page's days for a range (docs/dashboard.md), computed here on their own."""
    first_of_month = today.replace(day=1)
    if range_name == "today":
        return today, today, "hour"
    if range_name == "30d":
        return today - datetime.timedelta(days=29), today, "day"
    if range_name == "12mo":
        month = (today.year * 12 + today.month - 1) - 11
        return datetime.date(month // 12, month % 12 + 1, 1), today, "month"
    raise ValueError(range_name)


def expected_view(start, end, interval):
    length = (end - start).days + 1
    previous = (start - datetime.timedelta(days=length), start - datetime.timedelta(days=1))
    base = {"site_id": SITE, "from": start.isoformat(), "to": end.isoformat(), "tz": ZONE}
    query = lambda path, **more: serve.get(path + "?" + urllib.parse.urlencode({**base, **more}))
    now = query("/stats", limit=1)
    before = serve.get("/stats?" + urllib.parse.urlencode({**base, "from": previous[0].isoformat(), "to": previous[1].isoformat(), "limit": 1}))
    return {
        "views": now["total_views"], "users": now["unique_users"],
        "views_change": change(now["total_views"], before["total_views"]), "users_change": change(now["unique_users"], before["unique_users"]),
        "points": [(p["start"], p["views"], p["unique_users"]) for p in query("/stats/timeseries", interval=interval)["points"]],
        "paths": query("/stats/breakdown", by="path", limit=10),
        "types": query("/stats/breakdown", by="event_type", limit=10),
    }


def change(current, previous):
    """format.js's change(), independently: a whole percentage rounded half up."""
    if previous == 0:
        return "" if current == 0 else "new"
    percent = int((((current - previous) / previous) * 100 + 0.5) // 1)
    return f"+{percent:,}%" if percent > 0 else f"\u2212{-percent:,}%" if percent < 0 else "0%"


READ_PAGE = """
const number = (id) => document.getElementById(id);
const rows = (id) => [...document.querySelectorAll(`#${id} tbody tr[data-value]`)].map((row) =>
  [row.dataset.value, Number(row.dataset.views), Number(row.dataset.users), row.querySelector(".value").textContent, row.querySelector("td").textContent]);
return {
  views: Number(number("views").dataset.value), views_text: number("views").textContent,
  users: Number(number("users").dataset.value), users_text: number("users").textContent,
  views_change: number("views-change").textContent, users_change: number("users-change").textContent,
  points: [...document.querySelectorAll("#chart g.bucket")].map((g) => [g.dataset.start, Number(g.dataset.views), Number(g.dataset.users)]),
  paths: rows("paths"), types: rows("event-types"),
};
"""


def page_view():
    """Everything the page shows, read at once (a refresh may redraw it between two reads)."""
    shown = driver.execute_script(READ_PAGE)
    shown["points"] = [tuple(point) for point in shown["points"]]
    shown["paths"] = [tuple(row) for row in shown["paths"]]
    shown["types"] = [tuple(row) for row in shown["types"]]
    return shown


def rows(table_id):
    return page_view()["paths" if table_id == "paths" else "types"]


def renders():
    return int(driver.execute_script("return document.documentElement.dataset.renders || '0'"))


def wait_render(before, what, seconds=15, kind="dashboard"):
    """Until the page has rendered again, as `kind` (a render of another kind is a failure)."""
    return wait_until(lambda: renders() > before and driver.execute_script("return document.documentElement.dataset.view") == kind, what, seconds)


def png_width(path):
    """The width a PNG's header gives, or None for a file that is not a PNG written just now."""
    try:
        if time.time() - os.path.getmtime(path) > 120:
            return None
        with open(path, "rb") as image:
            header = image.read(24)
        return int.from_bytes(header[16:20], "big") if header[:8] == b"\x89PNG\r\n\x1a\n" else None
    except OSError:
        return None


def keyboard():
    """The chart read with the keyboard: Tab reaches it, End and the arrow keys read the buckets out."""
    from selenium.webdriver.common.keys import Keys
    driver.find_element(By.ID, "tz").click()
    active = driver.switch_to.active_element
    active.send_keys(Keys.TAB)
    chart = driver.switch_to.active_element
    check(chart.get_attribute("class") == "chart-svg", "Tab from the zone field reaches the chart")
    chart.send_keys(Keys.END)
    last = driver.find_element(By.ID, "readout").text
    chart.send_keys(Keys.ARROW_LEFT)
    before_last = driver.find_element(By.ID, "readout").text
    points = page_view()["points"]
    check(f": {points[-1][1]:,} views, {points[-1][2]:,} unique users" in last
          and f": {points[-2][1]:,} views, {points[-2][2]:,} unique users" in before_last and last != before_last,
          f"End and ArrowLeft read the last two buckets out ({last!r}, {before_last!r})")
    driver.execute_script("document.activeElement.blur()")


def dark():
    """prefers-color-scheme: dark gives the page its dark colours."""
    light = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    darker = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    brightness = lambda colour: sum(int(part) for part in colour[colour.index("(") + 1:colour.index(")")].split(",")[:3])
    check(brightness(darker) < 150 < brightness(light), f"light by default ({light}), dark by prefers-color-scheme ({darker})")


def shot(width, path, scheme="light"):
    """The whole page at `width` CSS pixels, as a phone or a desktop shows it."""
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600})
    time.sleep(0.5)  # the chart redraws at the new width
    overflow = driver.execute_script("return document.documentElement.scrollWidth")
    check(overflow <= width, f"at {width} px wide nothing overflows sideways (scroll width {overflow})")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    time.sleep(0.3)
    driver.save_screenshot(path)
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    time.sleep(0.3)


def wait_view(kind, what, seconds=15):
    return wait_until(lambda: driver.execute_script("return document.documentElement.dataset.view") == kind, what, seconds)


def compare(name, expected):
    # Nothing compared against nothing: every view checked here has events, buckets and rows.
    check(expected["views"] > 0 and expected["points"] and expected["paths"]["rows"] and expected["types"]["rows"],
          f"{name}: the JSON endpoints answer events, buckets and rows to compare with")
    shown = page_view()
    check(shown["views"] == expected["views"] and shown["views_text"] == f'{expected["views"]:,}',
          f"{name}: views {shown['views_text']} = /stats total_views {expected['views']}")
    check(shown["users"] == expected["users"] and shown["users_text"] == f'{expected["users"]:,}',
          f"{name}: unique users {shown['users_text']} = /stats unique_users {expected['users']}")
    check(shown["views_change"] == expected["views_change"] and shown["users_change"] == expected["users_change"],
          f"{name}: changes {shown['views_change']!r}, {shown['users_change']!r} = the previous period's ({expected['views_change']!r}, {expected['users_change']!r})")
    check(shown["points"] == expected["points"],
          f"{name}: the chart has {len(shown['points'])} points, one per bucket of /stats/timeseries ({len(expected['points'])}), with its values")
    for key, title in (("paths", "top paths"), ("types", "event types")):
        want = [(r["value"], r["views"], r["unique_users"]) for r in expected[key]["rows"]]
        got = [row[:3] for row in shown[key]]
        texts = all(row[3] == row[0] and row[4] == f"{row[1]:,}" for row in shown[key])
        check(got == want and texts, f"{name}: {title} ({len(got)} rows) = /stats/breakdown's first page")
    return shown


def refused(get, path):
    try:
        get(path)
        return False
    except urllib.error.HTTPError as error:
        return error.code == 401


seen = set()


def note_urls():
    """The URLs the page has requested so far, and its own (a navigation clears the former)."""
    seen.update(driver.execute_script("return performance.getEntriesByType('resource').map((e) => e.name)"))
    seen.add(driver.current_url)


def console_errors(allow_401=False):
    errors = []
    for entry in driver.get_log("browser"):
        if entry["level"] != "SEVERE":
            continue
        if allow_401 and entry.get("source") == "network" and "401" in entry["message"]:
            continue
        errors.append(entry["message"])
    return errors


options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars"):
    options.add_argument(argument)
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = None
try:
    # The history arrives at once, from one address: above the default limits.
    serve.start(REPORTING_AUTH="required", INGEST_SITES="registered", RATE_LIMIT_ADDRESS="100000/100000", RATE_LIMIT_SITE="100000/100000")
    history = make_events(SITE, None, 24)
    send(history + make_events("other.example", 50, 25) + make_events("app:eu", 60, 28, span_days=25))
    wait_until(lambda: serve.stats(SITE)["total_views"] == len(history), f"the history's {len(history):,} events stored", 90)

    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver", env=dict(os.environ, TZ=ZONE)), options=options)
    driver.set_window_size(1280, 900)
    # ICU may name the zone by an older alias (Asia/Calcutta): the page uses the browser's name, and so do the checks.
    browser_zone = driver.execute_script("return Intl.DateTimeFormat().resolvedOptions().timeZone")
    check(zoneinfo.ZoneInfo(browser_zone).utcoffset(datetime.datetime(2026, 1, 1)) == datetime.timedelta(hours=5, minutes=30),
          f"the browser's time zone is {ZONE} ({browser_zone})")
    ZONE = browser_zone

    # 1. Sign in: a wrong token first.
    driver.get(f"{report}/")
    wait_until(lambda: driver.find_element(By.ID, "sign-in").is_displayed(), "the sign-in form")
    check(console_errors() == [], "no console errors before signing in (no request fails)")
    before = renders()
    driver.find_element(By.ID, "token").send_keys("rt_000000000000_" + "0" * 32)
    driver.find_element(By.CSS_SELECTOR, "#sign-in-form button").click()
    wait_render(before, "an answer to the wrong token", kind="sign-in")
    message = driver.find_element(By.ID, "message")
    check(message.is_displayed() and "not accepted" in message.text and driver.find_element(By.ID, "sign-in").is_displayed()
          and not driver.find_element(By.ID, "dashboard").is_displayed(),
          f"a wrong token gets a clear message and the sign-in again: {message.text!r}")
    check(driver.execute_script("return sessionStorage.length") == 0, "a refused token is not kept")
    check(all(e.get("source") == "network" and "401" in e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"),
          "the wrong token's only console entry is the network's 401")

    before = renders()
    driver.find_element(By.ID, "token").send_keys(serve.token)
    driver.find_element(By.CSS_SELECTOR, "#sign-in-form button").click()
    wait_render(before, "the list of sites", kind="sites")
    listed = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "#sites a")]
    check(listed == ["app:eu", SITE], f"the token's sites are listed, and only they: {listed}")
    check(driver.execute_script("return sessionStorage.getItem('analytics.readToken')") == serve.token, "the token is in sessionStorage")
    check(driver.execute_script("return localStorage.length") == 0 and driver.get_cookies() == [], "nothing in localStorage, no cookies")

    # 2. The site's page, for three ranges chosen with the picker.
    before = renders()
    note_urls()
    driver.find_element(By.LINK_TEXT, SITE).click()
    wait_render(before, "the dashboard")
    urls = []
    for name in ("30d", "today", "12mo"):
        if name != "30d":
            before = renders()
            Select(driver.find_element(By.ID, "range")).select_by_value(name)
            wait_render(before, f"the dashboard for {name}")
        url = urllib.parse.urlparse(driver.current_url)
        query = urllib.parse.parse_qs(url.query)
        check(url.path == f"/sites/{SITE}" and query.get("range") == [name] and query.get("tz") == [ZONE],
              f"{name}: the URL holds the range and the zone ({url.path}?{url.query})")
        urls.append(driver.current_url)
        note_urls()
        start, end, interval = days(name, local_today())
        shown = compare(name, expected_view(start, end, interval))
        if name == "30d":
            keyboard()
            dark()
        if name == "30d" and screenshots:
            for width in (1280, 375):
                shot(width, os.path.join(screenshots, f"dashboard-{width}.png"))
            shot(1280, os.path.join(screenshots, "dashboard-dark-1280.png"), scheme="dark")
            written = {name: png_width(os.path.join(screenshots, name)) for name in ("dashboard-1280.png", "dashboard-375.png", "dashboard-dark-1280.png")}
            check(written == {"dashboard-1280.png": 1280, "dashboard-375.png": 375, "dashboard-dark-1280.png": 1280},
                  f"screenshots written to {screenshots}, as wide as asked: {written}")
    check(len(set(urls)) == 3, "each range has a URL of its own")
    # 3. Paging, a custom range, back and forward, a shared URL.
    start, end, _ = days("12mo", local_today())
    base = {"site_id": SITE, "from": start.isoformat(), "to": end.isoformat(), "tz": ZONE, "by": "path", "limit": 10}
    first = serve.get("/stats/breakdown?" + urllib.parse.urlencode(base))
    second = serve.get("/stats/breakdown?" + urllib.parse.urlencode({**base, "cursor": first["next_cursor"]}))
    driver.find_element(By.CSS_SELECTOR, "#paths [data-page=next]").click()
    wait_until(lambda: [r[0] for r in rows("paths")] == [r["value"] for r in second["rows"]], "Next shows the second page of top paths")
    check([r[:3] for r in rows("paths")] == [(r["value"], r["views"], r["unique_users"]) for r in second["rows"]],
          f"Next: top paths 11–{10 + len(second['rows'])} = the breakdown's second page")
    driver.find_element(By.CSS_SELECTOR, "#paths [data-page=previous]").click()
    wait_until(lambda: [r[0] for r in rows("paths")] == [r["value"] for r in first["rows"]], "Previous shows the first page again")

    before = renders()
    driver.back()
    wait_render(before, "back to today")
    check(urllib.parse.parse_qs(urllib.parse.urlparse(driver.current_url).query).get("range") == ["today"]
          and Select(driver.find_element(By.ID, "range")).first_selected_option.get_attribute("value") == "today",
          "back returns to today's URL and picker")
    compare("back to today", expected_view(*days("today", local_today())))

    # The 30-second refresh, while the tab is visible.
    check(driver.execute_script("return document.visibilityState") == "visible", "the tab is visible")
    shown = page_view()["views"]
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    send([dict(event, timestamp=stamp) for event in make_events(SITE, 7, 27)])
    wait_until(lambda: serve.stats(SITE)["total_views"] == len(history) + 7, "7 more events stored", 30)
    check(wait_until(lambda: page_view()["views"] == shown + 7, "the 30-second refresh", 90),
          f"the refresh shows the 7 new events ({shown} → {shown + 7} views today) without a reload")
    compare("today, refreshed", expected_view(*days("today", local_today())))

    before = renders()
    driver.forward()
    wait_render(before, "forward to 12 months")
    check(driver.current_url == urls[2] and Select(driver.find_element(By.ID, "range")).first_selected_option.get_attribute("value") == "12mo",
          "forward returns to the 12 months' URL and picker")
    compare("forward to 12 months", expected_view(*days("12mo", local_today())))

    custom_from, custom_to = local_today() - datetime.timedelta(days=75), local_today() - datetime.timedelta(days=40)
    before = renders()
    Select(driver.find_element(By.ID, "range")).select_by_value("custom")
    wait_render(before, "the custom range")
    for field, day in (("from", custom_from), ("to", custom_to)):
        driver.execute_script("arguments[0].value = arguments[1]", driver.find_element(By.ID, field), day.isoformat())
    before = renders()
    driver.find_element(By.CSS_SELECTOR, "#custom button").click()
    wait_render(before, "the custom range's numbers")
    query = urllib.parse.parse_qs(urllib.parse.urlparse(driver.current_url).query)
    check(query.get("range") == ["custom"] and query.get("from") == [custom_from.isoformat()] and query.get("to") == [custom_to.isoformat()],
          "a custom range is in the URL")
    compare("custom range", expected_view(custom_from, custom_to, "day"))

    shared = driver.current_url
    driver.switch_to.new_window("tab")
    driver.get(shared)
    wait_view("sign-in", "the shared URL in a new tab")
    check(driver.find_element(By.ID, "sign-in").is_displayed(), "a new tab has no token: it asks for one")
    before = renders()
    driver.find_element(By.ID, "token").send_keys(serve.token)
    driver.find_element(By.CSS_SELECTOR, "#sign-in-form button").click()
    wait_render(before, "the shared view after signing in")
    check(driver.current_url == shared, "after signing in, the shared URL's view")
    compare("shared URL", expected_view(custom_from, custom_to, "day"))
    driver.close()
    driver.switch_to.window(driver.window_handles[0])

    check(console_errors() == [], "no console errors while signed in")

    # A zone this browser does not know: a clear message, the controls to fix it, no numbers.
    note_urls()
    driver.get(f"{report}/sites/{SITE}?range=7d&tz=Europe/Berln")
    wait_view("error", "the page for an unknown zone")
    message = driver.find_element(By.ID, "message").text
    check("Europe/Berln" in message and "not a time zone" in message and driver.find_element(By.ID, "tz").is_displayed()
          and not driver.find_element(By.ID, "data").is_displayed(), f"an unknown zone: its message and the controls, no numbers ({message!r})")
    zone = driver.find_element(By.ID, "tz")
    zone.clear()
    zone.send_keys("UTC\n")
    wait_view("dashboard", "the page after the zone is corrected")
    query = urllib.parse.parse_qs(urllib.parse.urlparse(driver.current_url).query)
    check(query.get("tz") == ["UTC"] and query.get("range") == ["7d"], f"the corrected zone is in the URL ({driver.current_url})")

    # A site id with a colon: its link from the list, that URL reloaded (as a bookmark or a shared link is
    # opened), and the same id percent-encoded.
    before = renders()
    driver.find_element(By.CSS_SELECTOR, "a.brand").click()
    wait_render(before, "the list of sites again", kind="sites")
    before = renders()
    driver.find_element(By.LINK_TEXT, "app:eu").click()
    wait_render(before, "the page of app:eu")
    check(urllib.parse.urlparse(driver.current_url).path == "/sites/app:eu", f"the link to app:eu keeps its colon ({driver.current_url})")
    start, end, _ = days("30d", local_today())
    wanted = serve.get("/stats?" + urllib.parse.urlencode({"site_id": "app:eu", "from": start.isoformat(), "to": end.isoformat(), "tz": ZONE}))
    for how, url in (("reloaded", None), ("percent-encoded", driver.current_url.replace("/sites/app:eu", "/sites/app%3Aeu"))):
        driver.refresh() if url is None else driver.get(url)
        wait_view("dashboard", f"the page of app:eu, {how}")
        shown = page_view()
        check(shown["views"] == wanted["total_views"] > 0, f"app:eu, {how}: {shown['views']} views = /stats {wanted['total_views']}")
    note_urls()

    serve.cli("tokens", "revoke", serve.token)
    wait_until(lambda: refused(serve.get, "/sites"), "the revocation reaches reporting")
    driver.refresh()
    wait_view("sign-in", "the page with a revoked token")
    message = driver.find_element(By.ID, "message")
    check(driver.find_element(By.ID, "sign-in").is_displayed() and not driver.find_element(By.ID, "dashboard").is_displayed()
          and "revoked" in message.text, f"a revoked token: the sign-in and a clear message, no chart: {message.text!r}")
    check(console_errors(allow_401=True) == [], "no console errors but the revoked token's 401")
    note_urls()
    check(len(seen) > 30 and not any("rt_" in url or serve.token[3:15] in url for url in seen),
          f"the token is in none of the {len(seen)} URLs the page requested or showed")
    check(driver.execute_script("return sessionStorage.length") == 0, "a revoked token is dropped from sessionStorage")
except Exception as error:  # noqa: BLE001 - reported as a failure, with the server's log
    check(False, f"the browser run: {type(error).__name__}: {error}")
finally:
    if driver is not None:
        driver.quit()
    serve.stop()
finish("dashboard-browser")
