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
#     synchronizer is a one-shot `apply` waiting for healthy brokers + registry; the services wait for
#     its service_completed_successfully; long-running services have a healthcheck and a memory
#     limit; every image has a pinned tag (no :latest); the Rust services get no broker KAFKA_*
#     settings and reach the brokers on their internal listener; the KRaft brokers agree (ids,
#     cluster id, quorum, internal-topic replication for the broker count, no auto-created topics);
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
# Also once per run: the schema, promtool and the monitoring checks reject deliberately broken
# variants (so they really detect errors), and, given both default files, the three-broker variant
# runs the same services (registry, Rust services, frontend, prometheus, grafana) as the single one.
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
  command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 \
    || die "promtool is needed: this is no Debian machine (no apt-get/dpkg-deb); set OPEN_BANK_PROMTOOL to a promtool binary"
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
  deb="$(ls "$tmp"/prometheus_*.deb 2>/dev/null | head -n 1)"
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
# transaction blocks its partitions until aborted (the handler's transaction.timeout.ms is 6 s).
ABORT_CLEANUP_VAR = "KAFKA_TRANSACTION_ABORT_TIMED_OUT_TRANSACTION_CLEANUP_INTERVAL_MS"
ABORT_CLEANUP_MAX_MS = 1000
BROKER_IMAGE = "apache/kafka"
REGISTRY_IMAGE = "confluentinc/cp-schema-registry"
INTERNAL_LISTENER = "INTERNAL"
# Variables a Rust service may see that start with KAFKA_ (all others go to rdkafka verbatim and
# would be broker settings copied by mistake).
CLIENT_KAFKA_VARS = {"KAFKA_BROKERS"}

passed = failed = 0


def display(path):
    try:
        rel = os.path.relpath(path, root)
        return path if rel.startswith("..") else rel
    except ValueError:
        return path


def report(ok, title, problems=()):
    global passed, failed
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


def load(path):
    with open(path, encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=ComposeLoader)  # noqa: S506 (SafeLoader subclass)
    if not isinstance(data, dict):
        raise ValueError("the top level is not a mapping")
    return interpolate(data)


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

def check_file(path, data):
    services = data.get("services") or {}
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

    brokers = sorted(n for n, s in services.items() if image_of(s).split(":")[0] == BROKER_IMAGE)
    registries = sorted(n for n, s in services.items() if image_of(s).split(":")[0] == REGISTRY_IMAGE)
    rust = sorted(n for n, s in services.items() if is_rust_service(s))

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

    problems = []
    waiting = [n for n in rust if n != SYNCHRONIZER]
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
        host = re.sub(r"^https?://", "", url).split("/")[0].split(":")[0]
        if url and host not in registries and host not in {services[r].get("hostname") for r in registries}:
            problems.append(f"{name}: SCHEMA_REGISTRY_URL {url} is not the registry service")
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
    if len(cluster_ids) > 1:
        problems.append(f"brokers disagree on CLUSTER_ID: {sorted(map(str, cluster_ids))}")
    for name in registries:
        env = env_of(services[name])
        rf = env.get("SCHEMA_REGISTRY_KAFKASTORE_TOPIC_REPLICATION_FACTOR")
        if rf != str(want_rf):
            problems.append(f"{name}: SCHEMA_REGISTRY_KAFKASTORE_TOPIC_REPLICATION_FACTOR={rf!r}, want {want_rf!r}")
    check(f"KRaft brokers ({count}): ids, cluster id, quorum, listeners, internal topics RF {want_rf} / min ISR {want_isr}",
          problems)

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


def strip_broker_specifics(service):
    service = copy.deepcopy(service)
    env = service.get("environment")
    if isinstance(env, dict):
        env.pop("KAFKA_BROKERS", None)
    deps = service.get("depends_on")
    if isinstance(deps, dict):
        service["depends_on"] = {k: v for k, v in deps.items() if not k.startswith("kafka")}
    return service


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
print(f"schema: {schema_source} compose.schema.json ({schema.get('title', '?')}, draft-07), "
      f"validator: jsonschema {importlib.metadata.version('jsonschema')}, PyYAML {yaml.__version__}")
for path in files:
    name = display(path)
    before = (passed, failed)
    print(f"{name}")
    try:
        data = load(path)
        report(True, "YAML parses (no duplicate keys), interpolation resolved")
    except Exception as error:  # noqa: BLE001 — any parse problem is a failed check
        report(False, "YAML parses (no duplicate keys), interpolation resolved", [str(error).replace("\n", " ")])
        data = None
    if data is not None:
        loaded[path] = data
        check(f"valid against the Compose Specification schema ({schema_source})", schema_problems(data))
        if isinstance(data.get("services"), dict) and data["services"]:
            check_file(path, data)
            monitoring.check_compose(path, data)
    done_passed, done_failed = passed - before[0], failed - before[1]
    verdict = "OK" if done_failed == 0 else "FAILED"
    print(f"{name}: {verdict} ({done_passed} passed, {done_failed} failed)")

monitoring.check_files()

print("run-wide")
if loaded:
    schema_self_test(next(iter(loaded.values())))
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
            if image_of(service).split(":")[0] == REGISTRY_IMAGE:
                a, b = image_of(a), image_of(b)
            if a != b:
                problems.append(f"{name} differs beyond KAFKA_BROKERS and broker dependencies")
    for name, service in three_s.items():
        if (is_rust_service(service) or is_frontend_service(service)
                or image_of(service).split(":")[0] in validate_monitoring.MONITORING_IMAGES) and name not in single_s:
            problems.append(f"{name} missing from docker-compose.yml")
    check("three-broker variant runs the same registry image, Rust services, frontend, prometheus and grafana "
          "as docker-compose.yml", problems)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
