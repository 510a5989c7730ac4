"""Checks of the compose files' monitoring: Prometheus (docker/prometheus/) and Grafana (docker/grafana/).

Imported by scripts/validate-compose.sh, which runs it in its venv (jsonschema, PyYAML, promql-parser)
and hands over its report helpers and compose helpers; not meant to run on its own.

* docker/prometheus/prometheus.yml: `promtool check config` (Prometheus's own checker), plus one job
  per Rust service kind with static host:port targets on /metrics, the instance label the host name;
  in every compose file, every replica of a service kind that serves metrics is a target on the
  port it serves, and every target is such a replica; the prometheus service mounts this file
  read-only as its configuration.
* docker/prometheus/metric-families.yml: the one list of the families the services serve.
* docker/grafana/provisioning/: the data source and dashboard provider files against Grafana's
  documented provisioning keys; the data source is the compose files' prometheus service, its
  timeInterval Prometheus's scrape interval; the provider reads the directory the compose files
  mount docker/grafana/dashboards/ at.
* docker/grafana/dashboards/*.json: a dashboard schema (uid, title, panels, targets), unique panel
  ids, a layout within 24 columns without overlaps, the provisioned data source on every panel and
  query; every expression parses (`promtool check rules` on them as recording rules, and
  promql-parser), names only served families (a histogram through _bucket/_count/_sum) or
  Prometheus's own per-target series, with their labels only, rate() never over a gauge,
  histogram_quantile() over buckets that keep `le`, job values that are scrape jobs; and every
  family is on a dashboard.
* self-tests: promtool and the dashboard checks reject deliberately broken variants.
"""
import copy
import glob
import json
import os
import re
import subprocess
import tempfile

import jsonschema
import promql_parser
import yaml

PROMETHEUS_IMAGE = "prom/prometheus"
GRAFANA_IMAGE = "grafana/grafana"
MONITORING_IMAGES = {PROMETHEUS_IMAGE, GRAFANA_IMAGE}

PROMETHEUS_CONFIG = "docker/prometheus/prometheus.yml"
FAMILIES_FILE = "docker/prometheus/metric-families.yml"
DATASOURCES_DIR = "docker/grafana/provisioning/datasources"
PROVIDERS_DIR = "docker/grafana/provisioning/dashboards"
DASHBOARDS_DIR = "docker/grafana/dashboards"

# The images' own defaults.
PROMETHEUS_DEFAULT_CONFIG = "/etc/prometheus/prometheus.yml"
PROMETHEUS_DEFAULT_PORT = "9090"
GRAFANA_PROVISIONING = "/etc/grafana/provisioning"  # GF_PATHS_PROVISIONING
GRAFANA_DEFAULT_PORT = "3000"

# Where each Rust service kind (its SERVICE build arg) serves GET /metrics: the port of its
# GET /health, set by this variable or else the service's default (as in docker/healthcheck.sh).
METRICS_PORTS = {
    "command-handler": ("COMMAND_HANDLER_HEALTH_PORT", "8090"),
    "projector": ("PROJECTOR_HEALTH_PORT", "8091"),
    "graphql-endpoint": ("GRAPHQL_PORT", "8888"),
}
# Series and labels Prometheus adds to every target itself.
TARGET_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
                 "scrape_samples_post_metric_relabeling", "scrape_series_added"}
TARGET_LABELS = {"job", "instance"}
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")
RATE_FUNCTIONS = {"rate", "irate", "increase", "resets"}
MAX_SCRAPE_INTERVAL_S = 15
# Grafana's interval variables, replaced by a duration before an expression is parsed.
GRAFANA_VARIABLE = re.compile(r"\$(?:\{(__rate_interval|__interval|__range)(?::[a-z]+)?\}|(__rate_interval|__interval|__range)\b)")

DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$")


def seconds(value):
    match = DURATION.match(str(value or ""))
    if not match or not any(match.groups()):
        return None
    h, m, s, ms = (int(g or 0) for g in match.groups())
    return h * 3600 + m * 60 + s + ms / 1000


# --- schemas (of what we use; unknown keys are typos) ------------------------------------------------

FAMILIES_SCHEMA = {
    "type": "object",
    "required": ["families"],
    "additionalProperties": False,
    "properties": {"families": {
        "type": "object",
        "minProperties": 1,
        "propertyNames": {"pattern": "^open_bank_[a-z0-9_]+$"},
        "additionalProperties": {
            "type": "object",
            "required": ["type", "labels", "services", "help"],
            "additionalProperties": False,
            "properties": {
                "type": {"enum": ["counter", "gauge", "histogram"]},
                "labels": {"type": "array", "uniqueItems": True, "items": {
                    "type": "string", "pattern": "^[a-z_][a-z0-9_]*$",
                    "not": {"enum": sorted(TARGET_LABELS | {"le", "quantile"})}}},
                "services": {"type": "array", "minItems": 1, "uniqueItems": True,
                             "items": {"enum": sorted(METRICS_PORTS)}},
                "help": {"type": "string", "minLength": 1},
            },
        },
    }},
}

# Grafana's documented provisioning keys (administration/provisioning: data sources, dashboards).
DATASOURCES_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "datasources"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": 1},
        "prune": {"type": "boolean"},
        "deleteDatasources": {"type": "array", "items": {
            "type": "object", "required": ["name"], "additionalProperties": False,
            "properties": {"name": {"type": "string"}, "orgId": {"type": "integer"}}}},
        "datasources": {"type": "array", "minItems": 1, "items": {
            "type": "object",
            "required": ["name", "type", "uid", "url", "access"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "type": {"type": "string", "minLength": 1},
                "uid": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,40}$"},
                "url": {"type": "string", "pattern": "^https?://"},
                "access": {"enum": ["proxy", "direct"]},
                "orgId": {"type": "integer"},
                "user": {"type": "string"},
                "database": {"type": "string"},
                "basicAuth": {"type": "boolean"},
                "basicAuthUser": {"type": "string"},
                "withCredentials": {"type": "boolean"},
                "isDefault": {"type": "boolean"},
                "jsonData": {"type": "object"},
                "secureJsonData": {"type": "object"},
                "version": {"type": "integer"},
                "editable": {"type": "boolean"},
            },
        }},
    },
}

