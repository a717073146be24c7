package deploy_test

import (
	"maps"
	"net/url"
	"os"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"millrace/observe"
	"millrace/scale"
)

// The parts of a set of manifests that must fit together, as found by wiring.
type deployment struct {
	set       *appsv1.StatefulSet
	container corev1.Container
	// args are the container's --flag=value arguments by flag; positional its others.
	args       map[string]string
	positional []string
	// env is the container's environment by name.
	env map[string]corev1.EnvVar
	// mounts are the volumes by mount path.
	mounts map[string]corev1.Volume
	svc    *corev1.Service
	cm     *corev1.ConfigMap
	spec   []byte // the pipeline spec in the ConfigMap
}

// wiring finds the parts of o and checks that they name each other: selectors and labels,
// ports, probes, volumes, the worker id, the environment the arguments and the spec use,
// the replica counts, and the KEDA objects when o has them.
func wiring(t *testing.T, o *objects) *deployment {
	t.Helper()
	d := &deployment{set: one(t, "StatefulSet", o.sets), svc: one(t, "Service", o.services),
		args: map[string]string{}, env: map[string]corev1.EnvVar{}, mounts: map[string]corev1.Volume{}}
	budget := one(t, "PodDisruptionBudget", o.budgets)
	cm := one(t, "ConfigMap", o.configMaps)
	d.cm = cm
	set, svc := d.set, d.svc
	ns := set.Namespace
	if ns == "" {
		t.Error("the StatefulSet names no namespace")
	}

	// Labels and selectors: the Service and the budget select exactly the StatefulSet's pods.
	sel := set.Spec.Selector.MatchLabels
	if len(sel) == 0 || len(set.Spec.Selector.MatchExpressions) > 0 {
		t.Fatalf("StatefulSet selector %v: want match labels only", set.Spec.Selector)
	}
	for k, v := range sel {
		if set.Spec.Template.Labels[k] != v {
			t.Errorf("the pod template lacks the selector's label %s=%s", k, v)
		}
	}
	if !maps.Equal(svc.Spec.Selector, sel) {
		t.Errorf("Service selector %v, StatefulSet selector %v", svc.Spec.Selector, sel)
	}
	if budget.Spec.Selector == nil || !maps.Equal(budget.Spec.Selector.MatchLabels, sel) {
		t.Errorf("PodDisruptionBudget selector %v, StatefulSet selector %v", budget.Spec.Selector, sel)
	}
	if mu := budget.Spec.MaxUnavailable; mu == nil || mu.IntValue() != 1 {
		t.Errorf("PodDisruptionBudget maxUnavailable %v, want 1: one rebalance at a time", mu)
	}
	for _, m := range []struct {
		what      string
		namespace string
		labels    map[string]string
	}{
		{"Service", svc.Namespace, svc.Labels}, {"ConfigMap", cm.Namespace, cm.Labels},
		{"PodDisruptionBudget", budget.Namespace, budget.Labels}, {"StatefulSet", set.Namespace, set.Labels},
	} {
		if m.namespace != ns {
			t.Errorf("%s in namespace %q, the StatefulSet in %q", m.what, m.namespace, ns)
		}
		for k, v := range sel {
			if m.labels[k] != v {
				t.Errorf("%s lacks the label %s=%s", m.what, k, v)
			}
		}
	}
	if set.Spec.ServiceName != svc.Name {
		t.Errorf("StatefulSet serviceName %q, the Service is %q", set.Spec.ServiceName, svc.Name)
	}
	if set.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		t.Errorf("podManagementPolicy %q: want Parallel, so a change of count is one rebalance", set.Spec.PodManagementPolicy)
	}

	// The container: its arguments, environment and volumes.
	if n := len(set.Spec.Template.Spec.Containers); n != 1 {
		t.Fatalf("%d containers, want 1", n)
	}
	c := set.Spec.Template.Spec.Containers[0]
	d.container = c
	if len(c.Command) != 1 || path.Base(c.Command[0]) != "millrace" {
		t.Errorf("command %q: want the millrace binary", c.Command)
	}
	for _, a := range c.Args {
		if name, value, ok := strings.Cut(strings.TrimPrefix(a, "--"), "="); ok && strings.HasPrefix(a, "--") {
			if _, dup := d.args[name]; dup {
				t.Errorf("--%s given twice", name)
			}
			d.args[name] = value
		} else {
			d.positional = append(d.positional, a)
		}
	}
	if len(d.positional) != 2 || d.positional[0] != "run" {
		t.Fatalf("arguments %q: want run SPEC and flags", c.Args)
	}
	for _, e := range c.Env {
		if _, dup := d.env[e.Name]; dup {
			t.Errorf("environment variable %s set twice", e.Name)
		}
		// Kubernetes expands $(VAR) in a value from the variables set before it.
		for _, ref := range kubeRefs(e.Value) {
			if _, ok := d.env[ref]; !ok {
				t.Errorf("%s uses $(%s), which is not set before it", e.Name, ref)
			}
		}
		d.env[e.Name] = e
		if secretName.MatchString(e.Name) && !strings.HasSuffix(e.Name, "_FILE") && e.Value != "" {
			t.Errorf("%s is written out in the manifest: a secret comes from a Secret", e.Name)
		}
	}
	for _, a := range c.Args {
		for _, ref := range kubeRefs(a) {
			if _, ok := d.env[ref]; !ok {
				t.Errorf("argument %q uses $(%s), which the container does not set", a, ref)
			}
		}
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range set.Spec.Template.Spec.Volumes {
		volumes[v.Name] = v
	}
	for _, m := range c.VolumeMounts {
		v, ok := volumes[m.Name]
		if !ok {
			t.Errorf("volume mount %s names no volume", m.Name)
			continue
		}
		if (v.Secret != nil || v.ConfigMap != nil) && !m.ReadOnly {
			t.Errorf("volume %s holds configuration or secrets and is mounted writable", m.Name)
		}
		d.mounts[m.MountPath] = v
	}

	// The worker id is the pod's name, so its transactional id outlives a restart.
	if d.args["worker-id"] != "$(POD_NAME)" {
		t.Errorf("--worker-id=%q: want $(POD_NAME)", d.args["worker-id"])
	}
	if f := d.env["POD_NAME"].ValueFrom; f == nil || f.FieldRef == nil || f.FieldRef.FieldPath != "metadata.name" {
		t.Errorf("POD_NAME comes from %+v: want the downward API's metadata.name", f)
	}
	if f := d.env["POD_NAMESPACE"].ValueFrom; f == nil || f.FieldRef == nil || f.FieldRef.FieldPath != "metadata.namespace" {
		t.Errorf("POD_NAMESPACE comes from %+v: want the downward API's metadata.namespace", f)
	}
	if !strings.HasPrefix(d.args["cluster"], "kafka://") {
		t.Errorf("--cluster=%q: want kafka://BROKERS", d.args["cluster"])
	}

	// The spec: from the ConfigMap that is mounted where the arguments read it.
	specVol, ok := d.mounts[path.Dir(d.positional[1])]
	if !ok || specVol.ConfigMap == nil || specVol.ConfigMap.Name != cm.Name {
		t.Fatalf("the spec %s is not in a mounted ConfigMap %s", d.positional[1], cm.Name)
	}
	text, ok := cm.Data[path.Base(d.positional[1])]
	if !ok {
		t.Fatalf("ConfigMap %s has no key %s", cm.Name, path.Base(d.positional[1]))
	}
	d.spec = []byte(text)
	for _, ref := range specRefs(text) {
		if _, ok := d.env[ref]; !ok {
			t.Errorf("the spec uses ${%s}, which the container does not set", ref)
		}
	}

	// Files the arguments and the environment name lie in the volumes that hold them.
	d.inSecret(t, "--listen-token-file", d.args["listen-token-file"])
	if file, ok := d.args["kafka-sasl-password-file"]; ok {
		if file != "$(KAFKA_PASSWORD_FILE)" {
			t.Errorf("--kafka-sasl-password-file=%q: want $(KAFKA_PASSWORD_FILE), the file the spec reads too", file)
		}
		d.inSecret(t, "KAFKA_PASSWORD_FILE", d.env["KAFKA_PASSWORD_FILE"].Value)
	}

	// Ports: the listener, the container port, the Service's target and the probes agree.
	port := namedPort(t, c, "http")
	_, listenPort, ok := strings.Cut(d.args["listen"], ":")
	if !ok || listenPort != strconv.Itoa(int(port.ContainerPort)) || !strings.HasPrefix(d.args["listen"], "0.0.0.0:") {
		t.Errorf("--listen=%q: want 0.0.0.0:%d, the container port", d.args["listen"], port.ContainerPort)
	}
	if n := len(svc.Spec.Ports); n != 1 {
		t.Fatalf("the Service has %d ports, want 1", n)
	}
	sp := svc.Spec.Ports[0]
	if target := containerPort(t, c, sp.TargetPort); target != port.ContainerPort || sp.Port != port.ContainerPort {
		t.Errorf("Service port %d targets %d; the worker listens on %d", sp.Port, target, port.ContainerPort)
	}
	for _, p := range []struct {
		what  string
		probe *corev1.Probe
		path  string
	}{
		{"startupProbe", c.StartupProbe, observe.LivePath},
		{"livenessProbe", c.LivenessProbe, observe.LivePath},
		{"readinessProbe", c.ReadinessProbe, observe.ReadyPath},
	} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: want an HTTP GET of %s", p.what, p.path)
			continue
		}
		g := p.probe.HTTPGet
		if g.Path != p.path || containerPort(t, c, g.Port) != port.ContainerPort || g.Scheme == corev1.URISchemeHTTPS {
			t.Errorf("%s GETs %s %s on %s: want http %s on the listener", p.what, g.Scheme, g.Path, g.Port.String(), p.path)
		}
	}
	// The Service's names reach the listener's Host check: KEDA calls it by them.
	hosts := strings.Split(d.args["listen-host"], ",")
	for _, want := range []string{svc.Name, svc.Name + ".$(POD_NAMESPACE)", svc.Name + ".$(POD_NAMESPACE).svc", svc.Name + ".$(POD_NAMESPACE).svc.cluster.local"} {
		if !slices.Contains(hosts, want) {
			t.Errorf("--listen-host=%q lacks %s", d.args["listen-host"], want)
		}
	}

	// Graceful stop: the grace period covers the last checkpoint several times over.
	interval, err := time.ParseDuration(d.args["checkpoint-interval"])
	if err != nil {
		t.Fatalf("--checkpoint-interval: %v", err)
	}
	grace := set.Spec.Template.Spec.TerminationGracePeriodSeconds
	if grace == nil || time.Duration(*grace)*time.Second < 6*interval {
		t.Errorf("terminationGracePeriodSeconds %v: want at least 6 checkpoint intervals (%v)", grace, 6*interval)
	}

	replicas := set.Spec.Replicas
	if replicas == nil || !dividesKeyGroups(*replicas) {
		t.Errorf("replicas %v: want a count that divides 256", replicas)
	}
	for _, so := range o.scaled {
		d.checkScaledObject(t, so, o)
	}
	return d
}

