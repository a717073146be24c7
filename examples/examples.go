// Package examples holds pipeline specs a user can copy, embedded so the binary can run
// them: demo.yaml is what `millrace demo` runs.
package examples

import "embed"

// Specs holds every *.yaml file of this directory.
//
//go:embed *.yaml
var Specs embed.FS