PROVIDERS_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "providers"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": 1},
        "providers": {"type": "array", "minItems": 1, "items": {
            "type": "object",
            "required": ["name", "type", "options"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "orgId": {"type": "integer"},
                "folder": {"type": "string"},
                "folderUid": {"type": "string"},
                "type": {"const": "file"},
                "disableDeletion": {"type": "boolean"},
                "updateIntervalSeconds": {"type": "integer", "minimum": 0},
                "allowUiUpdates": {"type": "boolean"},
                "options": {
                    "type": "object", "required": ["path"], "additionalProperties": False,
                    "properties": {"path": {"type": "string", "pattern": "^/"},
                                   "foldersFromFilesStructure": {"type": "boolean"}}},
            },
        }},
    },
}

DATASOURCE_REF = {
    "type": "object", "required": ["type", "uid"],
    "properties": {"type": {"type": "string"}, "uid": {"type": "string"}},
}
GRID_POS = {
    "type": "object", "required": ["h", "w", "x", "y"], "additionalProperties": False,
    "properties": {"h": {"type": "integer", "minimum": 1}, "w": {"type": "integer", "minimum": 1, "maximum": 24},
                   "x": {"type": "integer", "minimum": 0, "maximum": 23}, "y": {"type": "integer", "minimum": 0}},
}
# Grafana's core panel plugins (no plugin to install) that show Prometheus queries.
PANEL_TYPES = ["timeseries", "stat", "gauge", "bargauge", "table", "heatmap", "piechart",
               "state-timeline", "status-history", "barchart", "histogram", "text"]
PANEL_KEYS = ["type", "id", "title", "description", "datasource", "gridPos", "targets", "fieldConfig",
              "options", "pluginVersion", "transparent", "links", "transformations", "interval",
              "maxDataPoints", "maxPerRow", "repeat", "repeatDirection", "timeFrom", "timeShift",
              "hideTimeOverride", "cacheTimeout", "queryCachingTTL", "libraryPanel"]
PANEL_SCHEMA = {
    "type": "object",
    "required": ["type", "id", "title", "gridPos"],
    "if": {"properties": {"type": {"const": "row"}}},
    "then": {
        "required": ["collapsed", "panels"],
        "additionalProperties": False,
        "properties": {"type": {"const": "row"}, "id": {"type": "integer"}, "title": {"type": "string"},
                       "gridPos": GRID_POS, "collapsed": {"type": "boolean"},
                       "panels": {"type": "array", "items": {"$ref": "#/definitions/panel"}},
                       "datasource": {}, "targets": {}, "repeat": {}},
    },
    "else": {
        "required": ["datasource", "targets"],
        "propertyNames": {"enum": PANEL_KEYS},
        "properties": {
            "type": {"enum": PANEL_TYPES},
            "id": {"type": "integer", "minimum": 1},
            "title": {"type": "string", "minLength": 1},
            "description": {"type": "string"},
            "datasource": DATASOURCE_REF,
            "gridPos": GRID_POS,
            "fieldConfig": {"type": "object", "required": ["defaults"],
                            "properties": {"defaults": {"type": "object"}, "overrides": {"type": "array"}}},
            "options": {"type": "object"},
            "targets": {"type": "array", "minItems": 1, "items": {
                "type": "object", "required": ["refId", "expr", "datasource"],
                "properties": {"refId": {"type": "string", "pattern": "^[A-Za-z0-9_]+$"},
                               "expr": {"type": "string", "minLength": 1},
                               "legendFormat": {"type": "string"},
                               "datasource": DATASOURCE_REF,
                               "range": {"type": "boolean"}, "instant": {"type": "boolean"},
                               "format": {"enum": ["time_series", "table", "heatmap"]},
                               "hide": {"type": "boolean"}}}},
        },
    },
}
DASHBOARD_KEYS = ["uid", "title", "description", "tags", "panels", "schemaVersion", "version", "id",
                  "editable", "graphTooltip", "timezone", "weekStart", "fiscalYearStartMonth", "liveNow",
                  "refresh", "time", "timepicker", "links", "annotations", "templating", "gnetId",
                  "preload", "__inputs", "__requires", "__elements"]
DASHBOARD_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "definitions": {"panel": PANEL_SCHEMA},
    "type": "object",
    "required": ["uid", "title", "schemaVersion", "panels", "time"],
    "propertyNames": {"enum": DASHBOARD_KEYS},
    "properties": {
        "uid": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,40}$"},
        "title": {"type": "string", "minLength": 1},
        "schemaVersion": {"type": "integer", "minimum": 36},
        # A provisioned dashboard's database id is Grafana's to give.
        "id": {"type": "null"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "editable": {"type": "boolean"},
        "refresh": {"type": "string", "pattern": "^(|[0-9]+[smhd])$"},
        "time": {"type": "object", "required": ["from", "to"]},
        "templating": {"type": "object", "required": ["list"], "properties": {"list": {"type": "array"}}},
        "panels": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/panel"}},
    },
}
for _schema in (FAMILIES_SCHEMA, DATASOURCES_SCHEMA, PROVIDERS_SCHEMA, DASHBOARD_SCHEMA):
    jsonschema.Draft7Validator.check_schema(_schema)


def schema_errors(schema, data, limit=8):
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    out = []
    for error in errors[:limit]:
        where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        message = error.message if len(error.message) <= 200 else error.message[:200] + "…"
        out.append(f"{where}: {message}")
    if len(errors) > limit:
        out.append(f"... and {len(errors) - limit} more")
    return out


# --- compose helpers --------------------------------------------------------------------------------

