#!/usr/bin/env bash
# Starts one KRaft node of the compose cluster with every listener on TLS. The compose files use
# these listeners (the names are theirs; this script goes by the protocols):
#
#   INTERNAL   :19092  SASL_SSL, SCRAM-SHA-512   the services and the registry (compose network)
#   EXTERNAL   :9092   SASL_SSL, SCRAM-SHA-512   clients on the host (published on 127.0.0.1 only)
#   BROKER     :19094  SSL, mutual TLS           broker to broker
#   CONTROLLER :9093   SSL, mutual TLS           the KRaft quorum
#
# What the node is comes from the environment, as the apache/kafka image's own start script reads
# it, so the compose file keeps describing the cluster: every KAFKA_<NAME> becomes the property
# <name> in lower case, `_` read as `.` (`__` as `_`, `___` as `-`): KAFKA_NODE_ID -> node.id,
# KAFKA_LISTENERS, KAFKA_ADVERTISED_LISTENERS, KAFKA_LISTENER_SECURITY_PROTOCOL_MAP,
# KAFKA_CONTROLLER_QUORUM_VOTERS, replication settings, ... The launcher's own variables are not
# properties: KAFKA_HEAP_OPTS, KAFKA_OPTS and every other *_OPTS, KAFKA_HOME, KAFKA_VERSION,
# KAFKA_DEBUG. CLUSTER_ID names the cluster when the storage is formatted.
#
# How the node is secured is fixed here, and the environment cannot change it (it refuses to
# start on a KAFKA_SSL_*, KAFKA_SASL_*, KAFKA_LISTENER_NAME_*, KAFKA_SUPER_USERS, ... variable):
#   - a listener is SSL (mutual TLS: the peer proves itself with a certificate of the compose CA,
#     a node being User:CN=<host>) or SASL_SSL (SCRAM-SHA-512 passwords); PLAINTEXT and
#     SASL_PLAINTEXT are refused, and the controller and inter-broker listeners must be SSL, since
#     a node has a certificate and no password;
#   - the key and trust stores are this node's directory of the kafka-secrets volume (SECRETS),
#     their passwords read from files there by Kafka's DirectoryConfigProvider, so the rendered
#     configuration holds no secret;
#   - authorization is on and denies whatever no ACL allows; the super users are admin (the
#     healthcheck and operators), synchronizer (it grants the services their ACLs from the
#     topology) and every node of KAFKA_CONTROLLER_QUORUM_VOTERS (User:CN=<host>).
# The SCRAM credentials of every principal (SECRETS/scram/<principal>.password) are written into
# the metadata when the storage is formatted (first start), so they exist before any listener
# opens.
#
# Other variables: SECRETS (default /run/kafka-secrets), KAFKA_HOME (default /opt/kafka), CONFIG
# (where the rendered configuration goes, default /tmp/server.properties), JAVA (default java).
# Tested outside Docker by scripts/test-compose-kafka.sh against the Kafka distribution, with the
# broker environment of docker/docker-compose.yml.
set -euo pipefail

SECRETS="${SECRETS:-/run/kafka-secrets}"
KAFKA_HOME="${KAFKA_HOME:-/opt/kafka}"
CONFIG="${CONFIG:-/tmp/server.properties}"

die() { echo "start.sh: $*" >&2; exit 1; }

: "${CLUSTER_ID:?start.sh: CLUSTER_ID is required (formats the storage)}"
for var in KAFKA_NODE_ID KAFKA_CONTROLLER_QUORUM_VOTERS KAFKA_LISTENERS KAFKA_LISTENER_SECURITY_PROTOCOL_MAP \
  KAFKA_LOG_DIRS; do
  [[ -n "${!var:-}" ]] || die "$var is required"
done
[[ -d "$SECRETS" ]] || die "no $SECRETS: mount this node's directory of the kafka-secrets volume there"

# --- the node's settings, from the environment -----------------------------------------------
fixed_var() { # <var>: a security setting this script owns
  case "$1" in
  KAFKA_SSL_* | KAFKA_SASL_* | KAFKA_LISTENER_NAME_* | KAFKA_SUPER_USERS | KAFKA_AUTHORIZER_* | \
    KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND | KAFKA_CONFIG_PROVIDERS* | KAFKA_PRINCIPAL_BUILDER_CLASS) return 0 ;;
  *) return 1 ;;
  esac
}

properties=""
while read -r var; do
  case "$var" in
  KAFKA_HOME | KAFKA_VERSION | KAFKA_DEBUG | *_OPTS) continue ;;
  esac
  fixed_var "$var" && die "$var: the security settings are fixed in docker/kafka/start.sh, not set from the environment"
  value="${!var}"
  [[ "$value" != *$'\n'* ]] || die "$var: a value on several lines"
  name="${var#KAFKA_}"
  name="${name,,}"
  name="${name//___/-}"
  name="${name//__/@}"
  name="${name//_/.}"
  name="${name//@/_}"
  # A .properties file reads a backslash as an escape: keep it literal.
  properties+="$name=${value//\\/\\\\}"$'\n'
done < <(compgen -e | grep '^KAFKA_.' | LC_ALL=C sort)

