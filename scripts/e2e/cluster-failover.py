#!/usr/bin/env python3
"""A master of the local Redis Cluster killed with kill -9 under load, and its replica promoted: every event
ingestion acknowledged (200) is counted in Postgres afterwards, and the ones missing are reported as lost.
Replication is asynchronous, so without REDIS_WAIT_REPLICAS the writes a master acknowledged in its last
moment may not have reached its replica; with REDIS_WAIT_REPLICAS=1 none may be lost, and that is checked.
Either way no event may be stored twice, and the cluster must serve every slot again.

    cluster-failover.py path/to/analytics path/to/scripts/servers [wait-replicas]

Environment: REDIS_URL (redis+cluster://…, the cluster scripts/servers start-cluster made), DATABASE_URL,
and what scripts/servers needs to find the cluster (DATA_DIR, CLUSTER_PORT). Prints one line of figures,
`cluster-failover: wait=N acknowledged=… lost=… duplicates=… …`, for scripts/test's log.
"""
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_under_test import check, finish, free_port, wait_until  # noqa: E402

SENDERS = 8
BATCH = 20
LOAD_SECONDS = 14
KILL_AFTER = 4


def post(port, body):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/events", method="POST", data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0


def nodes(servers):
    """[(port, role, pid)] of the cluster's nodes."""
    out = subprocess.run([servers, "cluster-nodes"], capture_output=True, text=True, check=True).stdout
    return [(int(p), role, pid) for p, role, pid in (line.split() for line in out.splitlines())]


def psql(sql):
    return subprocess.run(["psql", os.environ["DATABASE_URL"], "-tAc", sql], capture_output=True, text=True, check=True).stdout.strip()


def main():
    binary, servers = sys.argv[1], sys.argv[2]
    wait = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    name = f"failover_{wait}_{random.randrange(1, 2**40)}"
    environment = dict(os.environ, DATABASE_SCHEMA=name, REDIS_KEY_PREFIX=name, HOST="127.0.0.1", METRICS_PORT="0",
                       REDIS_WAIT_REPLICAS=str(wait), RATE_LIMIT_ADDRESS="100000/1000000")
    subprocess.run([binary, "migrate"], env=environment, check=True, stdout=subprocess.DEVNULL)
    # Limits high enough for the load, still drawn: the buckets live in a slot of their own on the cluster.
    subprocess.run([binary, "sites", "add", "failover", "--rate-limit", "100000/1000000"], env=environment, check=True, capture_output=True)
    ingest = free_port()
    processes = []

    def run(label, *arguments, **settings):
        log = f"/tmp/{name}-{label}.log"
        processes.append((label, log, subprocess.Popen([binary, *arguments], env=dict(environment, **settings),
                                                        stdout=open(log, "w"), stderr=subprocess.STDOUT)))

    acknowledged, statuses, lock = set(), {}, threading.Lock()
    stop = threading.Event()

    def sender():
        while not stop.is_set():
            ids = [str(uuid.uuid4()) for _ in range(BATCH)]
            body = json.dumps([{"site_id": "failover", "event_type": "view", "path": f"/p{i % 50}", "user_id": f"u{i % 97}",
                                "timestamp": "2026-11-14T10:00:00Z", "event_id": ids[i]} for i in range(BATCH)]).encode()
            # As an SDK does: the same batch again after a failure, until it is acknowledged or given up.
            for _ in range(40):
                status = post(ingest, body)
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                    if status == 200:
                        acknowledged.update(ids)
                if status == 200 or stop.is_set():
                    break
                time.sleep(0.1)

    killed = None
    try:
        run("ingest", "ingest", "--port", str(ingest))
        run("worker-a", "worker", WORKER_NAME=f"{name}-a")
        run("worker-b", "worker", WORKER_NAME=f"{name}-b")
        wait_until(lambda: urllib.request.urlopen(f"http://127.0.0.1:{ingest}/readyz", timeout=1).status == 200, "ingestion ready")
        threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(KILL_AFTER)
        masters = [(port, pid) for port, role, pid in nodes(servers) if role == "master"]
        check(len(masters) == 3, f"three masters before the kill ({masters})")
        killed = masters[0]
        with lock:
            before = len(acknowledged)
        os.kill(int(killed[1]), signal.SIGKILL)
        killed_at = time.monotonic()
        promoted = wait_until(lambda: sum(1 for port, role, _ in nodes(servers) if role == "master" and port != killed[0]) == 3,
                              f"the replica of :{killed[0]} promoted", seconds=30)
        failover = time.monotonic() - killed_at
        time.sleep(max(0, LOAD_SECONDS - (time.monotonic() - started)))
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        with lock:
            sent = set(acknowledged)
        check(len(sent) > before > 0, f"events acknowledged before ({before}) and after the kill ({len(sent) - before})")

        def drained():
            done = subprocess.run([binary, "dlq", "list"], env=environment, capture_output=True, text=True)
            return done.returncode == 0 and "ready 0, pending 0, delayed 0," in done.stderr
        wait_until(drained, "the queue drained", seconds=120)
        stored_ids = set(psql(f'SELECT event_id FROM "{name}".event_ids').split())
        rows = int(psql(f'SELECT count(*) FROM "{name}".events'))
        lost = len(sent - stored_ids)
        duplicates = rows - len(stored_ids)
        check(duplicates == 0, f"no event stored twice ({rows} rows, {len(stored_ids)} distinct)")
        if wait > 0:
            check(lost == 0, f"with REDIS_WAIT_REPLICAS={wait}, no acknowledged event lost ({lost} of {len(sent)})")
        else:
            check(True, f"without WAIT, {lost} of {len(sent)} acknowledged events lost (replication is asynchronous)")
        others = {k: v for k, v in statuses.items() if k not in (200, 503)}
        check(not others, f"only 200 and 503 answered ({statuses})")
        print(f"cluster-failover: wait={wait} acknowledged={len(sent)} stored={len(stored_ids)} lost={lost} duplicates={duplicates} "
              f"failover={failover:.1f}s promoted={promoted} answers={json.dumps({str(k): v for k, v in sorted(statuses.items())})}")
    finally:
        stop.set()
        for label, log, process in processes:
            process.terminate()
        for label, log, process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                check(False, f"{label} stopped on SIGTERM (log: {log})")
        if killed is not None:
            # The killed node comes back as a replica of the promoted one, for whatever runs next.
            subprocess.run([servers, "start-cluster"], capture_output=True)
        psql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        for port, role, _ in nodes(servers):
            if role == "master":
                keys = subprocess.run(["redis-cli", "-p", str(port), "--scan", "--pattern", f"{name}:*"], capture_output=True, text=True).stdout.split()
                for key in keys:
                    subprocess.run(["redis-cli", "-p", str(port), "DEL", key], capture_output=True)
        if failures_left():
            print(f"(logs: /tmp/{name}-*.log)")
    finish(f"cluster-failover (wait={wait})")


def failures_left():
    from serve_under_test import failures
    return bool(failures)


if __name__ == "__main__":
    main()
