{{/* Names and labels. */}}
{{- define "sextant.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "sextant.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "sextant.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "sextant.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "sextant.fullname" .)) -}}
{{- end -}}

{{- define "sextant.natsUrl" -}}
{{- if .Values.nats.enabled -}}
{{- printf "nats://%s-nats:4222" (include "sextant.fullname" .) -}}
{{- else -}}
{{- required "nats.url is required when nats.enabled is false (a NATS server with JetStream)" .Values.nats.url -}}
{{- end -}}
{{- end -}}

{{- define "sextant.natsUsersSecret" -}}
{{- .Values.nats.auth.existingSecret | default (printf "%s-nats-users" (include "sextant.fullname" .)) -}}
{{- end -}}

{{/* Every NATS user of files/nats-auth.conf. */}}
{{- define "sextant.natsUsers" -}}
data sentiment strategy risk execution portfolio recorder api bots admin backtest
{{- end -}}

{{/* The in-chart replica set: every member, so the driver finds the primary. */}}
{{- define "sextant.mongoUri" -}}
{{- $name := printf "%s-mongodb" (include "sextant.fullname" .) -}}
{{- $hosts := list -}}
{{- range $i := until (int .Values.mongodb.replicas) -}}
{{- $hosts = append $hosts (printf "%s-%d.%s-headless:27017" $name $i $name) -}}
{{- end -}}
{{- printf "mongodb://%s/%s?replicaSet=%s" (join "," $hosts) .Values.mongodb.database .Values.mongodb.replicaSetName -}}
{{- end -}}

{{/*
One Sextant process: the image's entrypoint with a role (`agent risk`, `api`, `recorder`), the
ConfigMap and the Secret as its environment, its instance name, and the probes of its role.
Arguments: root, component, args, instance, port (the port it serves: the API's or METRICS_PORT),
ready (the readiness path), resources.
*/}}
{{- define "sextant.container" -}}
- name: {{ .component }}
  image: {{ printf "%s:%s" .root.Values.image.repository .root.Values.image.tag | quote }}
  imagePullPolicy: {{ .root.Values.image.pullPolicy }}
  args: {{ toJson .args }}
  envFrom:
    - configMapRef:
        name: {{ include "sextant.fullname" .root }}-config
    - secretRef:
        name: {{ include "sextant.secretName" .root }}
  env:
    - name: SEXTANT_INSTANCE
      value: {{ .instance | quote }}
    # the API serves on PORT; every other role serves no API, only /metrics and /health on METRICS_PORT
    - name: PORT
      value: {{ .apiPort | default 0 | quote }}
    {{- if .root.Values.nats.auth.enabled }}
    # signed in to NATS as its role, with that role's password only
    - name: NATS_USER
      value: {{ .component | quote }}
    - name: NATS_PASSWORD
      valueFrom:
        secretKeyRef: { name: {{ include "sextant.natsUsersSecret" .root }}, key: {{ .component }} }
    {{- end }}
  ports:
    - name: {{ .portName }}
      containerPort: {{ .port }}
  livenessProbe:
    httpGet: { path: /health, port: {{ .portName }} }
    initialDelaySeconds: 10
    periodSeconds: 10
    timeoutSeconds: 3
    failureThreshold: 3
  readinessProbe:
    httpGet: { path: {{ .ready }}, port: {{ .portName }} }
    periodSeconds: 10
    timeoutSeconds: 3
    failureThreshold: 3
  resources: {{ toJson (.resources | default .root.Values.resources) }}
  securityContext: {{ toJson .root.Values.securityContext }}
  volumeMounts:
    - { name: data, mountPath: /data }
    - { name: tmp, mountPath: /tmp }
{{- end -}}

{{/* The pod around it: security context, scrape annotations, the writable directories. */}}
{{- define "sextant.podTemplate" -}}
metadata:
  labels:
    {{- include "sextant.labels" .root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
  annotations:
    checksum/config: {{ include (print .root.Template.BasePath "/config.yaml") .root | sha256sum }}
    {{- if .root.Values.metrics.podAnnotations }}
    prometheus.io/scrape: 'true'
    prometheus.io/port: {{ .port | quote }}
    prometheus.io/path: /metrics
    {{- end }}
spec:
  {{- with .root.Values.imagePullSecrets }}
  imagePullSecrets: {{ toJson . }}
  {{- end }}
  securityContext: {{ toJson .root.Values.podSecurityContext }}
  # SIGTERM drains: a strategy replica hands its symbols over, the others checkpoint
  terminationGracePeriodSeconds: 30
  containers:
    {{- include "sextant.container" . | nindent 4 }}
  volumes:
    - name: data
      emptyDir: {}
    - name: tmp
      emptyDir: {}
{{- end -}}
