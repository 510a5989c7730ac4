#!/usr/bin/env bash
# Runs the Open Bank suite locally, without Docker.
#
#   scripts/run.sh         build, start Kafka + schema registry, apply the topology, print URLs
#   scripts/run.sh stop    stop everything this script started
#
# Services are added here as they are implemented; today the suite is the infrastructure and
# the topology (topics + schemas) that every service needs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

case "${1:-up}" in
  up) ;;
  stop | down)
    exec scripts/infra.sh down
    ;;
  -h | --help | help)
    sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "usage: scripts/run.sh [up|stop]" >&2
    exit 2
    ;;
esac

echo "==> build"
cargo build --release --locked -p synchronizer
echo "==> start Kafka + schema registry"
scripts/infra.sh up
eval "$(scripts/infra.sh env)"
echo "==> apply the topology"
target/release/synchronizer apply

cat <<INFO

Open Bank infrastructure is running:
  Kafka             $KAFKA_BROKERS
  schema registry   $SCHEMA_REGISTRY_URL   (try: curl $SCHEMA_REGISTRY_URL/subjects)
  logs              scripts/infra.sh logs kafka|registry
Stop with: scripts/run.sh stop
INFO
