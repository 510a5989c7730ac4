#!/usr/bin/env bash
# Tries the compose files' Kafka security outside Docker (this machine has no Docker engine), with
# the compose files' own scripts and settings:
#
#   scripts/test-compose-kafka.sh                  # docker/docker-compose.yml: one broker (~75 s)
#   scripts/test-compose-kafka.sh --three-brokers  # docker/docker-compose.three-brokers.yml (~2 min)
#
#   - docker/kafka/secrets.sh makes the CA, a broker certificate and the SCRAM passwords in a scratch
#     directory laid out as the kafka-secrets volume;
#   - docker/kafka/start.sh starts each broker of the file from the Kafka distribution
#     scripts/infra.sh fetched, with the environment the file gives it, moved to this machine: every
#     broker host -> localhost, broker N's ports 9092, 9093, 19092, 19094 -> $PORT+4(N-1) .. +3
#     (never the compose ports, which another stack may use), the host ports it publishes likewise,
#     its data in the scratch directory. The nodes share one certificate (CN=localhost, the super
#     user derived from the moved quorum voters), as they all answer on localhost here;
#   - the synchronizer, as its principal, reconciles the ACLs over the services' listener
#     (INTERNAL, SASL_SSL), as kafka-acls does;
#   - a Java admin client with the brokers' admin.properties (what the healthcheck's
#     --command-config gives kafka-broker-api-versions.sh) sees every broker of the file over TLS;
#   - a client without a password, one with a wrong one, one in clear text, and a service's
#     principal changing ACLs are refused;
#   - Apicurio Registry 3.0.9 (the jar scripts/infra.sh fetched: the application of the compose
#     file's image, without the image's start script) starts with the environment of the
#     `schema-registry` service and its kafkasql.properties, as principal schema-registry; the
#     service's healthcheck command answers healthy; the journal topic is kept forever and the
#     global rules hold;
#   - the synchronizer's `apply` makes the topics and registers the schemas through it.
# Needs `scripts/infra.sh up` (or `fetch`) to have run once (the distributions), python3 with
# PyYAML (reads the compose file), and target/debug/synchronizer (`cargo build -p synchronizer`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# A clean slate: the caller's Kafka settings (e.g. what `scripts/infra.sh env` exported for the
# local cluster) must reach neither the brokers, which read every KAFKA_* variable as their
# configuration, nor the clients below, which get theirs explicitly.
while IFS='=' read -r name _; do
  [[ "$name" == KAFKA_* ]] && unset "$name"
done < <(env)
unset SCHEMA_REGISTRY_URL OPEN_BANK_KAFKA_SECRETS

COMPOSE="docker/docker-compose.yml"
case "${1:-}" in
"") ;;
--three-brokers) COMPOSE="docker/docker-compose.three-brokers.yml" ;;
*)
  echo "usage: $0 [--three-brokers]" >&2
  exit 2
  ;;
esac
CACHE="${OPEN_BANK_CACHE:-$HOME/.cache/open-bank}"
KAFKA_HOME="$(find "$CACHE/dist" -maxdepth 1 -type d -name 'kafka-*' 2>/dev/null | sort -V | tail -1)"
[[ -d "$KAFKA_HOME" ]] || { echo "no Kafka distribution in $CACHE/dist: run scripts/infra.sh up once" >&2; exit 1; }
REGISTRY_JAR="$(find "$CACHE/dist/apicurio-registry-3.0.9" -maxdepth 1 -name '*-runner.jar' 2>/dev/null | head -1)"
[[ -f "$REGISTRY_JAR" ]] || { echo "no Apicurio Registry 3.0.9 in $CACHE/dist: run scripts/infra.sh fetch once" >&2; exit 1; }
BIN="${CARGO_TARGET_DIR:-target}/debug"
[[ -x "$BIN/synchronizer" ]] || { echo "no $BIN/synchronizer: cargo build -p synchronizer" >&2; exit 1; }
# Below the kernel's ephemeral range (32768-60999 here): a client connection of a test running
# meanwhile must never hold a port a broker is about to bind.
PORT="${COMPOSE_KAFKA_TEST_PORT:-29092}"
REGISTRY_PORT="$((PORT + 20))"
REGISTRY="http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7"
work="$(mktemp -d)"
pids=()
stop() { # <pid>: TERM, KILL if it is still there after 20 s (the registry may wait for a lost broker)
  local pid="$1"
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 40); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do # the registry before the brokers
    stop "${pids[i]}"
  done
  if [[ -n "${KEEP:-}" ]]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

