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
