package deploy_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// scaledObject mirrors the fields of KEDA's keda.sh/v1alpha1 ScaledObject that the
// manifests use; decoding refuses any other field.
type scaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		ScaleTargetRef struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Name       string `json:"name"`
		} `json:"scaleTargetRef"`
		PollingInterval *int32 `json:"pollingInterval,omitempty"`
		MinReplicaCount *int32 `json:"minReplicaCount,omitempty"`
		MaxReplicaCount *int32 `json:"maxReplicaCount,omitempty"`
		Advanced        *struct {
			HorizontalPodAutoscalerConfig *struct {
				Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
			} `json:"horizontalPodAutoscalerConfig,omitempty"`
		} `json:"advanced,omitempty"`
		Triggers []scaleTrigger `json:"triggers"`
	} `json:"spec"`
}

// scaleTrigger mirrors KEDA's ScaleTriggers.
type scaleTrigger struct {
	Type              string                         `json:"type"`
	MetricType        autoscalingv2.MetricTargetType `json:"metricType,omitempty"`
	Metadata          map[string]string              `json:"metadata"`
	AuthenticationRef *struct {
		Name string `json:"name"`
	} `json:"authenticationRef,omitempty"`
}

// triggerMetadata are the metadata keys KEDA's scalers know, for the triggers used here:
// a misspelt key would be ignored by KEDA, so the test refuses it.
var triggerMetadata = map[string][]string{
	"metrics-api": {"url", "format", "valueLocation", "targetValue", "activationTargetValue", "authMode", "unsafeSsl"},
	"prometheus":  {"serverAddress", "query", "threshold", "activationThreshold", "namespace", "unsafeSsl", "authModes"},
}

// triggerAuthentication mirrors the fields of KEDA's keda.sh/v1alpha1
// TriggerAuthentication that the manifests use.
type triggerAuthentication struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		SecretTargetRef []struct {
			Parameter string `json:"parameter"`
			Name      string `json:"name"`
			Key       string `json:"key"`
		} `json:"secretTargetRef"`
	} `json:"spec"`
}

// objects are the objects of a set of manifests, each decoded strictly into its type.
type objects struct {
	configMaps []*corev1.ConfigMap
	services   []*corev1.Service
	sets       []*appsv1.StatefulSet
	budgets    []*policyv1.PodDisruptionBudget
	scaled     []*scaledObject
	auths      []*triggerAuthentication
	// generic is every object as plain data, by kind/name, to compare sets of manifests.
	generic map[string]any
}

// kinds are the apiVersion each kind must have and a new value to decode it into.
var kinds = map[string]struct {
	apiVersion string
	decode     func(o *objects, doc []byte) error
}{
	"ConfigMap": {"v1", func(o *objects, doc []byte) error { return into(doc, &o.configMaps) }},
	"Service":   {"v1", func(o *objects, doc []byte) error { return into(doc, &o.services) }},
	"StatefulSet": {"apps/v1", func(o *objects, doc []byte) error {
		return into(doc, &o.sets)
	}},
	"PodDisruptionBudget": {"policy/v1", func(o *objects, doc []byte) error { return into(doc, &o.budgets) }},
	"ScaledObject":        {"keda.sh/v1alpha1", func(o *objects, doc []byte) error { return into(doc, &o.scaled) }},
	"TriggerAuthentication": {"keda.sh/v1alpha1", func(o *objects, doc []byte) error {
		return into(doc, &o.auths)
	}},
}

// into decodes doc strictly (unknown or duplicate fields are errors) into a new T and
// appends it to list.
func into[T any](doc []byte, list *[]*T) error {
	v := new(T)
	if err := yaml.UnmarshalStrict(doc, v); err != nil {
		return err
	}
	*list = append(*list, v)
	return nil
}

// docSeparator splits a YAML stream into its documents.
var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decode adds the objects of the YAML stream data, read from name, to o.
func (o *objects) decode(name string, data []byte) error {
	for i, doc := range docSeparator.Split(string(data), -1) {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			return fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		if head.Kind == "" && strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		k, ok := kinds[head.Kind]
		if !ok {
			return fmt.Errorf("%s: document %d: kind %q is none the manifests should hold", name, i, head.Kind)
		}
		if head.APIVersion != k.apiVersion {
			return fmt.Errorf("%s: %s %s: apiVersion %q, want %q", name, head.Kind, head.Metadata.Name, head.APIVersion, k.apiVersion)
		}
		if err := k.decode(o, []byte(doc)); err != nil {
			return fmt.Errorf("%s: %s %s: %w", name, head.Kind, head.Metadata.Name, err)
		}
		var plain any
		if err := yaml.Unmarshal([]byte(doc), &plain); err != nil {
			return fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		key := head.Kind + "/" + head.Metadata.Name
		if _, dup := o.generic[key]; dup {
			return fmt.Errorf("%s: %s is defined twice", name, key)
		}
		o.generic[key] = plain
	}
	return nil
}

// stripComments drops the comment lines of a YAML document.
func stripComments(doc string) string {
	var b strings.Builder
	for line := range strings.Lines(doc) {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// loadManifests decodes the YAML files of dirs (not their subdirectories) under
// kubernetes/.
func loadManifests(t *testing.T, dirs ...string) *objects {
	t.Helper()
	o := &objects{generic: map[string]any{}}
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join("kubernetes", dir, "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no manifests in kubernetes/%s", dir)
		}
		slices.Sort(files)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := o.decode(f, data); err != nil {
				t.Fatal(err)
			}
		}
	}
	return o
}

// one returns the only element of list, failing the test when there is not exactly one.
func one[T any](t *testing.T, what string, list []*T) *T {
	t.Helper()
	if len(list) != 1 {
		t.Fatalf("%d %s objects, want 1", len(list), what)
	}
	return list[0]
}
