// Package examples holds pipeline specs a user can copy, embedded so the binary can run
// them: demo.yaml is what `millrace demo` runs.
package examples

import "embed"

// Specs holds every *.yaml file of this directory and of nexmark/, the Nexmark queries
// that `millrace bench nexmark` runs, with the side-input file of nexmark/ that q13 joins.
//
//go:embed *.yaml nexmark/*.yaml nexmark/side_input.csv
var Specs embed.FS

// Rules holds the rules files of rules/, which demo writes out for its pipeline to read and
// reload.
//
//go:embed rules/*.yaml
var Rules embed.FS
