"""What the Python end-to-end checks share: `analytics serve` on scripts/test's throwaway Redis and
Postgres (REDIS_URL, DATABASE_URL), in a schema and key prefix of its own that `stop` drops, and the
checks' bookkeeping. Used by segment-sdks.py and tracker-browser.py."""
import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


def wait_until(predicate, what, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except (urllib.error.URLError, ConnectionError, KeyError):
            pass
        time.sleep(0.2)
    check(False, f"{what} within {seconds} s")
    return False


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def finish(name):
    """Exits 1 when any check failed."""
    if failures:
        print(f"{name}: {len(failures)} failed")
        sys.exit(1)
    print(f"{name}: every check passed")


class ServeUnderTest:
    def __init__(self, binary, name):
        self.binary = binary
        self.schema = f"{name}_{random.randrange(1, 2**40)}"
        self.environment = dict(os.environ, DATABASE_SCHEMA=self.schema, REDIS_KEY_PREFIX=self.schema)
        self.ingest_port, self.report_port = free_port(), free_port()
        self.ingestion = f"http://127.0.0.1:{self.ingest_port}"
        self.log = f"/tmp/{self.schema}-serve.log"
        self.token = None
        self.process = None
        self.cli("migrate")

    def cli(self, *arguments):
        """Runs `analytics ARGUMENTS` on this schema; its last line of output."""
        output = subprocess.run([self.binary, *arguments], env=self.environment, check=True, capture_output=True, text=True).stdout
        return output.strip().splitlines()[-1].strip() if output.strip() else ""

    def start(self, **settings):
        self.process = subprocess.Popen(
            [self.binary, "serve", "--host", "127.0.0.1", "--ingest-port", str(self.ingest_port), "--report-port", str(self.report_port)],
            env=dict(self.environment, **settings), stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        return wait_until(lambda: urllib.request.urlopen(f"{self.ingestion}/readyz", timeout=1).status == 200, "ingestion ready")

    def get(self, path):
        request = urllib.request.Request(f"http://127.0.0.1:{self.report_port}{path}", headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    def stats(self, site, **parameters):
        return self.get("/stats?" + urllib.parse.urlencode({"site_id": site, "limit": 100, **parameters}))

    def event_types(self, site):
        rows = self.get("/stats/breakdown?" + urllib.parse.urlencode({"site_id": site, "by": "event_type", "limit": 100}))["rows"]
        return {row["value"]: row["views"] for row in rows}

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
        subprocess.run(["psql", os.environ["DATABASE_URL"], "-qc", f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"], capture_output=True)
        keys = subprocess.run(["redis-cli", "-u", os.environ["REDIS_URL"], "--scan", "--pattern", f"{self.schema}:*"],
                              capture_output=True, text=True).stdout.split()
        if keys:
            subprocess.run(["redis-cli", "-u", os.environ["REDIS_URL"], "DEL", *keys], capture_output=True)
        if failures:
            print(f"(the server's log: {self.log})")
