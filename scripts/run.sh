#!/usr/bin/env bash
# Runs the whole Open Bank suite locally, without Docker.
#
#   scripts/run.sh          build, start Kafka + schema registry, apply the topology, start the
#                           command handler, projector, GraphQL endpoint and web app, wait until
#                           each is healthy, print the URLs, and keep running: Ctrl-C stops
#                           everything this script started
#   scripts/run.sh start    the same, but return once everything is healthy
#   scripts/run.sh stop     stop everything this script started, and nothing else
#   scripts/run.sh status   which parts are running
#
# Logs of every service: ~/.cache/open-bank/logs/ (OPEN_BANK_CACHE moves it).
# OPEN_BANK_PROFILE=debug runs debug builds instead of release ones (the test suite does).
#
# COMMAND_HANDLER_INSTANCES=N (default 1) runs N command handlers in one consumer group
# (COMMAND_HANDLER_GROUP, default command-handler), sharing the bank's partitions, and
# PROJECTOR_INSTANCES=N (default 1) N projectors, each with the full read model, sharing the
# queries and the publishing of derived transactions. Each instance has its own transactional id
# (also its static group.instance.id), health port, log and pid file:
#   instance 1     command-handler     id command-handler          health :8090
#   instance i>1   command-handler-i   id command-handler-i        health :8090+100*(i-1)
#   instance 1     projector           id projector-transactions   health :8091
#   instance i>1   projector-i         id projector-transactions-i health :8091+100*(i-1)
# The ids stay the same across restarts, and the first is the single instance's id, so going
# from 1 to N instances and back never leaves the first one's group membership or open
# transaction behind. <SERVICE>_TRANSACTIONAL_ID and <SERVICE>_HEALTH_PORT (COMMAND_HANDLER_…,
# PROJECTOR_…), if set, replace the base id and base port. `stop` and `status` find every
# instance by its pid file, whatever N they were started with. Instances stopped when going to
# fewer keep their partitions until their session times out (10 s) before the others take them
# over.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"

CACHE="${OPEN_BANK_CACHE:-$HOME/.cache/open-bank}"
LOGS="$CACHE/logs"
RUN="$CACHE/run"
HEALTH_TIMEOUT="${OPEN_BANK_HEALTH_TIMEOUT:-120}"
PROFILE="${OPEN_BANK_PROFILE:-release}"
case "$PROFILE" in
  release) CARGO_PROFILE=(--release) ;;
  debug) CARGO_PROFILE=() ;;
  *) echo "run: OPEN_BANK_PROFILE must be release or debug, not '$PROFILE'" >&2; exit 2 ;;
esac
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/$PROFILE"

COMMAND_HANDLER_HEALTH_PORT="${COMMAND_HANDLER_HEALTH_PORT:-8090}"
COMMAND_HANDLER_TRANSACTIONAL_ID="${COMMAND_HANDLER_TRANSACTIONAL_ID:-command-handler}"
COMMAND_HANDLER_INSTANCES="${COMMAND_HANDLER_INSTANCES:-1}"
PROJECTOR_HEALTH_PORT="${PROJECTOR_HEALTH_PORT:-8091}"
PROJECTOR_TRANSACTIONAL_ID="${PROJECTOR_TRANSACTIONAL_ID:-projector-transactions}"
PROJECTOR_INSTANCES="${PROJECTOR_INSTANCES:-1}"
# Each command handler and projector keeps its state on disk there (<service>-<id>.redb), so a
# restart replays only what was written after it; a store of another cluster is rebuilt by itself.
export PROJECTOR_STATE_DIR="${PROJECTOR_STATE_DIR:-$CACHE/state}"
export COMMAND_HANDLER_STATE_DIR="${COMMAND_HANDLER_STATE_DIR:-$CACHE/state}"
for count in COMMAND_HANDLER_INSTANCES PROJECTOR_INSTANCES; do
  if ! [[ "${!count}" =~ ^[1-9][0-9]*$ ]]; then
    echo "run: $count must be a number of at least 1, not '${!count}'" >&2
    exit 2
  fi
