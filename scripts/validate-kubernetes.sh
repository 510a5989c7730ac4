#!/usr/bin/env bash
# scripts/validate-kubernetes.sh — check the Helm chart deploy/helm/open-bank against a real Kubernetes
# API server with Strimzi's, KEDA's and prometheus-operator's CRDs installed. No cluster, no container
# runtime: pods never run here, so the check stops where the API server stops (schema, CRD validation,
# admission); see deploy/README.md.
#
#   scripts/validate-kubernetes.sh                # everything below, then `N passed, M failed`
#   scripts/validate-kubernetes.sh --tools-only   # only build / fetch what is cached (step 1 + CRDs)
#   scripts/validate-kubernetes.sh --keep         # leave the (second) API server running at the end
#   OPEN_BANK_CACHE=/elsewhere scripts/...        # the cache root (default ~/.cache/open-bank; this uses k8s/)
#
# 1. Tools, built once from the Go module proxy into $OPEN_BANK_CACHE/k8s/bin (later runs: seconds):
#    helm (helm.sh/helm/v4/cmd/helm), kube-apiserver and kubectl (k8s.io/kubernetes, with one replace
#    line per staging module and the version ldflags, so the server reports v1.36.3, not
#    v0.0.0-master), kine (github.com/k3s-io/kine, SQLite, cgo) as the API server's storage. The Go
#    module that builds kube-apiserver/kubectl is written into the cache at run time (go.mod only); Go's
#    module and build caches live under the cache too and are deleted after a successful build
#    (OPEN_BANK_K8S_KEEP_GO=1 keeps them: several GB). Cold about 18 min on 2 busy cores, then ~30 s.
#    CRDs, fetched once: Strimzi's from the io.strimzi:api `tests` classifier jar on Maven Central (the
#    newest of STRIMZI_VERSIONS that resolves), KEDA's ScaledObject + TriggerAuthentication and
#    prometheus-operator's ServiceMonitor from their Go modules (`go mod download`).
# 2. kine + kube-apiserver on free 127.0.0.1 ports with throw-away certificates (openssl), stopped at exit.
# 3. The CRDs applied server-side, each waited for until Established.
# 4. `helm lint` (default values and values-three-zones.yaml), `helm template` of both, and each rendering
#    applied with `kubectl apply --server-side --dry-run=server` into a real namespace: the server checks
#    every object against its schema (built-in kinds and the CRDs' OpenAPI schemas) and admission.
#    Then broken variants must be REJECTED by the server (so the check above really checks). Done on two
#    fresh API servers, one per Strimzi CRD set: crds/v1beta2 (v1beta2 stored, v1 served: what Strimzi
#    0.49-0.51 install) and crds/v1 (v1 only). The chart is copied once at the start of the run.
#    On the first server also a real `helm install` / `upgrade` / `uninstall` / `install` into a second
#    namespace (stored, nothing runs): the generated saga, token and session secrets must never change.
# 5. Chart properties, asserted on the rendered YAML (Python + PyYAML from a venv in the cache), and
#    files/kafka-acls.yaml against `synchronizer acls --strimzi` of a current build (target/debug or
#    target/release, or OPEN_BANK_SYNCHRONIZER; skipped, and said so, when there is none or it is stale).
#
# Ends with `N passed, M failed`; exit 1 when anything failed, 2 on a setup error.
# Needs: go (>= 1.26), a C compiler (kine's SQLite), openssl, python3 (>= 3.10, venv + pip), mvn (Maven
# Central). Network: the Go module proxy, Maven Central and PyPI, on the first run only.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHART="$ROOT/deploy/helm/open-bank"
CACHE_ROOT="${OPEN_BANK_CACHE:-$HOME/.cache/open-bank}"
K8S="$CACHE_ROOT/k8s"
BIN="$K8S/bin"
LOGS="$K8S/logs"

KUBERNETES_VERSION="1.36.3"
HELM_VERSION="4.3.2"
KINE_VERSION="0.17.5"
# Newest first; the first whose `tests` jar Maven Central has wins.
STRIMZI_VERSIONS="${OPEN_BANK_STRIMZI_VERSIONS:-0.51.0 0.50.0 0.49.1 0.49.0}"
# v2.21.x needs Go >= 1.27.4 even to be downloaded by the go command; v2.20.2 is the newest for Go 1.26.
KEDA_VERSION="2.20.2"
PROMETHEUS_OPERATOR_VERSION="0.85.0"
PYYAML_VERSION="6.0.3"
MAVEN_DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
NAMESPACE="open-bank"
RELEASE="open-bank"

TOOLS_ONLY=0
KEEP=0
for arg in "$@"; do
    case "$arg" in
    --tools-only) TOOLS_ONLY=1 ;;
    --keep) KEEP=1 ;;
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "unknown argument: $arg (see --help)" >&2
        exit 2
        ;;
    esac
done

say() { printf '==> %s\n' "$*"; }
stage() { printf '==> %s  [%d s]\n' "$*" "$((SECONDS - START))"; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 2
}
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is needed: $2"; }

PASSED=0
FAILED=0
pass() {
    PASSED=$((PASSED + 1))
    printf '  PASS  %s\n' "$1"
}
fail() {
    FAILED=$((FAILED + 1))
    printf '  FAIL  %s\n' "$1"
    if [[ -n "${2:-}" && -s "$2" ]]; then grep -v 'serverside-applied' "$2" | sed 's/^/        /' | tail -n 25; fi
}

START=$SECONDS

# ---------------------------------------------------------------------------------------------------
# 1. Tools
# ---------------------------------------------------------------------------------------------------
go_env() { # Go's caches under ours: nothing of the user's GOPATH is touched, and it can all be dropped
    export GOPATH="$K8S/go/path" GOMODCACHE="$K8S/go/mod" GOCACHE="$K8S/go/build"
    export GOFLAGS="-modcacherw -buildvcs=false" GOTOOLCHAIN=local GOWORK=off
}

stamp_ok() { [[ -x "$BIN/$1" && "$(cat "$BIN/.$1.version" 2>/dev/null || true)" == "$2" ]]; }
stamp() { echo "$2" >"$BIN/.$1.version"; }

build_logged() { # name, command...: run a build quietly; its log tail on failure
    local name="$1" t0=$SECONDS
    shift
    mkdir -p "$LOGS"
    if ! nice -n 10 "$@" >"$LOGS/build-$name.log" 2>&1; then
        tail -n 30 "$LOGS/build-$name.log" >&2
        die "building $name failed (log: $LOGS/build-$name.log)"
    fi
    say "  $name built in $((SECONDS - t0)) s"
}

build_helm() {
    local want="helm.sh/helm/v4@v$HELM_VERSION"
    stamp_ok helm "$want" && return 0
    say "building helm v$HELM_VERSION (helm.sh/helm/v4/cmd/helm, about 2 min cold) ..."
    build_logged helm env CGO_ENABLED=0 GOBIN="$BIN" go install -trimpath \
        -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=v$HELM_VERSION" \
        "helm.sh/helm/v4/cmd/helm@v$HELM_VERSION"
    stamp helm "$want"
}

build_kine() {
    local want="github.com/k3s-io/kine@v$KINE_VERSION"
    stamp_ok kine "$want" && return 0
    need gcc "kine's SQLite driver is C (cgo)"
    say "building kine v$KINE_VERSION (SQLite, cgo; about 2 min cold) ..."
    build_logged kine env CGO_ENABLED=1 GOBIN="$BIN" go install -trimpath \
        -ldflags "-s -w -X github.com/k3s-io/kine/pkg/version.Version=v$KINE_VERSION" \
        "github.com/k3s-io/kine@v$KINE_VERSION"
    stamp kine "$want"
}

