#!/usr/bin/env bash
# scripts/validate-compose.sh — check the Docker Compose files without a Docker engine.
#
#   scripts/validate-compose.sh                 # docker/docker-compose.yml + docker/docker-compose.three-brokers.yml
#   scripts/validate-compose.sh FILE...         # any compose files (e.g. an edited copy, kept in
#                                               # docker/ so its build contexts still resolve)
#
# Per file:
#   * the YAML parses as Compose reads it (no duplicate keys; `${VAR:-default}` / `$$` interpolated);
#   * it is valid against the official Compose Specification JSON schema (draft-07), as shipped in
#     the npm package dclint@3.1.0 (schemas/compose.schema.json, a copy of compose-spec's
#     schema/compose-spec.json), checked with Python's jsonschema;
#   * this project's rules: depends_on targets exist and form no cycle; every dependency on a service
#     with a healthcheck waits for service_healthy (no sleep-based or start-only ordering); the
#     synchronizer is a one-shot `apply` waiting for healthy brokers + registry; a one-shot
#     `acls --apply` of the synchronizer's image (kafka-acls) waits for healthy brokers and the registry
#     waits for it to complete (its principal needs its ACLs before it creates its topics); the services
#     wait for the synchronizer's service_completed_successfully; long-running services have a
#     healthcheck and a memory limit; every image has a pinned tag (no :latest); the Rust services get
#     no broker KAFKA_* settings and reach the brokers on their internal listener, the registry on its
#     Confluent-compatible API (/apis/ccompat/v7); the KRaft brokers agree (ids, cluster id, quorum,
#     default and internal-topic replication for the broker count, no auto-created topics);
#     security: the kafka-secrets volume is made by one one-shot of the broker image running
#     docker/kafka/secrets.sh for exactly the file's brokers, and every other container mounts only its
#     own directory of it (volume.subpath), read-only at /run/kafka-secrets, after it was made; every
#     broker listener is SSL or SASL_SSL (none PLAINTEXT: SASL_SSL for the services' and the host's,
#     SSL for the controller and inter-broker ones), the brokers run docker/kafka/start.sh (mounted
#     read-only) with no security setting of their own, each with its own directory, and their
#     healthcheck logs in as admin (admin.properties); every Rust service connects with SASL_SSL +
#     SCRAM-SHA-512 as KAFKA_SASL_USERNAME = its SERVICE build arg (synchronizer and kafka-acls:
#     synchronizer), its password only from KAFKA_SASL_PASSWORD_FILE (KAFKA_SASL_PASSWORD nowhere in
#     the file); the registry is Apicurio on kafkasql over every broker, its topics and consumer group
#     inside principal schema-registry's ACL prefixes (contract/topology.toml), its journal kept forever,
#     its Kafka clients' security from its own secrets directory, ready on /health/ready; only the web
#     app and the GraphQL endpoint publish ports on every interface, all others on 127.0.0.1; the
#     operator's secrets (COMMAND_HANDLER_SAGA_SECRET, GRAPHQL_TOKEN_SECRET, Grafana's
#     GF_SECURITY_ADMIN_PASSWORD) are required `${VAR:?…}` without default;
#     the command-handler replicas (built with SERVICE=command-handler) each have their own
#     COMMAND_HANDLER_TRANSACTIONAL_ID, share one COMMAND_HANDLER_GROUP, are each waited for by the
#     GraphQL endpoint, and the brokers abort a killed replica's open transaction within a second
#     (KAFKA_TRANSACTION_ABORT_TIMED_OUT_TRANSACTION_CLEANUP_INTERVAL_MS <= 1000); likewise the
#     projector replicas (SERVICE=projector): own PROJECTOR_TRANSACTIONAL_ID, one PROJECTOR_GROUP,
#     one PROJECTOR_QUERY_GROUP, each waited for by the endpoint;
#     published ports are quoted and unique; every built service's Dockerfile and its
#     <Dockerfile>.dockerignore exist; the frontend's nginx server block (found through the COPY in
#     docker/Dockerfile.frontend) proxies to a service of the file on the port it serves, which the
#     frontend waits for with service_healthy, and listens on the published port its healthcheck asks;
#     monitoring (scripts/validate_monitoring.py): the prometheus service mounts
#     docker/prometheus/prometheus.yml read-only as its configuration, every replica of a service kind
#     that serves metrics is a scrape target on its metrics port (the port of its /health) and every
#     target is such a replica; grafana waits for a healthy prometheus, mounts the provisioning and
#     the dashboards read-only, its data source is the prometheus service, anonymous users only view.
# Once per run, the monitoring files themselves: `promtool check config` on
# docker/prometheus/prometheus.yml (promtool from Debian's prometheus package), its jobs and
# targets; docker/prometheus/metric-families.yml (the one list of the families the services serve);
# Grafana's provisioning files against its documented keys; each dashboard in docker/grafana/dashboards/
# against a dashboard schema (uid, panels, layout, the provisioned data source on every query), its
# expressions through `promtool check rules` and promql-parser: only served families and their
# labels, histograms through _bucket/_count/_sum, quantiles that keep le, scraped jobs; and every
# family is on a dashboard.
# Also once per run: the schema, the project's rules, promtool and the monitoring checks reject
# deliberately broken variants (so they really detect errors), and, given both default files, the
# three-broker variant runs the same services (registry, Rust services, frontend, prometheus, grafana)
# as the single one, differing only in the brokers' addresses.
# The variables the files require (`${VAR:?…}`) get placeholders here when unset.
#
# Ends with `N passed, M failed`; exit status 1 when anything failed, 2 on a setup error.
#
# First run: fetches the schema package from the npm registry (integrity-checked against the pinned
# sha512), makes a Python venv with pinned jsonschema + PyYAML + promql-parser from PyPI, and
# unpacks promtool from Debian's prometheus package (`apt-get download`, about 4 s; nothing is
# installed), all cached under ${OPEN_BANK_CACHE:-$HOME/.cache/open-bank}/compose-schema/; later runs
# work offline (about 1.5 s). Needs python3 (>= 3.10), npm (Node; without npm the tarball is fetched
# with Python from ${NPM_CONFIG_REGISTRY:-https://registry.npmjs.org}) and apt-get + dpkg-deb
# (elsewhere: OPEN_BANK_PROMTOOL=/path/to/promtool).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${OPEN_BANK_CACHE:-$HOME/.cache/open-bank}/compose-schema"

SCHEMA_PACKAGE="dclint"
SCHEMA_VERSION="3.1.0"
SCHEMA_INTEGRITY="sha512-afTGdzRFUXK4yCpIiEW/LOR+9TOMEDhNldDp56VCWzn7JDmD451PcUi640GGlMHgbHKJ10rDBm4PtpcBbjqlXw=="
SCHEMA_MEMBER="package/schemas/compose.schema.json"
SCHEMA_DIR="$CACHE/$SCHEMA_PACKAGE-$SCHEMA_VERSION"
SCHEMA_FILE="$SCHEMA_DIR/compose.schema.json"

# The validator and its whole dependency closure, pinned.
PY_REQUIREMENTS=(
  "jsonschema==4.26.0"
  "jsonschema-specifications==2025.9.1"
  "referencing==0.37.0"
  "rpds-py==2026.9.1"
  "attrs==26.1.0"
  "typing-extensions==4.16.0"
  "PyYAML==6.0.3"
  "promql-parser==0.11.0"
)
VENV="$CACHE/venv"

die() { echo "validate-compose: $*" >&2; exit 2; }

PYTHON="${OPEN_BANK_PYTHON:-python3}"
command -v "$PYTHON" >/dev/null 2>&1 || die "python3 not found (needed for the validator)"

# ---------------------------------------------------------------------------------------------------
# The schema: npm package dclint@3.1.0, integrity-checked, unpacked once into the cache.
# ---------------------------------------------------------------------------------------------------
fetch_schema() {
  local tmp tarball
  tmp="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand $tmp now: it is local (EXIT too: die() leaves by exit)
  trap "rm -rf '$tmp'" RETURN EXIT
  echo "validate-compose: fetching the Compose Specification schema ($SCHEMA_PACKAGE@$SCHEMA_VERSION from npm) into $SCHEMA_DIR" >&2
  if command -v npm >/dev/null 2>&1; then
    if ! (cd "$tmp" && npm pack --silent "$SCHEMA_PACKAGE@$SCHEMA_VERSION" >"$tmp/npm.out" 2>"$tmp/npm.err"); then
      cat "$tmp/npm.err" >&2
      die "npm pack $SCHEMA_PACKAGE@$SCHEMA_VERSION failed"
    fi
  else
    local registry="${NPM_CONFIG_REGISTRY:-https://registry.npmjs.org}"
    "$PYTHON" - "${registry%/}/$SCHEMA_PACKAGE/-/$SCHEMA_PACKAGE-$SCHEMA_VERSION.tgz" \
      "$tmp/$SCHEMA_PACKAGE-$SCHEMA_VERSION.tgz" <<'PY' || die "download of the schema package failed (no npm found either)"
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=60) as response, open(sys.argv[2], "wb") as out:
    out.write(response.read())
