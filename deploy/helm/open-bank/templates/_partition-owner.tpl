{{- /*
The command handler and the projector own partitions (of the bank topics and the query topics)
through consumer groups, with Kafka transactions. Both run as a StatefulSet:
- instance <n> has the transactional id <component>-<n> (also its static group.instance.id), the
  same across its restarts (from the pod's apps.kubernetes.io/pod-index label), so a restarted pod
  fences its predecessor and takes its place without a rebalance, within the group's session;
- each has a volume of its own for its state store (volumeClaimTemplates), so a restart replays only
  what came after it;
- rolling updates replace one pod at a time, the next only when the previous is ready again (caught
  up): one partition owner at a time (maxUnavailable 1, and the PodDisruptionBudget for evictions).

Arguments: ctx (root), component, values (its values block), port, env (list of env vars).
*/ -}}
{{- define "open-bank.partitionOwner" -}}
{{- $ctx := .ctx -}}
{{- $v := .values -}}
{{- $name := printf "%s-%s" (include "open-bank.fullname" $ctx) .component -}}
{{- $partitions := int $ctx.Values.bank.partitions -}}
{{- if gt (int $v.replicas) $partitions }}
{{- fail (printf "%s.replicas (%d) is above bank.partitions (%d): an instance without a partition only waits" .component (int $v.replicas) $partitions) }}
{{- end }}
{{- if and $ctx.Values.autoscaling.enabled $v.autoscaling.enabled (gt (int $v.autoscaling.maxReplicas) $partitions) }}
{{- fail (printf "%s.autoscaling.maxReplicas (%d) is above bank.partitions (%d)" .component (int $v.autoscaling.maxReplicas) $partitions) }}
{{- end }}
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ $name }}
  namespace: {{ $ctx.Release.Namespace }}
  labels:
    {{- include "open-bank.labels" (dict "ctx" $ctx "component" .component) | nindent 4 }}
spec:
  serviceName: {{ $name }}
  {{- if not (and $ctx.Values.autoscaling.enabled $v.autoscaling.enabled) }}
  replicas: {{ $v.replicas }}
  {{- else }}
  # replicas: set by KEDA's HorizontalPodAutoscaler (keda.yaml), between
  # {{ $v.autoscaling.minReplicas }} and {{ $v.autoscaling.maxReplicas }}.
  {{- end }}
  # Instances start together (the group shares the partitions out whatever the order); updates
  # still go one pod at a time.
  podManagementPolicy: Parallel
  updateStrategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 1
      partition: 0
  # A pod counts as available once ready (caught up) for this long.
  minReadySeconds: 10
  persistentVolumeClaimRetentionPolicy:
    # A state store is only a cache of the log: kept on scale-in, so the instance comes back fast.
    whenDeleted: Retain
    whenScaled: Retain
  selector:
    matchLabels:
      {{- include "open-bank.selectorLabels" (dict "ctx" $ctx "component" .component) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "open-bank.labels" (dict "ctx" $ctx "component" .component) | nindent 8 }}
        open-bank/kafka-client: "true"
        open-bank/registry-client: "true"
        open-bank/waits-for-synchronizer: "true"
    spec:
      serviceAccountName: {{ include "open-bank.fullname" $ctx }}-service
      automountServiceAccountToken: false
      {{- include "open-bank.pullSecrets" $ctx | nindent 6 }}
      securityContext:
        {{- include "open-bank.podSecurityContext" $ctx | nindent 8 }}
      # A stopping instance finishes its transaction; a fenced or killed one is aborted by the
      # coordinator within transaction.timeout.ms (10 s) + 1 s.
      terminationGracePeriodSeconds: 30
      {{- include "open-bank.topologySpread" (dict "ctx" $ctx "component" .component) | nindent 6 }}
      initContainers:
        {{- include "open-bank.waitForSynchronizer" $ctx | nindent 8 }}
      containers:
        - name: {{ .component }}
          image: {{ include "open-bank.image" (dict "ctx" $ctx "name" .image) }}
          imagePullPolicy: {{ $ctx.Values.images.pullPolicy }}
          env:
            - name: POD_INDEX
              valueFrom:
                fieldRef:
                  fieldPath: metadata.labels['apps.kubernetes.io/pod-index']
            {{- include "open-bank.kafkaEnv" (dict "ctx" $ctx "user" .component) | nindent 12 }}
            {{- toYaml .env | nindent 12 }}
            {{- include "open-bank.extraEnv" $v.env | nindent 12 }}
          ports:
            - name: http
              containerPort: {{ .port }}
          {{- include "open-bank.healthProbes" (dict "startupSeconds" (int $v.startupSeconds)) | nindent 10 }}
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          securityContext:
            {{- include "open-bank.containerSecurityContext" $ctx | nindent 12 }}
          volumeMounts:
            - name: state
              mountPath: /var/lib/open-bank
            - name: tmp
              mountPath: /tmp
            {{- include "open-bank.kafkaCaMount" $ctx | nindent 12 }}
      volumes:
        - name: tmp
          emptyDir: {sizeLimit: 64Mi}
        {{- include "open-bank.kafkaCaVolume" $ctx | nindent 8 }}
        {{- include "open-bank.waitForSynchronizerVolume" $ctx | nindent 8 }}
  volumeClaimTemplates:
    - metadata:
        name: state
        labels:
          {{- include "open-bank.selectorLabels" (dict "ctx" $ctx "component" .component) | nindent 10 }}
      spec:
        accessModes: [ReadWriteOnce]
        {{- with $v.stateVolume.storageClass }}
        storageClassName: {{ . }}
        {{- end }}
        resources:
          requests:
            storage: {{ $v.stateVolume.size }}
---
# Headless: stable DNS names <pod>.<service> (the endpoint's operations view), the metrics target.
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  namespace: {{ $ctx.Release.Namespace }}
  labels:
    {{- include "open-bank.labels" (dict "ctx" $ctx "component" .component) | nindent 4 }}
spec:
  clusterIP: None
  # Instances catching up are listed too: their /health and /metrics tell how far they are.
  publishNotReadyAddresses: true
  selector:
    {{- include "open-bank.selectorLabels" (dict "ctx" $ctx "component" .component) | nindent 4 }}
  ports:
    - name: http
      port: {{ .port }}
      targetPort: http
---
# One partition owner at a time: a drain never takes two instances, which would send two sets of
# partitions through a takeover at once.
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $name }}
  namespace: {{ $ctx.Release.Namespace }}
  labels:
    {{- include "open-bank.labels" (dict "ctx" $ctx "component" .component) | nindent 4 }}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      {{- include "open-bank.selectorLabels" (dict "ctx" $ctx "component" .component) | nindent 6 }}
{{- end -}}
