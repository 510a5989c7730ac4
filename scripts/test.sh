#!/usr/bin/env bash
# Runs every test of Open Bank on Kafka on a fresh machine:
#   1. cargo fmt --check, then clippy -D warnings and the test build in one compilation,
#   2. unit tests (Rust, no Kafka; prettier, tsc and Vitest for the web app), beside step 3,
#   3. on two real clusters this script starts on 127.0.0.1 with fresh data (and stops on exit),
#      in two lanes side by side: one broker for the services' integration tests, the
#      synchronizer's and the compose files' Kafka scripts; three brokers for the GraphQL
#      end-to-end tests, the broker-loss test and the browser test (the whole suite started by
#      scripts/run.sh, driven in Debian's Chromium).
# Needs only what the machine has (Rust, Java 17, Maven, Node 20); Kafka and the registry come
# from Maven Central on first use and are cached (see scripts/infra.sh), npm packages from npm,
# and Chromium from Debian (apt-get, as root or through sudo) when it is not installed.
#
# `scripts/test.sh kubernetes` runs only the Helm chart's validation on a real Kubernetes API
# server (scripts/validate-kubernetes.sh): not part of the default run, since its first run builds
# kube-apiserver, kubectl, kine and helm from their Go modules (about 18 minutes; later ~30 s).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

case "${1:-}" in
  "") ;;
  kubernetes) exec scripts/validate-kubernetes.sh ;;
  *)
    echo "usage: scripts/test.sh [kubernetes]" >&2
    exit 2
    ;;
esac

started=$SECONDS
step() { printf '\n==> [%dm%02ds] %s\n' $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60)) "$*"; }

# The test cluster keeps its data apart from a developer's local suite, and starts empty.
export OPEN_BANK_DATA="${OPEN_BANK_TEST_DATA:-${OPEN_BANK_CACHE:-$HOME/.cache/open-bank}/test-data}"

# One build serves clippy and the tests: clippy-driver stands in for rustc on the workspace's own
# crates (as `cargo clippy` does) but also generates code, so the lints and the test binaries
# come out of the same compilation. Every cargo call below shares these settings, or cargo
# would build the workspace again. A clean clone builds once, without incremental caches.
export RUSTC_WORKSPACE_WRAPPER="${RUSTC_WORKSPACE_WRAPPER:-$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver)}"
if [[ ! -x "$RUSTC_WORKSPACE_WRAPPER" ]]; then
  echo "clippy-driver is missing: rustup component add clippy" >&2
  exit 1
fi
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# What only needs the network runs while the build keeps both cores busy: Kafka and Apicurio
# from Maven Central, the web app's npm packages, Chromium from Debian.
background_logs=$(mktemp -d)
CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
install_chromium() {
  [[ -x "$CHROMIUM_PATH" ]] && return 0
  if [[ "$(id -u)" -eq 0 ]]; then
    as_root=()
  elif command -v sudo >/dev/null; then
    as_root=(sudo)
  else
    echo "Chromium is missing and installing it needs root: apt-get install chromium" >&2
    return 1
  fi
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}
# Two clusters side by side, so the tests that need each can run at the same time: one broker on
# the default ports for the services' integration tests, and three brokers (replication 3,
# min.insync.replicas=2) on ports of their own, with their own run and log directories, for the
# GraphQL end-to-end tests, the broker-loss test and the browser test. Both start from fresh test
# data. Tests of one cluster never see the other's command handlers, which would decide their
# commands too.
cache="${OPEN_BANK_CACHE:-$HOME/.cache/open-bank}"
three_cache="$cache/three-brokers-suite"
mkdir -p "$three_cache"
one_broker() { OPEN_BANK_CACHE="$cache" OPEN_BANK_DATA="$OPEN_BANK_DATA" "$@"; }
three_brokers() {
  OPEN_BANK_CACHE="$three_cache" OPEN_BANK_DATA="$OPEN_BANK_DATA-three-brokers" \
    OPEN_BANK_KAFKA_PORT=19092 OPEN_BANK_KAFKA_CONTROLLER_PORT=19093 \
    OPEN_BANK_REGISTRY_PORT=18081 OPEN_BANK_REGISTRY_MGMT_PORT=19081 "$@"
}
for cluster in one_broker three_brokers; do
  if "$cluster" scripts/infra.sh status >/dev/null 2>&1; then
    echo "A local stack is already running on the suite's ports ($cluster); stop it first: scripts/infra.sh down" >&2
    exit 1
  fi
