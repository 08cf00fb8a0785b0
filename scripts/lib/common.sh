# Helpers shared by scripts/run, scripts/test and scripts/bench. Source it; do not run it.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

step() { printf '\n==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

APT_UPDATED=0
# Installs the Debian packages that are not installed yet.
ensure_packages() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get to install them"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  note "installing ${missing[*]}"
  if [ "$APT_UPDATED" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Prints a TCP port on 127.0.0.1 that nothing listens on, chosen below the kernel's range of local
# ports for outgoing connections, so no client connection can hold it when a server (re)binds it.
# Ports given as arguments are not chosen.
free_port() {
  python3 -c '
import random, socket, sys
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except OSError:
    low = 32768
candidates = range(10000, low) if low > 11000 else range(1024, low)
for _ in range(200):
    port = random.choice(candidates)
    if str(port) in sys.argv[1:]:
        continue
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            continue
    print(port)
    break
else:
    raise SystemExit("no free port")
' "$@"
}

# Prints the first of six consecutive free TCP ports on 127.0.0.1 whose cluster bus ports (10000 above
# each) are free too: for a local Redis Cluster (scripts/servers start-cluster). Ports given as arguments
# (servers chosen but maybe not started yet) are not among the twelve.
free_cluster_port() {
  python3 -c '
import random, socket, sys
taken = {int(port) for port in sys.argv[1:]}
def free(port):
    if port in taken:
        return False
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
for _ in range(500):
    base = random.randrange(12000, 22000)
    if all(free(base + i) and free(base + 10000 + i) for i in range(6)):
        print(base)
        break
else:
    raise SystemExit("no six free ports in a row")
' "$@"
}

# Builds the release binary and prints its path. Cross-module optimization lets the compiler inline
# and specialize SwiftNIO's and Hummingbird's generic code into the code that calls it.
release_build() {
  local flags=(-c release --product analytics -Xswiftc -cross-module-optimization)
  swift build "${flags[@]}" 2>&1 | { grep -E "error|warning: unre|Build.*complete" >&2 || true; }
  [ "${PIPESTATUS[0]}" -eq 0 ] || die "build failed"
  local binary
  binary="$(swift build "${flags[@]}" --show-bin-path)/analytics"
  [ -x "$binary" ] || die "build failed"
  echo "$binary"
}

# Prints a python3 that has jsonschema (with date-time format checking) and openapi-spec-validator,
# installing them from PyPI into .build-python/ when the system python lacks them.
python_for_crosscheck() {
  local probe='import jsonschema, referencing, rfc3339_validator, openapi_spec_validator, yaml'
  if python3 -c "$probe" 2>/dev/null; then command -v python3; return 0; fi
  if python3 -m pip install --quiet jsonschema rfc3339-validator openapi-spec-validator pyyaml >&2 2>/dev/null \
    && python3 -c "$probe" 2>/dev/null; then
    command -v python3; return 0
  fi
  local venv="$ROOT/.build-python"
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2 2>/dev/null || { ensure_packages python3-venv >&2; python3 -m venv "$venv" >&2; }
  fi
  "$venv/bin/python" -m pip install --quiet jsonschema rfc3339-validator openapi-spec-validator pyyaml >&2
  echo "$venv/bin/python"
}

# Prints the path of a python with the real senders' libraries (pinned versions, from PyPI): Segment's and
# RudderStack's Python SDKs and selenium, in .build-python-senders/ of their own.
python_for_senders() {
  local venv="$ROOT/.build-python-senders"
  local packages=(segment-analytics-python==2.4.0 rudder-sdk-python==2.1.9 selenium==4.50.0 prometheus-client==0.26.0)
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2 2>/dev/null || { ensure_packages python3-venv >&2; python3 -m venv "$venv" >&2; }
  fi
  "$venv/bin/python" -c 'import segment.analytics, rudderstack.analytics, selenium, prometheus_client' 2>/dev/null \
    || "$venv/bin/python" -m pip install --quiet "${packages[@]}" >&2
  echo "$venv/bin/python"
}

# Prints the path of a schemathesis command (pinned version, from PyPI), installing it into
# .build-python/ when neither the system python nor that folder has it. Its hooks
# (scripts/lib/contract/schemathesis_hooks.py) import jsonschema, which schemathesis itself does not
# bring: it is installed beside it (the cross-check may have used the system python's and left this
# folder without one).
schemathesis_binary() {
  local version=4.32.5
  if command -v st >/dev/null && st --version 2>/dev/null | grep -q "$version" \
    && "$(head -1 "$(command -v st)" | sed 's/^#!//')" -c 'import jsonschema' 2>/dev/null; then
    command -v st; return 0
  fi
  local venv="$ROOT/.build-python"
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2 2>/dev/null || { ensure_packages python3-venv >&2; python3 -m venv "$venv" >&2; }
  fi
  "$venv/bin/st" --version 2>/dev/null | grep -q "$version" || "$venv/bin/python" -m pip install --quiet "schemathesis==$version" >&2
  "$venv/bin/python" -c 'import jsonschema' 2>/dev/null || "$venv/bin/python" -m pip install --quiet jsonschema >&2
  echo "$venv/bin/st"
}
