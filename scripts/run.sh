#!/usr/bin/env bash
# Runs the Open Bank suite locally, without Docker.
#
#   scripts/run.sh         build, start Kafka + schema registry, apply the topology, start the
#                          services, wait until each is healthy, print the URLs
#   scripts/run.sh stop    stop everything this script started, and nothing else
#   scripts/run.sh status  which parts are running
#
# Logs of every service: ~/.cache/open-bank/logs/ (OPEN_BANK_CACHE moves it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CACHE="${OPEN_BANK_CACHE:-$HOME/.cache/open-bank}"
LOGS="$CACHE/logs"
RUN="$CACHE/run"
HEALTH_TIMEOUT="${OPEN_BANK_HEALTH_TIMEOUT:-120}"
export COMMAND_HANDLER_HEALTH_PORT="${COMMAND_HANDLER_HEALTH_PORT:-8090}"
export PROJECTOR_HEALTH_PORT="${PROJECTOR_HEALTH_PORT:-8091}"
export GRAPHQL_PORT="${GRAPHQL_PORT:-8888}"
# name:health port, in start order.
SERVICES=("command-handler:$COMMAND_HANDLER_HEALTH_PORT" "projector:$PROJECTOR_HEALTH_PORT" "graphql-endpoint:$GRAPHQL_PORT")

say() { printf '%s\n' "run: $*"; }

pid_of() { # pid of a running service started by this script, or nothing
  local file="$RUN/$1.pid" pid
  [[ -f "$file" ]] || return 0
  pid="$(cat "$file")"
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "release/$1"; then
    echo "$pid"
  fi
}

healthy() { curl -fs -o /dev/null "http://127.0.0.1:$1/health"; }

start_service() { # <name> <health port>
  local name="$1" port="$2" pid
  if [[ -n "$(pid_of "$name")" ]]; then
    say "$name already running (pid $(pid_of "$name"))"
    return
  fi
  say "starting $name (log: $LOGS/$name.log)"
  setsid nohup "target/release/$name" >>"$LOGS/$name.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$RUN/$name.pid"
  local waited=0
  until healthy "$port"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      say "error: $name exited; last lines of its log:" >&2
      tail -n 30 "$LOGS/$name.log" >&2
      exit 1
    fi
    if ((waited >= HEALTH_TIMEOUT)); then
      say "error: $name not healthy on port $port after ${HEALTH_TIMEOUT}s; last lines of its log:" >&2
      tail -n 30 "$LOGS/$name.log" >&2
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  say "$name healthy on http://127.0.0.1:$port/health"
}

stop_services() {
  local entry name pid i
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
    entry="${SERVICES[$i]}"
    name="${entry%%:*}"
    pid="$(pid_of "$name")"
    if [[ -n "$pid" ]]; then
      say "stopping $name (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$RUN/$name.pid"
  done
}

case "${1:-up}" in
  up) ;;
  stop | down)
    stop_services
    scripts/infra.sh down
    exit 0
    ;;
  status)
    for entry in "${SERVICES[@]}"; do
      name="${entry%%:*}"
      port="${entry##*:}"
      if [[ -n "$(pid_of "$name")" ]] && healthy "$port"; then
        echo "$name: running and healthy on port $port"
      else
        echo "$name: not running"
      fi
    done
    scripts/infra.sh status || true
    exit 0
    ;;
  -h | --help | help)
    sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "usage: scripts/run.sh [up|stop|status]" >&2
    exit 2
    ;;
esac

mkdir -p "$LOGS" "$RUN"
say "building (release)"
cargo build --release --locked -p synchronizer -p command-handler -p projector -p graphql-endpoint
scripts/infra.sh up
eval "$(scripts/infra.sh env)"
export KAFKA_BROKERS SCHEMA_REGISTRY_URL
say "applying the topology"
target/release/synchronizer apply
for entry in "${SERVICES[@]}"; do
  start_service "${entry%%:*}" "${entry##*:}"
done

cat <<INFO

Open Bank is running:
  Kafka             $KAFKA_BROKERS
  schema registry   $SCHEMA_REGISTRY_URL   (try: curl $SCHEMA_REGISTRY_URL/subjects)
  command handler   http://127.0.0.1:$COMMAND_HANDLER_HEALTH_PORT/health
  projector         http://127.0.0.1:$PROJECTOR_HEALTH_PORT/health
  GraphiQL          http://127.0.0.1:$GRAPHQL_PORT/graphiql
  GraphQL           http://127.0.0.1:$GRAPHQL_PORT/graphql   (subscriptions: ws://127.0.0.1:$GRAPHQL_PORT/graphql/ws)
  logs              $LOGS/
Stop everything with: scripts/run.sh stop
INFO