# --- the listeners: SSL or SASL_SSL, nothing in clear ------------------------------------------
declare -A protocol=()
for entry in ${KAFKA_LISTENER_SECURITY_PROTOCOL_MAP//,/ }; do
  protocol["${entry%%:*}"]="${entry#*:}"
done
for entry in ${KAFKA_LISTENERS//,/ }; do
  listener="${entry%%://*}"
  [[ -n "${protocol[$listener]:-}" ]] || die "listener $listener is not in KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"
done
inter_broker="${KAFKA_INTER_BROKER_LISTENER_NAME:-}"
[[ -n "$inter_broker" ]] || die "KAFKA_INTER_BROKER_LISTENER_NAME is required (an SSL listener: nodes have no password)"
for listener in ${KAFKA_CONTROLLER_LISTENER_NAMES//,/ } "$inter_broker"; do
  [[ "${protocol[$listener]:-}" == SSL ]] ||
    die "listener $listener (controller or inter-broker) is ${protocol[$listener]:-not mapped}, want SSL: a node proves itself with its certificate"
done

security="# Fixed by docker/kafka/start.sh.
config.providers=dir
config.providers.dir.class=org.apache.kafka.common.config.provider.DirectoryConfigProvider
config.providers.dir.param.allowed.paths=$SECRETS
ssl.keystore.type=PKCS12
ssl.keystore.location=$SECRETS/keystore.p12
ssl.keystore.password=\${dir:$SECRETS:keystore.password}
ssl.key.password=\${dir:$SECRETS:keystore.password}
ssl.truststore.type=PKCS12
ssl.truststore.location=$SECRETS/truststore.p12
ssl.truststore.password=\${dir:$SECRETS:truststore.password}
ssl.enabled.protocols=TLSv1.3,TLSv1.2
sasl.enabled.mechanisms=SCRAM-SHA-512
"
for listener in $(printf '%s\n' "${!protocol[@]}" | LC_ALL=C sort); do
  lower="${listener,,}"
  case "${protocol[$listener]}" in
  SSL) security+="listener.name.$lower.ssl.client.auth=required"$'\n' ;;
  SASL_SSL)
    security+="listener.name.$lower.sasl.enabled.mechanisms=SCRAM-SHA-512"$'\n'
    security+="listener.name.$lower.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;"$'\n'
    ;;
  *) die "listener $listener is ${protocol[$listener]}: every listener must be SSL or SASL_SSL" ;;
  esac
done

# The nodes are the hosts of the quorum voters (id@host:port): each authenticates as the CN of
# its certificate, which kafka/secrets.sh makes CN=<host>.
super_users="User:admin;User:synchronizer"
for voter in ${KAFKA_CONTROLLER_QUORUM_VOTERS//,/ }; do
  host="${voter#*@}"
  host="${host%:*}"
  [[ ";$super_users;" == *";User:CN=$host;"* ]] || super_users+=";User:CN=$host"
done
security+="authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=$super_users
"

printf '# Rendered by docker/kafka/start.sh from the KAFKA_* environment.\n%s\n%s' "$properties" "$security" >"$CONFIG"

# --- first start: format the storage with every principal's SCRAM credential -----------------
quoted() { # <arg>: one argument of a java @argfile
  local text="${1//\\/\\\\}"
  printf '"%s"\n' "${text//\"/\\\"}"
}

data_dir="${KAFKA_METADATA_LOG_DIR:-${KAFKA_LOG_DIRS%%,*}}"
if [[ ! -f "$data_dir/meta.properties" ]]; then
  # The passwords go to the format tool in a java @argfile (mode 600, removed right after), never
  # on a command line that `ps` shows.
  argfile="$(mktemp)"
  chmod 600 "$argfile"
  {
    for arg in kafka.tools.StorageTool format --cluster-id "$CLUSTER_ID" --config "$CONFIG" --ignore-formatted; do
      quoted "$arg"
    done
    for file in "$SECRETS"/scram/*.password; do
      [[ -f "$file" ]] || die "no SCRAM passwords in $SECRETS/scram (run kafka/secrets.sh first)"
      quoted --add-scram
      quoted "SCRAM-SHA-512=[name=$(basename "$file" .password),password=$(cat "$file")]"
    done
  } >"$argfile"
  status=0
  # (It prints the salted credentials it writes; only errors are of interest.)
  "${JAVA:-java}" -cp "$KAFKA_HOME/libs/*" "@$argfile" >/dev/null || status=$?
  rm -f "$argfile"
  ((status == 0)) || exit "$status"
fi
if [[ -x "$KAFKA_HOME/bin/kafka-server-start.sh" ]]; then
  exec "$KAFKA_HOME/bin/kafka-server-start.sh" "$CONFIG"
fi
# A distribution of jars only (what scripts/infra.sh assembles from Maven Central).
# shellcheck disable=SC2086 # KAFKA_HEAP_OPTS holds several options
exec "${JAVA:-java}" ${KAFKA_HEAP_OPTS:-} -cp "$KAFKA_HOME/libs/*" kafka.Kafka "$CONFIG"