done
# Their data is thrown away: a broker that does not stop at once is killed after 10 s, and at the
# end after 1 s.
export OPEN_BANK_STOP_TIMEOUT="${OPEN_BANK_STOP_TIMEOUT:-10}"
# The suite's brokers and registries live for minutes: the serial collector and the first JIT
# tier alone cost less CPU than G1's concurrent threads and the optimizing compiler, which a
# long-running stack (scripts/run.sh, the benchmarks) keeps. (The brokers' CPU in a suite run:
# about 350 s with G1 and both tiers, 205 s so.)
export OPEN_BANK_KAFKA_JVM="${OPEN_BANK_KAFKA_JVM:--XX:+UseSerialGC -XX:TieredStopAtLevel=1}"
export OPEN_BANK_REGISTRY_JVM="${OPEN_BANK_REGISTRY_JVM:--XX:TieredStopAtLevel=1}"
stop_all() {
  step "stop the suite and both clusters"
  # Clusters still starting (a check failed early) would come up after the `down` below.
  if [[ -n "${clusters_pid:-}" ]]; then wait "$clusters_pid" 2>/dev/null || true; fi
  export OPEN_BANK_STOP_TIMEOUT=1
  three_brokers scripts/run.sh stop &
  one_broker scripts/infra.sh down &
  three_brokers scripts/infra.sh down &
  wait
}
trap stop_all EXIT
# Only the downloads overlap the build: brokers starting meanwhile would take CPU from it (measured
# when a clean build took 8 min alone: 10.5 min beside them).
fetch_and_link() {
  one_broker scripts/infra.sh fetch
  # The second cache shares the downloaded distributions.
  ln -sfn "$cache/dist" "$three_cache/dist"
  ln -sfn "$cache/m2" "$three_cache/m2"
}
fetch_and_link >"$background_logs/fetch.log" 2>&1 &
fetch_pid=$!
# Both clusters start side by side, then each gets the topology (topics, schemas, ACLs).
start_clusters() {
  one_broker scripts/infra.sh reset
  three_brokers scripts/infra.sh reset
  one_broker scripts/infra.sh up &
  local one=$!
  three_brokers scripts/infra.sh up --brokers 3
  wait "$one"
  apply_topology() { (eval "$(scripts/infra.sh env)" && "${CARGO_TARGET_DIR:-target}/debug/synchronizer" apply); }
  one_broker apply_topology &
  one=$!
  three_brokers apply_topology
  wait "$one"
}
(cd frontend && npm ci --no-audit --no-fund) >"$background_logs/npm.log" 2>&1 &
npm_pid=$!
install_chromium >"$background_logs/chromium.log" 2>&1 &
chromium_pid=$!
# Waits for a background job; on failure shows its log and stops the run.
await() {
  local pid=$1 what=$2
  if ! wait "$pid"; then
    echo "$what failed:" >&2
    cat "$background_logs/$what.log" >&2
    exit 1
  fi
}

step "format"
cargo fmt --all -- --check

step "lint and build (clippy -D warnings on every target, one compilation for lints and tests)"
# The JSON lists the test executables, which the integration lanes below run directly: two
# `cargo test` at once would wait for each other's lock on the build directory.
cargo test --workspace --all-targets --locked --no-run --message-format=json-render-diagnostics \
  >"$background_logs/build.json"
cargo build --workspace --locked --bins

step "start both clusters (fresh test data); meanwhile the checks that need no Kafka"
await "$fetch_pid" fetch
start_clusters >"$background_logs/clusters.log" 2>&1 &
clusters_pid=$!

step "compose files (Compose Specification schema + rules)"
scripts/validate-compose.sh

# The unit tests and the web app's checks go on while the integration lanes below start.
await "$npm_pid" npm
# They mark their end in a file, which the browser test waits for: both generate the web app's
# GraphQL types.
# Niced: the clusters' start and the lanes come first, the checks take the CPU they leave.
checks() {
  local status=0
  renice -n 5 "$BASHPID" >/dev/null
  step "unit tests"
  cargo test --workspace --locked || status=1
  step "web app: format, types, unit tests"
  (cd frontend && npm run format:check && npm run typecheck && npm test) || status=1
  touch "$background_logs/checks.done"
  return "$status"
}
checks >"$background_logs/checks.log" 2>&1 &
checks_pid=$!

step "Chromium for the browser test"
await "$chromium_pid" chromium
"$CHROMIUM_PATH" --version
export CHROMIUM_PATH

step "both clusters up, with the topology applied"
await "$clusters_pid" clusters
# The compose files' Kafka scripts need only the synchronizer and a cluster of their own: they
# run beside the lanes below.
scripts/test-compose-kafka.sh >"$background_logs/compose-kafka.log" 2>&1 &
compose_kafka_pid=$!