build_kubernetes() { # kube-apiserver + kubectl from one generated module
    local want="k8s.io/kubernetes@v$KUBERNETES_VERSION"
    stamp_ok kube-apiserver "$want" && stamp_ok kubectl "$want" && return 0
    say "building kube-apiserver + kubectl v$KUBERNETES_VERSION (k8s.io/kubernetes, about 5 min cold) ..."
    local src="$K8S/src/kubernetes" gomod staging
    rm -rf "$src"
    mkdir -p "$src"
    # k8s.io/kubernetes points its staging modules at ./staging/...; a module that uses it replaces
    # each with its published version v0.<minor>.<patch>. The list is the `=>` lines of its go.mod.
    gomod="$(go mod download -json "k8s.io/kubernetes@v$KUBERNETES_VERSION" |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("GoMod") or ""); sys.exit(1 if d.get("Error") else 0)')" ||
        die "could not download k8s.io/kubernetes@v$KUBERNETES_VERSION from the Go module proxy"
    staging="$(sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$gomod" | grep -vx 'k8s.io/sample-cli-plugin' || true)"
    [[ -n "$staging" ]] || die "no staging replace lines found in $gomod"
    {
        echo "// Generated by scripts/validate-kubernetes.sh to build kube-apiserver and kubectl; not committed."
        echo "module open-bank.invalid/k8s-tools"
        echo
        echo "go $(go env GOVERSION | sed 's/^go//; s/\([0-9]*\.[0-9]*\).*/\1/')"
        echo
        echo "require k8s.io/kubernetes v$KUBERNETES_VERSION"
        echo
        echo "replace ("
        local m
        for m in $staging; do echo "	$m => $m v0.${KUBERNETES_VERSION#1.}"; done
        echo ")"
    } >"$src/go.mod"
    local minor="${KUBERNETES_VERSION#1.}"
    minor="${minor%%.*}"
    local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$KUBERNETES_VERSION"
    ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
    ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
    ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=v$KUBERNETES_VERSION"
    ldflags+=" -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
    (
        cd "$src"
        build_logged k8s-resolve go get "k8s.io/kubernetes/cmd/kube-apiserver@v$KUBERNETES_VERSION" \
            "k8s.io/kubernetes/cmd/kubectl@v$KUBERNETES_VERSION"
        build_logged kube-apiserver env CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" \
            -o "$BIN/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
        build_logged kubectl env CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" \
            -o "$BIN/kubectl" k8s.io/kubernetes/cmd/kubectl
    )
    stamp kube-apiserver "$want"
    stamp kubectl "$want"
}

fetch_strimzi_crds() {
    local dir v jar tmp
    for v in $STRIMZI_VERSIONS; do
        if [[ -f "$K8S/crds/strimzi-$v/.fetched" && -d "$K8S/crds/strimzi-$v/v1" && -d "$K8S/crds/strimzi-$v/v1beta2" ]]; then
            STRIMZI_VERSION="$v"
            return 0
        fi
    done
    need mvn "Maven downloads Strimzi's CRDs (io.strimzi:api tests jar) from Maven Central"
    need unzip "to unpack the Strimzi tests jar"
    tmp="$(mktemp -d "$K8S/tmp.XXXXXX")"
    for v in $STRIMZI_VERSIONS; do
        say "fetching Strimzi $v CRDs (io.strimzi:api:$v:jar:tests) from Maven Central ..."
        if mvn -B -q -Dstyle.color=never -Dmaven.repo.local="$K8S/m2" "$MAVEN_DEPENDENCY_PLUGIN:copy" \
            -Dartifact="io.strimzi:api:$v:jar:tests" -DoutputDirectory="$tmp/$v" -Dmdep.useBaseVersion=true \
            >"$tmp/mvn-$v.log" 2>&1; then
            jar="$(find "$tmp/$v" -name '*.jar' | head -n1)"
            dir="$K8S/crds/strimzi-$v"
            rm -rf "$dir"
            mkdir -p "$dir"
            # Two sets: crds/v1beta2 (v1beta2 stored, v1 served: what Strimzi 0.49-0.51 installs) and
            # crds/v1 (v1 only: after the move to v1).
            (cd "$tmp/$v" && unzip -q -o "$jar" 'crds/*')
            cp -r "$tmp/$v/crds/." "$dir/"
            [[ -n "$(ls "$dir"/v1/*.yaml "$dir"/v1beta2/*.yaml 2>/dev/null)" ]] || die "no crds/v1/*.yaml and crds/v1beta2/*.yaml in $jar"
            date -u +%FT%TZ >"$dir/.fetched"
            STRIMZI_VERSION="$v"
            rm -rf "$tmp" "$K8S/m2"
            return 0
        fi
        say "  Strimzi $v: not resolvable ($(grep -m1 -o 'Could not [^.]*' "$tmp/mvn-$v.log" || echo 'see mvn output'))"
    done
    rm -rf "$tmp"
    die "none of Strimzi $STRIMZI_VERSIONS resolved on Maven Central"
}

fetch_go_module_crds() { # name version module file...: CRD YAML files out of a Go module
    local name="$1" version="$2" module="$3" dir moddir f
    shift 3
    dir="$K8S/crds/$name-$version"
    [[ -f "$dir/.fetched" ]] && return 0
    say "fetching $name $version CRDs ($module@v$version) from the Go module proxy ..."
    moddir="$(go mod download -json "$module@v$version" |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("Dir") or ""); sys.exit(1 if d.get("Error") else 0)')" ||
        die "could not download $module@v$version"
    rm -rf "$dir"
    mkdir -p "$dir"
    for f in "$@"; do
        [[ -f "$moddir/$f" ]] || die "$module@v$version has no $f"
        cp "$moddir/$f" "$dir/"
    done
    chmod u+w "$dir"/*
    date -u +%FT%TZ >"$dir/.fetched"
}

setup_python() {
    local venv="$K8S/venv"
    if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c "import yaml; assert yaml.__version__ == '$PYYAML_VERSION'" 2>/dev/null; then
        PY="$venv/bin/python"
        return 0
    fi
    say "making a Python venv with PyYAML $PYYAML_VERSION (PyPI) ..."
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    "$venv/bin/pip" install -q --disable-pip-version-check "PyYAML==$PYYAML_VERSION" >"$LOGS/pip.log" 2>&1 ||
        { tail -n 20 "$LOGS/pip.log" >&2; die "could not install PyYAML $PYYAML_VERSION"; }
    PY="$venv/bin/python"
}

prepare() {
    need go "the tools are built from the Go module proxy"
    need openssl "for the API server's certificates"
    need python3 "for the chart assertions"
    mkdir -p "$BIN" "$LOGS" "$K8S/crds"
    local t0=$SECONDS built=0
    go_env
    stamp_ok helm "helm.sh/helm/v4@v$HELM_VERSION" && stamp_ok kine "github.com/k3s-io/kine@v$KINE_VERSION" &&
        stamp_ok kube-apiserver "k8s.io/kubernetes@v$KUBERNETES_VERSION" &&
        stamp_ok kubectl "k8s.io/kubernetes@v$KUBERNETES_VERSION" || built=1
    build_helm
    build_kine
    build_kubernetes
    fetch_strimzi_crds
    fetch_go_module_crds keda "$KEDA_VERSION" github.com/kedacore/keda/v2 \
        config/crd/bases/keda.sh_scaledobjects.yaml config/crd/bases/keda.sh_triggerauthentications.yaml
    fetch_go_module_crds prometheus-operator "$PROMETHEUS_OPERATOR_VERSION" \
        github.com/prometheus-operator/prometheus-operator \
        example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml
    setup_python
    if [[ -d "$K8S/go" && "${OPEN_BANK_K8S_KEEP_GO:-0}" != 1 ]]; then
        chmod -R u+w "$K8S/go" 2>/dev/null || true
        rm -rf "$K8S/go" "$K8S/src"
    fi
    if ((built)); then say "tools ready in $((SECONDS - t0)) s"; fi
    say "tools: helm v$HELM_VERSION, kube-apiserver + kubectl v$KUBERNETES_VERSION, kine v$KINE_VERSION;" \
        "CRDs: Strimzi $STRIMZI_VERSION, KEDA $KEDA_VERSION, prometheus-operator $PROMETHEUS_OPERATOR_VERSION" \
        "(cache $K8S: $(du -sh "$K8S" | cut -f1))"
}


# ---------------------------------------------------------------------------------------------------
# 2. kine + kube-apiserver
# ---------------------------------------------------------------------------------------------------
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

RUN=""
KINE_PID=""
APISERVER_PID=""
cleanup() {
    local rc=$?
    if ((KEEP)) && [[ -n "$APISERVER_PID" ]]; then
        say "left running (--keep): KUBECONFIG=$RUN/kubeconfig $BIN/kubectl get ns;" \
            "stop with: kill $APISERVER_PID; sleep 5; kill $KINE_PID; rm -rf $RUN (the API server first: it waits for its storage)"
        return "$rc"
    fi
    stop_apiserver
    [[ -n "$RUN" ]] && rm -rf "$RUN"
    return "$rc"
}
stop_apiserver() {
    if [[ -n "$APISERVER_PID" ]]; then kill "$APISERVER_PID" 2>/dev/null && wait "$APISERVER_PID" 2>/dev/null; fi
    if [[ -n "$KINE_PID" ]]; then kill "$KINE_PID" 2>/dev/null && wait "$KINE_PID" 2>/dev/null; fi
    APISERVER_PID=""
    KINE_PID=""
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

make_certs() { # a throw-away CA, the server's certificate, an admin client (system:masters), SA keys
    local d="$RUN/pki"
    mkdir -p "$d"
    (
        cd "$d"
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=open-bank-validate-ca" \
            -keyout ca.key -out ca.crt
        openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout server.key -out server.csr
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.96.0.1,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n' >server.ext
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.crt
        openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=validate-admin" -keyout admin.key -out admin.csr
        printf 'extendedKeyUsage=clientAuth\n' >admin.ext
        openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile admin.ext -out admin.crt
        openssl genrsa -out sa.key 2048
        openssl rsa -in sa.key -pubout -out sa.pub
    ) >"$RUN/openssl.log" 2>&1 || { cat "$RUN/openssl.log" >&2; die "openssl failed"; }
}

start_apiserver() { # name: a fresh API server with its own (empty) storage
    local name="$1" kine_port api_port t0=$SECONDS
    kine_port="$(free_port)"
    api_port="$(free_port)"
    "$BIN/kine" --endpoint "sqlite://$RUN/kine-$name.db?_journal=WAL&cache=shared&_busy_timeout=30000" \
        --listen-address "127.0.0.1:$kine_port" --metrics-bind-address 0 >"$RUN/kine-$name.log" 2>&1 &
    KINE_PID=$!
    "$BIN/kube-apiserver" \
        --etcd-servers="http://127.0.0.1:$kine_port" \
        --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port" \
        --cert-dir="$RUN/pki" --tls-cert-file="$RUN/pki/server.crt" --tls-private-key-file="$RUN/pki/server.key" \
        --client-ca-file="$RUN/pki/ca.crt" \
        --service-account-issuer=https://kubernetes.default.svc \
        --service-account-key-file="$RUN/pki/sa.pub" --service-account-signing-key-file="$RUN/pki/sa.key" \
        --service-cluster-ip-range=10.96.0.0/16 \
        --authorization-mode=RBAC --enable-priority-and-fairness=false --profiling=false \
        >"$RUN/kube-apiserver-$name.log" 2>&1 &
    APISERVER_PID=$!
    cat >"$RUN/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: validate
    cluster: {server: "https://127.0.0.1:$api_port", certificate-authority: "$RUN/pki/ca.crt"}
users:
  - name: admin
    user: {client-certificate: "$RUN/pki/admin.crt", client-key: "$RUN/pki/admin.key"}
contexts:
  - name: validate
    context: {cluster: validate, user: admin}
current-context: validate
EOF
    export KUBECONFIG="$RUN/kubeconfig"
    local deadline=$((SECONDS + 120))
    until "$BIN/kubectl" get --raw /readyz >/dev/null 2>&1; do
        if ! kill -0 "$APISERVER_PID" 2>/dev/null || ! kill -0 "$KINE_PID" 2>/dev/null || ((SECONDS > deadline)); then
            tail -n 20 "$RUN/kine-$name.log" "$RUN/kube-apiserver-$name.log" >&2
            die "kube-apiserver did not become ready"
        fi
        sleep 0.5
    done
    say "kube-apiserver $("$BIN/kubectl" version -o json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])')" \
        "ready on https://127.0.0.1:$api_port (kine/SQLite on :$kine_port) in $((SECONDS - t0)) s"
}

kc() { "$BIN/kubectl" "$@"; }

create_namespace() { # for real: the dry runs go into it
    if kc create namespace "$NAMESPACE" >"$RUN/ns.log" 2>&1; then
        pass "namespace $NAMESPACE created"
    else
        fail "namespace $NAMESPACE created" "$RUN/ns.log"
    fi
}

# ---------------------------------------------------------------------------------------------------
# 3. CRDs
# ---------------------------------------------------------------------------------------------------
established_within() { # seconds log: every CRD Established (a CRD just created may have no status yet,
    # which makes `kubectl wait` give up at once: ask again)
    local deadline=$((SECONDS + $1))
    until kc wait --for=condition=Established --timeout=30s crd --all >>"$2" 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 1
    done
}

STRIMZI_SET="" # which of Strimzi's two CRD sets the running API server has
install_crds() { # set: "v1beta2" (what Strimzi 0.49-0.51 installs: v1beta2 stored, v1 served) or "v1" (v1 only)
    local set="$1" out="$RUN/crds-$1.log" names
    # Each set on an API server of its own: a CRD that stored v1beta2 cannot simply become v1-only, and
    # deleting CRDs waits for their finalizer, which takes minutes now and then on a busy machine.
    if kc apply --server-side --field-manager=validate -f "$K8S/crds/strimzi-$STRIMZI_VERSION/$set" \
        -f "$K8S/crds/keda-$KEDA_VERSION" -f "$K8S/crds/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION" >"$out" 2>&1 &&
        established_within 120 "$out"; then
        names="$(kc get crd -o name | sed 's#.*/##' | sort | tr '\n' ' ')"
        pass "CRDs installed server-side and Established (Strimzi $STRIMZI_VERSION crds/$set, KEDA $KEDA_VERSION, prometheus-operator $PROMETHEUS_OPERATOR_VERSION): $(wc -w <<<"$names") CRDs"
    else
        fail "CRDs installed server-side and Established (Strimzi $STRIMZI_VERSION crds/$set)" "$out"
    fi
    STRIMZI_SET="$set"
}

