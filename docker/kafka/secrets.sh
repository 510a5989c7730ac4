#!/usr/bin/env bash
# Makes the TLS material and the SCRAM passwords of the compose cluster, once: a one-shot
# container of the Kafka image (its keytool; no openssl needed) that writes into the
# `kafka-secrets` volume and exits 0. Each service mounts only its own directory of that volume
# (a `subpath` mount), so it sees its own password and nothing else:
#
#   ca/                      the CA's key store (only this script uses it) and ca.crt
#   <broker host>/           keystore.p12 (+ .password), truststore.p12 (+ .password), ca.crt,
#                            scram/<principal>.password of every principal (the broker writes
#                            them into its metadata when it formats its storage), admin.properties
#                            (the admin's client configuration, for the healthcheck and operators)
#   synchronizer/, command-handler/, projector/, graphql-endpoint/
#                            password, ca.crt: what librdkafka needs
#   schema-registry/         kafkasql.properties (its Kafka clients' settings with its password),
#                            truststore.p12
#
# Run again, it keeps what exists and makes only what is missing. Variables:
#   SECRETS      the volume's mount point (default /secrets)
#   BROKERS      the brokers' host names, space-separated (default "kafka")
#   OWNER        uid:gid of the services' files (default 10001:10001, the Rust images' user)
#   KAFKA_OWNER  uid:gid of the brokers' files (default 1000:1000, the Kafka image's user)
#   REGISTRY_OWNER  uid:gid of the registry's files (default 1001:0, the Apicurio image's user)
# Tested outside Docker by scripts/test-compose-kafka.sh against the Kafka distribution.
set -euo pipefail

SECRETS="${SECRETS:-/secrets}"
BROKERS="${BROKERS:-kafka}"
OWNER="${OWNER:-10001:10001}"
KAFKA_OWNER="${KAFKA_OWNER:-1000:1000}"
REGISTRY_OWNER="${REGISTRY_OWNER:-1001:0}"
KEYTOOL="${KEYTOOL:-keytool}"
VALIDITY_DAYS=3650
SERVICES=(synchronizer command-handler projector graphql-endpoint)
PRINCIPALS=(admin schema-registry "${SERVICES[@]}")

say() { echo "kafka-secrets: $*"; }

# 32 letters and digits from the kernel's random source.
random_secret() { LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32 || true; }

secret_file() { # <path>: a random secret, kept once made
  [[ -s "$1" ]] || { random_secret >"$1"; chmod 600 "$1"; }
}

keystore() { # <store> <password file> <keytool args...>
  local store="$1" pass_file="$2"
  shift 2
  "$KEYTOOL" "$@" -keystore "$store" -storetype PKCS12 -storepass:file "$pass_file"
}

umask 077
mkdir -p "$SECRETS/ca"
ca="$SECRETS/ca"
secret_file "$ca/ca.password"
if [[ ! -s "$ca/ca.p12" ]]; then
  say "new CA"
  keystore "$ca/ca.p12" "$ca/ca.password" -genkeypair -alias ca -dname "CN=open-bank-compose-ca" \
    -keyalg EC -groupname secp256r1 -validity "$VALIDITY_DAYS" -ext bc:c >/dev/null
  rm -f "$ca/ca.crt"
fi
[[ -s "$ca/ca.crt" ]] || keystore "$ca/ca.p12" "$ca/ca.password" -exportcert -alias ca -rfc -file "$ca/ca.crt"

passwords="$SECRETS/passwords"
mkdir -p "$passwords"
for principal in "${PRINCIPALS[@]}"; do
  secret_file "$passwords/$principal.password"
done

truststore() { # <dir>: truststore.p12 with the CA alone, and its password
  secret_file "$1/truststore.password"
  [[ -s "$1/truststore.p12" ]] ||
    keystore "$1/truststore.p12" "$1/truststore.password" -importcert -noprompt -alias ca \
      -file "$ca/ca.crt" >/dev/null
}

client_properties() { # <principal> <truststore dir as the client sees it> <truststore password>
  cat <<PROPERTIES
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$1" password="$(cat "$passwords/$1.password")";
ssl.truststore.type=PKCS12
ssl.truststore.location=$2/truststore.p12
ssl.truststore.password=$3
PROPERTIES
}

for host in $BROKERS; do
  dir="$SECRETS/$host"
  mkdir -p "$dir/scram"
  secret_file "$dir/keystore.password"
  if [[ ! -s "$dir/keystore.p12" ]]; then
    say "new certificate for $host"
    keystore "$dir/keystore.p12" "$dir/keystore.password" -genkeypair -alias node \
      -dname "CN=$host" -keyalg EC -groupname secp256r1 -validity "$VALIDITY_DAYS" >/dev/null
    # Server and client: the same certificate proves the node on the controller and inter-broker
    # listeners (mutual TLS), and its SANs name it for the services and for the host's clients.
    keystore "$dir/keystore.p12" "$dir/keystore.password" -certreq -alias node |
      keystore "$ca/ca.p12" "$ca/ca.password" -gencert -alias ca -rfc -validity "$VALIDITY_DAYS" \
        -ext "san=dns:$host,dns:localhost,ip:127.0.0.1" -ext "eku=serverAuth,clientAuth" \
        >"$dir/node.crt"
    keystore "$dir/keystore.p12" "$dir/keystore.password" -importcert -noprompt -alias ca \
      -file "$ca/ca.crt" >/dev/null
    keystore "$dir/keystore.p12" "$dir/keystore.password" -importcert -noprompt -alias node \
      -file "$dir/node.crt" >/dev/null
  fi
  truststore "$dir"
  cp "$ca/ca.crt" "$dir/ca.crt"
  cp "$passwords"/*.password "$dir/scram/"
  client_properties admin /run/kafka-secrets "$(cat "$dir/truststore.password")" >"$dir/admin.properties"
  chown -R "$KAFKA_OWNER" "$dir" 2>/dev/null || true
done

for service in "${SERVICES[@]}"; do
  dir="$SECRETS/$service"
  mkdir -p "$dir"
  cp "$passwords/$service.password" "$dir/password"
  cp "$ca/ca.crt" "$dir/ca.crt"
  chown -R "$OWNER" "$dir" 2>/dev/null || true
done

dir="$SECRETS/schema-registry"
mkdir -p "$dir"
truststore "$dir"
client_properties schema-registry /run/kafka-secrets "$(cat "$dir/truststore.password")" |
  sed 's/^/apicurio.kafka.common./' >"$dir/kafkasql.properties"
chown -R "$REGISTRY_OWNER" "$dir" 2>/dev/null || true

# Directories traversable by their owners only; each container sees just its own.
chmod 700 "$SECRETS"/*/
say "ready: brokers ($BROKERS), ${PRINCIPALS[*]}"
