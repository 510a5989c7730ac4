#!/usr/bin/env bash
# Runs every test of Open Bank on Kafka on a fresh machine:
#   1. cargo fmt --check and cargo clippy -D warnings; prettier and tsc for the web app,
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

step "format"
cargo fmt --all -- --check

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "compose files (Compose Specification schema + rules)"
scripts/validate-compose.sh

step "unit tests"
cargo test --workspace --locked

step "web app: install, format, types, unit tests"
(cd frontend && npm ci --no-audit --no-fund && npm run format:check && npm run typecheck && npm test)

step "Chromium for the browser test"
CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [[ ! -x "$CHROMIUM_PATH" ]]; then
  if [[ "$(id -u)" -eq 0 ]]; then
    as_root=()
  elif command -v sudo >/dev/null; then
    as_root=(sudo)
  else
    echo "Chromium is missing and installing it needs root: apt-get install chromium" >&2
    exit 1
  fi
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
"$CHROMIUM_PATH" --version
export CHROMIUM_PATH

step "start Kafka + schema registry (fresh test data)"
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