def mounts(service, compose_dir):
    """[(source path or volume name, target, read_only)] of a service's volumes."""
    out = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            source, target = str(volume.get("source", "")), str(volume.get("target", ""))
            read_only = bool(volume.get("read_only"))
        else:
            parts = str(volume).split(":")
            if len(parts) == 1:
                source, target, mode = "", parts[0], ""
            else:
                source, target, mode = parts[0], parts[1], (parts[2] if len(parts) > 2 else "")
            read_only = "ro" in mode.split(",")
        if source.startswith((".", "/", "~")):
            source = os.path.normpath(os.path.join(compose_dir, os.path.expanduser(source)))
        out.append((source, target, read_only))
    return out


def mount_for(mount_list, container_path):
    """The (source, target, read_only) mount holding container_path, the deepest one, or None."""
    best = None
    for source, target, read_only in mount_list:
        target = target.rstrip("/")
        if container_path == target or container_path.startswith(target + "/"):
            if best is None or len(target) > len(best[1]):
                best = (source, target, read_only)
    return best


def host_path(mount_list, container_path):
    found = mount_for(mount_list, container_path)
    if found is None or not found[0].startswith("/"):
        return None, found
    source, target, _ = found
    return os.path.normpath(source + container_path[len(target):]), found


def command_args(service):
    command = service.get("command")
    if isinstance(command, str):
        command = command.split()
    return [str(c) for c in command or []]


def flag(args, name):
    for i, arg in enumerate(args):
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
        if arg == name and i + 1 < len(args):
            return args[i + 1]
    return None


# --- the checks -------------------------------------------------------------------------------------

