#!/usr/bin/env python3
"""Thousands of slow connections against `analytics serve --in-memory`, and a well-behaved client beside them.

The slow clients (from 127.0.0.1 to 127.0.0.12 but .2, 250 each, in two waves) send a request's headers and one byte of a
declared 100-byte body, or trickle their headers a byte a second, and then hold the connection open; 300
more from one address (127.0.0.20) test the per-address cap. Meanwhile a well-behaved client (127.0.0.2)
posts events one after another on a kept-alive connection, as it did before the slow ones came.

Checks, exit 1 on any failure (bounds that are guards: far above what a loaded machine's delays add, far
below what a server that lets slow clients block it or keep their connections would show; how fast is
scripts/bench's row, from the figures --json prints: p50 within 2x + 2 ms, p99 under 50 ms, closed within
the timeout + 1 s):
- the well-behaved client is served while they are there: every answer a 200, its p99 under 2 s (a server
  the slow clients held up would answer it after their 5 s timeouts, or not at all);
- a connection over the per-address cap is closed at once (within 4 s: the kept ones wait 5 s);
- a connection whose request was answered before its body ended (a 415) waits for its next request for the
  keep-alive timeout, and is then closed;
- every slow connection is closed by the server once its time is up (BODY_TIMEOUT / HEADER_TIMEOUT; the
  median within 3 times the timeout, every one within the timeout + 25 s);
- the server's resident memory returns to within 25 MB of its baseline once they are gone, and a second
  wave as large leaves no more than 5 MB more behind (nothing is kept per connection);
- no line at level warning or above in the server's log (a client that goes away is logged at debug).

Usage: scripts/e2e/slow-connections.py path/to/analytics [--json]   (--json: print the figures for scripts/bench)
"""
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time

SLOW_ADDRESSES = [f"127.0.0.{n}" for n in range(1, 13) if n != 2]   # the well-behaved client is 127.0.0.2
PER_ADDRESS = 250
CAPPED_ADDRESS = "127.0.0.20"
CAP = 256
TIMEOUT = 5
KEEPALIVE = 20


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


EVENT = b'{"site_id":"demo","event_type":"view","path":"/","user_id":"u1","timestamp":"2025-11-14T10:00:00Z"}'
REQUEST = (b"POST /event HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: "
           + str(len(EVENT)).encode() + b"\r\n\r\n" + EVENT)


def client(port, count):
    """The well-behaved client, in a process of its own (the slow ones keep this one's event loop busy):
    prints the latencies (ms) of `count` POST /event on one kept-alive connection from 127.0.0.2."""
    connection = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.2", 0))
    stream = connection.makefile("rb")
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        connection.sendall(REQUEST)
        status = stream.readline()
        length = 0
        while (line := stream.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        stream.read(length)
        latencies.append((time.perf_counter() - started) * 1000)
        if not status.startswith(b"HTTP/1.1 200"):
            raise SystemExit(f"the well-behaved client got {status!r}")
        time.sleep(0.005)
    print(json.dumps(sorted(latencies)))


async def well_behaved(port, count):
    process = await asyncio.create_subprocess_exec(sys.executable, __file__, "--client", str(port), str(count),
                                                   stdout=asyncio.subprocess.PIPE)
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise SystemExit("the well-behaved client failed")
    return json.loads(out)


def percentile(values, p):
    return values[min(len(values) - 1, int(len(values) * p))]


async def slow(port, address, trickle):
    """A slow client; returns (accepted, seconds from its last byte until the server closed it)."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(address, 0))
    except OSError:
        return False, 0.0
    started = time.monotonic()
    try:
        if trickle:
            # A byte a second: never idle for long, never done; the header timeout runs from the first.
            for byte in b"POST /event HTTP/1.1\r\nHost: localhost\r\n":
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(1)
        else:
            writer.write(b"POST /event HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
            await writer.drain()
            started = time.monotonic()
        # Held open until the server closes it.
        await asyncio.wait_for(reader.read(), timeout=60)
    except (ConnectionError, OSError):
        pass
    except asyncio.TimeoutError:
        return True, float("inf")
    finally:
        writer.close()
    return True, time.monotonic() - started


async def answered_early(port):
    """A request answered before its body ends (415 for its Content-Type), whose body then arrives: the
    connection is back to waiting for a request, and closed after the keep-alive timeout. Returns the
    seconds until the server closed it (inf: never, within 30 s)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.30", 0))
    writer.write(b"POST /event HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n\r\n")
    await writer.drain()
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"x")
    await writer.drain()
    started = time.monotonic()
    try:
        while await asyncio.wait_for(reader.read(65536), timeout=30):
            pass
    except asyncio.TimeoutError:
        return float("inf")
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()
    return time.monotonic() - started


async def capped(port):
    """300 connections from one address: how many the server closed at once (within 4 s, nothing sent, where
    the connections it kept wait for the 5 s header timeout)."""
    async def one():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(CAPPED_ADDRESS, 0))
        except OSError:
            return True
        try:
            data = await asyncio.wait_for(reader.read(), timeout=4)
            return data == b""
        except asyncio.TimeoutError:
            return False
        except (ConnectionError, OSError):
            return True
        finally:
            writer.close()
    results = await asyncio.gather(*[one() for _ in range(300)])
    return sum(results)


