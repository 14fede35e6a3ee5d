{{- define "tally.labels" -}}
app.kubernetes.io/name: tally
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "tally.operatorName" -}}
{{ .Release.Name }}-operator
{{- end -}}

{{- define "tally.gatewayName" -}}
{{ .Release.Name }}-gateway
{{- end -}}

{{- /* namespace/name of every token Secret; all live in the release namespace. */ -}}
{{- define "tally.gatewayTokenSecrets" -}}
{{- $ns := .Release.Namespace -}}
{{- $refs := list -}}
{{- range .Values.gateway.tokenSecrets -}}
{{- $refs = append $refs (printf "%s/%s" $ns .) -}}
{{- end -}}
{{ join "," $refs }}
{{- end -}}
