{{/* Chart name, truncated to the 63 characters Kubernetes allows in names. */}}
{{- define "portcullis.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "portcullis.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "portcullis.selectorLabels" -}}
app.kubernetes.io/name: {{ include "portcullis.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "portcullis.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "portcullis.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "portcullis.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "portcullis.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Fails the render when the settings cannot work: several replicas each with their
own in-memory store would disagree on refresh tokens, one-time codes and limits.
*/}}
{{- define "portcullis.validate" -}}
{{- $multi := or (gt (int .Values.replicaCount) 1) (and .Values.autoscaling.enabled (gt (int .Values.autoscaling.maxReplicas) 1)) }}
{{- if and $multi (ne .Values.config.store.type "redis") }}
{{- fail "replicaCount > 1 (or autoscaling) requires config.store.type=redis" }}
{{- end }}
{{- if not .Values.config.server.publicUrl }}
{{- fail "config.server.publicUrl is required: the URL clients reach the broker at" }}
{{- end }}
{{- if not .Values.signingKey.existingSecret }}
{{- fail "signingKey.existingSecret is required: the Secret holding the token signing key" }}
{{- end }}
{{- if and (eq .Values.config.keys.kidMode "x5c") (not .Values.signingKey.certName) }}
{{- fail "config.keys.kidMode=x5c requires signingKey.certName (the certificate the registry trusts)" }}
{{- end }}
{{- end }}