# ---------------------------------------------------------------------------------------------------
# 4. lint, template, server-side dry run; broken variants rejected
# ---------------------------------------------------------------------------------------------------
VARIANTS=(default three-zones)
variant_args() {
    case "$1" in
    default) ;;
    three-zones) echo "-f $CHART/values-three-zones.yaml" ;;
    esac
}

lint_and_render() {
    local v out
    for v in "${VARIANTS[@]}"; do
        out="$RUN/lint-$v.log"
        # shellcheck disable=SC2046 # variant_args is meant to split
        if "$BIN/helm" lint --strict "$CHART" --namespace "$NAMESPACE" $(variant_args "$v") >"$out" 2>&1; then
            pass "helm lint --strict ($v values)"
        else
            fail "helm lint --strict ($v values)" "$out"
        fi
        # shellcheck disable=SC2046
        if "$BIN/helm" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" --kube-version "$KUBERNETES_VERSION" \
            $(variant_args "$v") >"$RUN/rendered-$v.yaml" 2>"$out"; then
            pass "helm template ($v values): $(grep -c '^kind:' "$RUN/rendered-$v.yaml") objects"
        else
            fail "helm template ($v values)" "$out"
        fi
    done
}

option_renderings() { # values beyond the two variants, asserted in chart_properties
    cat >"$RUN/values-options.yaml" <<'EOF'
graphqlEndpoint:
  trustedProxies: "10.244.0.0/16, 192.0.2.10, fd00:10:244::/56"
  existingSecret: bank-endpoint
commandHandler:
  existingSecret: bank-sagas
EOF
    if "$BIN/helm" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" --kube-version "$KUBERNETES_VERSION" \
        -f "$RUN/values-options.yaml" >"$RUN/rendered-options.yaml" 2>"$RUN/options.log" &&
        "$BIN/helm" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" --kube-version "$KUBERNETES_VERSION" \
            --set 'graphqlEndpoint.trustedProxies={10.42.0.0/16,10.43.0.0/16}' >"$RUN/rendered-proxy-list.yaml" 2>>"$RUN/options.log"; then
        pass "helm template with trusted proxy networks and existing Secrets (options values), and with trustedProxies as a list"
    else
        fail "helm template with trusted proxy networks and existing Secrets" "$RUN/options.log"
    fi
}

dry_run() { # file: kubectl apply --server-side --dry-run=server; output in $RUN/dry-run.log
    kc apply --server-side --dry-run=server --field-manager=open-bank-validate --force-conflicts \
        -n "$NAMESPACE" -f "$1" >"$RUN/dry-run.log" 2>&1
}

accepted() { # label file
    if dry_run "$2"; then
        pass "$1: accepted by the API server ($(grep -c 'serverside-applied (server dry run)' "$RUN/dry-run.log") objects, server-side dry run)"
    else
        fail "$1: accepted by the API server" "$RUN/dry-run.log"
    fi
}

rejected() { # label file expected-regex: the server must refuse it, for the expected reason
    if dry_run "$2"; then
        fail "$1: REJECTED by the API server (it was accepted)"
    elif grep -Eq "$3" "$RUN/dry-run.log"; then
        pass "$1: rejected by the API server ($(grep -Eo "$3" "$RUN/dry-run.log" | head -n1))"
    else
        fail "$1: rejected for the expected reason /$3/" "$RUN/dry-run.log"
    fi
}

helm_refuses() { # label expected-regex helm-args...
    local label="$1" re="$2"
    shift 2
    if "$BIN/helm" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" "$@" >/dev/null 2>"$RUN/helm-refuse.log"; then
        fail "$label: refused by the chart (it rendered)"
    elif grep -Eq "$re" "$RUN/helm-refuse.log"; then
        pass "$label: refused by the chart ($(grep -Eo "$re" "$RUN/helm-refuse.log" | head -n1))"
    else
        fail "$label: refused for the expected reason /$re/" "$RUN/helm-refuse.log"
    fi
}

