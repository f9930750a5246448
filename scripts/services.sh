# Sourced by test.sh and cluster.sh: installs PostgreSQL and Redis from Debian packages when
# missing and starts throwaway servers on loopback under a folder the caller names; each stop
# function stops only the server its start function started (by its PID file).

apt_updated=""
# Installs Debian packages, reading the package lists once per run.
apt_install() {
  if [ -z "$apt_updated" ]; then
    apt-get update -qq || return 1
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Options::=--force-confold "$@" >/dev/null
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# A port on loopback nothing listens on now (another process may still take it first).
free_port() {
  local port
  while :; do
    port=$(( 20000 + RANDOM % 12000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

pg_dir="" pg_bin="" pg_user="" pg_port=""

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

install_postgres() {
  find_postgres && return 0
  if ! is_root; then
    echo "PostgreSQL is not installed (apt-get install postgresql, as root)" >&2
    return 1
  fi
  echo "Installing PostgreSQL from Debian packages..."
  # No cluster of the package's own: the scripts start the only one they need, and stop it.
  mkdir -p /etc/postgresql-common
  [ -f /etc/postgresql-common/createcluster.conf ] || echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
  apt_install postgresql && find_postgres
}

# start_postgres DIR: a new cluster in DIR on a free loopback port; sets pg_port and
# POSTGRES_CONNECTION (trust authentication on loopback, user postgres).
start_postgres() {
  install_postgres || return 1
  pg_dir="$1"
  mkdir -p "$pg_dir"
  if is_root; then
    pg_user=postgres
    chown "$pg_user" "$pg_dir"
  fi
  if [ ! -f "$pg_dir/data/PG_VERSION" ] && \
     ! as_pg_owner "$pg_bin/initdb" -D "$pg_dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$pg_dir/initdb.log" 2>&1; then
    cat "$pg_dir/initdb.log" >&2
    return 1
  fi
  local attempt
  for attempt in 1 2 3 4 5; do
    pg_port=$(free_port)
    if as_pg_owner "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_dir -c max_connections=300" start >/dev/null; then
      POSTGRES_CONNECTION="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres"
      echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port (pid $(head -n 1 "$pg_dir/data/postmaster.pid"), data in $pg_dir)"
      return 0
    fi
  done
  tail -n 20 "$pg_dir/server.log" >&2
  return 1
}

stop_postgres() {
  if [ -n "$pg_dir" ] && [ -f "$pg_dir/data/postmaster.pid" ]; then
    as_pg_owner "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1 \
      || kill "$(head -n 1 "$pg_dir/data/postmaster.pid")" 2>/dev/null
  fi
}

redis_dir="" redis_port=""

install_redis() {
  command -v redis-server >/dev/null 2>&1 && return 0
  if ! is_root; then
    echo "Redis is not installed (apt-get install redis-server, as root)" >&2
    return 1
  fi
  echo "Installing Redis from Debian packages..."
  apt_install redis-server && command -v redis-server >/dev/null 2>&1
}

# start_redis DIR: a Redis server on a free loopback port, its files in DIR; sets redis_port and
# REDIS_CONNECTION. Nothing is saved to disk: everything in it can be rebuilt from the ledger.
start_redis() {
  install_redis || return 1
  redis_dir="$1"
  mkdir -p "$redis_dir"
  local attempt
  for attempt in 1 2 3 4 5; do
    redis_port=$(free_port)
    if redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$redis_dir" --daemonize yes \
        --pidfile "$redis_dir/redis.pid" --logfile "$redis_dir/redis.log" --save "" --appendonly no >/dev/null; then
      local waited
      for waited in $(seq 1 50); do
        redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1 && break
        sleep 0.1
      done
      if redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1; then
        REDIS_CONNECTION="127.0.0.1:$redis_port"
        echo "Redis $(redis-server --version | awk '{print $3}' | cut -d= -f2) on 127.0.0.1:$redis_port (pid $(cat "$redis_dir/redis.pid"))"
        return 0
      fi
    fi
  done
  tail -n 20 "$redis_dir/redis.log" >&2
  return 1
}

stop_redis() {
  if [ -n "$redis_dir" ] && [ -f "$redis_dir/redis.pid" ]; then
    local pid
    pid=$(cat "$redis_dir/redis.pid")
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
}
