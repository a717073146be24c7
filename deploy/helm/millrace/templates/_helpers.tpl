{{- /* The labels of every object; the selectors of the Service, the PodDisruptionBudget and the StatefulSet use the same. */ -}}
{{- define "millrace.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
