#!/usr/bin/env bash
# Ensure the system packages Yunjian needs: PostgreSQL with the TimescaleDB extension
# (Apache-2 edition), Chromium + chromedriver for the browser tests, and a Python venv.
#
# Idempotent and cached: every step checks first and does nothing when already done.
#   Debian 12 (bookworm): PostgreSQL 15 from Debian; TimescaleDB built from Debian 13's
#                         source package (Apache-only build), cached under var/cache/.
#   Debian 13 (trixie):   postgresql-17 + postgresql-17-timescaledb from Debian.
# Anything else (or not root): a clear message pointing to the Docker route.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/var/cache"
WITH_BROWSER="${WITH_BROWSER:-1}"

say() { printf '[ensure-system] %s\n' "$*"; }
die() { printf '[ensure-system] ERROR: %s\n' "$*" >&2; exit 1; }

docker_hint="Use the Docker route instead: 'docker compose up' (see README.md, section Docker),
or point DATABASE_URL / TEST_DATABASE_URL at an existing PostgreSQL with TimescaleDB."

[ -r /etc/os-release ] || die "cannot read /etc/os-release. $docker_hint"
. /etc/os-release
[ "${ID:-}" = "debian" ] || die "this script supports Debian 12 and 13 only (found ${PRETTY_NAME:-unknown}). $docker_hint"
case "${VERSION_ID:-}" in
  12) PGV=15 ;;
  13) PGV=17 ;;
  *) die "unsupported Debian version ${VERSION_ID:-?}. $docker_hint" ;;
esac
if [ "$(id -u)" -ne 0 ]; then
  die "installing system packages needs root (run as root, or install them yourself:
  postgresql-$PGV, TimescaleDB for PostgreSQL $PGV, chromium, chromium-driver). $docker_hint"
fi

PG_CONFIG="/usr/lib/postgresql/$PGV/bin/pg_config"
need=(postgresql-$PGV python3-venv ca-certificates)
if [ "$PGV" = 15 ]; then
  need+=(postgresql-server-dev-$PGV cmake libssl-dev build-essential dpkg-dev)
else
  need+=(postgresql-$PGV-timescaledb)
fi
# Chromium for the browser tests; a CJK font so Chinese renders in screenshots and charts.
[ "$WITH_BROWSER" = 1 ] && need+=(chromium chromium-driver fonts-noto-cjk)

missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "system packages present"
fi

# Debian's postgresql-common creates and starts a 'main' cluster on install; Yunjian runs
# its own project-local cluster and never needs that one.
if command -v pg_lsclusters >/dev/null 2>&1; then
  pg_lsclusters -h 2>/dev/null | awk '$4=="online"{print $1, $2}' | while read -r v c; do
    say "stopping the system cluster $v/$c (Yunjian uses its own under var/)"
    pg_ctlcluster "$v" "$c" stop || true
  done
fi

SHAREDIR="$("$PG_CONFIG" --sharedir)"
if [ -f "$SHAREDIR/extension/timescaledb.control" ]; then
  say "TimescaleDB present: $(grep default_version "$SHAREDIR/extension/timescaledb.control")"
elif [ "$PGV" = 15 ]; then
  say "building TimescaleDB (Apache-2 edition) from Debian 13's source for PostgreSQL $PGV"
  mkdir -p "$CACHE/apt-trixie/lists/partial" "$CACHE/timescaledb-src"
  # the archive host this machine already uses (one-line or deb822 format), never a comment
  host="$( { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } \
          | grep -vE '^[[:space:]]*#' | grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n1 | tr -d ' ' || true)"
  [ -n "$host" ] || host="http://deb.debian.org/debian"
  echo "deb-src [trusted=yes] ${host%/} trixie main" > "$CACHE/apt-trixie/sources.list"
  aptopts=(-oDir::Etc::SourceList="$CACHE/apt-trixie/sources.list" -oDir::Etc::SourceParts=/dev/null
           -oDir::State::Lists="$CACHE/apt-trixie/lists" -oAPT::Get::AllowUnauthenticated=true)
  src_dir="$CACHE/timescaledb-src/tree"
  if [ ! -x "$src_dir/bootstrap" ]; then
    apt-get "${aptopts[@]}" update -qq
    (cd "$CACHE/timescaledb-src" && apt-get "${aptopts[@]}" source --download-only -qq timescaledb)
    dsc="$(ls "$CACHE"/timescaledb-src/timescaledb_*.dsc | head -n1)"
    rm -rf "$src_dir"
    dpkg-source --no-check -x "$dsc" "$src_dir" >/dev/null
  fi
  [ -x "$src_dir/bootstrap" ] || die "could not fetch the timescaledb source package"
  (cd "$src_dir" && rm -rf build && ./bootstrap -DAPACHE_ONLY=1 -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF \
      -DWARNINGS_AS_ERRORS=OFF -DPG_CONFIG="$PG_CONFIG" >/dev/null && make -s -C build -j"$(nproc)" install >/dev/null)
  [ -f "$SHAREDIR/extension/timescaledb.control" ] || die "TimescaleDB build did not install"
  say "TimescaleDB installed: $(grep default_version "$SHAREDIR/extension/timescaledb.control")"
else
  die "postgresql-$PGV-timescaledb is installed but its control file is missing"
fi
mkdir -p "$ROOT/var"
echo "/usr/lib/postgresql/$PGV/bin" > "$ROOT/var/pg_bindir"
