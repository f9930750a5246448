#!/usr/bin/env bash
# Runs the whole test suite, the way CI does: builds the solution, runs every test project,
# and ends with one line "N passed, N failed[, N skipped]". Installs what the tests need when it
# is missing: Debian's chromium for the dashboard's browser test (Playwright drives it and downloads
# no browser of its own); the .NET 10 SDK it cannot install itself, and so checks for.
set -uo pipefail
cd "$(dirname "$0")/.."

if ! command -v dotnet >/dev/null 2>&1; then
  echo "The .NET 10 SDK is required: https://dotnet.microsoft.com/download" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing chromium for the dashboard's browser test"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "The dashboard's browser test needs /usr/bin/chromium: sudo apt-get install chromium" >&2
  fi
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
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
