#!/usr/bin/env python3
"""Segment's and RudderStack's own Python libraries against `analytics serve` (docs/segment.md).

    scripts/e2e/segment-sdks.py path/to/analytics

Needs REDIS_URL and DATABASE_URL (scripts/test's throwaway servers); works in a schema and key prefix of
its own, dropped afterwards. Registers two sites, each with a write key, and a read token; serves with
INGEST_SITES=registered and REPORTING_AUTH=required. Then:

1. segment-analytics-python, gzip off and on, and rudder-sdk-python (gzip on, its default) send track,
   page, screen and identify calls with the host pointed at ingestion, and flush;
2. /stats and /stats/breakdown show every event with its mapped fields: event types, paths (from
   properties.path, context.page.path and the path of a URL), users (userId, else anonymousId), and the
   day a historical timestamp names;
3. the same messages are sent again (the libraries' retry of a batch whose answer was lost): once a
   later message has been stored, nothing is counted twice.

Any error a library reports (on_error) fails the run. Exits non-zero on any failure.
"""
import datetime as dt
import sys
import time
import uuid

from segment.analytics import Client as SegmentClient
from rudderstack.analytics import Client as RudderClient

from serve_under_test import ServeUnderTest, check, finish, wait_until

serve = ServeUnderTest(sys.argv[1], "sdks")
serve.cli("sites", "add", "sdk")
serve.cli("sites", "add", "rudder")
segment_key = serve.cli("sites", "write-key", "sdk")
rudder_key = serve.cli("sites", "write-key", "rudder")
serve.token = serve.cli("tokens", "create", "--site", "sdk", "--site", "rudder", "--name", "sdk-check")
stats, event_types, ingestion = serve.stats, serve.event_types, serve.ingestion
errors = []


def on_error(error, items):
    errors.append(f"{error} ({len(items)} messages)")


# What each library sends; fixed message ids, so that sending it again is a resend.
historical = dt.datetime(2025, 11, 14, 10, 0, tzinfo=dt.timezone.utc)


def send(client, tag):
    ids = lambda n: str(uuid.uuid5(uuid.NAMESPACE_URL, f"sdk-check/{tag}/{n}"))
    client.track(user_id="u1", event="Order Completed", properties={"total": 30, "path": "/checkout"}, message_id=ids(1))
    client.track(anonymous_id="anon-1", event="Signed Up", context={"page": {"path": "/signup"}}, message_id=ids(2))
    client.track(user_id="u2", event="Order Completed", properties={"path": "/checkout"}, message_id=ids(3), timestamp=historical)
    client.page(user_id="u1", name="Pricing", properties={"url": "https://shop.example/pricing?plan=pro#top"}, message_id=ids(4))
    client.page(anonymous_id="anon-2", name="Home", properties={"path": "/"}, message_id=ids(5))
    client.screen(user_id="u3", name="Cart", message_id=ids(6))
    client.identify(user_id="u1", traits={"plan": "pro"}, message_id=ids(7))
    client.flush()


def senders():
    return [
        ("segment, gzip off", "sdk", SegmentClient(write_key=segment_key, host=ingestion, gzip=False, on_error=on_error, max_retries=2)),
        ("segment, gzip on", "sdk", SegmentClient(write_key=segment_key, host=ingestion, gzip=True, on_error=on_error, max_retries=2)),
        ("rudderstack, gzip on", "rudder", RudderClient(write_key=rudder_key, host=ingestion, gzip=True, on_error=on_error, max_retries=2)),
    ]


# Each site's expected answer: two senders write to `sdk` (tags differ, so 12 events), one to `rudder`.
def expected(senders_of_site):
    n = senders_of_site
    return {
        "total": 6 * n,
        "types": {"Order Completed": 2 * n, "Signed Up": n, "pageview": 2 * n, "screen": n},
        "paths": {"/checkout": 2 * n, "/signup": n, "/pricing": n, "/": 2 * n},
        "users": 5,  # u1, anon-1, u2, anon-2, u3: the same people whichever library sent them
        "historical": n,
    }


try:
    if not serve.start(INGEST_SITES="registered", REPORTING_AUTH="required"):
        raise SystemExit(1)
    for name, site, client in senders():
        send(client, name)
    check(not errors, f"no library reported an error ({errors})")
    for site, n in (("sdk", 2), ("rudder", 1)):
        want = expected(n)
        wait_until(lambda: stats(site)["total_views"] >= want["total"], f"{site}: {want['total']} events stored")
        answer = stats(site)
        check(answer["total_views"] == want["total"], f"{site}: total_views {answer['total_views']} == {want['total']}")
        check(answer["unique_users"] == want["users"], f"{site}: unique_users {answer['unique_users']} == {want['users']}")
        paths = {row["path"]: row["views"] for row in answer["top_paths"]}
        check(paths == want["paths"], f"{site}: paths {paths} == {want['paths']}")
        types = event_types(site)
        check(types == want["types"], f"{site}: event types {types} == {want['types']}")
        day = stats(site, date="2025-11-14")["total_views"]
        check(day == want["historical"], f"{site}: the historical timestamp's day has {day} == {want['historical']} events")
        named = stats(site, event_type="Order Completed")["total_views"]
        check(named == want["types"]["Order Completed"], f"{site}: event_type=Order+Completed finds {named}")

    # The same messages again, then one new one: once it is stored, the resend has been through the worker.
    for name, site, client in senders():
        send(client, name)
    sentinel = SegmentClient(write_key=segment_key, host=ingestion, on_error=on_error)
    sentinel.track(user_id="u9", event="Sentinel", message_id=str(uuid.uuid4()))
    sentinel.flush()
    wait_until(lambda: event_types("sdk").get("Sentinel") == 1, "the message sent after the resend stored")
    time.sleep(1)
    check(stats("sdk")["total_views"] == expected(2)["total"] + 1, f"sdk: the resend counted nothing twice ({stats('sdk')['total_views']})")
    check(stats("rudder")["total_views"] == expected(1)["total"], f"rudder: the resend counted nothing twice ({stats('rudder')['total_views']})")
    check(not errors, f"no library reported an error ({errors})")
finally:
    serve.stop()

finish("segment-sdks")