done
# The bank employee (EMPLOYEE_USERNAME, default `employee`) logs in with EMPLOYEE_PASSWORD, the
# endpoint signs sessions with GRAPHQL_SESSION_SECRET and derives account tokens from
# GRAPHQL_TOKEN_SECRET, and the command handlers sign the credits they send each other with
# COMMAND_HANDLER_SAGA_SECRET. Unset, each is generated on the first run and kept (readable by this
# user only) in the cache dir, so they survive restarts and every instance shares them.
kept_secret() { # <file> <random bytes> -> the file's secret, made on first use
  if [[ ! -s "$1" ]]; then
    mkdir -p "$(dirname "$1")"
    (umask 077 && head -c "$2" /dev/urandom | base64 | tr -d '\n=' | tr '+/' '-_' >"$1")
  fi
  cat "$1"
}
export EMPLOYEE_USERNAME="${EMPLOYEE_USERNAME:-employee}"
export EMPLOYEE_PASSWORD="${EMPLOYEE_PASSWORD:-$(kept_secret "$CACHE/employee-password" 12)}"
export GRAPHQL_SESSION_SECRET="${GRAPHQL_SESSION_SECRET:-$(kept_secret "$CACHE/session-secret" 36)}"
export GRAPHQL_TOKEN_SECRET="${GRAPHQL_TOKEN_SECRET:-$(kept_secret "$CACHE/token-secret" 36)}"
export COMMAND_HANDLER_SAGA_SECRET="${COMMAND_HANDLER_SAGA_SECRET:-$(kept_secret "$CACHE/saga-secret" 36)}"
export GRAPHQL_PORT="${GRAPHQL_PORT:-8888}"
export FRONTEND_PORT="${FRONTEND_PORT:-8181}"
export FRONTEND_HOST="${FRONTEND_HOST:-127.0.0.1}"
export FRONTEND_GRAPHQL_TARGET="${FRONTEND_GRAPHQL_TARGET:-http://127.0.0.1:$GRAPHQL_PORT}"
# The local run is for developers: GraphiQL and introspection on (the production compose
# profile turns both off). The web app's server forwards each browser's address from 127.0.0.1,
# and the web app's origin may call the API.
export GRAPHQL_GRAPHIQL="${GRAPHQL_GRAPHIQL:-on}"
export GRAPHQL_INTROSPECTION="${GRAPHQL_INTROSPECTION:-on}"
export GRAPHQL_TRUSTED_PROXIES="${GRAPHQL_TRUSTED_PROXIES:-127.0.0.1}"
export ALLOWED_ORIGINS="${ALLOWED_ORIGINS:-http://127.0.0.1:$FRONTEND_PORT,http://localhost:$FRONTEND_PORT}"

say() { printf '%s\n' "run: $*"; }

# Services that run as several instances: command-handler and projector. Instance <i>
# (1-based) of <kind> is named <kind> (i = 1) or <kind>-<i>: its pid and log file.
REPLICATED=(command-handler projector)
replica_name() { if (($2 == 1)); then echo "$1"; else echo "$1-$2"; fi; }
replica_kind() { # <service name> -> command-handler, projector, or nothing
  local kind
  for kind in "${REPLICATED[@]}"; do
    if [[ "$1" == "$kind" || "$1" =~ ^$kind-[0-9]+$ ]]; then
      echo "$kind"
      return
    fi
  done
}
is_replica() { [[ -n "$(replica_kind "$1")" ]]; }
replica_index() { # <service name> -> instance number
  local kind
  kind="$(replica_kind "$1")"
  if [[ "$1" == "$kind" ]]; then echo 1; else echo "${1#"$kind"-}"; fi
}
env_prefix() { case "$1" in command-handler) echo COMMAND_HANDLER ;; projector) echo PROJECTOR ;; esac; }
replica_id() { # <service name> -> its transactional id
  local base index
  base="$(env_prefix "$(replica_kind "$1")")_TRANSACTIONAL_ID"
  index="$(replica_index "$1")"
  if ((index == 1)); then echo "${!base}"; else echo "${!base}-$index"; fi
}
replica_port() { # <service name> -> its health port
  local base
  base="$(env_prefix "$(replica_kind "$1")")_HEALTH_PORT"
  echo $((${!base} + 100 * ($(replica_index "$1") - 1)))
}

