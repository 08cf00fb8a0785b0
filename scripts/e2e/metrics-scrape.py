#!/usr/bin/env python3
"""Scrapes /metrics of every kind of process (ingest, report, two workers, serve) on scripts/test's Redis and
Postgres, after events went through, and parses each with prometheus_client, Prometheus's own Python parser:
every family typed and helped, and the figures what went through.

    metrics-scrape.py path/to/analytics
"""
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_under_test import ServeUnderTest, check, finish, free_port, wait_until  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

EVENTS = 50
TOKEN = "metrics-scrape-token-0123456789"


def http(url, method="GET", body=None, headers=None):
    """(status, headers, body bytes)"""
    request = urllib.request.Request(url, method=method, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def scrape(port, token=None):
    """{name: family} of the process on `port`, parsed by prometheus_client."""
    status, headers, body = http(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {token}"} if token else {})
    check(status == 200, f":{port} /metrics answers 200 ({status})")
    check(headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"), f":{port} /metrics is the text format 0.0.4")
    families = {family.name: family for family in text_string_to_metric_families(body.decode())}
    undocumented = sorted(name for name, family in families.items() if not family.documentation)
    check(not undocumented, f":{port} every family has HELP (without: {undocumented})")
    return families


def value(families, name, labels=None, sample=None):
    """The value of the sample `sample` (default: the family's own name) of family `name` with exactly `labels`."""
    family = families.get(name)
    if family is None:
        return None
    for entry in family.samples:
        if entry.name == (sample or name) and entry.labels == (labels or {}):
            return entry.value
    return None


def total(families, name, sample=None, **match):
    family = families.get(name)
    if family is None:
        return 0
    return sum(entry.value for entry in family.samples
               if entry.name == (sample or name) and all(entry.labels.get(k) == v for k, v in match.items()))


def process_figures(families, what, started):
    check((value(families, "process_resident_memory_bytes") or 0) > 1_000_000, f"{what}: resident memory reported")
    check((value(families, "process_open_fds") or 0) >= 3, f"{what}: open files reported")
    check((value(families, "process_max_fds") or 0) >= (value(families, "process_open_fds") or 0), f"{what}: the file limit reported")
    check((value(families, "process_cpu_seconds", sample="process_cpu_seconds_total") or 0) > 0, f"{what}: CPU time reported")
    start = value(families, "process_start_time_seconds") or 0
    check(started - 5 <= start <= time.time() + 1, f"{what}: start time {start:.0f} within the run (from {started:.0f})")


def main():
    binary = sys.argv[1]
    stack = ServeUnderTest(binary, "metrics")
    processes = []
    started = time.time()
    try:
        stack.cli("sites", "add", "demo")
        stack.token = stack.cli("tokens", "create", "--site", "demo", "--name", "metrics")
        ingest, report, worker, guarded = free_port(), free_port(), free_port(), free_port()

        def run(name, *arguments, **settings):
            log = f"/tmp/{stack.schema}-{name}.log"
            processes.append((name, log, subprocess.Popen(
                [binary, *arguments], env=dict(stack.environment, HOST="127.0.0.1", **settings),
                stdout=open(log, "w"), stderr=subprocess.STDOUT)))

        run("ingest", "ingest", "--port", str(ingest))
        run("report", "report", "--port", str(report))
        run("worker", "worker", "--metrics-port", str(worker), WORKER_NAME="w-open")
        run("worker-token", "worker", WORKER_NAME="w-token", METRICS_PORT=str(guarded), METRICS_TOKEN=TOKEN)
        for port in (ingest, report, worker, guarded):
            wait_until(lambda: http(f"http://127.0.0.1:{port}/readyz")[0] == 200, f":{port} ready")
        stack.start()  # analytics serve, its worker sharing the queue

        events = [{"site_id": "demo", "event_type": "view", "path": f"/p{i}", "user_id": f"u{i % 7}",
                   "timestamp": "2025-11-14T10:00:00Z"} for i in range(EVENTS)]
        status, _, _ = http(f"http://127.0.0.1:{ingest}/events", "POST", json.dumps(events).encode(), {"Content-Type": "application/json"})
        check(status == 200, f"POST /events of {EVENTS} events answers 200 ({status})")
        status, _, _ = http(f"http://127.0.0.1:{ingest}/event", "POST", b"{", {"Content-Type": "application/json"})
        check(status == 400, f"a malformed POST /event answers 400 ({status})")
        wait_until(lambda: stack.stats("demo")["total_views"] == EVENTS, f"{EVENTS} events stored")

        families = scrape(ingest)
        check(value(families, "analytics_http_requests", {"route": "/events", "method": "POST", "status": "200"},
                    "analytics_http_requests_total") == 1, "ingest: POST /events counted once, by route and status")
        check(value(families, "analytics_http_requests", {"route": "/event", "method": "POST", "status": "400"},
                    "analytics_http_requests_total") == 1, "ingest: the 400 counted")
        check(value(families, "analytics_http_request_duration_seconds", {"route": "/events", "method": "POST"},
                    "analytics_http_request_duration_seconds_count") == 1, "ingest: POST /events timed")
        check(families.get("analytics_http_request_duration_seconds") is not None
              and families["analytics_http_request_duration_seconds"].type == "histogram", "ingest: latency is a histogram")
        process_figures(families, "ingest", started)

        status, _, body = http(f"http://127.0.0.1:{report}/stats?site_id=demo", headers={"Authorization": f"Bearer {stack.token}"})
        check(status == 200 and json.loads(body).get("total_views") == EVENTS, f"report: GET /stats answers {EVENTS} views ({status})")
        families = scrape(report)
        check(total(families, "analytics_store_duration_seconds", "analytics_store_duration_seconds_count", operation="stats") >= 1,
              "report: the stats queries timed")
        check(total(families, "analytics_http_requests", "analytics_http_requests_total", route="/stats", status="200") >= 1,
              "report: GET /stats counted")
        check(total(families, "analytics_store_errors", "analytics_store_errors_total") == 0, "report: no store errors")
        process_figures(families, "report", started)

        status, headers, body = http(f"http://127.0.0.1:{guarded}/metrics")
        check(status == 401 and headers.get("WWW-Authenticate") == 'Bearer realm="metrics"' and b'"error"' in body,
              f"worker with METRICS_TOKEN: 401 and the error body without it ({status})")
        check(http(f"http://127.0.0.1:{guarded}/metrics", headers={"Authorization": "Bearer wrong"})[0] == 401,
              "worker with METRICS_TOKEN: 401 with a wrong token")
        # A worker counts a batch once it is acknowledged, just after its events are visible: wait for that.
        def inserted_by_all():
            return sum(total(f, "analytics_worker_events", "analytics_worker_events_total", outcome="inserted")
                       for f in (scrape(worker), scrape(guarded, TOKEN), scrape(stack.ingest_port)))
        wait_until(lambda: inserted_by_all() == EVENTS, f"the three workers count {EVENTS} inserted events in all")
        time.sleep(1.1)  # past the second a rendering is reused
        workers = [scrape(worker), scrape(guarded, TOKEN), scrape(stack.ingest_port)]
        inserted = sum(total(f, "analytics_worker_events", "analytics_worker_events_total", outcome="inserted") for f in workers)
        check(inserted == EVENTS, f"the three workers inserted {inserted:.0f} events in all, {EVENTS} sent")
        batches = sum(total(f, "analytics_worker_batch_size", "analytics_worker_batch_size_count") for f in workers)
        summed = sum(total(f, "analytics_worker_batch_size", "analytics_worker_batch_size_sum") for f in workers)
        check(batches >= 1 and summed == EVENTS, f"batch sizes: {batches:.0f} batches of {summed:.0f} events")
        for name, families in zip(["worker", "worker-token", "serve"], workers):
            check(value(families, "analytics_queue_up") == 1, f"{name}: the queue sampled")
            check(value(families, "analytics_queue_events", {"state": "ready"}) == 0, f"{name}: nothing ready once drained")
            check(value(families, "analytics_queue_oldest_event_age_seconds", {"state": "ready"}) == 0, f"{name}: no ready age once drained")
            check(total(families, "analytics_worker_events", "analytics_worker_events_total", outcome="dead_lettered") == 0, f"{name}: nothing dead-lettered")
            process_figures(families, name, started)
        check(http(f"http://127.0.0.1:{worker}/readyz")[0] == 200, "worker: /readyz on its metrics port")
    finally:
        for name, log, process in processes:
            process.terminate()
        for name, log, process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                check(False, f"{name} stopped on SIGTERM (log: {log})")
        stack.stop()
    finish("metrics-scrape")


if __name__ == "__main__":
    main()
