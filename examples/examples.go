// Package examples holds pipeline specs a user can copy, embedded so the binary can run
// them: demo.yaml is what `millrace demo` runs.
package examples

import "embed"

// Specs holds every *.yaml file of this directory and of nexmark/, the Nexmark queries
// that `millrace bench nexmark` runs.
//
//go:embed *.yaml nexmark/*.yaml
var Specs embed.FS