PY
  fi
  tarball="$tmp/$SCHEMA_PACKAGE-$SCHEMA_VERSION.tgz"
  [ -s "$tarball" ] || die "no $tarball after fetching"
  "$PYTHON" - "$tarball" "$SCHEMA_INTEGRITY" <<'PY' || die "integrity check of $SCHEMA_PACKAGE@$SCHEMA_VERSION failed"
import base64, hashlib, sys
actual = "sha512-" + base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode()
if actual != sys.argv[2]:
    sys.exit(f"integrity mismatch: expected {sys.argv[2]}, got {actual}")
PY
  tar -xzf "$tarball" -C "$tmp" "$SCHEMA_MEMBER" package/package.json package/LICENSE \
    || die "$SCHEMA_MEMBER not found in $SCHEMA_PACKAGE@$SCHEMA_VERSION"
  mkdir -p "$tmp/out"
  cp "$tmp/$SCHEMA_MEMBER" "$tmp/out/compose.schema.json"
  cp "$tmp/package/package.json" "$tmp/package/LICENSE" "$tmp/out/"
  echo "$SCHEMA_INTEGRITY" >"$tmp/out/INTEGRITY"
  mkdir -p "$CACHE"
  rm -rf "$SCHEMA_DIR"
  mv "$tmp/out" "$SCHEMA_DIR"
}

# ---------------------------------------------------------------------------------------------------
# The validator: a venv with pinned jsonschema + PyYAML, made once (remade when the pins change).
# ---------------------------------------------------------------------------------------------------
ensure_venv() {
  local stamp="$VENV/.open-bank-requirements" wanted
  wanted="$(printf '%s\n' "${PY_REQUIREMENTS[@]}")"
  if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
    return
  fi
  echo "validate-compose: installing ${PY_REQUIREMENTS[*]} into $VENV" >&2
  rm -rf "$VENV"
  mkdir -p "$CACHE"
  "$PYTHON" -m venv "$VENV" || die "cannot create a venv with $PYTHON (Debian: apt-get install python3-venv)"
  local log="$CACHE/pip-install.log"
  if ! "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input --quiet \
      "${PY_REQUIREMENTS[@]}" >"$log" 2>&1; then
    cat "$log" >&2
    rm -rf "$VENV"
    die "pip install of the validator failed"
  fi
  printf '%s\n' "$wanted" >"$stamp"
}

# ---------------------------------------------------------------------------------------------------
# promtool, Prometheus's own checker, from Debian's `prometheus` package: `apt-get download` (apt
# checks it against the signed archive; no root needed), and only usr/bin/promtool unpacked into the
# cache: nothing is installed, no Prometheus server set up. A machine without package lists gets
# them first (apt-get update, as root or through sudo). OPEN_BANK_PROMTOOL=/path/to/promtool
# uses another one (e.g. off Debian).
# ---------------------------------------------------------------------------------------------------
PROMTOOL_DIR="$CACHE/promtool"
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else return 1; fi
}
ensure_promtool() {
  if [ -n "${OPEN_BANK_PROMTOOL:-}" ]; then
    PROMTOOL="$OPEN_BANK_PROMTOOL"
    "$PROMTOOL" --version >/dev/null 2>&1 || die "OPEN_BANK_PROMTOOL=$PROMTOOL does not run"
    return
  fi
  PROMTOOL="$PROMTOOL_DIR/promtool"
  if [ -x "$PROMTOOL" ] && "$PROMTOOL" --version >/dev/null 2>&1; then
    return
  fi
  if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
    die "promtool is needed: this is no Debian machine (no apt-get/dpkg-deb); set OPEN_BANK_PROMTOOL to a promtool binary"
  fi
  local tmp
  tmp="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand $tmp now: it is local (EXIT too: die() leaves by exit)
  trap "rm -rf '$tmp'" RETURN EXIT
  echo "validate-compose: fetching promtool (Debian package prometheus, apt-get download) into $PROMTOOL_DIR" >&2
  if ! (cd "$tmp" && apt-get download prometheus >"$tmp/apt.log" 2>&1); then
    echo "validate-compose: no prometheus package known yet; apt-get update first" >&2
    as_root apt-get update -qq >>"$tmp/apt.log" 2>&1 \
      || { cat "$tmp/apt.log" >&2; die "apt-get update failed (needs root or sudo)"; }
    (cd "$tmp" && apt-get download prometheus >>"$tmp/apt.log" 2>&1) \
      || { cat "$tmp/apt.log" >&2; die "apt-get download prometheus failed"; }
  fi
  local deb
  deb="$(find "$tmp" -maxdepth 1 -name 'prometheus_*.deb' | head -n 1)"
  [ -n "$deb" ] || die "apt-get download left no prometheus_*.deb"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" ./usr/bin/promtool \
    || die "no usr/bin/promtool in $(basename "$deb")"
  "$tmp/usr/bin/promtool" --version >/dev/null 2>&1 || die "the promtool of $(basename "$deb") does not run"
  mkdir -p "$PROMTOOL_DIR"
  dpkg-deb -f "$deb" Version >"$PROMTOOL_DIR/DEBIAN-VERSION"
  mv -f "$tmp/usr/bin/promtool" "$PROMTOOL"
}

if ! [ -s "$SCHEMA_FILE" ] || [ "$(cat "$SCHEMA_DIR/INTEGRITY" 2>/dev/null)" != "$SCHEMA_INTEGRITY" ]; then
  fetch_schema
fi
ensure_venv
ensure_promtool

if [ "$#" -eq 0 ]; then
  set -- "$ROOT/docker/docker-compose.yml" "$ROOT/docker/docker-compose.three-brokers.yml"
fi
for file in "$@"; do
  [ -f "$file" ] || die "no such file: $file"
done

# The secrets the compose files require (`${VAR:?…}`): checked as compose reads the files once
# the operator set them. Placeholders here; never values to deploy.
export COMMAND_HANDLER_SAGA_SECRET="${COMMAND_HANDLER_SAGA_SECRET:-placeholder-saga-secret-for-validation-only}"
export GRAPHQL_TOKEN_SECRET="${GRAPHQL_TOKEN_SECRET:-placeholder-token-secret-for-validation-only}"
export GRAFANA_ADMIN_PASSWORD="${GRAFANA_ADMIN_PASSWORD:-placeholder-grafana-password-for-validation-only}"

OPEN_BANK_VALIDATE_PROMTOOL="$PROMTOOL" exec "$VENV/bin/python" - "$SCHEMA_FILE" "$SCHEMA_PACKAGE@$SCHEMA_VERSION" "$ROOT" "$@" <<'PY'
"""Compose file checks: Compose Specification schema + Open Bank's own rules."""
import copy
import importlib.metadata
import json
import os
import re
import sys

import types

import jsonschema
import yaml

schema_path, schema_source, root, *files = sys.argv[1:]
sys.path.insert(0, os.path.join(root, "scripts"))
sys.dont_write_bytecode = True  # no __pycache__ in the work tree
import validate_monitoring  # noqa: E402 — scripts/validate_monitoring.py: Prometheus + Grafana

RUST_DOCKERFILE = "docker/Dockerfile.rust"
FRONTEND_DOCKERFILE = "docker/Dockerfile.frontend"
# Where docker/Dockerfile.frontend puts nginx's server block (its COPY line names the source).
NGINX_SERVER_CONF = "/etc/nginx/conf.d/default.conf"
SYNCHRONIZER = "synchronizer"
COMMAND_HANDLER = "command-handler"
GRAPHQL_ENDPOINT = "graphql-endpoint"
# The command handler's own defaults (command-handler/src/main.rs), for replicas that set none.
HANDLER_DEFAULT_ID = "command-handler"
HANDLER_DEFAULT_GROUP = "command-handler"
PROJECTOR = "projector"
# The projector's own defaults (projector/src/main.rs): its transactional id, which is also its
# static member id, and the two groups its replicas must share.
PROJECTOR_DEFAULT_ID = "projector-transactions"
PROJECTOR_DEFAULT_GROUPS = {"PROJECTOR_GROUP": "projector", "PROJECTOR_QUERY_GROUP": "projector-queries"}
# How often the brokers must look for timed-out transactions (ms): a SIGKILLed replica's open
# transaction blocks its partitions until aborted (the handler's transaction.timeout.ms is 10 s).
ABORT_CLEANUP_VAR = "KAFKA_TRANSACTION_ABORT_TIMED_OUT_TRANSACTION_CLEANUP_INTERVAL_MS"
ABORT_CLEANUP_MAX_MS = 1000
BROKER_IMAGE = "apache/kafka"
REGISTRY_IMAGE = "apicurio/apicurio-registry"
# The Confluent-compatible API of Apicurio, what the services' SCHEMA_REGISTRY_URL names.
REGISTRY_API_PATH = "/apis/ccompat/v7"
REGISTRY_DEFAULT_PORT = "8080"
# The brokers' listener the services and the registry use (SASL_SSL).
INTERNAL_LISTENER = "INTERNAL"
# The kafka-secrets volume (written by docker/kafka/secrets.sh): one directory per broker host and
# per principal; every other container mounts its own directory, read-only, at SECRETS_TARGET.
SECRETS_VOLUME = "kafka-secrets"
SECRETS_TARGET = "/run/kafka-secrets"
SECRETS_SCRIPT = "docker/kafka/secrets.sh"
START_SCRIPT = "docker/kafka/start.sh"
REGISTRY_PRINCIPAL = "schema-registry"
# The principals' ACLs: the registry's topics and groups must be under its prefixes.
TOPOLOGY = "contract/topology.toml"
# What every Rust service's Kafka client is: TLS, a SCRAM login, the password read from its file.
CLIENT_SECURITY = {
    "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "KAFKA_SASL_MECHANISMS": "SCRAM-SHA-512",
    "KAFKA_SSL_CA_LOCATION": f"{SECRETS_TARGET}/ca.crt",
    "KAFKA_SASL_PASSWORD_FILE": f"{SECRETS_TARGET}/password",
}
# Variables a Rust service may see that start with KAFKA_ (all others go to rdkafka verbatim and
# would be broker settings copied by mistake).
CLIENT_KAFKA_VARS = {"KAFKA_BROKERS", "KAFKA_SASL_USERNAME", *CLIENT_SECURITY}
# Broker settings docker/kafka/start.sh fixes itself (it refuses to start when one is set).
BROKER_FIXED_VARS = re.compile(r"^KAFKA_(SSL_|SASL_|LISTENER_NAME_|AUTHORIZER_|CONFIG_PROVIDERS|SUPER_USERS$"
                               r"|ALLOW_EVERYONE_IF_NO_ACL_FOUND$|PRINCIPAL_BUILDER_CLASS$)")
