#!/usr/bin/env python3
"""Helpers for scripts/bench: data sets, the steady-rate freshness load, and the report.

  tools.py resp N PREFIX        N events as RESP XADD commands for `redis-cli --pipe`
  tools.py csv N                the same N events as CSV rows for `psql \\copy`
  tools.py payload              one event as the queue stores it (for redis-benchmark)
  tools.py freshness URL RATE SECONDS OUT
                                POST /events at RATE events/s; writes event_id,time-of-200 lines to OUT
  tools.py delays ACKS ROWS     freshness p50/p99 from ACKS (event_id,t200) and ROWS (event_id,created_at)
  tools.py request-cost URL PID the server CPU each KiB of a request costs, for valid batches and the hostile
                                shapes that once cost far more than their size (POST URL/events; PID serves it)
  tools.py report RESULTS       the markdown table of a results JSON file

Events are for one site ("bench") spread over 2025, with 200 paths (a few popular) and 20,000 users,
generated from a fixed seed so every tool sees the same rows.
"""
import bisect
import datetime
import heapq
import http.client
import json
import math
import os
import random
import sys
import threading
import time
import urllib.parse
import uuid

SITE = "bench"
PATHS = [f"/page/{i}" for i in range(196)] + ["/", "/pricing", "/signup", "/blog"]
TYPES = ["view"] * 6 + ["click", "scroll", "signup:completed"]


def events(count, seed=2025):
    rng = random.Random(seed)
    start = 1735689600  # 2025-01-01T00:00:00Z
    for index in range(count):
        moment = start + rng.randrange(365 * 86400)
        micros = rng.randrange(1_000_000)
        timestamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment)) + f".{micros:06d}Z"
        path = PATHS[min(int(rng.paretovariate(1.2)) - 1, len(PATHS) - 1)] if rng.random() < 0.7 else rng.choice(PATHS)
        user = None if rng.random() < 0.1 else f"user-{rng.randrange(20000)}"
        yield {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "site_id": SITE, "event_type": rng.choice(TYPES), "path": path, "user_id": user, "timestamp": timestamp,
        }


def traffic(count, seed=2025):
    """Live traffic of one site over 2025, as JSON lines in arrival order and without event_id, as a
    tracker sends it: visits start through the year (busier by day than by night), each a few events
    seconds to minutes apart from one visitor; visitors return (a few often, most rarely); paths are
    Zipf-distributed over 2,000 pages; an event's timestamp is its arrival less a lateness of up to 2 s
    (a few up to 5 minutes, as queued beacons); 3% of events have no user."""
    rng = random.Random(seed)
    start = 1735689600  # 2025-01-01T00:00:00Z
    year = 365 * 86400
    visitors = max(1000, count // 5)
    page_count = 2000
    # Zipf (s = 1.1) over the pages by inverse transform of the cumulative weights.
    weights = [1 / (rank + 1) ** 1.1 for rank in range(page_count)]
    cumulative = []
    running = 0.0
    for weight in weights:
        running += weight
        cumulative.append(running)
    total_weight = running
    pages = [f"/docs/section-{rank % 40}/page-{rank}" for rank in range(page_count)]
    pages[0], pages[1], pages[2] = "/", "/pricing", "/blog"
    ids = {}

    def visitor_id(number):
        text = ids.get(number)
        if text is None:
            text = ids[number] = "%016x" % random.Random(number * 7919 + seed).getrandbits(64)
        return text

    def page():
        return pages[bisect.bisect_left(cumulative, rng.random() * total_weight)]

    # Visits and their lengths (1 + a geometric-like number, 2.5 on average) until they hold exactly
    # `count` events; then their starts, sorted, a day's hours weighted 1 (night) to 3 (afternoon, UTC).
    lengths = []
    planned = 0
    while planned < count:
        length = min(1 + int(rng.expovariate(1 / 2.0)), count - planned)
        lengths.append(length)
        planned += length
    starts = []
    while len(starts) < len(lengths):
        moment = rng.random() * (year - 3600)
        hour = (moment % 86400) / 3600
        if rng.random() * 3 < 2 + math.sin((hour - 9) / 24 * 2 * math.pi):
            starts.append(moment)
    starts.sort()
    types = ["pageview"] * 16 + ["click"] * 2 + ["scroll", "signup:completed"]
    heap = []  # (arrival, sequence, visitor, events left)
    emitted = 0
    sequence = 0
    next_visit = 0
    while emitted < count:
        if next_visit < len(starts) and (not heap or starts[next_visit] <= heap[0][0]):
            # A visitor: the first few thousand return often, the rest rarely (squared uniform).
            visitor = int(visitors * rng.random() ** 2) if rng.random() < 0.97 else None
            heapq.heappush(heap, (starts[next_visit], sequence, visitor, lengths[next_visit]))
            sequence += 1
            next_visit += 1
            continue
        arrival, _, visitor, left = heapq.heappop(heap)
        late = rng.random() * 2 if rng.random() < 0.99 else rng.random() * 300
        moment = max(0.0, arrival - late)
        whole = int(moment)
        micros = int((moment - whole) * 1_000_000)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start + whole)) + f".{micros:06d}Z"
        user = '"%s"' % visitor_id(visitor) if visitor is not None else "null"
        kind = types[int(rng.random() * 20)]
        yield f'{{"site_id":"{SITE}","event_type":"{kind}","path":"{page()}","user_id":{user},"timestamp":"{stamp}"}}'
        emitted += 1
        if left > 1:
            following = min(arrival + 5 + rng.expovariate(1 / 40.0), year - 1)
            heapq.heappush(heap, (following, sequence, visitor, left - 1))
            sequence += 1