// checkScaledObject checks that so scales the StatefulSet from the advice.
func (d *deployment) checkScaledObject(t *testing.T, so *scaledObject, o *objects) {
	t.Helper()
	ref := so.Spec.ScaleTargetRef
	if so.Namespace != d.set.Namespace || ref.APIVersion != "apps/v1" || ref.Kind != "StatefulSet" || ref.Name != d.set.Name {
		t.Errorf("ScaledObject %s/%s scales %s %s %s: want the StatefulSet %s/%s", so.Namespace, so.Name, ref.APIVersion, ref.Kind, ref.Name, d.set.Namespace, d.set.Name)
	}
	lo, hi := so.Spec.MinReplicaCount, so.Spec.MaxReplicaCount
	if lo == nil || hi == nil || !dividesKeyGroups(*lo) || !dividesKeyGroups(*hi) || *lo > *d.set.Spec.Replicas || *hi < *d.set.Spec.Replicas {
		t.Errorf("ScaledObject replicas %v..%v around %d: want bounds that divide 256 around the StatefulSet's", lo, hi, *d.set.Spec.Replicas)
	}
	if *lo < 1 {
		t.Error("ScaledObject minReplicaCount 0: a cluster scaled to nothing serves no advice to scale it up again")
	}
	if len(so.Spec.Triggers) != 1 {
		t.Fatalf("ScaledObject has %d triggers, want 1", len(so.Spec.Triggers))
	}
	tr := so.Spec.Triggers[0]
	known, ok := triggerMetadata[tr.Type]
	if !ok {
		t.Fatalf("trigger %q: want metrics-api or prometheus", tr.Type)
	}
	for k := range tr.Metadata {
		if !slices.Contains(known, k) {
			t.Errorf("trigger %s: metadata %q is none KEDA knows", tr.Type, k)
		}
	}
	// With AverageValue the autoscaler asks for ceil(value / target) replicas: the advice's
	// count itself when the target is 1.
	if tr.MetricType != "AverageValue" {
		t.Errorf("trigger metricType %q: want AverageValue", tr.MetricType)
	}
	switch tr.Type {
	case "metrics-api":
		if tr.Metadata["targetValue"] != "1" {
			t.Errorf("targetValue %q: want 1", tr.Metadata["targetValue"])
		}
		u, err := url.Parse(tr.Metadata["url"])
		if err != nil {
			t.Fatal(err)
		}
		wantHost := d.svc.Name + "." + d.svc.Namespace + ".svc.cluster.local:" + strconv.Itoa(int(d.svc.Spec.Ports[0].Port))
		if u.Scheme != "http" || u.Host != wantHost || u.Path != "/api/scale" {
			t.Errorf("trigger url %s: want http://%s/api/scale", u, wantHost)
		}
		if !adviceHasField(tr.Metadata["valueLocation"]) {
			t.Errorf("valueLocation %q is no numeric field of the advice at /api/scale", tr.Metadata["valueLocation"])
		}
		if f := tr.Metadata["format"]; f != "json" {
			t.Errorf("format %q: want json", f)
		}
		if tr.Metadata["authMode"] != "bearer" || tr.AuthenticationRef == nil {
			t.Fatalf("trigger authMode %q, authenticationRef %v: want bearer with the listener's token", tr.Metadata["authMode"], tr.AuthenticationRef)
		}
		auth := one(t, "TriggerAuthentication", o.auths)
		if auth.Name != tr.AuthenticationRef.Name || auth.Namespace != so.Namespace {
			t.Errorf("the trigger authenticates with %s; the TriggerAuthentication is %s/%s", tr.AuthenticationRef.Name, auth.Namespace, auth.Name)
		}
		if len(auth.Spec.SecretTargetRef) != 1 {
			t.Fatalf("TriggerAuthentication has %d secret refs, want 1", len(auth.Spec.SecretTargetRef))
		}
		r := auth.Spec.SecretTargetRef[0]
		file := d.args["listen-token-file"]
		v := d.mounts[path.Dir(file)]
		if r.Parameter != "token" || v.Secret == nil || r.Name != v.Secret.SecretName || r.Key != path.Base(file) {
			t.Errorf("the trigger sends %s from secret %s key %s; the worker reads its token from %s", r.Parameter, r.Name, r.Key, file)
		}
	case "prometheus":
		if tr.Metadata["threshold"] != "1" {
			t.Errorf("threshold %q: want 1", tr.Metadata["threshold"])
		}
		q := tr.Metadata["query"]
		name := pipelineName(t, d.spec)
		if !strings.Contains(q, "millrace_desired_workers{") || !strings.Contains(q, `pipeline="`+name+`"`) {
			t.Errorf("query %q: want millrace_desired_workers of pipeline %q", q, name)
		}
		if u, err := url.Parse(tr.Metadata["serverAddress"]); err != nil || u.Host == "" {
			t.Errorf("serverAddress %q: want a URL", tr.Metadata["serverAddress"])
		}
	}
}

