{{/* The release's name for every object, trimmed to what a DNS label allows. */}}
{{- define "causeway.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object; `component` is the role or `gateway`. */}}
{{- define "causeway.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
{{ include "causeway.selectorLabels" . }}
{{- end -}}

{{/* What a Service, a PDB or a NetworkPolicy selects a component's pods by. */}}
{{- define "causeway.selectorLabels" -}}
app.kubernetes.io/name: causeway
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The Secret holding KURRENTDB_URL and MONGODB_URL. */}}
{{- define "causeway.storesSecret" -}}
{{- default (printf "%s-stores" (include "causeway.fullname" .)) .Values.stores.existingSecret -}}
{{- end -}}

{{/* The gRPC services each role serves (server/src/grpc/roles.rs; a test keeps them equal). */}}
{{- define "causeway.services.query" -}}
causeway.orders.v1.OrderQueries causeway.inventory.v1.InventoryQueries causeway.identity.v1.IdentityQueries causeway.events.v1.EventFeed
{{- end -}}
{{- define "causeway.services.projection" -}}
causeway.admin.v1.ProjectionAdmin causeway.fulfilment.v1.FulfilmentQueries
{{- end -}}

{{/* The address of a role's Service, as the gateway calls it. */}}
{{- define "causeway.upstream" -}}
{{- printf "%s://%s-%s:50051" (ternary "https" "http" .root.Values.tls.enabled) (include "causeway.fullname" .root) .role -}}
{{- end -}}

{{/* The pod and container security settings every workload shares. */}}
{{- define "causeway.podSecurity" -}}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
