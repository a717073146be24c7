package deploy_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"millrace/cluster"
	"millrace/plan"
	"millrace/spec"
)

// The manifests' two variants: the default scales on the advice at /api/scale, the other
// on the gauge in Prometheus.
var variants = map[string][]string{
	"metrics-api": {".", "keda"},
	"prometheus":  {".", "keda-prometheus"},
}

func TestManifestsDecodeStrictlyAndFitTogether(t *testing.T) {
	for name, dirs := range variants {
		t.Run(name, func(t *testing.T) {
			o := loadManifests(t, dirs...)
			d := wiring(t, o)
			so := one(t, "ScaledObject", o.scaled)
			if got := so.Spec.Triggers[0].Type; got != name {
				t.Errorf("trigger %q, want %q", got, name)
			}
			docsMention(t, secretsOf(d, o)...)
		})
	}
}

// secretsOf names the Secrets the objects read, which the user creates.
func secretsOf(d *deployment, o *objects) []string {
	var names []string
	for _, e := range d.container.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			names = append(names, e.ValueFrom.SecretKeyRef.Name)
		}
	}
	for _, v := range d.set.Spec.Template.Spec.Volumes {
		if v.Secret != nil {
			names = append(names, v.Secret.SecretName)
		}
	}
	for _, a := range o.auths {
		for _, r := range a.Spec.SecretTargetRef {
			names = append(names, r.Name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// The strict decoding itself refuses what a typo would make.
func TestStrictDecodingRefusesMistakes(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field":     "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {selektor: {a: b}}\n",
		"duplicate field":   "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {type: ClusterIP, type: NodePort}\n",
		"wrong apiVersion":  "apiVersion: apps/v1beta1\nkind: StatefulSet\nmetadata: {name: x}\n",
		"unknown kind":      "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {token: x}\n",
		"KEDA field":        "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: x}\nspec: {scaleTargetRef: {name: x}, minReplicas: 2, triggers: []}\n",
		"KEDA auth field":   "apiVersion: keda.sh/v1alpha1\nkind: TriggerAuthentication\nmetadata: {name: x}\nspec: {secretTargetRefs: []}\n",
		"wrong value types": "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: x}\nspec: {replicas: two}\n",
	} {
		o := &objects{generic: map[string]any{}}
		if err := o.decode(name, []byte(doc)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

// The ConfigMap's spec parses and plans for cluster mode, with the environment the
// StatefulSet gives it, against brokers that ask for the SASL mechanism it names.
func TestPipelinePlansForClusterMode(t *testing.T) {
	const user, password = "millrace", "kafka-pass-for-plan"
	d := wiring(t, loadManifests(t, variants["metrics-api"]...))
	mech := d.env["KAFKA_SASL_MECHANISM"].Value
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(8, "tx"),
		kfake.EnableSASL(), kfake.Superuser(mech, user, password))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	pwFile := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"KAFKA_BROKERS": kc.ListenAddrs()[0], "KAFKA_USER": user, "KAFKA_PASSWORD_FILE": pwFile}
	for name, e := range d.env {
		if _, set := env[name]; !set && e.ValueFrom == nil {
			env[name] = e.Value
		}
	}
	s, err := spec.Parse(d.spec, "ConfigMap millrace-pipeline", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	relay := &cluster.Relay{}
	p, err := plan.Build(s, plan.Options{Parallelism: 1, Outbox: relay.Outbox})
	if err != nil {
		t.Fatal(err)
	}
	layout, err := cluster.Cut(p)
	if err != nil {
		t.Fatalf("the spec does not run in a cluster: %v", err)
	}
	if len(layout.Stages) < 2 || layout.KeyGroups != 256 {
		t.Errorf("%d stages over %d key groups: want the keyed view in a stage of its own over 256", len(layout.Stages), layout.KeyGroups)
	}
}
