#!/usr/bin/env bash
# Runs the whole test suite, the way CI does: builds the solution, runs every test project,
# and ends with one line "N passed, N failed[, N skipped]". Installs what the tests need when it
# is missing: Debian's chromium for the dashboard's browser test (Playwright drives it and downloads
# no browser of its own) and PostgreSQL (as root); the .NET 10 SDK it cannot install, and so
# checks for. The ledger's PostgreSQL tests run on a throwaway cluster this script starts on
# loopback and stops on exit, unless CAMPAIGNS_TEST_POSTGRES already names a server.
set -uo pipefail
cd "$(dirname "$0")/.."

if ! command -v dotnet >/dev/null 2>&1; then
  echo "The .NET 10 SDK is required: https://dotnet.microsoft.com/download" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

# Installs Debian packages, reading the package lists once per run.
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    apt-get update -qq || return 1
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Options::=--force-confold "$@" >/dev/null
}

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing chromium for the dashboard's browser test"
    apt_install chromium
  else
    echo "The dashboard's browser test needs /usr/bin/chromium: sudo apt-get install chromium" >&2
  fi
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

pg_dir="" pg_bin="" pg_user=""

# The newest PostgreSQL server binaries Debian's packages installed, if any.
find_postgres() {
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ]
}

# Runs a PostgreSQL tool as the cluster's owner: PostgreSQL refuses to run as root.
as_pg_owner() {
  if [ -n "$pg_user" ]; then
    (cd "$pg_dir" && runuser -u "$pg_user" -- "$@")
  else
    "$@"
  fi
}

stop_postgres() {
  if [ -n "$pg_dir" ] && [ -f "$pg_dir/data/postmaster.pid" ]; then
    as_pg_owner "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1 \
      || kill "$(head -n 1 "$pg_dir/data/postmaster.pid")" 2>/dev/null
  fi
  [ -n "$pg_dir" ] && rm -rf "$pg_dir"
}
trap stop_postgres EXIT

start_postgres() {
  if ! find_postgres; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "PostgreSQL is not installed (apt-get install postgresql, as root): the PostgreSQL tests will fail" >&2
      return 1
    fi
    echo "Installing PostgreSQL from Debian packages..."
    # No cluster of the package's own: this script starts the only one it needs, and stops it.
    mkdir -p /etc/postgresql-common
    [ -f /etc/postgresql-common/createcluster.conf ] || echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
    if ! apt_install postgresql || ! find_postgres; then
      echo "Could not install PostgreSQL: the PostgreSQL tests will fail" >&2
      return 1
    fi
  fi

  pg_dir=$(mktemp -d /tmp/campaigns-pg.XXXXXX)
  if [ "$(id -u)" -eq 0 ]; then
    pg_user=postgres
    chown "$pg_user" "$pg_dir"
  fi
  if ! as_pg_owner "$pg_bin/initdb" -D "$pg_dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$pg_dir/initdb.log" 2>&1; then
    cat "$pg_dir/initdb.log" >&2
    return 1
  fi

  # A free port on loopback; another process may take it first, so try a few.
  local port attempt
  for attempt in 1 2 3 4 5; do
    port=$(( 20000 + RANDOM % 40000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
    if as_pg_owner "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $pg_dir -c max_connections=300" start >/dev/null; then
      export CAMPAIGNS_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
      echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') for the tests on 127.0.0.1:$port (pid $(head -n 1 "$pg_dir/data/postmaster.pid"))"
      return 0
    fi
  done
  tail -n 20 "$pg_dir/server.log" >&2
  return 1
}

if [ -z "${CAMPAIGNS_TEST_POSTGRES:-}" ]; then
  start_postgres || echo "PostgreSQL could not be started: the PostgreSQL tests will fail" >&2
fi
results="TestResults"
rm -rf "$results"

if ! dotnet build Campaigns.sln -c Release --nologo -clp:ErrorsOnly; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

dotnet test Campaigns.sln -c Release --no-build --nologo \
  --logger "trx;LogFilePrefix=tests" --results-directory "$results" \
  --logger "console;verbosity=normal" -- xunit.parallelizeTestCollections=true
status=$?

# Sum the counters of every test run's report.
read -r passed failed skipped < <(
  cat "$results"/*.trx 2>/dev/null | tr '<' '\n' | grep '^Counters ' | awk '
    { for (i = 1; i <= NF; i++) { split($i, kv, "="); gsub(/"/, "", kv[2]); c[kv[1]] += kv[2] } }
    END { printf "%d %d %d\n", c["passed"], c["failed"] + c["error"] + c["timeout"] + c["aborted"], c["notExecuted"] }')
if [ "${passed:-0}" -eq 0 ] && [ "$status" -ne 0 ]; then
  failed=$(( ${failed:-0} > 0 ? failed : 1 ))
fi

summary="${passed:-0} passed, ${failed:-0} failed"
[ "${skipped:-0}" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
exit "$status"
