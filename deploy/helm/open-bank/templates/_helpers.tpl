{{/* Names ------------------------------------------------------------------------------------ */}}

{{- define "open-bank.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The Strimzi cluster: its resources are <cluster>-kafka-bootstrap, <cluster>-cluster-ca-cert, … */}}
{{- define "open-bank.kafkaCluster" -}}
{{- default (include "open-bank.fullname" .) .Values.kafka.name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "open-bank.kafkaBootstrap" -}}
{{- printf "%s-kafka-bootstrap.%s.svc:9093" (include "open-bank.kafkaCluster" .) .Release.Namespace -}}
{{- end -}}

{{- define "open-bank.registryUrl" -}}
{{- printf "http://%s-schema-registry.%s.svc:8080/apis/ccompat/v7" (include "open-bank.fullname" .) .Release.Namespace -}}
{{- end -}}

{{/* The Secret the Strimzi user operator writes for a KafkaUser (key `password`). */}}
{{- define "open-bank.kafkaUserSecret" -}}
{{- printf "kafka-user-%s" . -}}
{{- end -}}

{{/* The synchronizer Job: named after its pod spec, so a new image (a new topology) or new
     settings make a new Job (templates/synchronizer.yaml). */}}
{{- define "open-bank.synchronizerJob" -}}
{{- $spec := printf "%s|%v|%v" (include "open-bank.synchronizerPodSpec" .) .Values.synchronizer.backoffLimit .Values.synchronizer.activeDeadlineSeconds -}}
{{- printf "%s-synchronizer-%s" (include "open-bank.fullname" .) ($spec | sha256sum | trunc 10) -}}
{{- end -}}

{{/* Labels ----------------------------------------------------------------------------------- */}}

{{- define "open-bank.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: open-bank
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: open-bank
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{- define "open-bank.selectorLabels" -}}
app.kubernetes.io/name: open-bank
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Images ----------------------------------------------------------------------------------- */}}

{{- define "open-bank.image" -}}
{{- $tag := default .ctx.Chart.AppVersion .ctx.Values.images.tag -}}
{{- printf "%s%s:%s" .ctx.Values.images.registry .name $tag -}}
{{- end -}}

{{/* Pod pieces ------------------------------------------------------------------------------- */}}

{{- define "open-bank.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "open-bank.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{- define "open-bank.pullSecrets" -}}
{{- with .Values.images.pullSecrets }}
imagePullSecrets:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Spread over zones (values-three-zones.yaml), one component's pods at a time. */}}
{{- define "open-bank.topologySpread" -}}
{{- if .ctx.Values.topologySpread.enabled }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: {{ .ctx.Values.topologySpread.topologyKey }}
    whenUnsatisfiable: {{ .ctx.Values.topologySpread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "open-bank.selectorLabels" . | nindent 8 }}
{{- end }}
{{- end -}}

{{/* Kafka + registry settings of a Rust service, as the KafkaUser `user`:
     every KAFKA_<NAME> is handed to librdkafka as <name> (README, Configuration). */}}
{{- define "open-bank.kafkaEnv" -}}
- name: KAFKA_BROKERS
  value: {{ include "open-bank.kafkaBootstrap" .ctx | quote }}
- name: SCHEMA_REGISTRY_URL
  value: {{ include "open-bank.registryUrl" .ctx | quote }}
- name: KAFKA_SECURITY_PROTOCOL
  value: SASL_SSL
- name: KAFKA_SASL_MECHANISMS
  value: SCRAM-SHA-512
- name: KAFKA_SASL_USERNAME
  value: {{ .user | quote }}
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "open-bank.kafkaUserSecret" .user }}
      key: password
- name: KAFKA_SSL_CA_LOCATION
  value: /etc/open-bank/kafka-ca/ca.crt
- name: RUST_LOG
  value: {{ .ctx.Values.rustLog | quote }}
{{- with .ctx.Values.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- end -}}

{{- define "open-bank.extraEnv" -}}
{{- range $name, $value := . }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{- define "open-bank.kafkaCaVolume" -}}
- name: kafka-ca
  secret:
    secretName: {{ include "open-bank.kafkaCluster" . }}-cluster-ca-cert
    items:
      - key: ca.crt
        path: ca.crt
{{- end -}}

{{- define "open-bank.kafkaCaMount" -}}
- name: kafka-ca
  mountPath: /etc/open-bank/kafka-ca
  readOnly: true
{{- end -}}

{{/* Init container: start once the synchronizer Job completed (topics and schemas in place). */}}
{{- define "open-bank.waitForSynchronizer" -}}
- name: wait-for-synchronizer
  image: {{ .Values.images.kubectl }}
  imagePullPolicy: {{ .Values.images.pullPolicy }}
  args:
    - wait
    - --for=condition=complete
    - --timeout={{ .Values.synchronizer.waitTimeout }}
    - --namespace={{ .Release.Namespace }}
    # The root file system is read-only: kubectl's discovery cache goes to a scratch volume.
    - --cache-dir=/tmp/kube-cache
    - job/{{ include "open-bank.synchronizerJob" . }}
  securityContext:
    {{- include "open-bank.containerSecurityContext" . | nindent 4 }}
  resources:
    requests: {cpu: 10m, memory: 32Mi}
    limits: {cpu: 100m, memory: 64Mi}
  # The only container with an API token (the pods do not mount one): get/watch jobs, nothing else.
  volumeMounts:
    - name: wait-api-token
      mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - name: tmp
      mountPath: /tmp
{{- end -}}

{{/* The token of the waiting init container, as a projected volume (like the automatic one). */}}
{{- define "open-bank.waitForSynchronizerVolume" -}}
- name: wait-api-token
  projected:
    sources:
      - serviceAccountToken:
          path: token
          expirationSeconds: 3607
      - configMap:
          name: kube-root-ca.crt
          items:
            - key: ca.crt
              path: ca.crt
      - downwardAPI:
          items:
            - path: namespace
              fieldRef:
                fieldPath: metadata.namespace
{{- end -}}

{{/* GET /health probes: startup (a first replay may take long), then readiness and liveness. */}}
{{- define "open-bank.healthProbes" -}}
startupProbe:
  httpGet: {path: /health, port: http}
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: {{ max 1 (div .startupSeconds 10) }}
readinessProbe:
  httpGet: {path: /health, port: http}
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
livenessProbe:
  httpGet: {path: /health, port: http}
  periodSeconds: 20
  timeoutSeconds: 5
  failureThreshold: 6
{{- end -}}

{{/* graphqlEndpoint.trustedProxies as GRAPHQL_TRUSTED_PROXIES: a comma-separated string or a list of IP
     addresses and networks (10.244.0.0/16, fd00::/8), each checked here so a typo fails the install
     instead of the endpoint's start. */}}
{{- define "open-bank.trustedProxies" -}}
{{- $given := .Values.graphqlEndpoint.trustedProxies -}}
{{- $items := list -}}
{{- if kindIs "slice" $given }}{{ $items = $given }}{{ else if $given }}{{ $items = splitList "," (toString $given) }}{{ end -}}
{{- $clean := list -}}
{{- range $items }}
{{- $item := trim (toString .) -}}
{{- if $item }}
{{- $v4 := regexMatch `^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}(/([0-9]|[12][0-9]|3[0-2]))?$` $item -}}
{{- $v6 := and (contains ":" $item) (regexMatch `^[0-9A-Fa-f:.]+(/([0-9]|[1-9][0-9]|1[01][0-9]|12[0-8]))?$` $item) -}}
{{- if not (or $v4 $v6) }}
{{- fail (printf "graphqlEndpoint.trustedProxies: %q is not an IP address or network (CIDR, e.g. 10.244.0.0/16)" $item) }}
{{- end }}
{{- $clean = append $clean $item -}}
{{- end }}
{{- end }}
{{- join "," $clean -}}
{{- end -}}

{{/* An existingSecret the cluster already has (install / upgrade; `helm template` sees none): refuse it
     when a key is missing or too short, rather than letting the pods fail to start. Arguments: ctx,
     value (the values path, for the message), name, keys (dict key -> least length). */}}
{{- define "open-bank.checkExistingSecret" -}}
{{- $found := lookup "v1" "Secret" .ctx.Release.Namespace .name -}}
{{- if $found }}
{{- $data := $found.data | default dict -}}
{{- range $key, $least := .keys }}
{{- $value := get $data $key | b64dec -}}
{{- if not (hasKey $data $key) }}
{{- fail (printf "%s: the Secret %s has no key %s" $.value $.name $key) }}
{{- else if lt (len $value) (int $least) }}
{{- fail (printf "%s: %s of the Secret %s has %d characters, at least %d needed" $.value $key $.name (len $value) (int $least)) }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}
