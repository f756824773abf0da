{{/* Names, labels and shared snippets of the smollm-serve chart. */}}

{{- define "smollm.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "smollm.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "smollm.headless" -}}
{{- printf "%s-headless" (include "smollm.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "smollm.router" -}}
{{- printf "%s-router" (include "smollm.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's pods: the servers (component server) and the router (component router). */}}
{{- define "smollm.releaseLabels" -}}
app.kubernetes.io/name: {{ include "smollm.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "smollm.selectorLabels" -}}
{{ include "smollm.releaseLabels" . }}
app.kubernetes.io/component: server
{{- end -}}

{{- define "smollm.routerSelectorLabels" -}}
{{ include "smollm.releaseLabels" . }}
app.kubernetes.io/component: router
{{- end -}}

{{/* Labels of every object (no component: each object adds its own). */}}
{{- define "smollm.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "smollm.releaseLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "smollm.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "smollm.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "smollm.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The Secret holding `api_keys`, or "" when the server runs without keys. */}}
{{- define "smollm.apiKeysSecret" -}}
{{- if .Values.apiKeys.existingSecret -}}
{{- .Values.apiKeys.existingSecret -}}
{{- else if .Values.apiKeys.keys -}}
{{- printf "%s-api-keys" (include "smollm.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* Pod Security "restricted": the pod part, and the container part. */}}
{{- define "smollm.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "smollm.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The replica count routers hash over: every pod name the StatefulSet may have. */}}
{{- define "smollm.maxReplicas" -}}
{{- if .Values.autoscaling.enabled -}}{{ .Values.autoscaling.maxReplicas }}{{- else -}}{{ .Values.replicas }}{{- end -}}
{{- end -}}

{{/* Fails the render on combinations the schema cannot express. */}}
{{- define "smollm.validate" -}}
{{- $pdb := .Values.podDisruptionBudget -}}
{{- if and $pdb.enabled (eq (kindIs "invalid" $pdb.minAvailable) (kindIs "invalid" $pdb.maxUnavailable)) -}}
{{- fail "podDisruptionBudget: set exactly one of minAvailable and maxUnavailable (the other null)" -}}
{{- end -}}
{{- if and (eq .Values.model.source "pvc") (not .Values.model.pvc.claimName) -}}
{{- fail "model.pvc.claimName is required when model.source is pvc" -}}
{{- end -}}
{{- if and (eq .Values.model.source "download") (or (not .Values.model.download.url) (not .Values.model.download.sha256)) -}}
{{- fail "model.download.url and model.download.sha256 are required when model.source is download" -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- fail "autoscaling.minReplicas must not exceed autoscaling.maxReplicas" -}}
{{- end -}}
{{- end -}}