mutate() { # src dst python: edit objects of the rendering got with find(kind, name=None); dst holds those
    "$PY" - "$1" "$2" "$3" <<'EOF'
import sys, yaml
src, dst, code = sys.argv[1:4]
docs = [d for d in yaml.safe_load_all(open(src)) if d]
found = []
def find(kind, name=None):
    for d in docs:
        if d["kind"] == kind and (name is None or d["metadata"]["name"] == name):
            found.append(d)
            return d
    raise SystemExit(f"no {kind} {name or ''} in {src}")
exec(code)
with open(dst, "w") as f:
    yaml.safe_dump_all(found, f, sort_keys=False)
EOF
}

server_checks() { # the renderings against the CRD set installed now
    local v
    for v in "${VARIANTS[@]}"; do
        [[ -s "$RUN/rendered-$v.yaml" ]] && accepted "$v rendering, Strimzi crds/$STRIMZI_SET" "$RUN/rendered-$v.yaml"
    done
    return 0
}

broken_variants() {
    local base="$RUN/rendered-default.yaml" b="$RUN/broken.yaml"
    [[ -s "$base" ]] || return 0
    mutate "$base" "$b" 'find("KafkaNodePool")["spec"]["replicas"] = "three"'
    rejected "broken: KafkaNodePool replicas: three" "$b" '\.spec\.replicas: expected numeric'
    mutate "$base" "$b" 'find("KafkaUser", "projector")["spec"]["authorization"]["acls"][0]["resource"]["patern"] = "prefix"'
    rejected "broken: unknown field in a KafkaUser ACL" "$b" '\.spec\.authorization\.acls\[0\]\.resource\.patern: field not declared in schema'
    mutate "$base" "$b" 'find("KafkaUser", "command-handler")["spec"]["authorization"]["acls"][0]["operations"] = ["Reed"]'
    rejected "broken: KafkaUser ACL operation Reed" "$b" 'Unsupported value: "Reed"'
    mutate "$base" "$b" 'find("Kafka")["spec"]["kafka"]["listeners"][0]["type"] = "interal"'
    rejected "broken: Kafka listener type interal" "$b" 'Unsupported value: "interal"'
    mutate "$base" "$b" 'find("Kafka")["spec"]["kafka"]["replicas"] = 3'
    rejected "broken: Kafka spec.kafka.replicas (no such field in kafka.strimzi.io/v1)" "$b" '\.spec\.kafka\.replicas: field not declared in schema'
    mutate "$base" "$b" 'find("ScaledObject", "open-bank-projector")["spec"]["triggers"][0]["metadata"]["lagThreshold"] = 50'
    rejected "broken: ScaledObject lagThreshold as a number (KEDA wants strings)" "$b" '\.spec\.triggers\[0\]\.metadata\.lagThreshold: expected string'
    mutate "$base" "$b" 'find("TriggerAuthentication")["spec"]["secretTargetRef"][0].pop("key")'
    rejected "broken: TriggerAuthentication secretTargetRef without key" "$b" 'secretTargetRef\[0\]\.key: Required value'
    mutate "$base" "$b" 'find("ServiceMonitor")["spec"]["endpoints"][0]["intervall"] = "15s"'
    rejected "broken: unknown field in a ServiceMonitor endpoint" "$b" '\.spec\.endpoints\[0\]\.intervall: field not declared in schema'
    mutate "$base" "$b" 'find("StatefulSet", "open-bank-command-handler")["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = "lots"'
    rejected "broken: StatefulSet memory limit lots" "$b" 'quantities must match the regular expression|unable to parse quantity'
    mutate "$base" "$b" 'find("PodDisruptionBudget", "open-bank-projector")["spec"]["minAvailable"] = 1'
    rejected "broken: PDB with both minAvailable and maxUnavailable" "$b" 'minAvailable and maxUnavailable cannot be both set'
    mutate "$base" "$b" 'find("NetworkPolicy", "open-bank-schema-registry")["spec"]["ingress"][0]["ports"][0]["protocol"] = "HTTP"'
    rejected "broken: NetworkPolicy port protocol HTTP" "$b" 'Unsupported value: "HTTP"'
    helm_refuses "broken: commandHandler.autoscaling.maxReplicas 13 > 12 partitions" 'maxReplicas \(13\) is above bank.partitions \(12\)' \
        --set commandHandler.autoscaling.maxReplicas=13
    helm_refuses "broken: two brokers" 'broker\(s\); replication 3' --set 'kafka.nodePools[0].replicas=2'
    helm_refuses "broken: projector.replicas 13 > 12 partitions" 'projector.replicas \(13\) is above bank.partitions' \
        --set projector.replicas=13 --set projector.autoscaling.enabled=false
    helm_refuses "broken: graphqlEndpoint.trustedProxies 10.244.0.0/33" '"10.244.0.0/33" is not an IP address or network' \
        --set graphqlEndpoint.trustedProxies=10.244.0.0/33
    helm_refuses "broken: graphqlEndpoint.trustedProxies pods" '"pods" is not an IP address or network' \
        --set graphqlEndpoint.trustedProxies=pods
}

# The generated secrets for real: `helm install`, `upgrade`, `uninstall` and `install` again against the
# API server (objects are stored; with no controllers nothing runs). The saga, token and session
# secrets must come out of the first install and never change after it; a key missing from the
# cluster's Secret (an upgrade from a chart without it) is added without touching the others.
secrets_kept() {
    local ns="$NAMESPACE-install" log="$RUN/install.log" step before after
    secret_data() { kc -n "$ns" get secret "$RELEASE-graphql-endpoint" "$RELEASE-command-handler" \
        -o go-template='{{range .items}}{{.metadata.name}} {{range $k, $v := .data}}{{$k}}={{$v}} {{end}}{{"\n"}}{{end}}' 2>>"$log" || true; }
    helm_step() { "$BIN/helm" "$@" --namespace "$ns" >>"$log" 2>&1; }
    : >"$log"
    if ! kc create namespace "$ns" >>"$log" 2>&1 || ! helm_step install "$RELEASE" "$CHART"; then
        fail "helm install against the API server (for the generated secrets)" "$log"
        return 0
    fi
    before="$(secret_data)"
    if [[ "$before" == *"saga-secret="* && "$before" == *"token-secret="* && "$before" == *"session-secret="* ]]; then
        pass "helm install: the Secrets $RELEASE-graphql-endpoint (session, employee, token) and $RELEASE-command-handler (saga) generated"
    else
        fail "helm install: the generated Secrets have saga-secret, token-secret and session-secret ($before)" "$log"
    fi
    helm_step upgrade "$RELEASE" "$CHART" --set rustLog=debug && after="$(secret_data)" || after="upgrade failed"
    if [[ "$after" == "$before" ]]; then pass "helm upgrade: every generated secret kept (lookup)"; else fail "helm upgrade: every generated secret kept (lookup)" "$log"; fi
    # An upgrade from a chart that had no token-secret yet.
    kc -n "$ns" patch secret "$RELEASE-graphql-endpoint" --type=json -p '[{"op":"remove","path":"/data/token-secret"}]' >>"$log" 2>&1 || true
    helm_step upgrade "$RELEASE" "$CHART" && after="$(secret_data)" || after="upgrade failed"
    step="$(sed 's/token-secret=[^ ]* //' <<<"$after")"
    if [[ "$after" == *"token-secret="* && "$step" == "$(sed 's/token-secret=[^ ]* //' <<<"$before")" ]]; then
        pass "helm upgrade over a Secret without token-secret: token-secret added, the other keys kept"
    else
        fail "helm upgrade over a Secret without token-secret: token-secret added, the other keys kept" "$log"
    fi
    before="$after"
    helm_step uninstall "$RELEASE" && after="$(secret_data)" || after="uninstall failed"
    if [[ "$after" == "$before" ]]; then pass "helm uninstall: both Secrets left behind (helm.sh/resource-policy: keep)"; else fail "helm uninstall: both Secrets left behind" "$log"; fi
    helm_step install "$RELEASE" "$CHART" && after="$(secret_data)" || after="reinstall failed"
    if [[ "$after" == "$before" ]]; then
        pass "helm install again under the same name: adopts both Secrets with their values"
    else
        fail "helm install again under the same name: adopts both Secrets with their values" "$log"
    fi
    # An existingSecret the cluster has is checked: a short saga secret is refused, a good one used.
    kc -n "$ns" create secret generic bank-sagas-short --from-literal=saga-secret=too-short >>"$log" 2>&1 || true
    kc -n "$ns" create secret generic bank-sagas --from-literal=saga-secret="$(openssl rand -hex 32)" >>"$log" 2>&1 || true
    if helm_step upgrade "$RELEASE" "$CHART" --set commandHandler.existingSecret=bank-sagas-short; then
        fail "helm upgrade with commandHandler.existingSecret whose saga-secret is short: refused (it was accepted)"
    elif grep -q 'saga-secret of the Secret bank-sagas-short has 9 characters, at least 32 needed' "$log"; then
        pass "helm upgrade with commandHandler.existingSecret whose saga-secret is short: refused (9 characters, at least 32 needed)"
    else
        fail "helm upgrade with commandHandler.existingSecret whose saga-secret is short: refused for the expected reason" "$log"
    fi
    if helm_step upgrade "$RELEASE" "$CHART" --set commandHandler.existingSecret=bank-sagas &&
        [[ "$(kc -n "$ns" get statefulset "$RELEASE-command-handler" -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="COMMAND_HANDLER_SAGA_SECRET")].valueFrom.secretKeyRef.name}' 2>>"$log")" == bank-sagas ]]; then
        pass "helm upgrade with commandHandler.existingSecret bank-sagas: accepted, the StatefulSet reads the saga secret from it"
    else
        fail "helm upgrade with commandHandler.existingSecret bank-sagas: accepted and used" "$log"
    fi
}