# Secrets only the operator gives: `${VAR:?message}` in the file, never a default anyone can read.
OPERATOR_SECRETS = ("COMMAND_HANDLER_SAGA_SECRET", "GRAPHQL_TOKEN_SECRET", "GF_SECURITY_ADMIN_PASSWORD")
REQUIRED_VARIABLE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*:\?.+\}$", re.S)
LOOPBACK = {"127.0.0.1", "::1"}

passed = failed = 0
# While a self-test runs the rules on broken variants: [(title, problems)], nothing printed or counted.
captured = None


def display(path):
    try:
        rel = os.path.relpath(path, root)
        return path if rel.startswith("..") else rel
    except ValueError:
        return path


def report(ok, title, problems=()):
    global passed, failed
    if captured is not None:
        captured.append((title, list(problems)))
        return ok
    if ok:
        passed += 1
        print(f"  ok    {title}")
    else:
        failed += 1
        print(f"  FAIL  {title}")
        for problem in problems:
            print(f"          - {problem}")
    return ok


def check(title, problems):
    problems = list(problems)
    return report(not problems, title, problems)


# --- reading a compose file the way Compose does -----------------------------------------------------

class ComposeLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys (Compose does; PyYAML would keep the last one)."""


def _construct_mapping(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                f"duplicate key {key!r} (first at line {seen[key] + 1})", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


ComposeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

VAR = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def interpolate(value):
    """Compose interpolation: $$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}, ${VAR:+r}."""
    if isinstance(value, dict):
        return {k: interpolate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match):
        dollar, name, op, arg, bare = match.groups()
        if dollar:
            return "$"
        name = name or bare
        current = os.environ.get(name)
        if op in (":-", "-"):
            unset = current is None or (op == ":-" and current == "")
            return interpolate(arg) if unset else current
        if op in (":?", "?"):
            if current is None or (op == ":?" and current == ""):
                raise ValueError(f"required variable {name} is missing: {arg}")
            return current
        if op in (":+", "+"):
            set_ = current is not None and (op == "+" or current != "")
            return interpolate(arg) if set_ else ""
        return current or ""

    return VAR.sub(substitute, value)


def load_raw(path):
    """The file as written (anchors merged), before interpolation."""
    with open(path, encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=ComposeLoader)  # noqa: S506 (SafeLoader subclass)
    if not isinstance(data, dict):
        raise ValueError("the top level is not a mapping")
    return data


def load(path):
    return interpolate(load_raw(path))


# --- the schema ---------------------------------------------------------------------------------------

with open(schema_path, encoding="utf-8") as handle:
    schema = json.load(handle)
jsonschema.Draft7Validator.check_schema(schema)
validator = jsonschema.Draft7Validator(schema)


def schema_problems(data, limit=12):
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    problems = []
    for error in errors[:limit]:
        # oneOf/anyOf failures carry the useful reason in their context: take the deepest one
        # (e.g. depends_on.x.condition rather than "depends_on is not of type 'array'").
        best = error
        while best.context:
            deepest = max(len(e.absolute_path) for e in best.context)
            best = jsonschema.exceptions.best_match(
                [e for e in best.context if len(e.absolute_path) == deepest])
        where = ".".join(str(p) for p in best.absolute_path) or "(top level)"
        message = best.message if len(best.message) <= 200 else best.message[:200] + "…"
        problems.append(f"{where}: {message}")
    if len(errors) > limit:
        problems.append(f"... and {len(errors) - limit} more")
    return problems


# --- helpers over a loaded file ---------------------------------------------------------------------

def env_of(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = {}
        for item in env:
            name, _, value = str(item).partition("=")
            pairs[name] = value if "=" in str(item) else None
        return pairs
    return {k: (None if v is None else str(v)) for k, v in env.items()}


def depends_of(service):
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: {"condition": "service_started"} for name in deps}
    return {name: (spec or {"condition": "service_started"}) for name, spec in deps.items()}


def image_of(service):
    return str(service.get("image") or "")


def is_rust_service(service):
    build = service.get("build")
    return isinstance(build, dict) and str(build.get("dockerfile", "")).endswith(RUST_DOCKERFILE)


def is_frontend_service(service):
    build = service.get("build")
    return isinstance(build, dict) and str(build.get("dockerfile", "")).endswith(FRONTEND_DOCKERFILE)


def build_arg(service, name):
    """A build arg of a built service (mapping or NAME=value list form), or None."""
    build = service.get("build")
    args = build.get("args") if isinstance(build, dict) else None
    if isinstance(args, list):
        args = dict(str(item).partition("=")[::2] for item in args)
    return str((args or {}).get(name)) if (args or {}).get(name) is not None else None


def build_files(path, service):
    """(context dir, Dockerfile path) of a built service, resolved as Compose does, or None."""
    build = service.get("build")
    if build is None:
        return None
    if not isinstance(build, dict):
        build = {"context": build}
    context = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(path)), str(build.get("context", "."))))
    return context, os.path.join(context, str(build.get("dockerfile", "Dockerfile")))


def container_ports(service):
    out = set()
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            out.add(str(port.get("target", "")))
        else:
            out.add(str(port).split("/")[0].split(":")[-1])
    return out


def nginx_settings(text):
    """(listen ports, proxied http://host:port targets) of an nginx configuration, comments ignored."""
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    body = "\n".join(lines)
    listen = set(re.findall(r"^\s*listen\s+(?:[^\s;]*:)?(\d+)\b", body, re.M))
    targets = set(re.findall(r"http://([A-Za-z0-9_.-]+):(\d+)", body))
    return listen, targets


def is_one_shot(service):
    return str(service.get("restart", "no")) == "no"


def has_healthcheck(service):
    hc = service.get("healthcheck")
    if not isinstance(hc, dict) or hc.get("disable"):
        return False
    test = hc.get("test")
    return bool(test) and test != ["NONE"] and test != "NONE"


def memory_limit(service):
    limit = service.get("mem_limit")
    if limit is None:
        limit = (((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}).get("memory")
    return limit


def command_strings(service):
    out = []
    for key in ("command", "entrypoint"):
        value = service.get(key)
        if isinstance(value, list):
            out.append(" ".join(map(str, value)))
        elif value:
            out.append(str(value))
    hc = service.get("healthcheck") or {}
    test = hc.get("test")
    if isinstance(test, list):
        out.append(" ".join(map(str, test)))
    elif test:
        out.append(str(test))
    return out


def entry_words(service):
    """entrypoint + command as words."""
    words = []
    for key in ("entrypoint", "command"):
        value = service.get(key)
        words += [str(v) for v in value] if isinstance(value, list) else str(value or "").split()
    return words


def secrets_mounts(service):
    """The service's mounts of the kafka-secrets volume: [(subpath or None, target, read_only)]."""
    out = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            if volume.get("type", "volume") == "volume" and volume.get("source") == SECRETS_VOLUME:
                out.append(((volume.get("volume") or {}).get("subpath"), volume.get("target"),
                            bool(volume.get("read_only"))))
        else:
            parts = str(volume).split(":")
            if parts[0] == SECRETS_VOLUME:
                mode = parts[2] if len(parts) > 2 else ""
                out.append((None, parts[1] if len(parts) > 1 else None, "ro" in mode.split(",")))
    return out


def bind_mounts(path, service):
    """{target: (host path, read_only)} of the service's bind mounts, paths resolved as Compose does."""
    base = os.path.dirname(os.path.abspath(path))
    out = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            if volume.get("type") == "bind":
                out[str(volume.get("target"))] = (os.path.normpath(os.path.join(base, str(volume.get("source")))),
                                                  bool(volume.get("read_only")))
        else:
            parts = str(volume).split(":")
            if len(parts) >= 2 and parts[0].startswith((".", "/", "~")):
                mode = parts[2] if len(parts) > 2 else ""
                out[parts[1]] = (os.path.normpath(os.path.join(base, parts[0])), "ro" in mode.split(","))
    return out


def port_bindings(service):
    """[(host ip or "", host port, container port)] of the published ports (short or long syntax)."""
    out = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            out.append((str(port.get("host_ip") or ""), str(port.get("published") or ""), str(port.get("target") or "")))
            continue
        text, ip = str(port).split("/")[0], ""
        if text.startswith("["):  # [::1]:9092:9092
            ip, _, text = text[1:].partition("]:")
        parts = text.split(":")
        if len(parts) == 3:
            ip, parts = parts[0], parts[1:]
        out.append((ip, parts[0] if len(parts) == 2 else "", parts[-1]))
    return out


def waits_for(services, name, target, seen=None):
    """Whether `name` starts only after `target`, directly or through its dependencies."""
    seen = seen if seen is not None else set()
    for dependency in depends_of(services.get(name) or {}):
        if dependency == target:
            return True
        if dependency not in seen:
            seen.add(dependency)
            if waits_for(services, dependency, target, seen):
                return True
    return False


def password_settings(node, where="(file)"):
    """Every KAFKA_SASL_PASSWORD set anywhere in the file (x- fields included): [where]."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "KAFKA_SASL_PASSWORD":
                found.append(where)
            found += password_settings(value, f"{where}.{key}" if where != "(file)" else str(key))
    elif isinstance(node, list):
        for item in node:
            if str(item).split("=", 1)[0] == "KAFKA_SASL_PASSWORD":
                found.append(where)
            elif isinstance(item, (dict, list)):
                found += password_settings(item, where)
    return found


def topology_principal(name):
    """[principals.<name>] of contract/topology.toml, as a dict (tomllib, or a minimal reader on 3.10)."""
    with open(os.path.join(root, TOPOLOGY), encoding="utf-8") as handle:
        text = handle.read()
    try:
        import tomllib
        return (tomllib.loads(text).get("principals") or {}).get(name) or {}
    except ModuleNotFoundError:  # Python 3.10: the section's `key = ["a", "b"]` lines
        match = re.search(rf"^\[principals\.{re.escape(name)}\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
        return {k: json.loads(v) for k, v in re.findall(r"^(\w+)\s*=\s*(\[.*?\])\s*$", match.group(1), re.M)} if match else {}


def listeners(value):
    """'NAME://host:port,...' -> {NAME: (host, port)}"""
    out = {}
    for item in (value or "").split(","):
        item = item.strip()
        if "://" not in item:
            continue
        name, rest = item.split("://", 1)
        host, _, port = rest.rpartition(":")
        out[name] = (host, port)
    return out


# --- the checks -----------------------------------------------------------------------------------

def check_file(path, data, raw=None):
    """The project's rules over one loaded file; `raw` is the same file before interpolation."""
    services = data.get("services") or {}
    raw_services = (raw or data).get("services") or {}
    names = set(services)

    # depends_on: targets exist, no cycle
    problems = []
    for name, service in services.items():
        for target in depends_of(service):
            if target not in names:
                problems.append(f"{name} depends on unknown service {target!r}")
            if target == name:
                problems.append(f"{name} depends on itself")
    state = {}

    def visit(name, trail):
        if state.get(name) == "done" or name not in services:
            return
        if state.get(name) == "open":
            problems.append("dependency cycle: " + " -> ".join(trail + [name]))
            return
        state[name] = "open"
        for target in depends_of(services[name]):
            visit(target, trail + [name])
        state[name] = "done"

    for name in services:
        visit(name, [])
    check("depends_on targets exist and form no cycle", problems)

    # conditions: wait for health, never just for a start (no sleep-based ordering either)
    problems = []
    for name, service in services.items():
        for target, spec in depends_of(service).items():
            if target not in services:
                continue
            condition = spec.get("condition", "service_started")
            if has_healthcheck(services[target]) and condition != "service_healthy":
                problems.append(f"{name} -> {target}: condition {condition}, want service_healthy")
            if is_one_shot(services[target]) and condition != "service_completed_successfully":
                problems.append(f"{name} -> {target} (one-shot): condition {condition}, want service_completed_successfully")
            if not has_healthcheck(services[target]) and not is_one_shot(services[target]):
                problems.append(f"{name} -> {target}: {target} has no healthcheck to wait for")
        for text in command_strings(service):
            if re.search(r"\bsleep\b", text):
                problems.append(f"{name}: sleep in {text!r}")
    check("dependencies wait for service_healthy / service_completed_successfully, no sleeps", problems)

    # The broker image runs the brokers and, once, the maker of the kafka-secrets volume.
    brokers = sorted(n for n, s in services.items() if image_of(s).split(":")[0] == BROKER_IMAGE and not is_one_shot(s))
    secret_makers = sorted(n for n, s in services.items() if image_of(s).split(":")[0] == BROKER_IMAGE and is_one_shot(s))
    registries = sorted(n for n, s in services.items() if image_of(s).split(":")[0] == REGISTRY_IMAGE)
    rust = sorted(n for n, s in services.items() if is_rust_service(s))
    # The synchronizer's image also grants the ACLs, in a one-shot of its own (`acls --apply`).
    acl_jobs = sorted(n for n in rust if n != SYNCHRONIZER and build_arg(services[n], "SERVICE") == SYNCHRONIZER
                      and entry_words(services[n])[:1] == ["acls"])

    # the synchronizer
    problems = []
    sync = services.get(SYNCHRONIZER)
    if sync is None:
        problems.append(f"no {SYNCHRONIZER} service")
    else:
        if not is_rust_service(sync):
            problems.append(f"{SYNCHRONIZER} is not built from {RUST_DOCKERFILE}")
        if str(sync.get("restart")) != "no":
            problems.append(f'{SYNCHRONIZER}: restart is {sync.get("restart")!r}, want "no" (one-shot)')
        command = sync.get("command")
        command = command if isinstance(command, list) else str(command or "").split()
        if not command or command[0] != "apply":
            problems.append(f"{SYNCHRONIZER}: command {command!r} does not start with apply")
        deps = depends_of(sync)
        if not brokers:
            problems.append(f"no broker service ({BROKER_IMAGE})")
        if not registries:
            problems.append(f"no schema registry service ({REGISTRY_IMAGE})")
        for target in brokers + registries:
            condition = (deps.get(target) or {}).get("condition")
            if condition != "service_healthy":
                problems.append(f"{SYNCHRONIZER} -> {target}: condition {condition}, want service_healthy")
    check("synchronizer: one-shot `apply` after healthy brokers and registry", problems)

    # The ACLs before the registry: its principal may create and read its topics only once granted.
    problems = []
    if not acl_jobs:
        problems.append(f"no one-shot `acls --apply` built with SERVICE={SYNCHRONIZER} (the registry needs its ACLs "
                        "before it starts)")
    for name in acl_jobs:
        service = services[name]
        if str(service.get("restart")) != "no":
            problems.append(f'{name}: restart is {service.get("restart")!r}, want "no" (one-shot)')
        if entry_words(service) != ["acls", "--apply"]:
            problems.append(f"{name}: command {entry_words(service)!r}, want ['acls', '--apply']")
        for target in brokers:
            condition = (depends_of(service).get(target) or {}).get("condition")
            if condition != "service_healthy":
                problems.append(f"{name} -> {target}: condition {condition}, want service_healthy")
        for registry in registries:
            condition = (depends_of(services[registry]).get(name) or {}).get("condition")
            if condition != "service_completed_successfully":
                problems.append(f"{registry} -> {name}: condition {condition}, want service_completed_successfully "
                                "(the registry creates its topics at start)")
    check(f"ACLs ({', '.join(acl_jobs) or 'none'}): one-shot `acls --apply` after healthy brokers; the registry "
          "waits for it", problems)

    problems = []
    # The synchronizer's image (synchronizer, acls) administers the cluster before the services.
    waiting = [n for n in rust if build_arg(services[n], "SERVICE") != SYNCHRONIZER]
    if not waiting:
        problems.append("no Rust service besides the synchronizer")
    for name in waiting:
        condition = (depends_of(services[name]).get(SYNCHRONIZER) or {}).get("condition")
        if condition != "service_completed_successfully":
            problems.append(f"{name} -> {SYNCHRONIZER}: condition {condition}, want service_completed_successfully")
    check(f"services wait for the synchronizer ({', '.join(waiting) or 'none'})", problems)

    problems = []
    for name, service in services.items():
        if is_one_shot(service):
            continue
        if not has_healthcheck(service):
            problems.append(f"{name}: no healthcheck")
        if memory_limit(service) in (None, "", 0):
            problems.append(f"{name}: no memory limit (mem_limit or deploy.resources.limits.memory)")
    check("long-running services have a healthcheck and a memory limit", problems)

    problems = []
    for name, service in services.items():
        image = image_of(service)
        if not image:
            problems.append(f"{name}: no image name (built images need a pinned tag too)")
            continue
        if "@sha256:" in image:
            continue
        last = image.rsplit("/", 1)[-1]
        if ":" not in last:
            problems.append(f"{name}: image {image} has no tag (means :latest)")
        elif last.rsplit(":", 1)[1] == "latest":
            problems.append(f"{name}: image {image} uses :latest")
    check("every image has a pinned tag (no :latest)", problems)

    # Rust services: client settings only
    problems = []
    internal = {}
    for name in brokers:
        env = env_of(services[name])
        host, port = listeners(env.get("KAFKA_ADVERTISED_LISTENERS")).get(INTERNAL_LISTENER, (None, None))
        if host:
            internal[f"{host}:{port}"] = name
    for name in rust:
        env = env_of(services[name])
        for var in sorted(env):
            if var.startswith("KAFKA_") and var not in CLIENT_KAFKA_VARS:
                problems.append(f"{name}: {var} would reach rdkafka as "
                                f"{var[6:].lower().replace('_', '.')} (broker setting?)")
        for var in ("KAFKA_BROKERS", "SCHEMA_REGISTRY_URL"):
            if not env.get(var):
                problems.append(f"{name}: {var} not set")
        bootstrap = [b.strip() for b in (env.get("KAFKA_BROKERS") or "").split(",") if b.strip()]
        for address in bootstrap:
            if address not in internal:
                problems.append(f"{name}: KAFKA_BROKERS entry {address} is no broker's {INTERNAL_LISTENER} advertised listener")
        if bootstrap and set(internal.values()) - {internal.get(a) for a in bootstrap}:
            problems.append(f"{name}: KAFKA_BROKERS does not list every broker")
        url = env.get("SCHEMA_REGISTRY_URL") or ""
        address, _, api = re.sub(r"^https?://", "", url).partition("/")
        host, _, port = address.partition(":")
        registry = next((r for r in registries if host in (r, services[r].get("hostname"))), None)
        if url and registry is None:
            problems.append(f"{name}: SCHEMA_REGISTRY_URL {url} is not the registry service")
        elif url:
            served = env_of(services[registry]).get("QUARKUS_HTTP_PORT") or REGISTRY_DEFAULT_PORT
            if (port or "80") != served:
                problems.append(f"{name}: SCHEMA_REGISTRY_URL {url}: {registry} listens on {served}")
            if "/" + api.rstrip("/") != REGISTRY_API_PATH:
                problems.append(f"{name}: SCHEMA_REGISTRY_URL {url} is not the Confluent-compatible API "
                                f"({REGISTRY_API_PATH})")
    check("Rust services: only client settings (no broker KAFKA_* vars), brokers on their internal listener", problems)

    # KRaft brokers
    problems = []
    count = len(brokers)
    want_rf = min(3, count) if count else 0
    want_isr = 1 if want_rf <= 1 else want_rf - 1
    node_ids, cluster_ids = {}, set()
    for name in brokers:
        env = env_of(services[name])
        node_id = env.get("KAFKA_NODE_ID")
        if node_id in node_ids:
            problems.append(f"{name}: KAFKA_NODE_ID {node_id} also used by {node_ids[node_id]}")
        node_ids[node_id] = name
        cluster_ids.add(env.get("CLUSTER_ID"))
        if "broker" not in (env.get("KAFKA_PROCESS_ROLES") or ""):
            problems.append(f"{name}: KAFKA_PROCESS_ROLES lacks broker")
        for voter in (env.get("KAFKA_CONTROLLER_QUORUM_VOTERS") or "").split(","):
            host = voter.partition("@")[2].rpartition(":")[0]
            if host not in services and host not in {s.get("hostname") for s in services.values()}:
                problems.append(f"{name}: quorum voter {voter!r} is not a service")
        expected = {
            "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
            "KAFKA_DEFAULT_REPLICATION_FACTOR": str(want_rf),
            "KAFKA_MIN_INSYNC_REPLICAS": str(want_isr),
            "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": str(want_rf),
            "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": str(want_rf),
            "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": str(want_isr),
        }
        for var, value in expected.items():
            if env.get(var) != value:
                problems.append(f"{name}: {var}={env.get(var)!r}, want {value!r} for {count} broker(s)")
        advertised = listeners(env.get("KAFKA_ADVERTISED_LISTENERS"))
        own = {name, services[name].get("hostname")}
        if advertised.get(INTERNAL_LISTENER, (None,))[0] not in own:
            problems.append(f"{name}: {INTERNAL_LISTENER} listener does not advertise its own name")
        published = {str(p).split(":")[-2] for p in services[name].get("ports") or [] if str(p).count(":") >= 1}
        outside = [f"{h}:{p}" for n, (h, p) in advertised.items() if h == "localhost"]
        if not outside or any(a.split(":")[1] not in published for a in outside):
            problems.append(f"{name}: no localhost listener advertised on a published port ({outside})")
        inter_broker = env.get("KAFKA_INTER_BROKER_LISTENER_NAME") or ""
        if advertised.get(inter_broker, (None,))[0] not in own:
            problems.append(f"{name}: inter-broker listener {inter_broker or '(unset)'} does not advertise its own name")
    if len(cluster_ids) > 1:
        problems.append(f"brokers disagree on CLUSTER_ID: {sorted(map(str, cluster_ids))}")
    check(f"KRaft brokers ({count}): ids, cluster id, quorum, listeners, default and internal topics RF {want_rf} / "
          f"min ISR {want_isr}", problems)

    check_security(path, data, services, raw_services, brokers, secret_makers, registries, rust, acl_jobs, internal)

    # Replicas (command handlers, projectors) share partitions through consumer groups; each
    # needs its own transactional id (two with one id fence each other in turn, forever), and the
    # GraphQL endpoint waits for every one.
    def replica_problems(kind, id_var, default_id, group_defaults):
        found = []
        replicas = sorted(n for n, s in services.items()
                          if is_rust_service(s) and build_arg(s, "SERVICE") == kind)
        if not replicas:
            found.append(f"no service built with SERVICE={kind}")
        ids = {}
        groups = {var: {} for var in group_defaults}
        for name in replicas:
            env = env_of(services[name])
            replica_id = env.get(id_var) or default_id
            if replica_id in ids:
                found.append(f"{name}: {id_var} {replica_id!r} is also {ids[replica_id]}'s "
                             "(they would fence each other)")
            ids.setdefault(replica_id, name)
            for var, default in group_defaults.items():
                groups[var].setdefault(env.get(var) or default, []).append(name)
        for var, by_group in groups.items():
            if len(by_group) > 1:
                found.append(f"{kind} replicas in different {var} groups: "
                             + "; ".join(f"{g}: {', '.join(n)}" for g, n in sorted(by_group.items())))
        endpoints = sorted(n for n, s in services.items()
                           if is_rust_service(s) and build_arg(s, "SERVICE") == GRAPHQL_ENDPOINT)
        for endpoint in endpoints:
            for name in replicas:
                condition = (depends_of(services[endpoint]).get(name) or {}).get("condition")
                if condition != "service_healthy":
                    found.append(f"{endpoint} -> {name}: condition {condition}, want service_healthy")
        return replicas, found

    projectors, problems = replica_problems(PROJECTOR, "PROJECTOR_TRANSACTIONAL_ID", PROJECTOR_DEFAULT_ID,
                                            PROJECTOR_DEFAULT_GROUPS)
    check(f"projectors ({', '.join(projectors) or 'none'}): own transactional ids, one publishing group, "
          "one query group, the GraphQL endpoint waits for each", problems)

    handlers, problems = replica_problems(COMMAND_HANDLER, "COMMAND_HANDLER_TRANSACTIONAL_ID", HANDLER_DEFAULT_ID,
                                          {"COMMAND_HANDLER_GROUP": HANDLER_DEFAULT_GROUP})
    for name in brokers:
        value = env_of(services[name]).get(ABORT_CLEANUP_VAR)
        if not (value or "").isdigit() or int(value) > ABORT_CLEANUP_MAX_MS:
            problems.append(f"{name}: {ABORT_CLEANUP_VAR}={value!r}, want at most {ABORT_CLEANUP_MAX_MS} "
                            "(a killed replica's partitions are handed over once its transaction is aborted)")
    check(f"command handlers ({', '.join(handlers) or 'none'}): own transactional ids, one group, "
          "the GraphQL endpoint waits for each, brokers abort timed-out transactions within 1 s", problems)

    problems = []
    seen = {}
    for name, service in services.items():
        for port in service.get("ports") or []:
            if isinstance(port, dict):
                host_port = str(port.get("published", ""))
            elif isinstance(port, str):
                parts = port.split("/")[0].split(":")
                host_port = parts[-2] if len(parts) >= 2 else ""
            else:
                problems.append(f"{name}: port {port!r} is not a quoted string (YAML reads 9092:9092 as a number)")
                continue
            if host_port:
                if host_port in seen:
                    problems.append(f"{name}: host port {host_port} also published by {seen[host_port]}")
                seen[host_port] = name
    check("published ports are quoted and unique", problems)

    # What `up --build` needs from the working tree: the build context is the repository root, so
    # each Dockerfile's own <Dockerfile>.dockerignore is what keeps the context small.
    problems = []
    for name, service in services.items():
        files = build_files(path, service)
        if files is None:
            continue
        context, dockerfile = files
        if not os.path.isdir(context):
            problems.append(f"{name}: build context {display(context)} is no directory")
            continue
        for wanted in (dockerfile, dockerfile + ".dockerignore"):
            if not os.path.isfile(wanted):
                problems.append(f"{name}: {display(wanted)} does not exist")
    check("built services: Dockerfile and its .dockerignore exist in the build context", problems)

    # The frontend: nginx proxies to this file's GraphQL endpoint (name and port), the container
    # publishes the port nginx listens on and the healthcheck asks that port.
    problems = []
    frontends = sorted(n for n, s in services.items() if is_frontend_service(s))
    if not frontends:
        problems.append(f"no frontend service (built from {FRONTEND_DOCKERFILE})")
    for name in frontends:
        service = services[name]
        context, dockerfile = build_files(path, service)
        try:
            with open(dockerfile, encoding="utf-8") as handle:
                copies = re.findall(r"^COPY\s+(?:--\S+\s+)*(\S+)\s+" + re.escape(NGINX_SERVER_CONF) + r"\s*$",
                                    handle.read(), re.M)
        except OSError as error:
            problems.append(f"{name}: {error}")
            continue
        if len(copies) != 1:
            problems.append(f"{name}: {display(dockerfile)} has no single COPY of the server block to {NGINX_SERVER_CONF}")
            continue
        conf = os.path.join(context, copies[0])
        try:
            with open(conf, encoding="utf-8") as handle:
                listen, targets = nginx_settings(handle.read())
        except OSError as error:
            problems.append(f"{name}: {error}")
            continue
        if not targets:
            problems.append(f"{name}: {display(conf)} proxies to no http://host:port")
        for host, port in sorted(targets):
            target = services.get(host)
            if target is None:
                problems.append(f"{name}: {display(conf)} proxies to {host}:{port}, which is no service here")
                continue
            condition = (depends_of(service).get(host) or {}).get("condition")
            if condition != "service_healthy":
                problems.append(f"{name} -> {host}: condition {condition}, want service_healthy (nginx proxies to it)")
            served = env_of(target).get("GRAPHQL_PORT") or ""
            if port != served and port not in container_ports(target):
                problems.append(f"{name}: {display(conf)} proxies to {host}:{port}, but {host} listens on {served or sorted(container_ports(target))}")
        if len(listen) != 1:
            problems.append(f"{name}: {display(conf)} should listen on one port, found {sorted(listen)}")
        else:
            port = next(iter(listen))
            if port not in container_ports(service):
                problems.append(f"{name}: nginx listens on {port}, which is not a published container port")
            if not any(f":{port}/" in text for text in command_strings(service)):
                problems.append(f"{name}: the healthcheck does not ask nginx's port {port}")
    check(f"frontend ({', '.join(frontends) or 'none'}): proxies to a healthy GraphQL endpoint on its port, publishes nginx's port",
          problems)


def check_security(path, data, services, raw_services, brokers, secret_makers, registries, rust, acl_jobs, internal):
    """TLS and SCRAM on every Kafka connection, one principal per service, what is published where."""
    hosts = [services[b].get("hostname") or b for b in brokers]

    # The kafka-secrets volume: made once, by a one-shot of the broker image running
    # docker/kafka/secrets.sh for exactly this file's brokers (a certificate each); every other
    # container mounts its own directory of it, read-only, and starts only after it was made.
    problems = []
    if len(secret_makers) != 1:
        problems.append(f"want one one-shot {BROKER_IMAGE} service making the {SECRETS_VOLUME} volume, "
                        f"found {secret_makers or 'none'}")
    if SECRETS_VOLUME not in (data.get("volumes") or {}):
        problems.append(f"no top-level volume {SECRETS_VOLUME}")
    for name in secret_makers:
        service, env = services[name], env_of(services[name])
        script = next((w for w in entry_words(service) if w.endswith("/secrets.sh")), None)
        bound = bind_mounts(path, service).get(script or "", (None, False))
        if script is None:
            problems.append(f"{name}: does not run secrets.sh")
        elif bound[0] != os.path.join(root, SECRETS_SCRIPT):
            problems.append(f"{name}: {script} is {display(bound[0]) if bound[0] else 'not mounted'}, want {SECRETS_SCRIPT}")
        elif not bound[1]:
            problems.append(f"{name}: {script} is mounted read-write, want read-only")
        where = env.get("SECRETS") or "/secrets"
        if [(m[0], m[1]) for m in secrets_mounts(service)] != [(None, where)]:
            problems.append(f"{name}: the whole {SECRETS_VOLUME} volume is not mounted at its SECRETS ({where})")
        if str(service.get("user", "")) not in {"0", "0:0", "root"}:
            problems.append(f'{name}: user {service.get("user")!r}, want "0:0" (it hands each directory to the user '
                            "of the container that mounts it)")
        if sorted((env.get("BROKERS") or "kafka").split()) != sorted(hosts):
            problems.append(f"{name}: BROKERS={env.get('BROKERS')!r}, want the brokers' host names {' '.join(hosts)!r}")
    for name, service in sorted(services.items()):
        if name in secret_makers:
            continue
        mounts = secrets_mounts(service)
        for subpath, target, read_only in mounts:
            if not subpath:
                problems.append(f"{name}: mounts the whole {SECRETS_VOLUME} volume, want its own directory (volume.subpath)")
            if not read_only:
                problems.append(f"{name}: {SECRETS_VOLUME} mounted read-write")
            if target != SECRETS_TARGET:
                problems.append(f"{name}: {SECRETS_VOLUME} mounted at {target}, want {SECRETS_TARGET}")
        if len(mounts) > 1:
            problems.append(f"{name}: {len(mounts)} directories of {SECRETS_VOLUME}, want its own only")
        for maker in secret_makers:
            if mounts and not waits_for(services, name, maker):
                problems.append(f"{name}: mounts {SECRETS_VOLUME} but does not wait for {maker}, which makes its directory")
    check(f"{SECRETS_VOLUME}: made once by {', '.join(secret_makers) or 'nobody'} ({SECRETS_SCRIPT}) for every broker; "
          "every other container mounts its own directory read-only, after it", problems)

    # Brokers: no listener in clear, the security fixed by docker/kafka/start.sh.
    problems = []
    for name in brokers:
        service, env = services[name], env_of(services[name])
        host = service.get("hostname") or name
        protocols = dict(entry.strip().split(":", 1) for entry in (env.get("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP") or "").split(",")
                         if ":" in entry)
        for listener, protocol in sorted(protocols.items()):
            if protocol not in {"SSL", "SASL_SSL"}:
                problems.append(f"{name}: listener {listener} is {protocol}, want SSL or SASL_SSL (TLS on every listener)")
        for listener in listeners(env.get("KAFKA_LISTENERS")):
            if listener not in protocols:
                problems.append(f"{name}: listener {listener} is not in KAFKA_LISTENER_SECURITY_PROTOCOL_MAP")
        clients = {INTERNAL_LISTENER} | {n for n, (h, _) in listeners(env.get("KAFKA_ADVERTISED_LISTENERS")).items()
                                          if h == "localhost"}
        for listener in sorted(clients):
            if protocols.get(listener) != "SASL_SSL":
                problems.append(f"{name}: client listener {listener} is {protocols.get(listener)}, want SASL_SSL")
        nodes = [n.strip() for n in (env.get("KAFKA_CONTROLLER_LISTENER_NAMES") or "").split(",") if n.strip()]
        for listener in nodes + [env.get("KAFKA_INTER_BROKER_LISTENER_NAME") or "(inter-broker unset)"]:
            if protocols.get(listener) != "SSL":
                problems.append(f"{name}: node listener {listener} is {protocols.get(listener)}, want SSL (a node "
                                "proves itself with its certificate)")
        for var in sorted(env):
            if BROKER_FIXED_VARS.match(var):
                problems.append(f"{name}: {var}: the security settings are fixed in {START_SCRIPT}, which refuses it")
        script = next((w for w in entry_words(service) if w.endswith("/start.sh")), None)
        bound = bind_mounts(path, service).get(script or "", (None, False))
        if script is None:
            problems.append(f"{name}: does not run start.sh")
        elif bound[0] != os.path.join(root, START_SCRIPT):
            problems.append(f"{name}: {script} is {display(bound[0]) if bound[0] else 'not mounted'}, want {START_SCRIPT}")
        elif not bound[1]:
            problems.append(f"{name}: {script} is mounted read-write, want read-only")
        subpaths = [m[0] for m in secrets_mounts(service)]
        if subpaths != [host]:
            problems.append(f"{name}: mounts {subpaths} of {SECRETS_VOLUME}, want its own directory {host!r} "
                            "(its certificate, CN=<host>, is what the other nodes trust)")
        for maker in secret_makers:
            condition = (depends_of(service).get(maker) or {}).get("condition")
            if condition != "service_completed_successfully":
                problems.append(f"{name} -> {maker}: condition {condition}, want service_completed_successfully")
        probe = " ".join(command_strings(service))
        address = "{}:{}".format(*listeners(env.get("KAFKA_ADVERTISED_LISTENERS")).get(INTERNAL_LISTENER, ("?", "?")))
        for wanted in (f"--bootstrap-server {address}", f"--command-config {SECRETS_TARGET}/admin.properties"):
            if wanted not in probe:
                problems.append(f"{name}: the healthcheck lacks `{wanted}`")
    check(f"brokers ({', '.join(brokers) or 'none'}): TLS on every listener (SASL_SSL for clients, SSL between nodes, "
          f"no PLAINTEXT), security fixed by {START_SCRIPT}, own secrets directory, healthcheck logged in as admin",
          problems)

    # Rust services: each logs in as the principal of its kind, the password read from its own file.
    problems = []
    for name in rust:
        service, env = services[name], env_of(services[name])
        principal = build_arg(service, "SERVICE")
        for var, want in CLIENT_SECURITY.items():
            if env.get(var) != want:
                problems.append(f"{name}: {var}={env.get(var)!r}, want {want!r}")
        if env.get("KAFKA_SASL_USERNAME") != principal:
            problems.append(f"{name}: KAFKA_SASL_USERNAME={env.get('KAFKA_SASL_USERNAME')!r}, want its own principal "
                            f"{principal!r} (its SERVICE build arg)")
        subpaths = [m[0] for m in secrets_mounts(service)]
        if subpaths != [principal]:
            problems.append(f"{name}: mounts {subpaths} of {SECRETS_VOLUME}, want its own directory {principal!r} only")
    for where in password_settings(data):
        problems.append(f"{where}: KAFKA_SASL_PASSWORD in the file; the password comes from KAFKA_SASL_PASSWORD_FILE")
    check("Rust services: SASL_SSL + SCRAM-SHA-512 as their own principal (= SERVICE), the password only from their "
          f"own read-only {SECRETS_VOLUME} directory", problems)

    # The registry: Apicurio on kafkasql, logged in as schema-registry, inside its ACLs.
    problems = []
    acl = topology_principal(REGISTRY_PRINCIPAL)
    prefixes, groups = acl.get("topic_prefixes") or [], acl.get("groups") or []
    if not prefixes or not groups:
        problems.append(f"{TOPOLOGY}: [principals.{REGISTRY_PRINCIPAL}] has no topic_prefixes or groups")
    if len(registries) != 1:
        problems.append(f"want one {REGISTRY_IMAGE} service, found {registries or 'none'}")
    for name in registries:
        service, env = services[name], env_of(services[name])
        if env.get("APICURIO_STORAGE_KIND") != "kafkasql":
            problems.append(f"{name}: APICURIO_STORAGE_KIND={env.get('APICURIO_STORAGE_KIND')!r}, want 'kafkasql'")
        bootstrap = [b.strip() for b in (env.get("APICURIO_KAFKASQL_BOOTSTRAP_SERVERS") or "").split(",") if b.strip()]
        for address in bootstrap:
            if address not in internal:
                problems.append(f"{name}: bootstrap {address} is no broker's {INTERNAL_LISTENER} advertised listener")
        if not bootstrap or set(internal.values()) - {internal.get(a) for a in bootstrap}:
            problems.append(f"{name}: APICURIO_KAFKASQL_BOOTSTRAP_SERVERS does not list every broker")
        for var in ("APICURIO_KAFKASQL_TOPIC", "APICURIO_KAFKASQL_SNAPSHOTS_TOPIC", "APICURIO_EVENTS_KAFKA_TOPIC"):
            topic = env.get(var) or ""
            if not any(topic.startswith(prefix) for prefix in prefixes):
                problems.append(f"{name}: {var}={topic!r} is outside its ACLs' topic prefixes {prefixes} ({TOPOLOGY})")
        group = env.get("APICURIO_KAFKASQL_CONSUMER_GROUP_PREFIX") or "apicurio-"  # Apicurio's default
        if not any(group.startswith(prefix) for prefix in groups):
            problems.append(f"{name}: consumer group prefix {group!r} is outside its ACLs' groups {groups} ({TOPOLOGY})")
        if env.get("APICURIO_KAFKASQL_TOPIC_RETENTION_MS") != "-1":
            problems.append(f"{name}: APICURIO_KAFKASQL_TOPIC_RETENTION_MS is not -1 (the journal is the registry: "
                            "with the broker's default retention the schemas expire)")
        config = f"{SECRETS_TARGET}/kafkasql.properties"
        if config not in (env.get("QUARKUS_CONFIG_LOCATIONS") or "").split(","):
            problems.append(f"{name}: QUARKUS_CONFIG_LOCATIONS does not name {config} (its Kafka clients' security)")
        subpaths = [m[0] for m in secrets_mounts(service)]
        if subpaths != [REGISTRY_PRINCIPAL]:
            problems.append(f"{name}: mounts {subpaths} of {SECRETS_VOLUME}, want its own directory {REGISTRY_PRINCIPAL!r}")
        port = env.get("QUARKUS_HTTP_PORT") or REGISTRY_DEFAULT_PORT
        probe = " ".join(command_strings(service))
        if f"/{port}" not in probe or "/health/ready" not in probe:
            problems.append(f"{name}: the healthcheck does not ask GET /health/ready on its port {port}")
    check(f"schema registry ({', '.join(registries) or 'none'}): Apicurio kafkasql on every broker's {INTERNAL_LISTENER} "
          f"listener, its topics and groups inside principal {REGISTRY_PRINCIPAL}'s ACLs, its own secrets directory",
          problems)

    # Published ports: the web app and the API for everyone, the rest for this machine only.
    problems = []
    public = sorted(n for n, s in services.items() if is_frontend_service(s)
                    or (is_rust_service(s) and build_arg(s, "SERVICE") == GRAPHQL_ENDPOINT))
    for name, service in sorted(services.items()):
        for ip, host_port, container in port_bindings(service):
            if name not in public and ip.strip("[]") not in LOOPBACK:
                problems.append(f"{name}: port {host_port or '(any)'}->{container} on {ip or 'every interface'}, want "
                                f"127.0.0.1 (only {', '.join(public)} are published for everyone)")
    for name in public:
        if not port_bindings(services[name]):
            problems.append(f"{name}: publishes no port")
    check(f"published ports: {', '.join(public) or '(no web app, no endpoint)'} on every interface, everything else on "
          "127.0.0.1", problems)

    # Secrets the operator gives: required, no default in the file.
    problems = []
    owners = {
        "COMMAND_HANDLER_SAGA_SECRET": [n for n in rust if build_arg(services[n], "SERVICE") == COMMAND_HANDLER],
        "GRAPHQL_TOKEN_SECRET": [n for n in rust if build_arg(services[n], "SERVICE") == GRAPHQL_ENDPOINT],
        "GF_SECURITY_ADMIN_PASSWORD": [n for n, s in services.items()
                                       if image_of(s).split(":")[0] == validate_monitoring.GRAFANA_IMAGE],
    }
    for name, service in sorted(raw_services.items()):
        env = env_of(service if isinstance(service, dict) else {})
        for var in OPERATOR_SECRETS:
            value = env.get(var)
            if value is None:
                if name in owners[var]:
                    problems.append(f"{name}: no {var}")
            elif not REQUIRED_VARIABLE.match(value):
                problems.append(f"{name}: {var}: {value!r}, want ${{NAME:?message}} (given by the operator, no default)")
    check(f"operator secrets ({', '.join(OPERATOR_SECRETS)}) are required `${{VAR:?…}}`, never defaulted", problems)


def strip_broker_specifics(service):
    service = copy.deepcopy(service)
    env = service.get("environment")
    if isinstance(env, dict):
        env.pop("KAFKA_BROKERS", None)
        env.pop("APICURIO_KAFKASQL_BOOTSTRAP_SERVERS", None)
    deps = service.get("depends_on")
    if isinstance(deps, dict):
        service["depends_on"] = {k: v for k, v in deps.items() if not k.startswith("kafka")}
    return service


def rules_self_test(path, data, raw):
    """Broken variants the project's rules must reject, each for its own change: proof that they bite."""
    global captured
    services = data.get("services") or {}

    def first(predicate):
        return next((n for n, s in sorted(services.items()) if predicate(s)), None)

    broker = first(lambda s: image_of(s).split(":")[0] == BROKER_IMAGE and not is_one_shot(s))
    maker = first(lambda s: image_of(s).split(":")[0] == BROKER_IMAGE and is_one_shot(s))
    registry = first(lambda s: image_of(s).split(":")[0] == REGISTRY_IMAGE)
    handler = first(lambda s: is_rust_service(s) and build_arg(s, "SERVICE") == COMMAND_HANDLER)
    projector = first(lambda s: is_rust_service(s) and build_arg(s, "SERVICE") == PROJECTOR)
    prometheus = first(lambda s: image_of(s).split(":")[0] == validate_monitoring.PROMETHEUS_IMAGE)
    grafana = first(lambda s: image_of(s).split(":")[0] == validate_monitoring.GRAFANA_IMAGE)
    if None in (broker, maker, registry, handler, projector, prometheus, grafana) or SYNCHRONIZER not in services:
        return check("project rules reject broken variants (self-test)",
                     [f"{display(path)} lacks a broker, the secrets' maker, the registry, a command handler, a "
                      "projector, prometheus, grafana or the synchronizer to break"])

    def results(broken, broken_raw):
        global captured
        captured = []
        try:
            check_file(path, broken, broken_raw)
            return {title for title, problems in captured if problems}
        finally:
            captured = None

    def secrets_mount(service):
        return next(v for v in service["volumes"] if isinstance(v, dict) and v.get("source") == SECRETS_VOLUME)

    mutations = []

    def mutate(label, rule, change, on_raw=False):
        broken, broken_raw = copy.deepcopy(data), copy.deepcopy(raw)
        change((broken_raw if on_raw else broken)["services"])
        mutations.append((label, rule, broken, broken_raw))

    mutate("the services' listener in clear text", "brokers (", lambda s: s[broker]["environment"].update(
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=s[broker]["environment"]["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
        .replace(f"{INTERNAL_LISTENER}:SASL_SSL", f"{INTERNAL_LISTENER}:PLAINTEXT")))
    mutate("client certificates switched off", "brokers (",
           lambda s: s[broker]["environment"].update(KAFKA_SSL_CLIENT_AUTH="none"))
    mutate("a broker with another broker's directory", "brokers (",
           lambda s: secrets_mount(s[broker])["volume"].update(subpath="synchronizer"))
    mutate("the brokers' certificates for other hosts", f"{SECRETS_VOLUME}:",
           lambda s: s[maker]["environment"].update(BROKERS="elsewhere"))
    mutate("a service without TLS", "Rust services: SASL_SSL",
           lambda s: s[handler]["environment"].update(KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT"))
    mutate("a service logged in as the synchronizer", "Rust services: SASL_SSL",
           lambda s: s[handler]["environment"].update(KAFKA_SASL_USERNAME=SYNCHRONIZER))
    mutate("a password in the file", "Rust services: SASL_SSL",
           lambda s: s[handler]["environment"].update(KAFKA_SASL_PASSWORD="hunter2"))
    mutate("a service with another principal's directory", "Rust services: SASL_SSL",
           lambda s: secrets_mount(s[projector])["volume"].update(subpath=SYNCHRONIZER))
    mutate("a secrets directory mounted read-write", f"{SECRETS_VOLUME}:",
           lambda s: secrets_mount(s[projector]).update(read_only=False))
    mutate("the registry's journal outside its ACLs", "schema registry (",
           lambda s: s[registry]["environment"].update(APICURIO_KAFKASQL_TOPIC="kafkasql-journal"))
    mutate("the registry not waiting for its ACLs", "ACLs (", lambda s: s[registry].update(
        depends_on={broker: {"condition": "service_healthy"}}))
    mutate("the synchronizer not waiting for the registry", "synchronizer:", lambda s: s[SYNCHRONIZER].update(
        depends_on={k: v for k, v in s[SYNCHRONIZER]["depends_on"].items() if k != registry}))
    mutate("Prometheus published on every interface", "published ports:",
           lambda s: s[prometheus].update(ports=["9090:9090"]))
    mutate("Grafana's admin password with a default", "operator secrets", lambda s: s[grafana]["environment"].update(
        GF_SECURITY_ADMIN_PASSWORD="${GRAFANA_ADMIN_PASSWORD:-admin}"), on_raw=True)

    baseline = results(data, raw)
    problems = [f"the unchanged file fails: {title}" for title in sorted(baseline)]
    for label, rule, broken, broken_raw in mutations:
        new = results(broken, broken_raw) - baseline
        if not any(title.startswith(rule) for title in new):
            problems.append(f"accepted: {label} (want the rule {rule!r}…{' to fail; failed: ' + '; '.join(sorted(new)) if new else ''})")
    return check(f"project rules reject {len(mutations)} deliberately broken variants (self-test)", problems)


def schema_self_test(data):
    """Mutations the schema must reject: proof that validation is not vacuous."""
    mutations = []

    def mutate(label, change):
        broken = copy.deepcopy(data)
        change(broken)
        mutations.append((label, broken))

    first = next(iter(data["services"]))
    mutate("misspelt service key 'helthcheck'", lambda d: d["services"][first].update(helthcheck={"test": ["CMD", "true"]}))
    mutate("unknown depends_on condition", lambda d: d["services"][first].update(
        depends_on={first: {"condition": "service_ready"}}))
    mutate("restart: false (unquoted `no`)", lambda d: d["services"][first].update(restart=False))
    mutate("mem_limit as a list", lambda d: d["services"][first].update(mem_limit=["1g"]))
    mutate("unknown top-level key", lambda d: d.update(servicez={}))
    problems = [f"schema accepted: {label}" for label, broken in mutations if not any(validator.iter_errors(broken))]
    return check(f"schema rejects {len(mutations)} deliberately broken variants (self-test)", problems)


monitoring = validate_monitoring.Monitoring(
    types.SimpleNamespace(check=check, display=display, env_of=env_of, depends_of=depends_of, image_of=image_of,
                          is_rust_service=is_rust_service, build_arg=build_arg, container_ports=container_ports,
                          command_strings=command_strings, ComposeLoader=ComposeLoader),
    root, os.environ["OPEN_BANK_VALIDATE_PROMTOOL"])

loaded = {}
raws = {}
print(f"schema: {schema_source} compose.schema.json ({schema.get('title', '?')}, draft-07), "
      f"validator: jsonschema {importlib.metadata.version('jsonschema')}, PyYAML {yaml.__version__}")
for path in files:
    name = display(path)
    before = (passed, failed)
    print(f"{name}")
    try:
        raw = load_raw(path)
        data = interpolate(raw)
        report(True, "YAML parses (no duplicate keys), interpolation resolved")
    except Exception as error:  # noqa: BLE001 — any parse problem is a failed check
        report(False, "YAML parses (no duplicate keys), interpolation resolved", [str(error).replace("\n", " ")])
        data = None
    if data is not None:
        loaded[path], raws[path] = data, raw
        check(f"valid against the Compose Specification schema ({schema_source})", schema_problems(data))
        if isinstance(data.get("services"), dict) and data["services"]:
            check_file(path, data, raw)
            monitoring.check_compose(path, data)
    done_passed, done_failed = passed - before[0], failed - before[1]
    verdict = "OK" if done_failed == 0 else "FAILED"
    print(f"{name}: {verdict} ({done_passed} passed, {done_failed} failed)")

monitoring.check_files()

print("run-wide")
if loaded:
    schema_self_test(next(iter(loaded.values())))
    self_test_path, self_test_data = next(iter(loaded.items()))
    if isinstance(self_test_data.get("services"), dict):
        rules_self_test(self_test_path, self_test_data, raws[self_test_path])
monitoring.self_test(*next(iter(loaded.items()), (None, None)))
by_name = {os.path.basename(p): d for p, d in loaded.items()}
single, three = by_name.get("docker-compose.yml"), by_name.get("docker-compose.three-brokers.yml")
if single is not None and three is not None:
    problems = []
    single_s, three_s = single.get("services") or {}, three.get("services") or {}
    for name, service in single_s.items():
        if (is_rust_service(service) or is_frontend_service(service)
                or image_of(service).split(":")[0] in {REGISTRY_IMAGE} | validate_monitoring.MONITORING_IMAGES):
            if name not in three_s:
                problems.append(f"{name} missing from the three-broker file")
                continue
            a, b = strip_broker_specifics(service), strip_broker_specifics(three_s[name])
            if a != b:
                problems.append(f"{name} differs beyond the brokers' addresses and the dependencies on them")
    for name, service in three_s.items():
        if (is_rust_service(service) or is_frontend_service(service)
                or image_of(service).split(":")[0] in validate_monitoring.MONITORING_IMAGES) and name not in single_s:
            problems.append(f"{name} missing from docker-compose.yml")
    check("three-broker variant runs the same registry, Rust services (kafka-acls, synchronizer, ...), frontend, "
          "prometheus and grafana as docker-compose.yml", problems)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
