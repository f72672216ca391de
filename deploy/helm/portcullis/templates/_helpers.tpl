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

{{- define "portcullis.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}
{{- end }}

{{- define "portcullis.policyConfigMap" -}}
{{- .Values.policy.existingConfigMap | default (printf "%s-policy" (include "portcullis.fullname" .)) }}
{{- end }}

{{/*
The broker configuration: values.config as given, with the keys the chart owns
(listen address, data dir, policy path, signing key mounts) filled in.
*/}}
{{- define "portcullis.config" -}}
{{- $config := deepCopy (.Values.config | default dict) }}
{{- $signing := dict "id" .Values.signingKey.id "alg" .Values.signingKey.alg "privateKey" (dict "file" (printf "/etc/portcullis/keys/%s" .Values.signingKey.keyName)) }}
{{- if .Values.signingKey.certName }}
{{- $_ := set $signing "certificateFile" (printf "/etc/portcullis/keys/%s" .Values.signingKey.certName) }}
{{- end }}
{{- if .Values.signingKey.kid }}
{{- $_ := set $signing "kid" .Values.signingKey.kid }}
{{- end }}
{{- $owned := dict
  "server" (dict "host" "0.0.0.0" "port" (int .Values.containerPort))
  "dataDir" "/var/lib/portcullis"
  "policy" (dict "file" "/etc/portcullis/policy/policy.yaml")
  "keys" (dict "signing" (list $signing)) }}
{{- toYaml (mergeOverwrite $config $owned) }}
{{- end }}

{{/* The readiness endpoint: see `readiness.path` in values.yaml. */}}
{{- define "portcullis.readinessPath" -}}
{{- $path := .Values.readiness.path | default "auto" }}
{{- if ne $path "auto" }}
{{- $path }}
{{- else }}
{{- $config := .Values.config | default dict }}
{{- $store := $config.store | default dict }}
{{- $limits := dig "sessions" "rateLimits" dict $config }}
{{- $limitsOn := ne (toString (dig "enabled" true $limits)) "false" }}
{{- $closed := and $limitsOn (eq (toString (dig "onStoreFailure" "open" $limits)) "closed") }}
{{- /* Every ID token single use: each GET /token needs Redis too. */}}
{{- $singleUse := eq (toString (dig "sessions" "idTokens" "singleUse" false $config)) "true" }}
{{- if and (eq (toString $store.type) "redis") (or $closed $singleUse) }}
{{- "/readyz" }}
{{- else }}
{{- "/healthz" }}
{{- end }}
{{- end }}
{{- end }}

{{/* topologySpreadConstraints, with the chart's selector labels where an entry names none. */}}
{{- define "portcullis.topologySpread" -}}
{{- $out := list }}
{{- range .Values.topologySpreadConstraints }}
{{- $c := deepCopy . }}
{{- if not (hasKey $c "labelSelector") }}
{{- $_ := set $c "labelSelector" (dict "matchLabels" (include "portcullis.selectorLabels" $ | fromYaml)) }}
{{- end }}
{{- $out = append $out $c }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/*
Fails the render when the settings cannot work: several replicas each with their
own in-memory store would disagree on refresh tokens, one-time codes and limits;
keys the chart owns would be silently replaced.
*/}}
{{- define "portcullis.validate" -}}
{{- $multi := or (gt (int .Values.replicaCount) 1) (and .Values.autoscaling.enabled (gt (int .Values.autoscaling.maxReplicas) 1)) }}
{{- $config := .Values.config | default dict }}
{{- $server := $config.server | default dict }}
{{- $store := $config.store | default dict }}
{{- $keys := $config.keys | default dict }}
{{- $policy := $config.policy | default dict }}
{{- if or (hasKey $server "host") (hasKey $server "port") }}
{{- fail "config.server.host and config.server.port are set by the chart: use containerPort" }}
{{- end }}
{{- if hasKey $config "dataDir" }}
{{- fail "config.dataDir is set by the chart (an emptyDir at /var/lib/portcullis)" }}
{{- end }}
{{- if hasKey $policy "file" }}
{{- fail "config.policy.file is set by the chart: put the policy in policy.document or policy.existingConfigMap" }}
{{- end }}
{{- if hasKey $keys "signing" }}
{{- fail "config.keys.signing is set by the chart: use signingKey.existingSecret" }}
{{- end }}
{{- if and $multi (ne (toString $store.type) "redis") }}
{{- fail "replicaCount > 1 (or autoscaling) requires config.store.type=redis" }}
{{- end }}
{{- if not $server.publicUrl }}
{{- fail "config.server.publicUrl is required: the URL clients reach the broker at" }}
{{- end }}
{{- if not .Values.signingKey.existingSecret }}
{{- fail "signingKey.existingSecret is required: the Secret holding the token signing key" }}
{{- end }}
{{- if and (eq (toString $keys.kidMode) "x5c") (not .Values.signingKey.certName) }}
{{- fail "config.keys.kidMode=x5c requires signingKey.certName (the certificate the registry trusts)" }}
{{- end }}
{{- if and .Values.serviceMonitor.enabled (eq (toString (dig "metrics" "enabled" true $config)) "false") }}
{{- fail "serviceMonitor.enabled needs config.metrics.enabled (the broker serves no /metrics otherwise)" }}
{{- end }}
{{- if and (not .Values.policy.document) (not .Values.policy.existingConfigMap) }}
{{- fail "policy.document or policy.existingConfigMap is required" }}
{{- end }}
{{- end }}