class Monitoring:
    def __init__(self, h, root, promtool):
        self.h = h  # validate-compose.sh's helpers: check, display, env_of, depends_of, ...
        self.root = root
        self.promtool = promtool
        self._files = {}

    def path(self, rel):
        return os.path.join(self.root, rel)

    def read_yaml(self, rel):
        """(data, error) of a YAML file of the repository, read once (duplicate keys rejected)."""
        if rel not in self._files:
            try:
                with open(self.path(rel), encoding="utf-8") as handle:
                    self._files[rel] = (yaml.load(handle, Loader=self.h.ComposeLoader), None)  # noqa: S506
            except Exception as error:  # noqa: BLE001 — reported as a failed check
                self._files[rel] = (None, str(error).replace("\n", " "))
        return self._files[rel]

    def families(self):
        data, error = self.read_yaml(FAMILIES_FILE)
        if error or not isinstance(data, dict) or not isinstance(data.get("families"), dict):
            return {}
        return {name: spec for name, spec in data["families"].items() if isinstance(spec, dict)}

    def scraped_kinds(self):
        return sorted({kind for spec in self.families().values() for kind in spec.get("services") or []
                       if kind in METRICS_PORTS})

    def scrape_jobs(self):
        data, _ = self.read_yaml(PROMETHEUS_CONFIG)
        jobs = {}
        for job in (data or {}).get("scrape_configs") or []:
            if isinstance(job, dict) and job.get("job_name"):
                targets = []
                for static in job.get("static_configs") or []:
                    targets += [str(t) for t in (static or {}).get("targets") or []]
                jobs[str(job["job_name"])] = targets
        return jobs

    def yaml_files(self, rel_dir):
        return sorted(os.path.relpath(p, self.root) for p in glob.glob(self.path(rel_dir) + "/*.y*ml"))

    def datasources(self):
        out = []
        for rel in self.yaml_files(DATASOURCES_DIR):
            data, _ = self.read_yaml(rel)
            out += [d for d in (data or {}).get("datasources") or [] if isinstance(d, dict)]
        return out

    def prometheus_datasource(self):
        found = [d for d in self.datasources() if d.get("type") == "prometheus"]
        return found[0] if len(found) == 1 else None

    def providers(self):
        out = []
        for rel in self.yaml_files(PROVIDERS_DIR):
            data, _ = self.read_yaml(rel)
            out += [p for p in (data or {}).get("providers") or [] if isinstance(p, dict)]
        return out

    def dashboards(self):
        """[(relative path, data or None, error or None)]"""
        out = []
        for path in sorted(glob.glob(self.path(DASHBOARDS_DIR) + "/*.json")):
            rel = os.path.relpath(path, self.root)
            try:
                with open(path, encoding="utf-8") as handle:
                    out.append((rel, json.load(handle, object_pairs_hook=_no_duplicates), None))
            except Exception as error:  # noqa: BLE001
                out.append((rel, None, str(error)))
        return out

    # --- promtool ---------------------------------------------------------------------------------

    def promtool_version(self):
        try:
            result = subprocess.run([self.promtool, "--version"], capture_output=True, text=True, timeout=30, check=False)
            return (result.stdout or result.stderr).splitlines()[0].split("(")[0].strip()
        except (OSError, IndexError, subprocess.SubprocessError) as error:
            return f"promtool unusable: {error}"

    def promtool_check(self, kind, text, name):
        """(ok, output lines) of `promtool check config|rules` on text written to a file named name."""
        with tempfile.TemporaryDirectory(prefix="open-bank-promtool-") as tmp:
            path = os.path.join(tmp, name)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
            try:
                result = subprocess.run([self.promtool, "check", kind, path], capture_output=True, text=True,
                                        timeout=60, check=False)
            except (OSError, subprocess.SubprocessError) as error:
                return False, [f"promtool: {error}"]
            lines = [line.strip().replace(tmp + "/", "") for line in (result.stdout + result.stderr).splitlines()
                     if line.strip() and not line.startswith("Checking ")]
            return result.returncode == 0, lines

    # --- per compose file -------------------------------------------------------------------------

    def check_compose(self, path, data):
        for title, problems in self.compose_results(path, data):
            self.h.check(title, problems)

    def compose_results(self, path, data):
        """[(title, problems)] of the monitoring services of one loaded compose file."""
        h = self.h
        results = []
        services = data.get("services") or {}
        compose_dir = os.path.dirname(os.path.abspath(path))
        prometheus = sorted(n for n, s in services.items() if h.image_of(s).split(":")[0] == PROMETHEUS_IMAGE)
        grafana = sorted(n for n, s in services.items() if h.image_of(s).split(":")[0] == GRAFANA_IMAGE)
        config_path = self.path(PROMETHEUS_CONFIG)

        # Prometheus: its configuration is the checked file, read-only; port published and asked.
        problems = []
        if len(prometheus) != 1:
            problems.append(f"want one {PROMETHEUS_IMAGE} service, found {prometheus or 'none'}")
        prometheus_port = PROMETHEUS_DEFAULT_PORT
        for name in prometheus:
            service = services[name]
            args = command_args(service)
            config = flag(args, "--config.file") or PROMETHEUS_DEFAULT_CONFIG
            listen = flag(args, "--web.listen-address")
            if listen:
                prometheus_port = listen.rpartition(":")[2]
            source, found = host_path(mounts(service, compose_dir), config)
            if found is None:
                problems.append(f"{name}: nothing is mounted at its configuration {config}")
            elif source != config_path:
                problems.append(f"{name}: {config} comes from {source}, want {h.display(config_path)}")
            elif not found[2]:
                problems.append(f"{name}: {found[0]} is mounted read-write, want :ro")
            if prometheus_port not in h.container_ports(service):
                problems.append(f"{name}: its port {prometheus_port} is not published")
            if not any(f":{prometheus_port}/" in text for text in h.command_strings(service)):
                problems.append(f"{name}: the healthcheck does not ask port {prometheus_port}")
        check_title = (f"prometheus ({', '.join(prometheus) or 'none'}): {PROMETHEUS_CONFIG} mounted read-only as its "
                       "configuration, port published and health-checked")
        results.append((check_title, problems))

        # Scrape targets: every replica of a kind that serves metrics, on its port; nothing else.
        problems = []
        jobs = self.scrape_jobs()
        kinds = self.scraped_kinds()
        wanted = {}
        for name, service in services.items():
            kind = h.build_arg(service, "SERVICE") if h.is_rust_service(service) else None
            if kind in kinds:
                var, default = METRICS_PORTS[kind]
                port = h.env_of(service).get(var) or default
                wanted[f"{name}:{port}"] = kind
                hostname = service.get("hostname")
                if hostname:
                    wanted.setdefault(f"{hostname}:{port}", kind)
        for kind in kinds:
            if kind not in jobs:
                problems.append(f"no scrape job {kind!r} in {PROMETHEUS_CONFIG}")
        for job, targets in sorted(jobs.items()):
            if job not in kinds:
                problems.append(f"job {job!r} is no service kind that serves metrics ({', '.join(kinds)})")
            for target in targets:
                if target not in wanted:
                    problems.append(f"job {job!r}: target {target} is no metrics port of a service of this file")
                elif wanted[target] != job:
                    problems.append(f"job {job!r}: target {target} is a {wanted[target]}, not a {job}")
        scraped = {t for targets in jobs.values() for t in targets}
        for name, service in sorted(services.items()):
            kind = h.build_arg(service, "SERVICE") if h.is_rust_service(service) else None
            if kind in kinds:
                port = h.env_of(service).get(METRICS_PORTS[kind][0]) or METRICS_PORTS[kind][1]
                if f"{name}:{port}" not in scraped and f"{service.get('hostname')}:{port}" not in scraped:
                    problems.append(f"{name} ({kind}) is not scraped at {name}:{port}")
        results.append((f"every replica of {', '.join(kinds) or '(no service kind)'} is scraped on its metrics "
                        "port, every target is one", problems))

        # Grafana: after a healthy Prometheus, provisioned from the repository, read-only viewers.
        problems = []
        if len(grafana) != 1:
            problems.append(f"want one {GRAFANA_IMAGE} service, found {grafana or 'none'}")
        for name in grafana:
            service = services[name]
            env = h.env_of(service)
            mount_list = mounts(service, compose_dir)
            for target in prometheus:
                condition = (h.depends_of(service).get(target) or {}).get("condition")
                if condition != "service_healthy":
                    problems.append(f"{name} -> {target}: condition {condition}, want service_healthy")
            provisioning = env.get("GF_PATHS_PROVISIONING") or GRAFANA_PROVISIONING
            for sub, rel in (("datasources", DATASOURCES_DIR), ("dashboards", PROVIDERS_DIR)):
                inside = f"{provisioning}/{sub}"
                source, found = host_path(mount_list, inside)
                if source != self.path(rel):
                    problems.append(f"{name}: {inside} is {source or 'not mounted'}, want {rel}")
                elif not found[2]:
                    problems.append(f"{name}: {found[0]} is mounted read-write, want :ro")
            for provider in self.providers():
                inside = str((provider.get("options") or {}).get("path", ""))
                source, found = host_path(mount_list, inside)
                if source != self.path(DASHBOARDS_DIR):
                    problems.append(f"{name}: dashboard provider {provider.get('name')!r} reads {inside}, which is "
                                    f"{h.display(source) if source else 'not mounted'}, want {DASHBOARDS_DIR}")
                elif not found[2]:
                    problems.append(f"{name}: {found[0]} is mounted read-write, want :ro")
            home = env.get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
            if home:
                source, _ = host_path(mount_list, home)
                if not source or not os.path.isfile(source):
                    problems.append(f"{name}: home dashboard {home} is no file of the repository")
            datasource = self.prometheus_datasource()
            if datasource is None:
                problems.append(f"no single prometheus data source in {DATASOURCES_DIR}")
            else:
                url = str(datasource.get("url", ""))
                host, _, port = re.sub(r"^https?://", "", url).split("/")[0].partition(":")
                if host not in prometheus and host not in {services[p].get("hostname") for p in prometheus}:
                    problems.append(f"data source url {url}: {host} is not the prometheus service")
                elif (port or "80") != prometheus_port:
                    problems.append(f"data source url {url}: prometheus listens on {prometheus_port}")
            if str(env.get("GF_AUTH_ANONYMOUS_ENABLED", "false")).lower() == "true":
                role = env.get("GF_AUTH_ANONYMOUS_ORG_ROLE") or "Viewer"
                if role != "Viewer":
                    problems.append(f"{name}: anonymous users get the role {role}, want Viewer")
            port = env.get("GF_SERVER_HTTP_PORT") or GRAFANA_DEFAULT_PORT
            if port not in h.container_ports(service):
                problems.append(f"{name}: its port {port} is not published")
            if not any(f":{port}/" in text for text in h.command_strings(service)):
                problems.append(f"{name}: the healthcheck does not ask port {port}")
        results.append((f"grafana ({', '.join(grafana) or 'none'}): after a healthy prometheus, provisioning and "
                        "dashboards mounted read-only, data source = the prometheus service, anonymous users only view",
                        problems))
        return results

    # --- run-wide: the configuration files themselves ------------------------------------------------

    def check_files(self):
        h = self.h
        print(f"monitoring ({os.path.dirname(PROMETHEUS_CONFIG)}, docker/grafana; {self.promtool_version()})")

        # Prometheus's own checker.
        try:
            with open(self.path(PROMETHEUS_CONFIG), encoding="utf-8") as handle:
                text = handle.read()
            ok, lines = self.promtool_check("config", text, "prometheus.yml")
            problems = [] if ok else (lines or ["promtool failed"])
        except OSError as error:
            problems = [str(error)]
        h.check(f"{PROMETHEUS_CONFIG}: promtool check config", problems)

        data, error = self.read_yaml(PROMETHEUS_CONFIG)
        h.check(f"{PROMETHEUS_CONFIG}: one job per service kind, static host:port targets on /metrics, "
                f"instance = host, scrape interval <= {MAX_SCRAPE_INTERVAL_S}s",
                [error] if error else self.prometheus_problems(data))

        data, error = self.read_yaml(FAMILIES_FILE)
        problems = [error] if error else schema_errors(FAMILIES_SCHEMA, data)
        for name, spec in self.families().items():
            kind = spec.get("type")
            if kind == "counter" and not name.endswith("_total"):
                problems.append(f"{name}: a counter is named with _total")
            if kind != "counter" and name.endswith(("_total",) + HISTOGRAM_SUFFIXES):
                problems.append(f"{name}: a {kind} must not end with _total/_bucket/_count/_sum")
        h.check(f"{FAMILIES_FILE}: {len(self.families())} families, each with type, labels, services", problems)

        problems = self.provisioning_problems(DATASOURCES_DIR, DATASOURCES_SCHEMA)
        datasource = self.prometheus_datasource()
        if datasource is None:
            problems.append("want exactly one data source of type prometheus")
        else:
            interval = (datasource.get("jsonData") or {}).get("timeInterval")
            scrape = ((self.read_yaml(PROMETHEUS_CONFIG)[0] or {}).get("global") or {}).get("scrape_interval", "1m")
            if seconds(interval) != seconds(scrape):
                problems.append(f"jsonData.timeInterval {interval!r} is not Prometheus's scrape_interval {scrape!r} "
                                "($__rate_interval would not cover 4 scrapes)")
        h.check(f"{DATASOURCES_DIR}: Grafana's provisioning keys, one prometheus data source with a uid, "
                "timeInterval = scrape interval", problems)
        h.check(f"{PROVIDERS_DIR}: Grafana's provisioning keys, file providers",
                self.provisioning_problems(PROVIDERS_DIR, PROVIDERS_SCHEMA))

        # Dashboards.
        dashboards = self.dashboards()
        if not dashboards:
            h.check(f"{DASHBOARDS_DIR}: dashboards", [f"no *.json in {DASHBOARDS_DIR}"])
        uids = {}
        used = set()
        expressions = []
        for rel, dashboard, error in dashboards:
            if error:
                h.check(f"{rel}: JSON parses", [error])
                continue
            problems = self.dashboard_problems(dashboard)
            uid = dashboard.get("uid")
            if uid in uids:
                problems.append(f"uid {uid!r} also {uids[uid]}'s")
            uids.setdefault(uid, rel)
            h.check(f"{rel}: dashboard schema (uid {uid!r}), unique panel ids, layout in 24 columns without "
                    "overlaps, the provisioned data source on every panel and query", problems)
            exprs = list(self.expressions(dashboard))
            expressions += [(rel, where, expr) for where, expr in exprs]
            problems = []
            for where, expr in exprs:
                names, found = self.expression_problems(expr)
                used |= names
                problems += [f"{where}: {p}" for p in found]
            h.check(f"{rel}: {len(exprs)} expressions name served families with their labels (histograms through "
                    "_bucket/_count/_sum, no rate of a gauge, quantiles keep le, jobs that are scraped)", problems)
        if expressions:
            ok, lines = self.promtool_check("rules", self.rules_file(expressions), "dashboard-expressions.rules.yml")
            h.check(f"dashboard expressions parse for Prometheus (promtool check rules, {len(expressions)} expressions)",
                    [] if ok else lines or ["promtool failed"])
        missing = sorted(set(self.families()) - used)
        h.check(f"every family of {FAMILIES_FILE} is on a dashboard",
                [f"{name} is on no dashboard" for name in missing])

    def provisioning_problems(self, rel_dir, schema):
        files = self.yaml_files(rel_dir)
        if not files:
            return [f"no *.yml in {rel_dir}"]
        problems = []
        for rel in files:
            data, error = self.read_yaml(rel)
            problems += [f"{os.path.basename(rel)}: {p}" for p in ([error] if error else schema_errors(schema, data))]
        return problems

    def prometheus_problems(self, data):
        problems = []
        if not isinstance(data, dict):
            return ["not a mapping"]
        interval = seconds(((data.get("global") or {}).get("scrape_interval")) or "1m")
        names = []
        for job in data.get("scrape_configs") or []:
            if not isinstance(job, dict):
                problems.append(f"scrape config {job!r} is not a mapping")
                continue
            name = job.get("job_name")
            names.append(name)
            if job.get("metrics_path", "/metrics") != "/metrics":
                problems.append(f"{name}: metrics_path {job.get('metrics_path')!r}, the services serve /metrics")
            if job.get("scheme", "http") != "http":
                problems.append(f"{name}: scheme {job.get('scheme')!r}, the services serve plain http")
            job_interval = seconds(job.get("scrape_interval")) if job.get("scrape_interval") else interval
            if job_interval is None or job_interval > MAX_SCRAPE_INTERVAL_S:
                problems.append(f"{name}: scrape interval {job.get('scrape_interval') or interval!r} over "
                                f"{MAX_SCRAPE_INTERVAL_S}s")
            discovery = sorted(k for k in job if k.endswith("_sd_configs"))
            if discovery or not job.get("static_configs"):
                problems.append(f"{name}: want static_configs only (found {discovery or 'no static_configs'})")
            for static in job.get("static_configs") or []:
                for target in (static or {}).get("targets") or []:
                    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*:[0-9]{1,5}", str(target)):
                        problems.append(f"{name}: target {target!r} is not host:port")
            relabel = [r for r in job.get("relabel_configs") or []
                       if isinstance(r, dict) and r.get("target_label") == "instance"]
            if not any(r.get("source_labels") == ["__address__"] and r.get("replacement") == "$1"
                       and re.fullmatch(str(r.get("regex", "")), "command-handler-1:8090") for r in relabel):
                problems.append(f"{name}: instance is not relabelled to the target's host (dashboards show hosts)")
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            problems.append(f"job names used twice: {duplicates}")
        return problems

    # --- dashboards ------------------------------------------------------------------------------

    def dashboard_panels(self, dashboard):
        for panel in dashboard.get("panels") or []:
            if isinstance(panel, dict):
                yield panel
                for inner in panel.get("panels") or [] if panel.get("type") == "row" else []:
                    if isinstance(inner, dict):
                        yield inner

    def expressions(self, dashboard):
        for panel in self.dashboard_panels(dashboard):
            if panel.get("type") == "row":
                continue
            for target in panel.get("targets") or []:
                if isinstance(target, dict) and isinstance(target.get("expr"), str) and not target.get("hide"):
                    yield (f"panel {panel.get('id')} {panel.get('title')!r} {target.get('refId')}", target["expr"])

    def dashboard_problems(self, dashboard):
        problems = schema_errors(DASHBOARD_SCHEMA, dashboard)
        if problems or not isinstance(dashboard, dict):
            return problems
        datasource = self.prometheus_datasource() or {}
        want = {"type": datasource.get("type"), "uid": datasource.get("uid")}
        ids, boxes = {}, []
        rows_y = set()
        for panel in self.dashboard_panels(dashboard):
            pid, title = panel.get("id"), panel.get("title")
            if pid in ids:
                problems.append(f"panel id {pid} used by {ids[pid]!r} and {title!r}")
            ids.setdefault(pid, title)
            grid = panel["gridPos"]
            if grid["x"] + grid["w"] > 24:
                problems.append(f"panel {pid} {title!r}: x + w = {grid['x'] + grid['w']} > 24")
            if panel.get("type") == "row":
                if not panel.get("collapsed") and panel.get("panels"):
                    problems.append(f"row {pid} {title!r}: an open row holds no panels (they follow it)")
                rows_y.add(grid["y"])
                if not panel.get("collapsed"):
                    boxes.append((pid, title, grid))
                continue
            boxes.append((pid, title, grid))
            refs = [("panel", panel.get("datasource"))]
            refs += [(f"target {t.get('refId')}", t.get("datasource")) for t in panel.get("targets") or []]
            for where, ref in refs:
                if {k: (ref or {}).get(k) for k in ("type", "uid")} != want:
                    problems.append(f"panel {pid} {title!r} {where}: data source {ref}, want {want}")
            refs_ids = [t.get("refId") for t in panel.get("targets") or []]
            if len(set(refs_ids)) != len(refs_ids):
                problems.append(f"panel {pid} {title!r}: refIds repeat: {refs_ids}")
        for i, (pid_a, title_a, a) in enumerate(boxes):
            for pid_b, title_b, b in boxes[i + 1:]:
                if (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
                        and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]):
                    problems.append(f"panels {pid_a} {title_a!r} and {pid_b} {title_b!r} overlap")
        return problems

    def expression_problems(self, expr):
        """(families used, problems) of one dashboard expression."""
        families = self.families()
        jobs = set(self.scrape_jobs())
        problems, used = [], set()
        try:
            tree = promql_parser.parse(substitute_grafana_variables(expr))
        except Exception as error:  # noqa: BLE001 — the parser's error is the message
            return used, [f"does not parse: {error}"]

        def family_of(name):
            """(family, series suffix) or (None, None)"""
            if name in families:
                return name, ""
            for suffix in HISTOGRAM_SUFFIXES:
                base = name[: -len(suffix)] if name.endswith(suffix) else None
                if base in families and families[base].get("type") == "histogram":
                    return base, suffix
            return None, None

        def selectors(node):
            found = []

            def visit(n):
                if isinstance(n, promql_parser.VectorSelector):
                    found.append(n)

            promql_parser.walk(node, visit)
            return found

        def labels_of(selector_list):
            labels = set(TARGET_LABELS)
            for selector in selector_list:
                family, suffix = family_of(selector.name or "")
                if family:
                    labels |= set(families[family].get("labels") or [])
                    if suffix == "_bucket":
                        labels.add("le")
            return labels

        def visit(node):
            if isinstance(node, promql_parser.VectorSelector):
                name = node.name
                if not name:
                    problems.append("a selector without a metric name")
                    return
                family, suffix = family_of(name)
                if family and suffix == "" and families[family].get("type") == "histogram":
                    problems.append(f"{name} is a histogram: use {name}_bucket, _count or _sum")
                    return
                if family:
                    used.add(family)
                    allowed = labels_of([node])
                elif name in TARGET_SERIES:
                    allowed = set(TARGET_LABELS)
                else:
                    problems.append(f"{name} is no family of {FAMILIES_FILE} nor a series Prometheus adds per target")
                    return
                for matcher in node.matchers.matchers + [m for group in node.matchers.or_matchers for m in group]:
                    if matcher.name == "__name__":
                        continue
                    if matcher.name not in allowed:
                        problems.append(f"{name}: no label {matcher.name!r} (it has {', '.join(sorted(allowed))})")
                    if matcher.name == "job" and matcher.op in (promql_parser.MatchOp.Equal, promql_parser.MatchOp.Re):
                        values = matcher.value.split("|") if matcher.op == promql_parser.MatchOp.Re else [matcher.value]
                        for value in values:
                            if re.fullmatch(r"[A-Za-z0-9_-]+", value) and value not in jobs:
                                problems.append(f"{name}: job {value!r} is no scrape job ({', '.join(sorted(jobs))})")
            elif isinstance(node, promql_parser.AggregateExpr):
                modifier = node.modifier
                if modifier is not None:
                    allowed = labels_of(selectors(node.expr))
                    kind = "by" if modifier.type == promql_parser.AggModifierType.By else "without"
                    for label in modifier.labels:
                        if label not in allowed:
                            problems.append(f"{node.op} {kind} ({label}): no such label under it "
                                            f"({', '.join(sorted(allowed))})")
            elif isinstance(node, promql_parser.BinaryExpr):
                modifier = node.modifier
                matching = getattr(modifier, "matching", None) if modifier is not None else None
                if matching is not None:
                    allowed = labels_of(selectors(node.lhs)) | labels_of(selectors(node.rhs))
                    for label in list(matching.labels) + list(getattr(modifier, "group_labels", None) or []):
                        if label not in allowed:
                            problems.append(f"on/ignoring/group ({label}): no such label on either side")
            elif isinstance(node, promql_parser.Call):
                func = node.func.name
                if func in RATE_FUNCTIONS:
                    for selector in selectors(node):
                        family, _ = family_of(selector.name or "")
                        if family and families[family].get("type") == "gauge":
                            problems.append(f"{func}() over the gauge {selector.name}")
                if func == "histogram_quantile" and len(node.args) == 2:
                    inner = node.args[1]
                    for selector in selectors(inner):
                        _, suffix = family_of(selector.name or "")
                        if suffix != "_bucket":
                            problems.append(f"histogram_quantile() over {selector.name}, which is no histogram's _bucket")

                    def keeps_le(n):
                        if isinstance(n, promql_parser.AggregateExpr) and n.modifier is not None:
                            by = n.modifier.type == promql_parser.AggModifierType.By
                            if by != ("le" in n.modifier.labels):
                                problems.append(f"histogram_quantile(): {n.op} drops le")
                        elif isinstance(n, promql_parser.AggregateExpr) and n.op is not None:
                            problems.append(f"histogram_quantile(): an aggregation without by (le, ...) drops le")

                    promql_parser.walk(inner, keeps_le)
            return None

        promql_parser.walk(tree, visit)
        return used, sorted(set(problems), key=problems.index)

    def rules_file(self, expressions):
        """The dashboards' expressions as recording rules, for promtool check rules."""
        rules = []
        for i, (rel, where, expr) in enumerate(expressions):
            stem = re.sub(r"[^a-zA-Z0-9_]", "_", os.path.splitext(os.path.basename(rel))[0])
            rules.append({"record": f"dashboard_{stem}:expr_{i + 1}", "expr": substitute_grafana_variables(expr),
                          "labels": {"panel": where}})
        return yaml.safe_dump({"groups": [{"name": "dashboard-expressions", "rules": rules}]}, sort_keys=False)

    # --- self-tests --------------------------------------------------------------------------------

    def self_test(self, compose_path=None, compose_data=None):
        h = self.h
        if compose_data is not None:
            self.compose_self_test(compose_path, compose_data)
        data, error = self.read_yaml(PROMETHEUS_CONFIG)
        if error or not isinstance(data, dict) or not data.get("scrape_configs"):
            h.check("promtool rejects broken Prometheus configurations (self-test)", [f"{PROMETHEUS_CONFIG} unreadable"])
        else:
            mutations = []

            def mutate(label, change):
                broken = copy.deepcopy(data)
                change(broken)
                mutations.append((label, broken))

            mutate("misspelt key scrape_intervall", lambda d: d["global"].update(scrape_intervall="5s"))
            mutate("scrape_timeout longer than scrape_interval",
                   lambda d: d["global"].update(scrape_interval="5s", scrape_timeout="10s"))
            mutate("a job name twice", lambda d: d["scrape_configs"].append(copy.deepcopy(d["scrape_configs"][0])))
            mutate("a target with a URL scheme",
                   lambda d: d["scrape_configs"][0]["static_configs"][0].update(targets=["http://x:1"]))
            mutate("an invalid relabel regex",
                   lambda d: d["scrape_configs"][0].update(relabel_configs=[{"source_labels": ["__address__"],
                                                                             "regex": "(", "target_label": "instance"}]))
            problems = []
            ok, lines = self.promtool_check("config", yaml.safe_dump(data), "prometheus.yml")
            if not ok:  # the variants below must fail for their change alone
                problems.append("promtool rejects the unchanged configuration written back: " + "; ".join(lines))
            for label, broken in mutations:
                ok, _ = self.promtool_check("config", yaml.safe_dump(broken), "prometheus.yml")
                if ok:
                    problems.append(f"promtool accepted: {label}")
            h.check(f"promtool rejects {len(mutations)} deliberately broken Prometheus configurations (self-test)", problems)

        dashboards = [d for _, d, e in self.dashboards() if d is not None]
        if not dashboards:
            h.check("dashboard checks reject broken dashboards (self-test)", ["no dashboard to mutate"])
            return
        base = dashboards[0]
        first = next(i for i, p in enumerate(base["panels"]) if p.get("type") != "row" and p.get("targets"))
        second = next(i for i, p in enumerate(base["panels"]) if i > first and p.get("type") != "row")
        mutations = []

        def mutate_dashboard(label, change):
            broken = copy.deepcopy(base)
            change(broken)
            mutations.append((label, broken))

        def set_expr(expr):
            return lambda d: d["panels"][first]["targets"][0].update(expr=expr)

        mutate_dashboard("no uid", lambda d: d.pop("uid"))
        mutate_dashboard("a misspelt top-level key", lambda d: d.update(panel=[]))
        mutate_dashboard("a panel on another data source",
                         lambda d: d["panels"][first].update(datasource={"type": "prometheus", "uid": "other"}))
        mutate_dashboard("a panel without queries", lambda d: d["panels"][first].update(targets=[]))
        mutate_dashboard("two panels with one id", lambda d: d["panels"][second].update(id=d["panels"][first]["id"]))
        mutate_dashboard("overlapping panels",
                         lambda d: d["panels"][second].update(gridPos=dict(d["panels"][first]["gridPos"])))
        mutate_dashboard("a panel wider than the grid", lambda d: d["panels"][first]["gridPos"].update(x=20, w=8))
        mutate_dashboard("an unknown metric", set_expr("sum(rate(open_bank_transfers_total[$__rate_interval]))"))
        mutate_dashboard("an unknown label", set_expr("sum by (account) (open_bank_consumer_lag_records)"))
        mutate_dashboard("a histogram without suffix", set_expr("open_bank_transfer_seconds"))
        mutate_dashboard("rate of a gauge", set_expr("rate(open_bank_open_transfers[1m])"))
        mutate_dashboard("a quantile that drops le",
                         set_expr("histogram_quantile(0.9, sum by (job) (rate(open_bank_query_seconds_bucket[1m])))"))
        mutate_dashboard("a job that is not scraped", set_expr('up{job="kafka"}'))
        mutate_dashboard("a syntax error", set_expr("sum(rate(open_bank_transfer_seconds_count[1m])"))
        problems = []
        for label, broken in mutations:
            found = self.dashboard_problems(broken)
            if not found:
                for _, expr in self.expressions(broken):
                    found += self.expression_problems(expr)[1]
            if not found:
                problems.append(f"accepted: {label}")
        ok, _ = self.promtool_check("rules", self.rules_file([("x.json", "p", "sum(rate(x[1m])")]), "broken.rules.yml")
        if ok:
            problems.append("promtool check rules accepted an expression with an unclosed parenthesis")
        for label, schema, doc in (
                ("a data source with a misspelt key", DATASOURCES_SCHEMA,
                 {"apiVersion": 1, "datasources": [{"name": "P", "type": "prometheus", "uid": "p", "access": "proxy",
                                                     "url": "http://prometheus:9090", "isdefault": True}]}),
                ("a provider of type folder", PROVIDERS_SCHEMA,
                 {"apiVersion": 1, "providers": [{"name": "p", "type": "folder", "options": {"path": "/x"}}]}),
                ("a family of an unknown type", FAMILIES_SCHEMA,
                 {"families": {"open_bank_x": {"type": "summary", "labels": [], "services": ["projector"], "help": "x"}}})):
            if not schema_errors(schema, doc):
                problems.append(f"accepted: {label}")
        h.check(f"dashboard and provisioning checks reject {len(mutations) + 4} deliberately broken variants (self-test)",
                problems)


    def compose_self_test(self, path, data):
        """Broken variants of a compose file's monitoring services that compose_results must reject."""
        services = data.get("services") or {}
        prometheus = next((n for n, s in services.items() if self.h.image_of(s).split(":")[0] == PROMETHEUS_IMAGE), None)
        grafana = next((n for n, s in services.items() if self.h.image_of(s).split(":")[0] == GRAFANA_IMAGE), None)
        replica = next((n for n, s in sorted(services.items()) if self.h.is_rust_service(s)
                        and self.h.build_arg(s, "SERVICE") in METRICS_PORTS), None)
        if not (prometheus and grafana and replica):
            self.h.check("compose monitoring checks reject broken variants (self-test)",
                         [f"{self.h.display(path)} lacks prometheus, grafana or a Rust replica to mutate"])
            return
        mutations = []

        def mutate(label, change):
            broken = copy.deepcopy(data)
            change(broken["services"])
            mutations.append((label, broken))

        def retarget(s, name, old, new):
            s[name]["volumes"] = [str(v).replace(old, new) for v in s[name].get("volumes") or []]

        kind = self.h.build_arg(services[replica], "SERVICE")
        mutate("a replica nobody scrapes", lambda s: s.update({replica + "-extra": copy.deepcopy(s[replica])}))
        mutate("a replica serving metrics on another port",
               lambda s: s[replica].setdefault("environment", {}).update({METRICS_PORTS[kind][0]: "9999"}))
        mutate("prometheus reading another configuration",
               lambda s: retarget(s, prometheus, "./prometheus/prometheus.yml:", "./prometheus/other.yml:"))
        mutate("prometheus's configuration mounted read-write", lambda s: retarget(s, prometheus, ":ro", ""))
        mutate("grafana not waiting for prometheus", lambda s: s[grafana].pop("depends_on", None))
        mutate("grafana without the dashboards", lambda s: retarget(s, grafana, "./grafana/dashboards:", "./grafana/other:"))
        mutate("anonymous users as admins", lambda s: s[grafana].setdefault("environment", {}).update(
            GF_AUTH_ANONYMOUS_ENABLED="true", GF_AUTH_ANONYMOUS_ORG_ROLE="Admin"))
        mutate("the data source's host renamed away", lambda s: s.update({prometheus + "-2": s.pop(prometheus)}))
        problems = [f"accepted: {label}" for label, broken in mutations
                    if not any(found for _, found in self.compose_results(path, broken))]
        self.h.check(f"compose monitoring checks reject {len(mutations)} deliberately broken variants (self-test)",
                     problems)


def substitute_grafana_variables(expr):
    """Grafana's $__rate_interval, $__interval, $__range -> a duration, as Grafana does before sending."""
    return GRAFANA_VARIABLE.sub("20s", expr)


def _no_duplicates(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out