async def run(binary, as_json):
    ingest, report = free_port(), free_port()
    log = tempfile.TemporaryFile(mode="w+")
    env = dict(os.environ, HEADER_TIMEOUT=str(TIMEOUT), BODY_TIMEOUT=str(TIMEOUT), KEEPALIVE_TIMEOUT=str(KEEPALIVE),
               MAX_CONNECTIONS_PER_ADDRESS=str(CAP), LOG_LEVEL="info")
    server = subprocess.Popen([binary, "serve", "--in-memory", "--host", "127.0.0.1", "--ingest-port", str(ingest),
                               "--report-port", str(report)], stdout=log, stderr=subprocess.STDOUT, env=env)
    failures = []
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", ingest), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        await well_behaved(ingest, 300)   # warm up
        baseline_rss = rss_mb(server.pid)
        before = await well_behaved(ingest, 300)
        early = asyncio.create_task(answered_early(ingest))

        waves = []
        for wave in range(2):
            slow_tasks = [asyncio.create_task(slow(ingest, address, trickle=(index % 10 == 0)))
                          for address in SLOW_ADDRESSES for index in range(PER_ADDRESS)]
            await asyncio.sleep(1.5)
            held_rss = rss_mb(server.pid)
            during = await well_behaved(ingest, 300) if wave == 0 else during
            closed_at_once = await capped(ingest) if wave == 0 else closed_at_once
            outcomes = await asyncio.gather(*slow_tasks)
            # The server hands memory back at most every 10 s: the least over 12 s after each wave, so that
            # both waves are measured alike, after a trim.
            deadline = time.monotonic() + 12
            after_rss = rss_mb(server.pid)
            while time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                after_rss = min(after_rss, rss_mb(server.pid))
            waves.append((outcomes, held_rss, after_rss))
        outcomes = waves[0][0] + waves[1][0]
        early_closed = await early
        held_rss = max(waves[0][1], waves[1][1])
    finally:
        server.terminate()
        server.wait(timeout=10)
    log.seek(0)
    lines = log.read().splitlines()

    accepted = [seconds for ok, seconds in outcomes if ok]
    slowest = max(accepted) if accepted else 0
    typical = sorted(accepted)[len(accepted) // 2] if accepted else 0
    figures = {
        "slow_connections": len(outcomes) // 2, "accepted": len(accepted), "closed_after_s_median": round(typical, 2),
        "closed_after_s_max": round(slowest, 2),
        "before_p50_ms": round(percentile(before, 0.5), 2), "before_p99_ms": round(percentile(before, 0.99), 2),
        "during_p50_ms": round(percentile(during, 0.5), 2), "during_p99_ms": round(percentile(during, 0.99), 2),
        "rss_mb": {"baseline": round(baseline_rss, 1), "held": round(held_rss, 1), "after": round(waves[0][2], 1),
                   "after_second_wave": round(waves[1][2], 1)},
        "over_cap_closed_at_once": closed_at_once, "over_cap_expected": 300 - CAP,
        "answered_early_closed_after_s": round(early_closed, 2),
    }
    if not KEEPALIVE - 1 <= early_closed <= KEEPALIVE + 20:
        failures.append(f"a connection answered before its body ended was closed after {early_closed:.1f} s; keep-alive {KEEPALIVE} s")
    if len(accepted) != len(outcomes):
        failures.append(f"{len(outcomes) - len(accepted)} slow connections were not accepted")
    # A stalled body is cut at the body timeout after its last byte; a header trickled a byte a second at the
    # header timeout after its first. Measured here, on a loop busy with thousands of them: seconds late.
    if typical > 3 * TIMEOUT or slowest > TIMEOUT + 25:
        failures.append(f"slow connections stayed open {typical:.1f} s (median), {slowest:.1f} s (most); limits {TIMEOUT} s")
    # How fast it is served is the bench's row; here, that it is served at all while they are there.
    if figures["during_p99_ms"] > 2000:
        failures.append(f"the well-behaved client slowed down: {figures}")
    if closed_at_once < 300 - CAP:
        failures.append(f"{closed_at_once} of 300 connections from one address closed at once; the cap is {CAP}")
    if waves[0][2] > baseline_rss + 25:
        failures.append(f"resident memory {waves[0][2]:.0f} MB after, {baseline_rss:.0f} MB before")
    # A second wave as large leaves no more behind: nothing is kept per connection once it is gone.
    if waves[1][2] > waves[0][2] + 5:
        failures.append(f"resident memory {waves[1][2]:.0f} MB after a second wave, {waves[0][2]:.0f} MB after the first")
    loud = [line for line in lines if any(f" {level} " in line for level in ("warning", "error", "critical"))]
    if loud:
        failures.append(f"{len(loud)} log lines at warning or above, the first: {loud[0]}")
    if as_json:
        print(json.dumps(figures))
    else:
        print(f"    slow connections: {figures}")
    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    if sys.argv[1] == "--client":
        client(int(sys.argv[2]), int(sys.argv[3]))
        sys.exit(0)
    random.seed(1)
    sys.exit(asyncio.run(run(sys.argv[1], "--json" in sys.argv[2:])))
