{{- define "streamspace.fullname" -}}
{{- printf "%s-streamspace" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- define "streamspace.labels" -}}
app.kubernetes.io/part-of: streamspace
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "streamspace.tag" -}}
{{- .Values.image.tag | default .Chart.AppVersion -}}
{{- end }}

{{- define "streamspace.sessionNamespace" -}}
{{- .Values.sessions.namespace | default .Release.Namespace -}}
{{- end }}

{{- define "streamspace.secretName" -}}
{{- include "streamspace.fullname" . -}}
{{- end }}
