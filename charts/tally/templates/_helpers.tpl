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
{{- range (include "tally.gatewayTokenSecretNames" . | fromJsonArray) -}}
{{- $refs = append $refs (printf "%s/%s" $ns .) -}}
{{- end -}}
{{ join "," $refs }}
{{- end -}}


{{- /* The token Secrets the gateway reads: the listed ones and, when created, the chart's own. */ -}}
{{- define "tally.gatewayTokenSecretNames" -}}
{{- $names := .Values.gateway.tokenSecrets | default list -}}
{{- if .Values.gateway.createTokenSecret -}}
{{- $names = append $names (printf "%s-token" (include "tally.gatewayName" .)) -}}
{{- end -}}
{{ toJson $names }}
{{- end -}}
