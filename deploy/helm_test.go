package deploy_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"text/template"

	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the chart's golden renderings in testdata/")

// chartDir is the Helm chart.
const chartDir = "helm/millrace"

// release is what Helm knows of a release when it renders: its name and namespace.
type release struct{ Name, Namespace string }

// renderChart renders the chart as `helm template NAME chart -n NAMESPACE -f VALUES...`
// does, with text/template and the few Helm functions the chart uses (include, toYaml,
// nindent, quote, fail): each template's output in the order of the file names, after a
// "# Source:" line, templates that render to nothing left out. A value the templates ask
// for and the values lack is an error (Helm would render it empty).
func render(rel release, overrides ...string) ([]byte, error) {
	values, err := readYAML(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return nil, err
	}
	for _, f := range overrides {
		over, err := readYAML(f)
		if err != nil {
			return nil, err
		}
		values = mergeValues(values, over)
	}
	chart, err := readYAML(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return nil, err
	}
	data := map[string]any{
		"Values":  values,
		"Release": map[string]any{"Name": rel.Name, "Namespace": rel.Namespace, "Service": "Helm"},
		"Chart":   map[string]any{"Name": chart["name"], "Version": chart["version"], "AppVersion": chart["appVersion"]},
	}
	root := template.New("chart").Option("missingkey=error")
	root.Funcs(template.FuncMap{
		"include": func(name string, data any) (string, error) {
			var b strings.Builder
			err := root.ExecuteTemplate(&b, name, data)
			return b.String(), err
		},
		"toYaml": func(v any) (string, error) {
			b, err := yaml.Marshal(v)
			return strings.TrimSuffix(string(b), "\n"), err
		},
		"nindent": func(n int, s string) string {
			pad := strings.Repeat(" ", n)
			return "\n" + pad + strings.ReplaceAll(s, "\n", "\n"+pad)
		},
		"quote": func(v any) string { return fmt.Sprintf("%q", fmt.Sprint(v)) },
		"fail":  func(msg string) (string, error) { return "", errors.New(msg) },
	})
	files, err := filepath.Glob(filepath.Join(chartDir, "templates", "*"))
	if err != nil {
		return nil, err
	}
	slices.Sort(files)
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if _, err := root.New(filepath.Base(f)).Parse(string(text)); err != nil {
			return nil, err
		}
	}
	var out bytes.Buffer
	for _, f := range files {
		name := filepath.Base(f)
		if strings.HasPrefix(name, "_") || !strings.HasSuffix(name, ".yaml") {
			continue
		}
		var b strings.Builder
		if err := root.ExecuteTemplate(&b, name, data); err != nil {
			return nil, fmt.Errorf("render %s: %w", name, err)
		}
		if strings.TrimSpace(b.String()) == "" {
			continue
		}
		fmt.Fprintf(&out, "---\n# Source: millrace/templates/%s\n%s\n", name, strings.TrimSpace(b.String()))
	}
	return out.Bytes(), nil
}

// renderChart is render that fails the test on an error.
func renderChart(t *testing.T, rel release, overrides ...string) []byte {
	t.Helper()
	out, err := render(rel, overrides...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// readYAML reads a YAML map.
func readYAML(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// mergeValues lays over on base as Helm merges values files: maps key by key, anything
// else replaced.
func mergeValues(base, over map[string]any) map[string]any {
	out := maps.Clone(base)
	for k, v := range over {
		if sub, ok := v.(map[string]any); ok {
			if was, ok := out[k].(map[string]any); ok {
				out[k] = mergeValues(was, sub)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// renderings are the chart's renderings that have golden files: the default values, and
// the other trigger without SASL and without KEDA.
var renderings = []struct {
	golden    string
	overrides []string
}{
	{"helm-default.yaml", nil},
	{"helm-prometheus.yaml", []string{"testdata/values-prometheus.yaml"}},
	{"helm-no-keda.yaml", []string{"testdata/values-no-keda.yaml"}},
}

// defaultRelease is the release the docs install: helm install millrace -n millrace.
var defaultRelease = release{Name: "millrace", Namespace: "millrace"}

func TestChartRendersTheGoldenFiles(t *testing.T) {
	for _, r := range renderings {
		t.Run(r.golden, func(t *testing.T) {
			got := renderChart(t, defaultRelease, r.overrides...)
			path := filepath.Join("testdata", r.golden)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test ./deploy -run TestChart -update writes it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("the chart renders other than %s (go test ./deploy -run TestChart -update, then review the diff):\n%s", path, firstDiff(string(want), string(got)))
			}
			o := &objects{generic: map[string]any{}}
			if err := o.decode(path, got); err != nil {
				t.Fatal(err)
			}
			wiring(t, o)
		})
	}
}

// The chart with its default values makes the plain manifests, object for object.
func TestChartByDefaultEqualsTheManifests(t *testing.T) {
	rendered := &objects{generic: map[string]any{}}
	if err := rendered.decode("chart", renderChart(t, defaultRelease)); err != nil {
		t.Fatal(err)
	}
	plain := loadManifests(t, variants["metrics-api"]...)
	for _, key := range slices.Sorted(maps.Keys(plain.generic)) {
		got, ok := rendered.generic[key]
		if !ok {
			t.Errorf("the chart makes no %s", key)
			continue
		}
		if !reflect.DeepEqual(got, plain.generic[key]) {
			a, _ := yaml.Marshal(plain.generic[key])
			b, _ := yaml.Marshal(got)
			t.Errorf("%s differs between the manifests and the chart:\n%s", key, firstDiff(string(a), string(b)))
		}
	}
	for key := range rendered.generic {
		if _, ok := plain.generic[key]; !ok {
			t.Errorf("the chart makes %s, which the manifests lack", key)
		}
	}
	// Another release name and namespace reach every name and the trigger's URL.
	other := &objects{generic: map[string]any{}}
	if err := other.decode("chart", renderChart(t, release{Name: "fraud", Namespace: "risk"})); err != nil {
		t.Fatal(err)
	}
	d := wiring(t, other)
	if d.set.Name != "fraud" || d.set.Namespace != "risk" {
		t.Errorf("release fraud in risk made StatefulSet %s/%s", d.set.Namespace, d.set.Name)
	}
}

func TestChartRefusesAnUnknownTrigger(t *testing.T) {
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte("keda: {trigger: cpu}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := render(defaultRelease, values)
	if err == nil || !strings.Contains(err.Error(), `keda.trigger "cpu": want metrics-api or prometheus`) {
		t.Errorf("rendering with keda.trigger cpu: %v", err)
	}
	// A value the templates ask for and the values lack is an error, not an empty string.
	if err := os.WriteFile(values, []byte("listen: {port: null}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := render(defaultRelease, values); err == nil {
		if o := (&objects{generic: map[string]any{}}); o.decode("chart", out) == nil {
			t.Error("the chart rendered without listen.port")
		}
	}
}

// firstDiff shows where two texts first differ, with some lines around.
func firstDiff(want, got string) string {
	a, b := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(a), len(b)); i++ {
		if i >= len(a) || i >= len(b) || a[i] != b[i] {
			lo := max(i-3, 0)
			return fmt.Sprintf("line %d:\nwant:\n%s\ngot:\n%s", i+1,
				strings.Join(a[lo:min(i+4, len(a))], "\n"), strings.Join(b[lo:min(i+4, len(b))], "\n"))
		}
	}
	return "(equal)"
}
