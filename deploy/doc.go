// Package deploy holds what runs millrace on Kubernetes: plain manifests in kubernetes/ and
// a Helm chart in helm/millrace (docs/kubernetes.md says how to use them). It has no code of
// its own; its tests decode every manifest strictly into the Kubernetes API types, check
// that the objects are wired to each other and to the worker as it is built, run a worker
// with the StatefulSet's own arguments, and render the chart against golden files.
package deploy