say() { echo "compose-kafka: $*"; }
fail() {
  say "error: $*" >&2
  exit 1
}

# The compose file read as Compose does (anchors merged), the brokers moved to this machine:
#   compose brokers        one line per broker: <service> <its first port here>
#   compose env <service>  the service's environment, one NAME=value a line
compose() {
  python3 - "$COMPOSE" "$PORT" "$@" <<'PY'
import re, sys, yaml
path, port, mode, args = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
services = yaml.safe_load(open(path, encoding="utf-8"))["services"]
brokers = sorted(n for n, s in services.items()
                 if str(s.get("image", "")).startswith("apache/kafka:") and str(s.get("restart")) != "no")
ORDER = ["9092", "9093", "19092", "19094"]  # EXTERNAL, CONTROLLER, INTERNAL, BROKER in the container
base = {name: port + 4 * i for i, name in enumerate(brokers)}
hosts = {**{n: n for n in brokers}, **{services[n].get("hostname") or n: n for n in brokers}}
published = {}  # host port -> (broker, container port)
for name in brokers:
    for mapping in services[name].get("ports") or []:
        host_port, container = str(mapping).split("/")[0].split(":")[-2:]
        published[host_port] = (name, container)
if mode == "brokers":
    for name in brokers:
        print(name, base[name])
    sys.exit()
service = args[0]
def move(match):
    host, number = match.group(1), match.group(2)
    if host in hosts:
        broker, container = hosts[host], number
    elif host == "localhost" and number in published:
        broker, container = published[number]
    elif host == "" and service in base:  # a listener's bind address: every interface
        broker, container = service, number
    else:
        sys.exit(f"{service}: {match.group(0)!r} is no broker address this test can move")
    if container not in ORDER:
        sys.exit(f"{service}: port {container} of {broker} is not one this test moves ({', '.join(ORDER)})")
    return f"{'localhost' if host else ''}:{base[broker] + ORDER.index(container)}"
for name, value in (services[service].get("environment") or {}).items():
    value = str(value)
    if "${" in value:
        sys.exit(f"{service}: {name} is interpolated; this test reads the file as it is")
    if name in {"KAFKA_LISTENERS", "KAFKA_ADVERTISED_LISTENERS", "KAFKA_CONTROLLER_QUORUM_VOTERS",
                "APICURIO_KAFKASQL_BOOTSTRAP_SERVERS"}:
        value = re.sub(r"(?<![\w-])([\w.-]*):(\d+)", move, value)
    print(f"{name}={value}")
PY
}