# ---------------------------------------------------------------------------------------------------
# 5. The ACL file is what the synchronizer generates (when a current build of it is at hand)
# ---------------------------------------------------------------------------------------------------
acl_file_generated() {
    local bin="" b stale
    for b in "${OPEN_BANK_SYNCHRONIZER:-}" "$ROOT/target/release/synchronizer" "$ROOT/target/debug/synchronizer"; do
        [[ -n "$b" && -x "$b" ]] || continue
        if [[ -z "$bin" || "$b" -nt "$bin" ]]; then bin="$b"; fi
    done
    if [[ -z "$bin" ]]; then
        printf '  SKIP  files/kafka-acls.yaml = output of "synchronizer acls --strimzi" (no synchronizer binary; cargo build -p synchronizer)\n'
        return 0
    fi
    stale="$(find "$ROOT/topology" "$ROOT/synchronizer" -newer "$bin" \( -name '*.rs' -o -name '*.toml' \) -print -quit 2>/dev/null || true)"
    if [[ -n "$stale" ]]; then
        printf '  SKIP  files/kafka-acls.yaml = output of "synchronizer acls --strimzi" (%s is older than %s; rebuild it)\n' "${bin#"$ROOT"/}" "${stale#"$ROOT"/}"
        return 0
    fi
    if "$bin" acls --strimzi >"$RUN/acls.yaml" 2>"$RUN/acls.err" &&
        diff -u "$CHART/files/kafka-acls.yaml" "$RUN/acls.yaml" >"$RUN/acls.diff"; then
        pass "files/kafka-acls.yaml = \`${bin#"$ROOT"/} acls --strimzi\` (the ACLs the synchronizer also reconciles)"
    else
        cat "$RUN/acls.err" >>"$RUN/acls.diff"
        fail "files/kafka-acls.yaml = \`${bin#"$ROOT"/} acls --strimzi\` (regenerate: synchronizer acls --strimzi > deploy/helm/open-bank/files/kafka-acls.yaml)" "$RUN/acls.diff"
    fi
}

# ---------------------------------------------------------------------------------------------------
# 6. Chart properties on the renderings
# ---------------------------------------------------------------------------------------------------
chart_properties() {
    local out="$RUN/properties.log" counts
    "$PY" - "$ROOT" "$CHART" "$RUN" "$NAMESPACE" "${VARIANTS[@]}" >"$out" 2>&1 <<'PYEOF' || true
import base64, re, sys, tomllib, yaml

root, chart, run, namespace, *variants = sys.argv[1:]
passed = failed = 0

def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"  PASS  {what}")
    else:
        failed += 1
        print(f"  FAIL  {what}" + (f"\n        {detail}" if detail else ""))

values = yaml.safe_load(open(f"{chart}/values.yaml"))
partitions = values["bank"]["partitions"]
topology = tomllib.load(open(f"{root}/contract/topology.toml", "rb"))
check(topology["bank"]["partitions"] == partitions,
      f"values bank.partitions ({partitions}) = contract/topology.toml [bank] partitions ({topology['bank']['partitions']})")

# The ACL file: exactly the generated format.
acl_text = open(f"{chart}/files/kafka-acls.yaml").read()
acls = yaml.safe_load(acl_text)
check(acl_text.splitlines()[0] == "# Generated by `synchronizer acls --strimzi` from contract/topology.toml: do not edit.",
      "files/kafka-acls.yaml starts with the generator's header")
OPS = {"Read", "Write", "Create", "Delete", "Alter", "Describe", "ClusterAction", "AlterConfigs",
       "DescribeConfigs", "IdempotentWrite", "All"}
bad = []
for user, spec in (acls.get("users") or {}).items():
    if set(spec) != {"acls"}:
        bad.append(f"{user}: keys {sorted(spec)}")
    for rule in spec.get("acls") or []:
        if set(rule) != {"resource", "operations"}:
            bad.append(f"{user}: rule keys {sorted(rule)}")
        r = rule.get("resource", {})
        if set(r) != {"type", "name", "patternType"} or r.get("type") not in {"topic", "group", "cluster", "transactionalId"} \
                or r.get("patternType") not in {"literal", "prefix"}:
            bad.append(f"{user}: resource {r}")
        if not rule.get("operations") or not set(rule["operations"]) <= OPS:
            bad.append(f"{user}: operations {rule.get('operations')}")
check(acls and acls.get("users") and not bad, "files/kafka-acls.yaml: users -> acls of {resource: {type, name, patternType}, operations} with Strimzi's names", "; ".join(bad))
topics = set(topology["topics"])
named = {rule["resource"]["name"] for spec in acls["users"].values() for rule in spec["acls"]
         if rule["resource"]["type"] == "topic" and rule["resource"]["patternType"] == "literal"}
check(named <= topics, "every literal topic in the ACLs is a topic of contract/topology.toml", str(sorted(named - topics)))

