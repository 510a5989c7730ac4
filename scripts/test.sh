#!/usr/bin/env bash
# Runs every test of Open Bank on Kafka on a fresh machine:
#   1. cargo fmt --check, then clippy -D warnings and the test build in one compilation;
#      prettier and tsc for the web app,
#   2. unit tests (Rust, no Kafka; Vitest for the web app),
#   3. integration tests against a real Kafka broker + schema registry that this script starts
#      on 127.0.0.1 with its own, freshly wiped data, and stops again on exit,
#   4. on a fresh cluster of three brokers: the broker-loss test, then the browser test (the
#      whole suite started by scripts/run.sh, driven in Debian's Chromium).
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
scripts/infra.sh fetch >"$background_logs/fetch.log" 2>&1 &
fetch_pid=$!
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
cargo test --workspace --all-targets --locked --no-run

step "compose files (Compose Specification schema + rules)"
scripts/validate-compose.sh

step "unit tests"
cargo test --workspace --locked

step "web app: install, format, types, unit tests"
await "$npm_pid" npm
(cd frontend && npm run format:check && npm run typecheck && npm test)

step "Chromium for the browser test"
await "$chromium_pid" chromium
"$CHROMIUM_PATH" --version
export CHROMIUM_PATH

step "start Kafka + schema registry (fresh test data)"
await "$fetch_pid" fetch
if scripts/infra.sh status >/dev/null 2>&1; then
  echo "A local stack is already running on the suite's ports; stop it first: scripts/infra.sh down" >&2
  exit 1
fi
scripts/infra.sh reset
trap 'step "stop the suite, Kafka + schema registry"; scripts/run.sh stop; scripts/infra.sh down' EXIT
scripts/infra.sh up
eval "$(scripts/infra.sh env)"

step "apply the topology"
cargo build --workspace --locked --bins
"${CARGO_TARGET_DIR:-target}/debug/synchronizer" apply

step "compose files' Kafka security scripts, run outside Docker"
scripts/test-compose-kafka.sh

# The broker-loss test needs the three-broker cluster below.
broker_loss=the_bank_keeps_answering_while_a_broker_is_lost_and_comes_back

step "integration tests (real broker + registry)"
cargo test --workspace --locked -- --ignored --test-threads=1 --skip "$broker_loss"

step "three brokers: replication 3, min.insync.replicas=2 (fresh test data)"
scripts/infra.sh down
export OPEN_BANK_DATA="$OPEN_BANK_DATA-three-brokers"
scripts/infra.sh reset
scripts/infra.sh up --brokers 3
eval "$(scripts/infra.sh env)"
"${CARGO_TARGET_DIR:-target}/debug/synchronizer" apply

step "broker loss: one of three brokers SIGKILLed under load and restarted"
# --nocapture: the test prints how long answers paused.
cargo test -p graphql-endpoint --locked --test broker_loss -- --ignored --nocapture "$broker_loss"

step "browser test: the whole suite in Chromium, on the three brokers"
# The employee the browser test logs in as (scripts/run.sh passes these on to the endpoint).
export EMPLOYEE_USERNAME=employee EMPLOYEE_PASSWORD="browser-test-$RANDOM$RANDOM"
OPEN_BANK_PROFILE=debug scripts/run.sh start
(cd frontend && npm run test:e2e)
echo "screenshots: frontend/e2e/screenshots/"
step "done"