# The instances of <kind>: the N asked for, plus any still recorded by a pid file (started with a
# larger N), so that stop, status and Ctrl-C cover every one.
instances_of() { # <kind> <N>
  local i
  for ((i = 1; i <= $2; i++)); do
    replica_name "$1" "$i"
  done
  for i in $(find "$RUN" -maxdepth 1 -name "$1-*.pid" 2>/dev/null |
    sed -n "s#.*/$1-\([0-9][0-9]*\)\.pid\$#\1#p" | sort -n); do
    if ((i > $2)); then
      replica_name "$1" "$i"
    fi
  done
}
mapfile -t HANDLERS < <(instances_of command-handler "$COMMAND_HANDLER_INSTANCES")
mapfile -t PROJECTORS < <(instances_of projector "$PROJECTOR_INSTANCES")
# The services the endpoint's operations view watches (their /health and /metrics).
if [[ -z "${GRAPHQL_OPS_SERVICES:-}" ]]; then
  watched=()
  for name in "${HANDLERS[@]}" "${PROJECTORS[@]}"; do
    watched+=("$name=http://127.0.0.1:$(replica_port "$name")")
  done
  GRAPHQL_OPS_SERVICES="$(IFS=,; echo "${watched[*]}")"
fi
export GRAPHQL_OPS_SERVICES

# Health ports must not land on another port of the suite (the defaults never do; moved ports
# might).
ports_taken=("$GRAPHQL_PORT" "$FRONTEND_PORT" \
  "${OPEN_BANK_REGISTRY_PORT:-8081}" "${OPEN_BANK_REGISTRY_MGMT_PORT:-9081}" \
  "${OPEN_BANK_KAFKA_PORT:-9092}" "${OPEN_BANK_KAFKA_CONTROLLER_PORT:-9093}")
for name in "${HANDLERS[@]}" "${PROJECTORS[@]}"; do
  port="$(replica_port "$name")"
  for taken in "${ports_taken[@]}"; do
    if ((port == taken)); then
      echo "run: $name would get health port $port, which the suite uses already; run fewer instances or move its base port (<SERVICE>_HEALTH_PORT)" >&2
      exit 2
    fi
  done
  ports_taken+=("$port")
done

# In start order; stopped in reverse.
SERVICES=("${HANDLERS[@]}" "${PROJECTORS[@]}" graphql-endpoint frontend)

health_url() {
  if is_replica "$1"; then
    echo "http://127.0.0.1:$(replica_port "$1")/health"
    return
  fi
  case "$1" in
    graphql-endpoint) echo "http://127.0.0.1:$GRAPHQL_PORT/health" ;;
    frontend) echo "http://127.0.0.1:$FRONTEND_PORT/config.js" ;;
  esac
}

# What the service's command line contains: a pid file is only trusted when it matches, so a
# stale pid reused by another program is never killed.
signature() {
  case "$1" in
    frontend) echo "vite.js preview" ;;
    command-handler-*) echo "/command-handler" ;;
    projector-*) echo "/projector" ;;
    *) echo "/$1" ;;
  esac
}

identity() { # <principal>: the variables that make a service connect to Kafka as its principal
  # (infra.sh keeps one SCRAM password per service; the admin of `infra.sh env` is for tools only)
  [[ -n "${OPEN_BANK_KAFKA_SECRETS:-}" ]] || return 0
  echo "KAFKA_SASL_USERNAME=$1"
  echo "KAFKA_SASL_PASSWORD=$(cat "$OPEN_BANK_KAFKA_SECRETS/$1.password")"
}