// inSecret checks that file lies in a mounted Secret volume.
func (d *deployment) inSecret(t *testing.T, what, file string) {
	t.Helper()
	v, ok := d.mounts[path.Dir(file)]
	if !ok || v.Secret == nil {
		t.Errorf("%s %q is in no mounted Secret", what, file)
	}
}

// secretName matches environment variables that hold secrets.
var secretName = regexp.MustCompile(`PASSWORD|SECRET|TOKEN|_KEY`)

// kubeRefs are the $(VAR) references in s, as Kubernetes expands them.
func kubeRefs(s string) []string {
	var refs []string
	for _, m := range regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`).FindAllStringSubmatch(s, -1) {
		refs = append(refs, m[1])
	}
	return refs
}

// specRefs are the ${VAR} references in a spec.
func specRefs(s string) []string {
	var refs []string
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`).FindAllStringSubmatch(s, -1) {
		refs = append(refs, m[1])
	}
	return refs
}

// namedPort is the container's port called name.
func namedPort(t *testing.T, c corev1.Container, name string) corev1.ContainerPort {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("container %s has no port %s", c.Name, name)
	return corev1.ContainerPort{}
}

// containerPort resolves a port reference (a number or a name) against the container.
func containerPort(t *testing.T, c corev1.Container, ref intstr.IntOrString) int32 {
	t.Helper()
	if ref.Type == intstr.Int {
		return ref.IntVal
	}
	return namedPort(t, c, ref.StrVal).ContainerPort
}

// dividesKeyGroups reports whether n workers share the 256 key groups evenly.
func dividesKeyGroups(n int32) bool { return n > 0 && 256%n == 0 }

// adviceHasField reports whether the JSON of scale.Advice has the integer field name.
func adviceHasField(name string) bool {
	typ := reflect.TypeFor[scale.Advice]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == name {
			return f.Type.Kind() == reflect.Int
		}
	}
	return false
}

// pipelineName is the name: line of a spec.
func pipelineName(t *testing.T, spec []byte) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^name:\s*(\S+)`).FindSubmatch(spec)
	if m == nil {
		t.Fatal("the spec has no name")
	}
	return string(m[1])
}

// docsMention fails the test for each name that docs/kubernetes.md does not mention.
func docsMention(t *testing.T, names ...string) {
	t.Helper()
	doc, err := os.ReadFile("../docs/kubernetes.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !strings.Contains(string(doc), n) {
			t.Errorf("docs/kubernetes.md does not say how to create %s", n)
		}
	}
}