# The test executables that `specs` name, each with its package's directory: `package` names all
# of a package's, `package:test` one of them (the file name in tests/), `-package:test` leaves
# one out.
executables() {
  python3 - "$background_logs/build.json" "$@" <<'PY'
import json, os, sys
included, excluded, whole = set(), set(), set()
for spec in sys.argv[2:]:
    if spec.startswith("-"):
        excluded.add(spec[1:])
    elif ":" in spec:
        included.add(spec)
    else:
        whole.add(spec)
for line in open(sys.argv[1]):
    try:
        message = json.loads(line)
    except ValueError:
        continue
    if message.get("reason") != "compiler-artifact" or not message.get("executable"):
        continue
    if not message["profile"]["test"]:
        continue
    directory = os.path.dirname(message["manifest_path"])
    package = os.path.basename(directory)
    name = f"{package}:{message['target']['name']}"
    if (package in whole or name in included) and name not in excluded:
        print(directory, message["executable"])
PY
}
# Runs the ignored (integration) tests of the executables `specs` name, one at a time, as `cargo
# test -- --ignored --test-threads=1` would, from each package's directory; the arguments after
# `--` go to every executable.
integration() {
  local specs=() arguments=()
  while [[ $# -gt 0 && "$1" != "--" ]]; do specs+=("$1"); shift; done
  [[ "${1:-}" == "--" ]] && shift
  arguments=("$@")
  executables "${specs[@]}" | while read -r directory executable; do
    local began=$SECONDS
    echo "     Running $(basename "$executable") ($(basename "$directory"))"
    (cd "$directory" && "$executable" --ignored --test-threads=1 "${arguments[@]}") </dev/null || exit 1
    echo "     took $((SECONDS - began)) s: $(basename "$executable")"
  done
}

# The broker-loss test runs on its own after the other end-to-end tests.
broker_loss=the_bank_keeps_answering_while_a_broker_is_lost_and_comes_back

lane_one_broker() {
  eval "$(scripts/infra.sh env)"
  step "one broker: integration tests of the services (and four of the endpoint's, for balance)"
  integration contract topology test-support command-handler projector \
    graphql-endpoint:alerts_and_history graphql-endpoint:end_to_end graphql-endpoint:replicas \
    graphql-endpoint:read_your_writes
  step "one broker: the synchronizer's tests (they change topics and ACLs)"
  integration synchronizer
}

lane_three_brokers() {
  eval "$(scripts/infra.sh env)"
  step "three brokers: the GraphQL endpoint's end-to-end tests"
  integration graphql-endpoint -graphql-endpoint:alerts_and_history -graphql-endpoint:end_to_end \
    -graphql-endpoint:replicas -graphql-endpoint:read_your_writes \
    -- --skip "$broker_loss"
  step "three brokers: broker loss, one of three brokers SIGKILLed under load and restarted"
  # --nocapture: the test prints how long answers paused.
  integration graphql-endpoint:broker_loss -- --exact "$broker_loss" --nocapture
  while [[ ! -e "$background_logs/checks.done" ]]; do sleep 1; done
  step "three brokers: browser test, the whole suite in Chromium"
  # The employee the browser test logs in as (scripts/run.sh passes these on to the endpoint).
  export EMPLOYEE_USERNAME=employee EMPLOYEE_PASSWORD="browser-test-$RANDOM$RANDOM"
  OPEN_BANK_PROFILE=debug scripts/run.sh start
  (cd frontend && npm run test:e2e)
  echo "screenshots: frontend/e2e/screenshots/"
}

step "integration, end-to-end and browser tests: both clusters' lanes side by side"
one_broker lane_one_broker >"$background_logs/one-broker.log" 2>&1 &
one_pid=$!
three_brokers lane_three_brokers >"$background_logs/three-brokers.log" 2>&1 &
three_pid=$!
failed=()
wait "$checks_pid" || failed+=(checks)
echo
echo "---------------- unit tests and web app checks ----------------"
cat "$background_logs/checks.log"
wait "$one_pid" || failed+=(one-broker)
wait "$three_pid" || failed+=(three-brokers)
for lane in one-broker three-brokers; do
  echo
  echo "---------------- lane: $lane ----------------"
  cat "$background_logs/$lane.log"
done
step "compose files' Kafka security scripts, run outside Docker (a cluster of their own)"
wait "$compose_kafka_pid" || failed+=(compose-kafka)
cat "$background_logs/compose-kafka.log"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
step "done"