launch() { # <name>: starts the service in its own session, so its pid is its process group
  local name="$1" identity=()
  if [[ "$name" == frontend ]]; then
    (cd frontend && exec setsid node node_modules/vite/bin/vite.js preview --strictPort) \
      >>"$LOGS/$name.log" 2>&1 </dev/null &
  elif is_replica "$name"; then
    local kind prefix
    kind="$(replica_kind "$name")"
    prefix="$(env_prefix "$kind")"
    mapfile -t identity < <(identity "$kind")
    env "${identity[@]}" "${prefix}_TRANSACTIONAL_ID=$(replica_id "$name")" "${prefix}_HEALTH_PORT=$(replica_port "$name")" \
      setsid "$BIN/$kind" >>"$LOGS/$name.log" 2>&1 </dev/null &
  else
    mapfile -t identity < <(identity "$name")
    env "${identity[@]}" setsid "$BIN/$name" >>"$LOGS/$name.log" 2>&1 </dev/null &
  fi
  echo $! >"$RUN/$name.pid"
}

pid_of() { # pid of a running service started by this script, or nothing
  local file="$RUN/$1.pid" pid
  [[ -f "$file" ]] || return 0
  pid="$(cat "$file")"
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$(signature "$1")"; then
    echo "$pid"
  fi
}

healthy() { curl -fs -o /dev/null "$(health_url "$1")"; }

# Launches a service unless it runs already; await_healthy waits for it. All services are launched
# first and awaited after, so their start-ups (each rebuilding its state from Kafka) overlap.
start_service() {
  local name="$1"
  if [[ -n "$(pid_of "$name")" ]]; then
    say "$name already running (pid $(pid_of "$name"))"
    return
  fi
  if is_replica "$name"; then
    say "starting $name (transactional id $(replica_id "$name"), log: $LOGS/$name.log)"
  else
    say "starting $name (log: $LOGS/$name.log)"
  fi
  launch "$name"
}

# The end of a service's log up to its error: a backtrace after it would hide the message.
last_words() {
  sed '/^Stack backtrace:/q' "$LOGS/$1.log" | tail -n 30
}

await_healthy() {
  local name="$1" pid tenths=0
  pid="$(cat "$RUN/$name.pid")"
  until healthy "$name"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      say "error: $name exited; last lines of its log:" >&2
      last_words "$name" >&2
      exit 1
    fi
    if ((tenths >= HEALTH_TIMEOUT * 10)); then
      say "error: $name not healthy at $(health_url "$name") after ${HEALTH_TIMEOUT}s; last lines of its log:" >&2
      last_words "$name" >&2
      exit 1
    fi
    sleep 0.1
    tenths=$((tenths + 1))
  done
  say "$name healthy ($(health_url "$name"))"
}

stop_services() {
  local name pid i
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
    name="${SERVICES[$i]}"
    pid="$(pid_of "$name")"
    if [[ -n "$pid" ]]; then
      say "stopping $name (pid $pid)"
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$RUN/$name.pid"
  done
}

stop_all() {
  stop_services
  # Kafka and the registry are stopped only when this script started them.
  if [[ -f "$RUN/infra.started-by-run" ]]; then
    scripts/infra.sh down
    rm -f "$RUN/infra.started-by-run"
  else
    say "Kafka and the schema registry were running before; left running (scripts/infra.sh down stops them)"
  fi
}

build() {
  say "building the services ($PROFILE)"
  cargo build "${CARGO_PROFILE[@]}" --locked -p synchronizer -p command-handler -p projector -p graphql-endpoint
  say "building the web app"
  # npm ci only when the lock file changed since the last install: it deletes node_modules first.
  if [[ ! -f frontend/node_modules/.package-lock.json || frontend/package-lock.json -nt frontend/node_modules/.package-lock.json ]]; then
    (cd frontend && npm ci --no-audit --no-fund)
  fi
  (cd frontend && npm run --silent build)
}