mapfile -t brokers < <(compose brokers)
((${#brokers[@]})) || fail "no broker in $COMPOSE"
# Whatever answers on these ports would be tested instead (a leftover registry, another stack).
for ((port = PORT; port < PORT + 4 * ${#brokers[@]}; port++)); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    fail "port $port is in use (COMPOSE_KAFKA_TEST_PORT=... moves the test's ports)"
  fi
done
if (exec 3<>"/dev/tcp/127.0.0.1/$REGISTRY_PORT") 2>/dev/null; then
  fail "port $REGISTRY_PORT is in use (COMPOSE_KAFKA_TEST_PORT=... moves the test's ports)"
fi

me="$(id -u):$(id -g)"
SECRETS="$work/secrets" BROKERS=localhost OWNER="$me" KAFKA_OWNER="$me" REGISTRY_OWNER="$me" \
  KEYTOOL="$(dirname "$(readlink -f "$(command -v java)")")/keytool" docker/kafka/secrets.sh >"$work/secrets.log"
say "kafka/secrets.sh: $(tail -1 "$work/secrets.log")"

# The secrets as a container mounts them: each directory at the path its files name.
node="$work/secrets/localhost"
registry_dir="$work/secrets/schema-registry"
sed -i "s#/run/kafka-secrets#$node#" "$node/admin.properties"
sed -i "s#/run/kafka-secrets#$registry_dir#" "$registry_dir/kafkasql.properties"

say "$COMPOSE: ${#brokers[@]} broker(s)"
INTERNAL="" # the services' listener of every broker
for entry in "${brokers[@]}"; do
  read -r broker base <<<"$entry"
  mapfile -t broker_env < <(compose env "$broker")
  ((${#broker_env[@]})) || fail "no environment for $broker in $COMPOSE"
  for setting in "${broker_env[@]}"; do
    case "$setting" in KAFKA_LISTENERS=* | KAFKA_ADVERTISED_LISTENERS=* | KAFKA_CONTROLLER_QUORUM_VOTERS=*)
      say "$broker: $setting" ;;
    esac
  done
  mkdir -p "$work/$broker"
  env "${broker_env[@]}" KAFKA_LOG_DIRS="$work/$broker/data" KAFKA_HEAP_OPTS="-Xms128m -Xmx384m" \
    SECRETS="$node" KAFKA_HOME="$KAFKA_HOME" CONFIG="$work/$broker/server.properties" LOG_DIR="$work/$broker/logs" \
    docker/kafka/start.sh >"$work/$broker.log" 2>&1 &
  pids+=("$!")
  INTERNAL+="${INTERNAL:+,}localhost:$((base + 2))"
done
first="${brokers[0]%% *}"
EXTERNAL="localhost:${brokers[0]##* }" # the host's, on the first broker

as() { # <principal> <password file> <command...>: a Rust tool connecting as that principal
  local principal="$1" password="$2"
  shift 2
  env -u KAFKA_SASL_PASSWORD KAFKA_BROKERS="${BROKERS_UNDER_TEST:-$INTERNAL}" KAFKA_SECURITY_PROTOCOL=SASL_SSL \
    KAFKA_SASL_MECHANISMS=SCRAM-SHA-512 KAFKA_SSL_CA_LOCATION="$node/ca.crt" KAFKA_SASL_USERNAME="$principal" \
    KAFKA_SASL_PASSWORD_FILE="$password" SCHEMA_REGISTRY_URL="$REGISTRY" "$@"
}

say "waiting for the brokers (logs: $work/<broker>.log)"
for _ in $(seq 90); do
  if as synchronizer "$work/secrets/synchronizer/password" "$BIN/synchronizer" --timeout 5s acls --apply \
    >"$work/acls.out" 2>&1; then
    break
  fi
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { tail -n 30 "$work"/*.log >&2; fail "a broker exited"; }
  done
  sleep 1
done
grep -q "ACL" "$work/acls.out" || { cat "$work/acls.out" >&2; tail -n 30 "$work"/*.log >&2; fail "no ACLs applied"; }
say "synchronizer over SASL_SSL ($INTERNAL, as kafka-acls): $(tail -1 "$work/acls.out")"
grep -q '^listener.name.broker.ssl.client.auth=required$' "$work/$first/server.properties" ||
  fail "start.sh did not require client certificates on the BROKER listener"

# The healthcheck's client: Java, configured by admin.properties alone.
cat >"$work/AdminCheck.java" <<'JAVA'
import java.io.FileReader;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.config.ConfigResource;

public class AdminCheck {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        try (FileReader reader = new FileReader(args[1])) { props.load(reader); }
        props.put("bootstrap.servers", args[0]);
        props.put("default.api.timeout.ms", "15000");
        props.put("request.timeout.ms", "10000");
        try (Admin admin = Admin.create(props)) {
            System.out.println("nodes " + admin.describeCluster().nodes().get().size());
            for (int i = 2; i < args.length; i++) {
                ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, args[i]);
                var config = admin.describeConfigs(List.of(topic)).all().get().get(topic);
                for (String key : List.of("cleanup.policy", "retention.ms", "retention.bytes")) {
                    System.out.println(args[i] + " " + key + "=" + config.get(key).value());
                }
            }
        }
    }
}
JAVA
admin_check() { java -cp "$KAFKA_HOME/libs/*" "$work/AdminCheck.java" "$@" 2>"$work/admin.err"; }
# Every broker registered (with several, the quorum may answer first). A try may also time out
# while the suite's other lanes keep both cores busy (seen once: the TLS and SCRAM handshakes of a
# fresh JVM took longer than its 15 s); only the last one's error counts.
for _ in $(seq 30); do
  if admin_check "$INTERNAL" "$node/admin.properties" >"$work/admin.out"; then
    [[ "$(cat "$work/admin.out")" == "nodes ${#brokers[@]}" ]] && break
  fi
  sleep 2
done
if [[ "$(cat "$work/admin.out")" != "nodes ${#brokers[@]}" ]]; then
  cat "$work/admin.err" >&2
  fail "admin.properties: admin sees '$(cat "$work/admin.out")', want nodes ${#brokers[@]}"
fi
say "admin with admin.properties (the healthcheck's --command-config): $(cat "$work/admin.out") over TLS"
BROKERS_UNDER_TEST="$EXTERNAL" as admin "$work/secrets/passwords/admin.password" "$BIN/synchronizer" --timeout 10s \
  acls --apply >/dev/null || fail "admin on the EXTERNAL listener"
say "admin on the host's listener ($EXTERNAL): logged in"

printf 'not-the-password' >"$work/wrong"
if as synchronizer "$work/wrong" "$BIN/synchronizer" --timeout 5s acls --apply >"$work/wrong.out" 2>&1; then
  fail "a wrong password was let in"
fi
say "a wrong password is refused: $(grep -o 'error: .*' "$work/wrong.out" | head -1 | cut -c1-100)"
if as command-handler "$work/secrets/command-handler/password" "$BIN/synchronizer" --timeout 5s acls --apply \
  >"$work/denied.out" 2>&1; then
  fail "command-handler could change ACLs"
fi
say "command-handler (no super user) may not change ACLs: $(grep -o 'error: .*' "$work/denied.out" | head -1 | cut -c1-100)"
for address in "$INTERNAL" "$EXTERNAL"; do
  if env -u KAFKA_SECURITY_PROTOCOL -u KAFKA_SASL_USERNAME -u KAFKA_SASL_PASSWORD KAFKA_BROKERS="$address" \
    "$BIN/synchronizer" --timeout 5s acls --apply >/dev/null 2>&1; then
    fail "a client without TLS and password was let in on $address"
  fi
done
say "no TLS, no password: refused on both client listeners"

# --- the registry, as the compose file runs it --------------------------------------------------
mapfile -t registry_env < <(compose env schema-registry)
((${#registry_env[@]})) || fail "no environment for schema-registry in $COMPOSE"
moved=()
for setting in "${registry_env[@]}"; do
  case "$setting" in
  QUARKUS_CONFIG_LOCATIONS=*) moved+=("QUARKUS_CONFIG_LOCATIONS=$registry_dir/kafkasql.properties") ;;
  JAVA_OPTS_APPEND=*) ;; # read by the image's start script only; the heap is given below
  *) moved+=("$setting") ;;
  esac
done
mkdir -p "$work/registry"
(cd "$work/registry" && exec env "${moved[@]}" QUARKUS_HTTP_HOST=127.0.0.1 QUARKUS_HTTP_PORT="$REGISTRY_PORT" \
  java -Xms128m -Xmx384m -XX:+UseSerialGC "-Djava.io.tmpdir=$work/registry" -jar "$REGISTRY_JAR") \
  >"$work/registry.log" 2>&1 &
registry_pid=$!
pids+=("$registry_pid")
# The compose healthcheck's command, pointed at this port.
healthcheck="$(python3 - "$COMPOSE" "$REGISTRY_PORT" <<'PY'
import sys, yaml
test = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))["services"]["schema-registry"]["healthcheck"]["test"]
assert test[:3] == ["CMD", "bash", "-c"], test
print(test[3].replace("$$", "$").replace("/8080", "/" + sys.argv[2]))
PY
)"
say "waiting for the registry (log: $work/registry.log)"
for _ in $(seq 120); do
  bash -c "$healthcheck" 2>/dev/null && break
  kill -0 "$registry_pid" 2>/dev/null || { tail -n 30 "$work/registry.log" >&2; fail "the registry exited"; }
  sleep 1
done
bash -c "$healthcheck" 2>/dev/null || { tail -n 30 "$work/registry.log" >&2; fail "the registry's healthcheck never passed"; }
say "registry healthy by the compose healthcheck (/health/ready), as principal schema-registry"

admin_check "$INTERNAL" "$node/admin.properties" _apicurio-kafkasql-journal >"$work/journal.out" ||
  { cat "$work/admin.err" >&2; fail "describing the journal topic"; }
for wanted in "cleanup.policy=delete" "retention.ms=-1" "retention.bytes=-1"; do
  grep -q "_apicurio-kafkasql-journal $wanted\$" "$work/journal.out" ||
    { cat "$work/journal.out" >&2; fail "the journal topic lacks $wanted (APICURIO_KAFKASQL_TOPIC_* not applied)"; }
done
say "journal topic kept forever: $(grep -o '[a-z.]*=[^ ]*' "$work/journal.out" | tr '\n' ' ')"

as synchronizer "$work/secrets/synchronizer/password" "$BIN/synchronizer" --timeout 60s apply >"$work/apply.out" 2>&1 ||
  { cat "$work/apply.out" >&2; tail -n 30 "$work/registry.log" >&2; fail "synchronizer apply"; }
subjects="$(curl -fsS "$REGISTRY/subjects" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
((subjects > 0)) || fail "no subjects registered"
say "synchronizer apply (topics, $subjects schemas through the registry): $(tail -1 "$work/apply.out")"

# The global rules from the environment (the ccompat GET /config shows only rules set through the
# API, so they are tried): a schema that does not parse, and a BACKWARD-incompatible change.
register() { # <subject> <schema JSON>: prints the HTTP status
  curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
    --data "$(python3 -c 'import json,sys; print(json.dumps({"schema": sys.argv[1]}))' "$2")" \
    "$REGISTRY/subjects/$1/versions"
}
status="$(register compose-test-broken '{"type": "record", "name": "R", "fields": [')"
[[ "$status" == 422 ]] || fail "a schema that does not parse: HTTP $status, want 422 (APICURIO_RULES_GLOBAL_VALIDITY)"
status="$(register compose-test-compat '{"type": "record", "name": "R", "fields": [{"name": "a", "type": "string"}]}')"
[[ "$status" == 200 ]] || fail "registering a schema: HTTP $status"
status="$(register compose-test-compat '{"type": "record", "name": "R", "fields": [{"name": "a", "type": "string"}, {"name": "b", "type": "int"}]}')"
[[ "$status" == 409 ]] || fail "a BACKWARD-incompatible change: HTTP $status, want 409 (APICURIO_RULES_GLOBAL_COMPATIBILITY)"
say "global rules: a schema that does not parse is refused (422), an incompatible change too (409)"
say "passed"