def write_traffic(count, shape, out_path):
    """The live set, the same events in random order (a backfill), or the live set with client-sent
    UUIDv4 event_ids, as JSON lines."""
    lines = traffic(count)
    with open(out_path, "w") as out:
        if shape == "live":
            for line in lines:
                out.write(line + "\n")
        elif shape == "live-v4":
            rng = random.Random(4)
            for line in lines:
                out.write('{"event_id":"%s",%s\n' % (uuid.UUID(int=rng.getrandbits(128), version=4), line[1:]))
        elif shape == "backfill":
            every = list(lines)
            random.Random(1).shuffle(every)
            for line in every:
                out.write(line + "\n")
        else:
            sys.exit(f"unknown shape {shape}")


def send(url, path, lanes=4, batch=1000):
    """POSTs the JSON lines of `path` to URL/events in batches, in file order over a few connections;
    fails unless every batch is answered 200."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    lock = threading.Lock()
    source = open(path)
    failures = []
    sent = [0]

    def lane():
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        while True:
            with lock:
                chunk = [line.rstrip("\n") for _, line in zip(range(batch), source)]
            if not chunk:
                return
            connection.request("POST", "/events", "[" + ",".join(chunk) + "]", {"Content-Type": "application/json"})
            response = connection.getresponse()
            body = response.read()
            with lock:
                if response.status == 200:
                    sent[0] += len(chunk)
                else:
                    failures.append((response.status, body[:300]))

    threads = [threading.Thread(target=lane) for _ in range(lanes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        sys.exit(f"send: {len(failures)} batches refused, the first: {failures[0]}")
    print(sent[0])


def resp(count, prefix):
    out = sys.stdout.buffer
    key = f"{prefix}:events".encode()
    for event in events(count):
        payload = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
        parts = [b"XADD", key, b"*", b"e", payload]
        out.write(b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))


def csv_rows(count):
    out = sys.stdout
    for event in events(count):
        user = event["user_id"] if event["user_id"] is not None else ""
        out.write(f'{event["event_id"]},{event["site_id"]},{event["event_type"]},"{event["path"]}",{user},{event["timestamp"]}\n')


def freshness(url, rate, seconds, out_path):
    host, port = url.split("//")[1].split("/")[0].split(":")
    batch_size = 100
    batches_per_second = rate / batch_size
    lanes = 4
    acks = []
    statuses = {}
    lock = threading.Lock()
    start = time.time() + 0.5
    total_batches = int(batches_per_second * seconds)
    generator = iter(events(total_batches * batch_size, seed=7))

    def lane(index):
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        for number in range(index, total_batches, lanes):
            due = start + number / batches_per_second
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            with lock:
                batch = [next(generator) for _ in range(batch_size)]
            connection.request("POST", "/events", json.dumps(batch), {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            answered = time.time()
            with lock:
                statuses[response.status] = statuses.get(response.status, 0) + 1
                if response.status == 200:
                    acks.extend((event["event_id"], answered) for event in batch)

    threads = [threading.Thread(target=lane, args=(i,)) for i in range(lanes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.time() - start
    with open(out_path, "w") as handle:
        for event_id, answered in acks:
            handle.write(f"{event_id},{answered:.6f}\n")
    print(json.dumps({"accepted": len(acks), "statuses": statuses, "seconds": round(elapsed, 2),
                      "rate": round(len(acks) / elapsed)}))


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else None


def delays(acks_path, rows_path):
    answered = dict(line.strip().split(",") for line in open(acks_path) if line.strip())
    gaps = []
    for line in open(rows_path):
        event_id, created = line.strip().split("|")
        if event_id in answered:
            gaps.append(max(0.0, float(created) - float(answered[event_id])))
    print(json.dumps({"matched": len(gaps), "p50_ms": round(percentile(gaps, 0.5) * 1000, 1),
                      "p99_ms": round(percentile(gaps, 0.99) * 1000, 1)}))


def request_shapes():
    """Bodies of POST /events, at most 512 KiB each: the largest valid batches, then the hostile shapes."""
    event = {"site_id": SITE, "event_type": "view", "path": "/page/1", "user_id": "u1", "timestamp": "2025-11-14T10:00:00Z"}
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    keys = ",".join(f'"{alphabet[i // 3844]}{alphabet[i // 62 % 62]}{alphabet[i % 62]}":0' for i in range(65_000))
    invalid_item = "{" + ",".join(f'"x{i}":{i}' for i in range(50)) + ',"timestamp":"2025-13-45T99:00:00Z"}'
    # Each path 1000 escaped "é" (6 bytes each in the body, 2 in the event).
    escaped = json.dumps(dict(event, path="/PATH")).replace("/PATH", "/" + "\\u00e9" * 1000)
    return {
        "valid batch, 1000 events": json.dumps([event] * 1000),
        "valid batch, 240 paths of 682 CJK characters": json.dumps([dict(event, path="/" + "中" * 682)] * 240, ensure_ascii=False),
        "valid batch, 80 paths of 1000 escaped characters": "[" + ",".join([escaped] * 80) + "]",
        "174,762 empty objects": "[" + ",".join(["{}"] * 174_762) + "]",
        "one object of 65,000 keys": "[{" + keys + "}]",
        "1000 items of 50 unknown members and a bad timestamp": "[" + ",".join([invalid_item] * 1000) + "]",
        "2,000 items of arrays nested 120 deep": "[" + ",".join(["[" * 120 + "]" * 120] * 2000) + "]",
    }


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def request_cost(url, pid):
    """Each shape sent one request at a time for about 3 s: the server's CPU per KiB of request, the
    answer's size and status. The valid 1000-event batch is the ceiling the others are compared with."""
    parsed = urllib.parse.urlparse(url)
    results = {}
    for name, body in request_shapes().items():
        data = body.encode()
        count, answer, status = 0, b"", 0
        cpu_before, started = cpu_seconds(pid), time.time()
        while count < 3 or (time.time() - started < 3 and count < 2000):
            # A connection each: the server may close one after refusing a body it did not read in full.
            connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
            connection.request("POST", "/events", body=data, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            answer, status = response.read(), response.status
            connection.close()
            count += 1
        cpu = cpu_seconds(pid) - cpu_before
        results[name] = {"kib": round(len(data) / 1024, 1), "status": status, "answer_bytes": len(answer), "requests": count,
                         "cpu_us_per_kib": round(cpu / count / (len(data) / 1024) * 1e6, 2)}
    print(json.dumps(results))


def report(results_path):
    r = json.load(open(results_path))
    rows = []

    def row(name, value, ceiling, ratio, target, holds):
        rows.append(f"| {name} | {value} | {ceiling} | {ratio} | {target} | {'yes' if holds else '**no**'} |")

    for c in ("16", "64", "256") if "ingest" in r else ():
        e, h = r["ingest"][c]["event"], r["ingest"][c]["healthz"]
        ratio = e["rps"] / h["rps"] if h["rps"] else 0
        target = c == "64"
        row(f"POST /event, {c} connections", f'{e["rps"]:,.0f} req/s, p50 {e["p50_ms"]} ms, p99 {e["p99_ms"]} ms, non-200 {e["non200"]}',
            f'GET /healthz {h["rps"]:,.0f} req/s', f"{ratio:.2f}×",
            "≥ 0.7×, p99 ≤ 5 ms, 0 non-200" if target else "",
            (ratio >= 0.7 and e["p99_ms"] <= 5 and e["non200"] == 0) if target else True)
    for key, name, target in (("one_client", "POST /event with rate limits (site and address buckets, not reached), 64 connections", 0.95),
                              ("many_clients", "the same from 4,096 clients (X-Forwarded-For), 50/500 per address", None)):
        lc = r.get("rate_limit_cost", {}).get(key)
        if not lc:
            continue
        a, b = lc["limited"], lc["unlimited"]
        row(name, f'{a["rps"]:,.0f} req/s, p50 {a["p50_ms"]} ms, p99 {a["p99_ms"]} ms, non-200 {a["non200"]}',
            f'without rate limits {b["rps"]:,.0f} req/s, p99 {b["p99_ms"]} ms', f'{lc["ratio"]:.2f}×',
            f"≥ {target}×, 0 non-200" if target else "shown", (lc["ratio"] >= target if target else True) and a["non200"] == 0)
    mc = r.get("metrics_cost")
    if mc:
        a, b = mc["on"], mc["off"]
        ratio = mc.get("pair_median", mc["ratio"])
        row(f'POST /event with metrics on (GET /metrics scraped every 5 s, {mc["scrapes"]} scrapes), 64 connections',
            f'{a["rps"]:,.0f} req/s, p50 {a["p50_ms"]} ms, p99 {a["p99_ms"]} ms, non-200 {a["non200"]}',
            f'METRICS=off {b["rps"]:,.0f} req/s, p99 {b["p99_ms"]} ms (means: {mc["ratio"]:.3f}×)', f'{ratio:.3f}× (median of pairs)',
            "≥ 0.97×, 0 non-200", ratio >= 0.97 and a["non200"] == 0 and b["non200"] == 0)
    sc = r.get("slow_connections")
    if sc:
        m = sc["rss_mb"]
        row(f'POST /event while {sc["slow_connections"]:,} slow connections are open (one client, kept alive)',
            f'p50 {sc["during_p50_ms"]} ms, p99 {sc["during_p99_ms"]} ms; slow ones closed after {sc["closed_after_s_median"]} s (median), '
            f'{sc["closed_after_s_max"]} s (most); RSS {m["baseline"]} → {m["held"]} → {m["after"]} MB',
            f'before them: p50 {sc["before_p50_ms"]} ms, p99 {sc["before_p99_ms"]} ms', f'{sc["during_p50_ms"] / sc["before_p50_ms"]:.2f}× p50',
            "p50 ≤ 2× + 2 ms, p99 ≤ 50 ms, closed within 5 s + 1 (median), RSS after ≤ baseline + 25 MB",
            sc["during_p50_ms"] <= 2 * sc["before_p50_ms"] + 2 and sc["during_p99_ms"] <= 50 and sc["closed_after_s_median"] <= 6
            and m["after"] <= m["baseline"] + 25)
    b = r.get("batch")
    if b:
        row("POST /events (100 per batch)", f'{b["events_per_s"]:,.0f} events/s', f'pipelined XADD {b["ceiling_per_s"]:,.0f}/s',
            f'{b["ratio"]:.2f}×', "≥ 0.4×", b["ratio"] >= 0.4)
    drains = r.get("drain", {})
    for key, name, target in (("live", "live traffic, server ids", 0.8), ("backfill", "a backfill (a year in random order), server ids", 0.5),
                              ("client_ids", "live traffic, client UUIDv4 ids", None), ("live_one_worker", "live traffic, server ids", None)):
        if key not in drains:
            continue
        d = drains[key]
        row(f"worker drain, {name}, {d['workers']} worker{'s' if d['workers'] > 1 else ''}",
            f'{d["events_per_s"]:,.0f} events/s ({d["seconds"]} s for {d["events"]:,}'
            + (f'; median of {", ".join(str(x) for x in d["runs_seconds"])} s)' if len(d.get("runs_seconds", [])) > 1 else ")"),
            f'psql \\copy of the same rows {d["copy"]["events_per_s"]:,.0f}/s', f'{d["ratio"]:.2f}×',
            f"≥ {target}×" if target else "", d["ratio"] >= target if target else True)
    sizes = [int(label.split("-")[1]) for label in r.get("reporting", {})]
    largest = max(sizes) if sizes else 0
    for label, data in r.get("reporting", {}).items():
        shape, size = label.split("-")
        size = int(size)
        load = r.get("index_load", {}).get(label)
        if load:
            row(f"first query of a reporting process ({shape}, {size:,} events): index load", f'{load["seconds"]} s', "", "", "", True)
        for name, q in data.items():
            if name == "stats all time":
                target = "p50 ≤ 5 ms, p99 ≤ 25 ms, ≥ 50×"
                holds = q["p50_ms"] <= 5 and q["p99_ms"] <= 25 and q["speedup"] >= 50
            elif "/" in name:  # in a named zone (Europe/Berlin): shown, without a target
                target, holds = "", True
            elif size == largest and size >= 10_000_000:
                target = "p50 ≤ 10 ms, p99 ≤ 25 ms, ≥ 50×"
                holds = q["p50_ms"] <= 10 and q["p99_ms"] <= 25 and q["speedup"] >= 50
            else:
                target, holds = "", True
            holds = holds and q["non200"] == 0
            row(f"{name} ({shape}, {size:,} events)",
                f'p50 {q["p50_ms"]} ms, p99 {q["p99_ms"]} ms, mean {q.get("mean_ms")} ms, non-200 {q["non200"]}',
                f'seed strategy, mean {q["seed_ms"]} ms', f'{q["speedup"]:,.0f}× faster', target, holds)
    for label, pages in r.get("dashboard", {}).items():
        shape, size = label.split("-")
        for path, d in pages.items():
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(path).query))
            span = (datetime.date.fromisoformat(query["to"]) - datetime.date.fromisoformat(query["from"])).days + 1
            cold = query.get("tz", "UTC") != "UTC"  # a zone no query had asked for: its first load builds it
            slowest = ", ".join(f"{name} ×{times}" for name, times in d.get("slowest_requests", {}).items())
            row(f"dashboard first render in Chromium, {span} days{', a zone asked for the first time (' + query['tz'] + ')' if cold else ''} "
                f"({shape}, {int(size):,} events; {d['requests']} requests in parallel)",
                f'p50 {d["p50_ms"]} ms, max {d["max_ms"]} ms over {d["runs"]} loads (first {d["first_ms"]} ms; '
                f'from the navigation\'s start p50 {d["navigation_p50_ms"]} ms)',
                f'its slowest request p50 {d["slowest_request_p50_ms"]} ms ({slowest})' if slowest else f'its slowest request p50 {d["slowest_request_p50_ms"]} ms',
                f'{d["p50_ms"] / max(d["slowest_request_p50_ms"], 0.1):.1f}×',
                "shown (the first load builds the zone)" if cold else "< 300 ms, every load", True if cold else d["max_ms"] < 300)
    t = r.get("token_cost")
    if t:
        a, b = t["required"], t["off"]
        row("GET /stats all time with a read token (REPORTING_AUTH=required)",
            f'{a["rps"]:,.0f} req/s, p50 {a["p50_ms"]} ms, p99 {a["p99_ms"]} ms, non-200 {a["non200"]}',
            f'REPORTING_AUTH=off {b["rps"]:,.0f} req/s', f'{t["ratio"]:.2f}×', "≥ 0.95×, 0 non-200",
            t["ratio"] >= 0.95 and a["non200"] == 0 and b["non200"] == 0)
    cost = r.get("request_cost")
    if cost:
        ceiling = cost["valid batch, 1000 events"]["cpu_us_per_kib"]
        worst_name, worst = max(cost.items(), key=lambda item: item[1]["cpu_us_per_kib"])
        ratio = worst["cpu_us_per_kib"] / ceiling if ceiling else 0
        row(f"worst request per KiB: {worst_name}", f'{worst["cpu_us_per_kib"]} µs CPU a KiB ({worst["kib"]} KiB, {worst["status"]}, '
            f'answer {worst["answer_bytes"]:,} bytes)', f"valid 1000-event batch {ceiling} µs a KiB", f"{ratio:.2f}×",
            "≤ 3×, every answer ≤ 16 KiB", ratio <= 3 and all(c["answer_bytes"] <= 16384 for c in cost.values()))
    so = r.get("scale_out")
    if so:
        ingest, drain = so.get("ingest", {}), so.get("drain", {})
        single, cluster, waited = ingest.get("single"), ingest.get("cluster"), ingest.get("cluster_wait")
        if single and cluster and single["rps"]:
            row("2 ingestion processes on a Redis Cluster (3 masters, 3 replicas, 16 partitions), POST /events (100 per batch)",
                f'{cluster["rps"] * 100:,.0f} events/s, p99 {cluster["p99_ms"]} ms, non-200 {cluster["non200"]}',
                f'the same on the single Redis {single["rps"] * 100:,.0f} events/s, p99 {single["p99_ms"]} ms',
                f'{cluster["rps"] / single["rps"]:.2f}×', "shown (one machine: the cluster's cost), 0 non-200",
                cluster["non200"] == 0 and single["non200"] == 0)
        if cluster and waited and cluster["rps"]:
            row("the same with REDIS_WAIT_REPLICAS=1 (WAIT after each flush)",
                f'{waited["rps"] * 100:,.0f} events/s, p50 {waited["p50_ms"]} ms, p99 {waited["p99_ms"]} ms, non-200 {waited["non200"]}',
                f'without WAIT {cluster["rps"] * 100:,.0f} events/s, p50 {cluster["p50_ms"]} ms, p99 {cluster["p99_ms"]} ms',
                f'{waited["rps"] / cluster["rps"]:.2f}×', "shown, 0 non-200", waited["non200"] == 0)
        if "single" in drain and "cluster" in drain and drain["single"]["events_per_s"]:
            a, b = drain["cluster"], drain["single"]
            row(f"3 workers draining {a['events']:,} events (live traffic) from the cluster",
                f'{a["events_per_s"]:,.0f} events/s ({a["seconds"]} s)', f'from the single Redis {b["events_per_s"]:,.0f} events/s ({b["seconds"]} s)',
                f'{a["events_per_s"] / b["events_per_s"]:.2f}×', "shown", True)
    f = r.get("freshness")
    if f:
        row(f'freshness at {f["rate"]:,} events/s', f'p50 {f["p50_ms"]} ms, p99 {f["p99_ms"]} ms, max queue depth {f["max_depth"]:,}',
            "", "", "p99 ≤ 1 s", f["p99_ms"] <= 1000)
    m = r["memory_mb"]
    workers = max((value for key, value in m.items() if key.startswith("worker")), default=None)
    reports = ", ".join(f'report {key[len("report_"):]} {value} MB' for key, value in m.items() if key.startswith("report_"))
    row("peak RSS (VmHWM)", f'ingest {m.get("ingest")} MB, worker {workers} MB (the most of any drain), {reports}', "", "",
        "ingest ≤ 150 MB", m.get("ingest", 0) <= 150)
    c = r.get("correctness")
    if c:
        row("rows = 200-acknowledged events (freshness run)", f'{c["rows"]:,} rows, {c["acknowledged"]:,} acknowledged', "", "", "equal",
            c["rows"] == c["acknowledged"])
        row("stream entries ≥ 200s counted by wrk", f'{c["ingestion_stream_entries"]:,} entries, {c["ingestion_acknowledged_by_wrk"]:,} 200s', "", "",
            "no fewer", c["ingestion_stream_entries"] >= c["ingestion_acknowledged_by_wrk"])
    print("| scenario | measured | ceiling (same run) | ratio | target | holds |")
    print("| --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "resp":
        resp(int(sys.argv[2]), sys.argv[3])
    elif command == "traffic":
        write_traffic(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    elif command == "send":
        send(sys.argv[2], sys.argv[3])
    elif command == "payload":
        print(json.dumps(next(events(1)), separators=(",", ":")))
    elif command == "csv":
        csv_rows(int(sys.argv[2]))
    elif command == "freshness":
        freshness(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    elif command == "delays":
        delays(sys.argv[2], sys.argv[3])
    elif command == "request-cost":
        request_cost(sys.argv[2], int(sys.argv[3]))
    elif command == "report":
        report(sys.argv[2])
    else:
        sys.exit(__doc__)
