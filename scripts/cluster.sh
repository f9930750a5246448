#!/usr/bin/env bash
# A local production-mode cluster in one command: PostgreSQL and Redis (installed from Debian
# packages when missing, run as root) on loopback with their data under one folder, and N silos on
# distinct ports, all on 127.0.0.1. Everything it starts it stops again, by the PIDs it wrote.
#
#   scripts/cluster.sh start [N]    start PostgreSQL, Redis and N silos (default 3)
#   scripts/cluster.sh status       what runs, and where
#   scripts/cluster.sh kill I       kill -9 silo I (a crash, for fault drills)
#   scripts/cluster.sh restart I    start silo I again
#   scripts/cluster.sh stop         stop the silos, Redis and PostgreSQL
#
# Silo I serves gRPC on 5000+10*I and HTTP on 5001+10*I (silo 0: 5000 and 5001, as the embedded
# default). CLUSTER_DIR (default .cluster at the repository root) holds the data and the logs;
# CAMPAIGNS_ORGANISER_KEY sets the bootstrap organiser key (default dev-organiser-key).
set -uo pipefail
scripts=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$scripts/.." && pwd)
source "$scripts/services.sh"

dir=$(mkdir -p "${CLUSTER_DIR:-$root/.cluster}" && cd "${CLUSTER_DIR:-$root/.cluster}" && pwd)
chmod 755 "$dir"
silo_dll="$root/silo/bin/Release/net10.0/Campaigns.Silo.dll"
organiser_key="${CAMPAIGNS_ORGANISER_KEY:-dev-organiser-key}"

grpc_port() { echo $(( 5000 + 10 * $1 )); }
http_port() { echo $(( 5001 + 10 * $1 )); }
pid_of() { [ -f "$dir/$1.pid" ] && kill -0 "$(cat "$dir/$1.pid")" 2>/dev/null && cat "$dir/$1.pid"; }

start_silo() {
  local i=$1
  if pid_of "silo-$i" >/dev/null; then
    echo "silo $i already runs (pid $(pid_of "silo-$i"))"
    return 0
  fi
  # shellcheck source=/dev/null
  source "$dir/servers.env"
  ConnectionStrings__Postgres="${POSTGRES_CONNECTION/Database=postgres/Database=campaigns}" ConnectionStrings__Redis="$REDIS_CONNECTION" \
    nohup dotnet "$silo_dll" \
      --Campaigns:GrpcPort="$(grpc_port "$i")" --Campaigns:HttpPort="$(http_port "$i")" \
      --Orleans:SiloPort=$(( 11111 + i )) --Orleans:GatewayPort=$(( 30000 + i )) \
      --Campaigns:Auth:BootstrapOrganiserKey="$organiser_key" \
      >"$dir/silo-$i.log" 2>&1 &
  echo $! > "$dir/silo-$i.pid"
  local waited
  for waited in $(seq 1 120); do
    if ! kill -0 "$(cat "$dir/silo-$i.pid")" 2>/dev/null; then
      echo "silo $i exited; its log ($dir/silo-$i.log) ends:" >&2
      tail -n 5 "$dir/silo-$i.log" >&2
      return 1
    fi
    curl -fs "http://127.0.0.1:$(http_port "$i")/healthz" >/dev/null 2>&1 && break
    sleep 0.5
  done
  echo "silo $i: gRPC 127.0.0.1:$(grpc_port "$i"), HTTP http://127.0.0.1:$(http_port "$i") (pid $(cat "$dir/silo-$i.pid"), log $dir/silo-$i.log)"
}

start() {
  local n=${1:-3}
  if [ -f "$dir/servers.env" ]; then
    echo "A cluster already runs from $dir: scripts/cluster.sh stop first" >&2
    return 1
  fi
  command -v curl >/dev/null 2>&1 || { is_root && apt_install curl; }
  echo "Building the silo (Release)..."
  dotnet build "$root/silo" -c Release --nologo -clp:ErrorsOnly -v quiet >/dev/null || { echo "the silo does not build" >&2; return 1; }
  start_postgres "$dir/postgres" || return 1
  as_pg_owner "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'campaigns'" | grep -q 1 \
    || as_pg_owner "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -qc "CREATE DATABASE campaigns" || return 1
  start_redis "$dir/redis" || { stop_postgres; return 1; }
  printf 'POSTGRES_CONNECTION=%q\nREDIS_CONNECTION=%q\nSILOS=%q\n' "$POSTGRES_CONNECTION" "$REDIS_CONNECTION" "$n" > "$dir/servers.env"
  local i
  for i in $(seq 0 $(( n - 1 ))); do
    start_silo "$i" || return 1
  done
  echo "Cluster of $n silos up. Organiser key: $organiser_key. Stop it with: scripts/cluster.sh stop"
}

status() {
  [ -f "$dir/servers.env" ] || { echo "no cluster runs from $dir"; return 0; }
  # shellcheck source=/dev/null
  source "$dir/servers.env"
  echo "PostgreSQL: ${POSTGRES_CONNECTION/Database=postgres/Database=campaigns}"
  echo "Redis: $REDIS_CONNECTION"
  local i
  for i in $(seq 0 $(( SILOS - 1 ))); do
    if pid=$(pid_of "silo-$i"); then
      echo "silo $i: gRPC 127.0.0.1:$(grpc_port "$i"), HTTP 127.0.0.1:$(http_port "$i"), pid $pid, $(curl -s "http://127.0.0.1:$(http_port "$i")/healthz" || echo 'not answering')"
    else
      echo "silo $i: not running"
    fi
  done
}

stop_silo() {
  local pid
  pid=$(pid_of "silo-$1") || return 0
  kill "$pid" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null
  rm -f "$dir/silo-$1.pid"
}

stop() {
  local f
  for f in "$dir"/silo-*.pid; do
    [ -e "$f" ] || continue
    f=${f##*/silo-}
    stop_silo "${f%.pid}"
  done
  redis_dir="$dir/redis"
  stop_redis
  pg_dir="$dir/postgres"
  if find_postgres; then
    is_root && pg_user=postgres
    stop_postgres
  fi
  rm -f "$dir/servers.env"
  echo "Stopped. The data stays in $dir (delete the folder to start afresh)."
}

case "${1:-}" in
  start) start "${2:-3}" ;;
  status) status ;;
  kill) pid=$(pid_of "silo-${2:?which silo}") && kill -9 "$pid" && rm -f "$dir/silo-$2.pid" && echo "silo $2 killed (pid $pid)" ;;
  restart) start_silo "${2:?which silo}" ;;
  stop) stop ;;
  *) sed -n 2,14p "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
