#!/usr/bin/env bash
# Runs the whole test suite, the way CI does: builds the solution, runs every test project,
# and ends with one line "N passed, N failed[, N skipped]". Installs what the tests need when it
# is missing: Debian's chromium for the dashboard's browser test (Playwright drives it and downloads
# no browser of its own), PostgreSQL and Redis (as root); the .NET 10 SDK it cannot install, and so
# checks for. The PostgreSQL and Redis tests run on throwaway servers this script starts on
# loopback and stops on exit, unless CAMPAIGNS_TEST_POSTGRES / CAMPAIGNS_TEST_REDIS already name one.
set -uo pipefail
scripts=$(cd "$(dirname "$0")" && pwd)
cd "$scripts/.."

if ! command -v dotnet >/dev/null 2>&1; then
  echo "The .NET 10 SDK is required: https://dotnet.microsoft.com/download" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
source "$scripts/services.sh"

if [ ! -x /usr/bin/chromium ]; then
  if is_root && command -v apt-get >/dev/null 2>&1; then
    echo "Installing chromium for the dashboard's browser test"
    apt_install chromium
  else
    echo "The dashboard's browser test needs /usr/bin/chromium: sudo apt-get install chromium" >&2
  fi
fi

services_dir=$(mktemp -d /tmp/campaigns-test.XXXXXX)
chmod 755 "$services_dir"  # the PostgreSQL cluster inside runs as its own user
stop_services() {
  stop_postgres
  stop_redis
  rm -rf "$services_dir"
}
trap stop_services EXIT

if [ -z "${CAMPAIGNS_TEST_POSTGRES:-}" ]; then
  if start_postgres "$services_dir/postgres"; then
    export CAMPAIGNS_TEST_POSTGRES="$POSTGRES_CONNECTION"
  else
    echo "PostgreSQL could not be started: the PostgreSQL tests will fail" >&2
  fi
fi
if [ -z "${CAMPAIGNS_TEST_REDIS:-}" ]; then
  if start_redis "$services_dir/redis"; then
    export CAMPAIGNS_TEST_REDIS="$REDIS_CONNECTION"
  else
    echo "Redis could not be started: the Redis tests will fail" >&2
  fi
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

# Name each failed test with the first lines of its message last, where a log's tail shows them.
if [ "${failed:-0}" -gt 0 ]; then
  echo "Failed tests:"
  cat "$results"/*.trx 2>/dev/null | perl -0777 -ne '
    my %entity = (amp => "&", lt => "<", gt => ">", quot => "\"", apos => "\x27");
    sub plain { my $t = shift; $t =~ s/&(amp|lt|gt|quot|apos);/$entity{$1}/g; $t =~ s/&#x?([0-9A-Fa-f]+);/ /g; $t }
    while (/<UnitTestResult\b([^>]*?)(?:\/>|>(.*?)<\/UnitTestResult>)/sg) {
      my ($attributes, $body) = ($1, $2 // "");
      next unless $attributes =~ /outcome="(Failed|Error|Timeout|Aborted)"/;
      my ($name) = $attributes =~ /testName="([^"]*)"/;
      print "  ", plain($name), "\n";
      my ($message) = $body =~ /<Message>(.*?)<\/Message>/s;
      my ($stack) = $body =~ /<StackTrace>(.*?)<\/StackTrace>/s;
      my @lines = grep { /\S/ } split /\n/, plain(($message // "") . "\n" . ($stack // ""));
      print "    $_\n" for @lines[0 .. ($#lines < 11 ? $#lines : 11)];
    }'
fi

summary="${passed:-0} passed, ${failed:-0} failed"
[ "${skipped:-0}" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
exit "$status"