for variant in variants:
    try:
        docs = [d for d in yaml.safe_load_all(open(f"{run}/rendered-{variant}.yaml")) if d]
    except FileNotFoundError:
        check(False, f"[{variant}] rendering exists")
        continue
    def kind(k):
        return [d for d in docs if d["kind"] == k]
    def one(k, name):
        found = [d for d in kind(k) if d["metadata"]["name"] == name]
        return found[0] if found else None
    def comp(d):
        return d["metadata"].get("labels", {}).get("app.kubernetes.io/component")
    V = f"[{variant}]"
    workloads = kind("Deployment") + kind("StatefulSet")
    jobs = kind("Job")
    pods = {d["metadata"]["name"]: d["spec"]["template"] for d in workloads + jobs}

    # Probes, requests and limits.
    missing = []
    for d in workloads:
        for c in d["spec"]["template"]["spec"]["containers"]:
            for p in ("readinessProbe", "livenessProbe"):
                if p not in c:
                    missing.append(f"{d['metadata']['name']}/{c['name']}: no {p}")
    check(workloads and not missing, f"{V} every Deployment/StatefulSet container has a readiness and a liveness probe ({len(workloads)} workloads)", "; ".join(missing))
    missing = []
    for name, t in pods.items():
        for c in t["spec"].get("initContainers", []) + t["spec"]["containers"]:
            r = c.get("resources", {})
            for level in ("requests", "limits"):
                for res in ("cpu", "memory"):
                    if res not in r.get(level, {}):
                        missing.append(f"{name}/{c['name']}: no {level}.{res}")
    check(not missing, f"{V} every container (init containers and the Job too) has cpu and memory requests and limits", "; ".join(missing))
    insecure = [f"{n}/{c['name']}" for n, t in pods.items() for c in t["spec"].get("initContainers", []) + t["spec"]["containers"]
                if c.get("securityContext", {}).get("allowPrivilegeEscalation") is not False
                or c.get("securityContext", {}).get("readOnlyRootFilesystem") is not True
                or t["spec"].get("securityContext", {}).get("runAsNonRoot") is not True]
    check(not insecure, f"{V} every container runs as non-root, read-only root file system, no privilege escalation", ", ".join(insecure))
    images = [c["image"] for t in pods.values() for c in t["spec"].get("initContainers", []) + t["spec"]["containers"]]
    check(all(re.search(r":[\w.-]+$", i) and not i.endswith(":latest") for i in images), f"{V} every image has a pinned tag", str(images))

    # The partition owners: StatefulSets with stable transactional ids, state volumes, PDBs.
    pdbs = kind("PodDisruptionBudget")
    for owner, idvar in (("command-handler", "COMMAND_HANDLER_TRANSACTIONAL_ID"), ("projector", "PROJECTOR_TRANSACTIONAL_ID")):
        sts = [d for d in kind("StatefulSet") if comp(d) == owner]
        check(len(sts) == 1, f"{V} {owner}: a StatefulSet")
        if not sts:
            continue
        s = sts[0]
        labels = s["spec"]["template"]["metadata"]["labels"]
        env = {e["name"]: e for e in s["spec"]["template"]["spec"]["containers"][0]["env"]}
        check(env.get(idvar, {}).get("value") == f"{owner}-$(POD_INDEX)"
              and env.get("POD_INDEX", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.labels['apps.kubernetes.io/pod-index']",
              f"{V} {owner}: {idvar} = {owner}-<StatefulSet ordinal> (stable per instance, matches the ACL prefix)")
        mounts = {m["mountPath"]: m["name"] for m in s["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
        vct = [v["metadata"]["name"] for v in s["spec"].get("volumeClaimTemplates", [])]
        state_var = "COMMAND_HANDLER_STATE_DIR" if owner == "command-handler" else "PROJECTOR_STATE_DIR"
        state_dir = env.get(state_var, {}).get("value")
        check(state_dir and mounts.get(state_dir) in vct, f"{V} {owner}: {state_var} on a volume of its own (volumeClaimTemplates)")
        ru = s["spec"].get("updateStrategy", {})
        check(ru.get("type") == "RollingUpdate" and ru.get("rollingUpdate", {}).get("maxUnavailable") == 1,
              f"{V} {owner}: rolling update one pod at a time (maxUnavailable 1)")
        matching = [p for p in pdbs if all(labels.get(k) == v for k, v in p["spec"]["selector"]["matchLabels"].items())]
        check(len(matching) == 1 and matching[0]["spec"].get("maxUnavailable") == 1,
              f"{V} {owner}: a PodDisruptionBudget with maxUnavailable 1 selects its pods")
        svc = one("Service", s["spec"]["serviceName"])
        check(svc is not None and svc["spec"].get("clusterIP") == "None", f"{V} {owner}: its headless Service {s['spec']['serviceName']}")
        if variant == "default":
            check(env.get("KAFKA_SASL_USERNAME", {}).get("value") == owner, f"{V} {owner}: connects as the Kafka user {owner}")

    # KEDA.
    scaled = kind("ScaledObject")
    check(len(scaled) == 2, f"{V} a ScaledObject for the command handler and for the projector ({len(scaled)})")
    for so in scaled:
        n = so["metadata"]["name"]
        target = one(so["spec"]["scaleTargetRef"]["kind"], so["spec"]["scaleTargetRef"]["name"])
        check(target is not None, f"{V} {n}: scales an existing {so['spec']['scaleTargetRef']['kind']}")
        check(so["spec"]["maxReplicaCount"] <= partitions and so["spec"]["minReplicaCount"] <= so["spec"]["maxReplicaCount"],
              f"{V} {n}: maxReplicaCount {so['spec']['maxReplicaCount']} <= bank partitions {partitions}")
        trig = so["spec"]["triggers"]
        groups = set()
        if target:
            env = {e["name"]: e.get("value") for e in target["spec"]["template"]["spec"]["containers"][0]["env"]}
            groups = {v for k, v in env.items() if k.endswith("_GROUP")}
        bad = [t for t in trig if t["type"] != "kafka" or t["metadata"].get("consumerGroup") not in groups
               or t["metadata"].get("topic") not in topics or "lagThreshold" not in t["metadata"]
               or one("TriggerAuthentication", t.get("authenticationRef", {}).get("name")) is None]
        check(trig and not bad, f"{V} {n}: kafka triggers on the service's own groups and topology topics, with lagThreshold and a TriggerAuthentication", str(bad))
    for ta in kind("TriggerAuthentication"):
        params = {r["parameter"]: r for r in ta["spec"].get("secretTargetRef", []) + ta["spec"].get("configMapTargetRef", [])}
        cms = {c["metadata"]["name"]: c["data"] for c in kind("ConfigMap")}
        def value(p):
            r = params.get(p)
            return cms.get(r["name"], {}).get(r["key"]) if r and r in ta["spec"].get("configMapTargetRef", []) else None
        check(value("sasl") == "scram_sha512" and value("tls") == "enable"
              and params.get("password", {}).get("name", "").startswith("kafka-user-") and params.get("password", {}).get("key") == "password"
              and params.get("ca", {}).get("name", "").endswith("-cluster-ca-cert") and params.get("ca", {}).get("key") == "ca.crt",
              f"{V} {ta['metadata']['name']}: SASL/SCRAM-SHA-512 + TLS from the KafkaUser Secret and the cluster CA")

    # Kafka.
    kafka = kind("Kafka")
    check(len(kafka) == 1, f"{V} one Kafka")
    if kafka:
        k = kafka[0]
        cluster = k["metadata"]["name"]
        ann = k["metadata"].get("annotations", {})
        check(ann.get("strimzi.io/kraft") == "enabled" and ann.get("strimzi.io/node-pools") == "enabled",
              f"{V} Kafka: strimzi.io/kraft and strimzi.io/node-pools enabled")
        cfg = k["spec"]["kafka"]["config"]
        want = {"min.insync.replicas": 2, "default.replication.factor": 3, "transaction.state.log.replication.factor": 3,
                "transaction.state.log.min.isr": 2, "offsets.topic.replication.factor": 3, "auto.create.topics.enable": False,
                "transaction.abort.timed.out.transaction.cleanup.interval.ms": 1000}
        diff = {key: cfg.get(key) for key, v in want.items() if cfg.get(key) != v}
        check(not diff, f"{V} Kafka config: replication 3, min.insync 2, transaction log 3/2, offsets 3, no auto-create, abort cleanup 1000 ms", str(diff))
        ls = k["spec"]["kafka"]["listeners"]
        check(any(l["port"] == 9093 and l["type"] == "internal" and l["tls"] is True and l.get("authentication", {}).get("type") == "scram-sha-512" for l in ls)
              and all(l.get("tls") for l in ls),
              f"{V} Kafka: clients only on 9093, internal, TLS + SCRAM-SHA-512")
        authz = k["spec"]["kafka"].get("authorization", {})
        check(authz.get("type") == "simple" and authz.get("superUsers") == ["synchronizer"], f"{V} Kafka: simple authorization, the synchronizer the only super user")
        peers = [l.get("networkPolicyPeers") for l in ls]
        check(all(peers), f"{V} Kafka: the client listener admits only named peers (networkPolicyPeers)")
        pools = [p for p in kind("KafkaNodePool") if p["metadata"]["labels"].get("strimzi.io/cluster") == cluster]
        brokers = sum(p["spec"]["replicas"] for p in pools if "broker" in p["spec"]["roles"])
        controllers = sum(p["spec"]["replicas"] for p in pools if "controller" in p["spec"]["roles"])
        check(brokers == 3 and controllers % 2 == 1 and controllers >= 3, f"{V} KafkaNodePools of cluster {cluster}: {brokers} brokers, {controllers} controllers")
        if variant == "three-zones":
            zones = set()
            for p in pools:
                terms = p["spec"].get("template", {}).get("pod", {}).get("affinity", {}).get("nodeAffinity", {}) \
                    .get("requiredDuringSchedulingIgnoredDuringExecution", {}).get("nodeSelectorTerms", [])
                for t in terms:
                    for e in t["matchExpressions"]:
                        if e["key"] == "topology.kubernetes.io/zone":
                            zones.update(e["values"])
            check(k["spec"]["kafka"].get("rack", {}).get("topologyKey") == "topology.kubernetes.io/zone" and len(pools) == 3 and len(zones) == 3,
                  f"{V} rack awareness on topology.kubernetes.io/zone, one node pool per zone ({sorted(zones)})")
            spread = [n for n, t in pods.items() if n in {d["metadata"]["name"] for d in workloads}
                      and not t["spec"].get("topologySpreadConstraints")]
            check(not spread, f"{V} every service spreads its pods over zones", str(spread))

        # KafkaUsers: one per principal of the ACL file, plus the synchronizer.
        users = {u["metadata"]["name"]: u for u in kind("KafkaUser")}
        missing = [n for n in acls["users"] if n not in users]
        check(not missing, f"{V} every user of files/kafka-acls.yaml is a rendered KafkaUser ({', '.join(acls['users'])})", str(missing))
        wrong = [n for n, spec in acls["users"].items() if n in users and (
            users[n]["spec"].get("authorization") != {"type": "simple", "acls": spec["acls"]}
            or users[n]["spec"].get("authentication") != {"type": "scram-sha-512"}
            or users[n]["metadata"]["labels"].get("strimzi.io/cluster") != cluster)]
        check(not wrong, f"{V} each KafkaUser: SCRAM-SHA-512, simple authorization, exactly its ACLs from the file, of cluster {cluster}", str(wrong))
        extra = set(users) - set(acls["users"]) - {"synchronizer"}
        sync = users.get("synchronizer", {}).get("spec", {})
        check(not extra and sync.get("authentication") == {"type": "scram-sha-512"} and "authorization" not in sync,
              f"{V} besides them only the synchronizer (super user, no ACL list)", str(extra))
        # Every Kafka client connects as a rendered user, with its Secret, over TLS with the cluster CA.
        bad = []
        for n, t in pods.items():
            for c in t["spec"]["containers"]:
                env = {e["name"]: e for e in c.get("env", [])}
                if "KAFKA_BROKERS" not in env:
                    continue
                user = env.get("KAFKA_SASL_USERNAME", {}).get("value")
                secret = env.get("KAFKA_SASL_PASSWORD", {}).get("valueFrom", {}).get("secretKeyRef", {})
                ca = env.get("KAFKA_SSL_CA_LOCATION", {}).get("value", "")
                ca_vols = {v["name"] for v in t["spec"]["volumes"] if v.get("secret", {}).get("secretName") == f"{cluster}-cluster-ca-cert"}
                ca_mounted = any(ca.startswith(m["mountPath"] + "/") and m["name"] in ca_vols for m in c.get("volumeMounts", []))
                if (env.get("KAFKA_SECURITY_PROTOCOL", {}).get("value") != "SASL_SSL" or env.get("KAFKA_SASL_MECHANISMS", {}).get("value") != "SCRAM-SHA-512"
                        or user not in users or secret != {"name": f"kafka-user-{user}", "key": "password"} or not ca_mounted
                        or not env["KAFKA_BROKERS"].get("value", "").startswith(f"{cluster}-kafka-bootstrap.") or not env["KAFKA_BROKERS"]["value"].endswith(":9093")):
                    bad.append(f"{n}/{c['name']}")
        check(not bad, f"{V} every Rust container: SASL_SSL + SCRAM-SHA-512 as its KafkaUser (password from kafka-user-<name>), cluster CA mounted, bootstrap :9093", str(bad))

    # The registry: Apicurio 3.0.9, kafkasql, ccompat on 8080.
    reg = [d for d in kind("Deployment") if comp(d) == "schema-registry"]
    if reg:
        c = reg[0]["spec"]["template"]["spec"]["containers"][0]
        props = next((cm["data"]["application.properties"] for cm in kind("ConfigMap") if "application.properties" in cm.get("data", {})), "")
        check(c["image"].endswith("apicurio/apicurio-registry:3.0.9") and "apicurio.storage.kind=kafkasql" in props
              and "apicurio.kafka.common.sasl.mechanism=SCRAM-SHA-512" in props and "apicurio.kafka.common.security.protocol=SASL_SSL" in props,
              f"{V} schema registry: apicurio/apicurio-registry:3.0.9, kafkasql over SASL_SSL + SCRAM-SHA-512")
        # Its topics and consumer group prefix: those of scripts/infra.sh, inside the ACLs of `schema-registry`.
        prop = dict(line.split("=", 1) for line in props.splitlines() if "=" in line and not line.startswith("#"))
        infra = open(f"{root}/scripts/infra.sh").read()
        want_topics = {k: re.search(rf'^{v}="([^"]+)"', infra, re.M) for k, v in (
            ("apicurio.kafkasql.topic", "REGISTRY_JOURNAL_TOPIC"), ("apicurio.kafkasql.snapshots.topic", "REGISTRY_SNAPSHOTS_TOPIC"),
            ("apicurio.events.kafka.topic", "REGISTRY_EVENTS_TOPIC"))}
        want_topics = {k: m.group(1) if m else None for k, m in want_topics.items()}
        reg_acls = acls["users"].get("schema-registry", {}).get("acls", [])
        def granted(rtype, name, ops):
            return any(r["resource"]["type"] == rtype and set(ops) <= set(r["operations"]) and (
                name.startswith(r["resource"]["name"]) if r["resource"]["patternType"] == "prefix" else name == r["resource"]["name"])
                for r in reg_acls)
        topics_ok = all(prop.get(k) == v and v and granted("topic", v, ["Create", "DescribeConfigs", "Read", "Write"]) for k, v in want_topics.items())
        group = prop.get("apicurio.kafkasql.consumer.group-prefix")
        check(topics_ok and group == "apicurio-" and granted("group", group + "x", ["Read"]),
              f"{V} schema registry: topics {sorted(want_topics.values(), key=str)} (as scripts/infra.sh) and group prefix {group!r}, all granted to `schema-registry` by files/kafka-acls.yaml",
              f"{ {k: prop.get(k) for k in want_topics} } vs {want_topics}, group {group!r}")
    urls = {e.get("value") for t in pods.values() for c in t["spec"]["containers"] for e in c.get("env", []) if e["name"] == "SCHEMA_REGISTRY_URL"}
    check(len(urls) == 1 and re.fullmatch(r"http://[\w.-]+-schema-registry\.[\w-]+\.svc:8080/apis/ccompat/v7", urls.pop()),
          f"{V} every service's SCHEMA_REGISTRY_URL is the registry Service's ccompat API (8080, /apis/ccompat/v7)")

    # The synchronizer Job, and who waits for it.
    check(len(jobs) == 1 and "apply" in jobs[0]["spec"]["template"]["spec"]["containers"][0].get("args", []),
          f"{V} the synchronizer runs `apply` as a Job")
    if jobs:
        job = jobs[0]["metadata"]["name"]
        waiting = [d["metadata"]["name"] for d in workloads if comp(d) in {"command-handler", "projector", "graphql-endpoint"}
                   and any(f"job/{job}" in (i.get("args") or []) for i in d["spec"]["template"]["spec"].get("initContainers", []))]
        check(len(waiting) == 3, f"{V} command handler, projector and endpoint wait for job/{job} (init containers)", str(waiting))

    # The endpoint.
    ep = [d for d in kind("Deployment") if comp(d) == "graphql-endpoint"]
    if ep:
        env = {e["name"]: e for e in ep[0]["spec"]["template"]["spec"]["containers"][0]["env"]}
        check(all("secretKeyRef" in env.get(n, {}).get("valueFrom", {}) for n in ("GRAPHQL_SESSION_SECRET", "EMPLOYEE_PASSWORD")),
              f"{V} endpoint: GRAPHQL_SESSION_SECRET and EMPLOYEE_PASSWORD from a Secret")
        check(env.get("GRAPHQL_GRAPHIQL", {}).get("value") == "off" and env.get("GRAPHQL_INTROSPECTION", {}).get("value") == "off"
              and env.get("ALLOWED_ORIGINS", {}).get("value") and "*" not in env["ALLOWED_ORIGINS"]["value"],
              f"{V} endpoint: GraphiQL and introspection off, ALLOWED_ORIGINS set (no *)")

    # The required secrets: from a Secret the chart generates (>= 32 characters, kept by Helm on
    # uninstall), the same Secret for every replica / instance.
    def secret_env(workload, var):
        if not workload:
            return None
        env = {e["name"]: e for e in workload["spec"]["template"]["spec"]["containers"][0]["env"]}
        return env.get(var, {}).get("valueFrom", {}).get("secretKeyRef")
    def generated(ref):
        sec = one("Secret", ref["name"]) if ref else None
        if not sec or ref["key"] not in sec.get("data", {}):
            return None
        return sec, base64.b64decode(sec["data"][ref["key"]]).decode()
    for var, component, key in (("GRAPHQL_TOKEN_SECRET", "graphql-endpoint", "token-secret"),
                                ("GRAPHQL_SESSION_SECRET", "graphql-endpoint", "session-secret"),
                                ("COMMAND_HANDLER_SAGA_SECRET", "command-handler", "saga-secret")):
        w = [d for d in workloads if comp(d) == component]
        ref = secret_env(w[0] if w else None, var)
        got = generated(ref)
        check(ref is not None and ref.get("key") == key and got is not None and len(got[1]) >= 32
              and got[0]["metadata"].get("annotations", {}).get("helm.sh/resource-policy") == "keep",
              f"{V} {component}: {var} from the generated Secret {ref and ref.get('name')} (key {key}, >= 32 characters, helm.sh/resource-policy keep)",
              str(ref))

    # The frontend's nginx: the cluster DNS, the endpoint's Service; otherwise docker/frontend.nginx.conf.
    fe = [cm for cm in kind("ConfigMap") if "default.conf" in cm.get("data", {})]
    if fe:
        conf = fe[0]["data"]["default.conf"]
        eps = [s for s in kind("Service") if comp(s) == "graphql-endpoint"]
        target = f"http://{eps[0]['metadata']['name']}.{namespace}.svc." if eps else "?"
        active = "\n".join(line for line in conf.splitlines() if not line.strip().startswith("#"))
        check("127.0.0.11" not in active and re.search(r"^\s*resolver \S+", active, re.M) and target in active and ":8888;" in active,
              f"{V} frontend nginx: cluster DNS resolver, proxies to {target}…:8888")
        def core(text):
            keep = []
            for line in text.splitlines():
                s = line.strip()
                if not s or s.startswith("#") or s.startswith("resolver ") or s.startswith("set $graphql_endpoint "):
                    continue
                keep.append(s)
            return keep
        docker = core(open(f"{root}/docker/frontend.nginx.conf").read())
        check(core(conf) == docker, f"{V} frontend nginx: the same as docker/frontend.nginx.conf but for the resolver and the endpoint's address")

    # NetworkPolicies.
    nps = kind("NetworkPolicy")
    deny = [n for n in nps if n["spec"]["podSelector"] == {} and n["spec"]["policyTypes"] == ["Ingress"] and not n["spec"].get("ingress")]
    check(len(deny) == 1, f"{V} NetworkPolicy: default deny of ingress for every pod of the namespace")
    egress_deny = [n for n in nps if n["spec"]["policyTypes"] == ["Egress"] and
                   any(e["key"] == "app.kubernetes.io/component" for e in n["spec"]["podSelector"].get("matchExpressions", []))]
    check(egress_deny and all(len(n["spec"]["egress"]) == 1 and {p["port"] for p in n["spec"]["egress"][0]["ports"]} == {53} for n in egress_deny[:1]),
          f"{V} NetworkPolicy: this release's pods may reach only DNS unless allowed more")
    def selects(np, component):
        sel = np["spec"]["podSelector"]
        return sel.get("matchLabels", {}).get("app.kubernetes.io/component") == component
    def open_outside(rule):
        frm = rule.get("from")
        return not frm or any("ipBlock" in f or ("namespaceSelector" in f and f["namespaceSelector"] == {}) for f in frm)
    outside = sorted({next(iter([c for c in ("frontend", "graphql-endpoint", "command-handler", "projector", "schema-registry") if selects(n, c)]), "?")
                      for n in nps if "Ingress" in n["spec"]["policyTypes"] and any(open_outside(r) for r in n["spec"].get("ingress", []))})
    check(outside == ["frontend", "graphql-endpoint"], f"{V} NetworkPolicy: only the frontend and the endpoint are open to anyone outside the namespace (Prometheus aside) ({outside})")
    regs = [n for n in nps if selects(n, "schema-registry") and "Ingress" in n["spec"]["policyTypes"]]
    allowed = set()
    for n in regs:
        for r in n["spec"].get("ingress", []):
            for f in r.get("from", []):
                for e in f.get("podSelector", {}).get("matchExpressions", []):
                    if e["key"] == "app.kubernetes.io/component":
                        allowed.update(e["values"])
    check(allowed == {"synchronizer", "command-handler", "projector", "graphql-endpoint"} and all(r.get("from") for n in regs for r in n["spec"]["ingress"]),
          f"{V} NetworkPolicy: the registry admits only the synchronizer, command handlers, projectors and endpoints")
    for c, port in (("command-handler", 8090), ("projector", 8091)):
        pol = [n for n in nps if selects(n, c)]
        prom = any(f.get("namespaceSelector") and f.get("podSelector") for n in pol for r in n["spec"].get("ingress", []) for f in r.get("from", [])
                   if any(p["port"] == port for p in r.get("ports", [])))
        check(prom, f"{V} NetworkPolicy: Prometheus may scrape the {c} on {port}")
    kafka_egress = [n for n in nps if any(p.get("port") == 9093 for e in n["spec"].get("egress", []) for p in e.get("ports", []))]
    reg_egress = [n for n in nps if any(p.get("port") == 8080 for e in n["spec"].get("egress", []) for p in e.get("ports", []))]
    check(kafka_egress and reg_egress, f"{V} NetworkPolicy: the services may reach Kafka (9093) and the registry (8080)")

    # ServiceMonitors: every Rust service's /metrics.
    sms = kind("ServiceMonitor")
    covered = set()
    for sm in sms:
        sel = sm["spec"]["selector"]["matchLabels"]
        for s in kind("Service"):
            if all(s["metadata"]["labels"].get(k) == v for k, v in sel.items()):
                ports = {p["name"] for p in s["spec"]["ports"]}
                if all(e.get("path") == "/metrics" and e.get("port") in ports for e in sm["spec"]["endpoints"]):
                    covered.add(comp(s))
    check(covered == {"command-handler", "projector", "graphql-endpoint"}, f"{V} a ServiceMonitor scrapes /metrics of every Rust service ({sorted(covered)})")

# The options rendering: trusted proxies as networks, existing Secrets instead of generated ones.
try:
    docs = [d for d in yaml.safe_load_all(open(f"{run}/rendered-options.yaml")) if d]
except FileNotFoundError:
    docs = None
    check(False, "[options] rendering exists")
if docs:
    def env_of(component):
        w = [d for d in docs if d["kind"] in ("Deployment", "StatefulSet")
             and d["metadata"].get("labels", {}).get("app.kubernetes.io/component") == component]
        return {e["name"]: e for e in w[0]["spec"]["template"]["spec"]["containers"][0]["env"]} if w else {}
    ep, ch = env_of("graphql-endpoint"), env_of("command-handler")
    proxies = ep.get("GRAPHQL_TRUSTED_PROXIES", {}).get("value")
    check(proxies == "10.244.0.0/16,192.0.2.10,fd00:10:244::/56",
          f"[options] trustedProxies \"10.244.0.0/16, 192.0.2.10, fd00:10:244::/56\" (CIDRs and an address) -> GRAPHQL_TRUSTED_PROXIES={proxies}")
    refs = {var: e.get("valueFrom", {}).get("secretKeyRef", {}).get("name") for env in (ep, ch) for var, e in env.items()
            if var in ("GRAPHQL_TOKEN_SECRET", "GRAPHQL_SESSION_SECRET", "EMPLOYEE_PASSWORD", "COMMAND_HANDLER_SAGA_SECRET")}
    secrets = [d["metadata"]["name"] for d in docs if d["kind"] == "Secret"]
    check(refs == {"GRAPHQL_TOKEN_SECRET": "bank-endpoint", "GRAPHQL_SESSION_SECRET": "bank-endpoint", "EMPLOYEE_PASSWORD": "bank-endpoint",
                   "COMMAND_HANDLER_SAGA_SECRET": "bank-sagas"} and not secrets,
          "[options] existingSecret: the endpoint's secrets from bank-endpoint, the saga secret from bank-sagas, no Secret generated",
          f"{refs} generated: {secrets}")
try:
    docs = [d for d in yaml.safe_load_all(open(f"{run}/rendered-proxy-list.yaml")) if d]
    ep = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["labels"].get("app.kubernetes.io/component") == "graphql-endpoint"]
    proxies = {e["name"]: e.get("value") for e in ep[0]["spec"]["template"]["spec"]["containers"][0]["env"]}.get("GRAPHQL_TRUSTED_PROXIES")
except (FileNotFoundError, IndexError):
    proxies = None
check(proxies == "10.42.0.0/16,10.43.0.0/16", f"[options] trustedProxies as a list (--set '...={{10.42.0.0/16,10.43.0.0/16}}') -> GRAPHQL_TRUSTED_PROXIES={proxies}")

print(f"COUNTS {passed} {failed}")
PYEOF
    grep -v '^COUNTS ' "$out" || true
    counts="$(grep '^COUNTS ' "$out" || echo "COUNTS 0 1")"
    read -r _ p f <<<"$counts"
    PASSED=$((PASSED + p))
    FAILED=$((FAILED + f))
}

# ---------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------
stage "1. tools and CRDs (cached under $K8S)"
prepare
((TOOLS_ONLY)) && exit 0
stage "2. kube-apiserver on kine"
RUN="$(mktemp -d "$K8S/run.XXXXXX")"
make_certs
# One snapshot of the chart for the whole run (the ACL file may be regenerated meanwhile).
cp -r "$CHART" "$RUN/open-bank"
CHART="$RUN/open-bank"
start_apiserver a
stage "3. CRDs"
install_crds v1beta2
create_namespace
stage "4. helm lint + template, server-side dry run"
lint_and_render
option_renderings
server_checks
[[ -s "$RUN/rendered-options.yaml" ]] && accepted "options rendering (trusted proxy networks, existing Secrets), Strimzi crds/$STRIMZI_SET" "$RUN/rendered-options.yaml"
broken_variants
stage "   generated secrets: helm install, upgrade, uninstall, install against the API server"
secrets_kept
stage "   again on a fresh API server with Strimzi's v1-only CRDs (after the move to v1)"
stop_apiserver
start_apiserver b
install_crds v1
create_namespace
server_checks
stage "5. chart properties"
acl_file_generated
chart_properties

say "$PASSED passed, $FAILED failed ($((SECONDS - START)) s; cache $K8S: $(du -sh "$K8S" --exclude='run.*' 2>/dev/null | cut -f1))"
((FAILED == 0)) || exit 1
