#!/usr/bin/env bash
# Runs every test of Open Bank on Kafka on a fresh machine:
#   1. cargo fmt --check and cargo clippy -D warnings,
#   2. unit tests (no Kafka),
#   3. integration tests against a real Kafka broker + schema registry that this script starts
#      on 127.0.0.1 with its own, freshly wiped data, and stops again on exit.
# Needs only what the machine has (Rust, Java 17, Maven); Kafka and the registry come from
# Maven Central on first use and are cached (see scripts/infra.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

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

step "start Kafka + schema registry (fresh test data)"
if scripts/infra.sh status >/dev/null 2>&1; then
  echo "A local stack is already running on the suite's ports; stop it first: scripts/infra.sh down" >&2
  exit 1
fi
scripts/infra.sh reset
trap 'step "stop Kafka + schema registry"; scripts/infra.sh down' EXIT
scripts/infra.sh up
eval "$(scripts/infra.sh env)"

step "apply the topology"
cargo build --workspace --locked --bins
"${CARGO_TARGET_DIR:-target}/debug/synchronizer" apply

step "integration tests (real broker + registry)"
cargo test --workspace --locked -- --ignored --test-threads=1