start_everything() {
  mkdir -p "$LOGS" "$RUN"
  build
  if ! scripts/infra.sh status >/dev/null 2>&1; then
    touch "$RUN/infra.started-by-run"
  fi
  scripts/infra.sh up
  eval "$(scripts/infra.sh env)"
  export KAFKA_BROKERS SCHEMA_REGISTRY_URL
  say "applying the topology (topics, schemas, ACLs)"
  local identity=()
  mapfile -t identity < <(identity synchronizer)
  env "${identity[@]}" "$BIN/synchronizer" apply
  local name handler_health=() projector_health=()
  for name in "${SERVICES[@]}"; do
    start_service "$name"
  done
  for name in "${SERVICES[@]}"; do
    await_healthy "$name"
  done
  for name in "${HANDLERS[@]}"; do
    handler_health+=(":$(replica_port "$name")")
  done
  for name in "${PROJECTORS[@]}"; do
    projector_health+=(":$(replica_port "$name")")
  done
  cat <<INFO

Open Bank is running:
  web app           http://127.0.0.1:$FRONTEND_PORT/
  GraphiQL          http://127.0.0.1:$GRAPHQL_PORT/graphiql
  employee login    $EMPLOYEE_USERNAME / $EMPLOYEE_PASSWORD   (kept in $CACHE/employee-password unless EMPLOYEE_PASSWORD is set)
  GraphQL           http://127.0.0.1:$GRAPHQL_PORT/graphql   (subscriptions: ws://127.0.0.1:$GRAPHQL_PORT/graphql/ws)
  Kafka             $KAFKA_BROKERS
  schema registry   $SCHEMA_REGISTRY_URL   (try: curl $SCHEMA_REGISTRY_URL/subjects)
  health            command handler${HANDLERS[1]:+s} ${handler_health[*]}, projector${PROJECTORS[1]:+s} ${projector_health[*]} (GET /health)
  logs              $LOGS/
INFO
}

# Keeps the foreground until Ctrl-C, `scripts/run.sh stop`, or a service dying on its own.
supervise() {
  local name
  while sleep 2; do
    for name in "${SERVICES[@]}"; do
      [[ -f "$RUN/$name.pid" ]] || { say "stopped from elsewhere"; return 0; }
      if [[ -z "$(pid_of "$name")" ]]; then
        say "error: $name exited; last lines of its log:" >&2
        last_words "$name" >&2
        return 1
      fi
    done
  done
}

case "${1:-up}" in
  up | start) ;;
  stop | down)
    mkdir -p "$RUN"
    stop_all
    exit 0
    ;;
  status)
    for name in "${SERVICES[@]}"; do
      if [[ -n "$(pid_of "$name")" ]] && healthy "$name"; then
        echo "$name: running and healthy ($(health_url "$name"))"
      else
        echo "$name: not running"
      fi
    done
    scripts/infra.sh status || true
    exit 0
    ;;
  -h | --help | help)
    # The comment block at the top of this file.
    awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"
    exit 0
    ;;
  *)
    echo "usage: scripts/run.sh [up|start|stop|status]" >&2
    exit 2
    ;;
esac

MODE="${1:-up}"
READY=false
# Whatever happens (a failed build, a service that does not come up, Ctrl-C), nothing this
# script started is left behind; only `start` leaves a healthy suite running.
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [[ "$MODE" != start || "$READY" != true ]]; then
    echo
    say "stopping"
    stop_all
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_everything
READY=true
if [[ "$MODE" == start ]]; then
  echo "Stop everything with: scripts/run.sh stop"
  exit 0
fi
echo "Press Ctrl-C to stop everything (or run scripts/run.sh stop elsewhere)."
supervise
