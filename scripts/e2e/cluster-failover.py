#!/usr/bin/env python3
"""A master of the local Redis Cluster killed with kill -9 under load, and its replica promoted: every event
ingestion acknowledged (200) is counted in Postgres afterwards, and the ones missing are reported as lost.

Replication is asynchronous: a master acknowledges a write before its replica has it. On one machine a
replica trails by well under a millisecond, so a plain kill loses nothing and would show nothing; the run
makes the lag a network would: the replica is stopped (SIGSTOP) and its link dropped by the master
(CLIENT KILL TYPE replica) a second before the master is killed, so what the master acknowledges in that
second never reaches the replica; the workers are stopped for that second too, as behind a backlog, so
that they do not store those events from the master before it dies. Without REDIS_WAIT_REPLICAS those events are lost, and the run
checks that some are (else it proves nothing); with REDIS_WAIT_REPLICAS=1 the master's writes wait for the
stopped replica, fail after WAIT's second and go to another master's partition, and none may be lost.
Either way no event may be stored twice, nothing may be dead-lettered, and the cluster must serve every
slot again.

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


def replica_of(port, servers):
    """(port, pid) of the replica of the master on `port`."""
    info = subprocess.run(["redis-cli", "-p", str(port), "INFO", "replication"], capture_output=True, text=True).stdout
    for line in info.splitlines():
        if line.startswith("slave0:"):
            fields = dict(part.split("=", 1) for part in line.split(":", 1)[1].split(","))
            for node, _, pid in nodes(servers):
                if node == int(fields["port"]):
                    return node, pid
    return None


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

    acknowledged, attempted, statuses, lock = set(), set(), {}, threading.Lock()
    stop = threading.Event()

    def sender():
        while not stop.is_set():
            ids = [str(uuid.uuid4()) for _ in range(BATCH)]
            body = json.dumps([{"site_id": "failover", "event_type": "view", "path": f"/p{i % 50}", "user_id": f"u{i % 97}",
                                "timestamp": "2026-11-14T10:00:00Z", "event_id": ids[i]} for i in range(BATCH)]).encode()
            with lock:
                attempted.update(ids)
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
        replica = replica_of(killed[0], servers)
        check(replica is not None, f"the replica of :{killed[0]} found ({replica})")
        with lock:
            before = len(acknowledged)
        # The lag a network makes: the replica stopped and its link dropped by the master, so that what the
        # master acknowledges in the next second never reaches it (what was sent before the drop still
        # does, from the kernel's buffers, once it runs again).
        # The workers pause too, as a backlog would: else they store each event within milliseconds, from
        # the master, before it dies, and the failover has nothing of consequence to lose.
        workers = [process for label, _, process in processes if label.startswith("worker")]
        os.kill(int(replica[1]), signal.SIGSTOP)
        for worker in workers:
            worker.send_signal(signal.SIGSTOP)
        subprocess.run(["redis-cli", "-p", str(killed[0]), "CLIENT", "KILL", "TYPE", "replica"], check=True, capture_output=True)
        time.sleep(1)
        os.kill(int(killed[1]), signal.SIGKILL)
        killed_at = time.monotonic()
        time.sleep(0.2)
        os.kill(int(replica[1]), signal.SIGCONT)
        for worker in workers:
            worker.send_signal(signal.SIGCONT)
        # Before the replica is promoted, the other masters take every write: ingestion stays ready.
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{ingest}/readyz", timeout=5) as response:
                ready = response.status
        except urllib.error.HTTPError as error:
            ready = error.code
        except (urllib.error.URLError, TimeoutError) as error:
            ready = str(error)
        check(ready == 200, f"ingestion ready while a master is down ({ready})")
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

        depth = {}

        def drained():
            done = subprocess.run([binary, "dlq", "list"], env=environment, capture_output=True, text=True)
            depth["last"] = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
            return done.returncode == 0 and "ready 0, pending 0, delayed 0," in done.stderr
        wait_until(drained, "the queue drained", seconds=120)
        check(depth.get("last", "").endswith("dead 0"), f"nothing dead-lettered ({depth.get('last')})")
        stored_ids = set(psql(f'SELECT event_id FROM "{name}".events').split())
        rows, distinct = (int(x) for x in psql(f'SELECT count(*), count(DISTINCT event_id) FROM "{name}".events').split("|"))
        lost = len(sent - stored_ids)
        duplicates = rows - distinct
        check(duplicates == 0, f"no event stored twice ({rows} rows, {distinct} distinct event_ids)")
        check(stored_ids <= attempted, f"only events that were sent are stored ({len(stored_ids - attempted)} others)")
        if wait > 0:
            check(lost == 0, f"with REDIS_WAIT_REPLICAS={wait}, no acknowledged event lost ({lost} of {len(sent)})")
        else:
            check(lost > 0, f"without WAIT, the lagging replica's failover lost {lost} of {len(sent)} acknowledged events "
                            "(some must be: else the run shows nothing)")
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
            # The killed node comes back as a replica of the promoted one, in sync, for whatever runs next.
            restarted = subprocess.run([servers, "start-cluster"], capture_output=True, text=True)
            check(restarted.returncode == 0, f"the cluster whole again ({restarted.stdout.strip()} {restarted.stderr.strip()})")
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
