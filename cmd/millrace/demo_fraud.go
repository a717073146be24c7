package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"millrace/examples"
)

// demoRules is the rules file of the demo's fraud view, under the spec's FRAUD_DIR.
const demoRules = "rules/demo.yaml"

// writeDemoRules writes the rules the demo's fraud view reads to dir/rules/demo.yaml unless
// dir holds them already, so that rules edited there, which the running demo reloads,
// outlast a restart; it returns dir, the spec's FRAUD_DIR.
func writeDemoRules(dir string) (string, error) {
	path := filepath.Join(dir, filepath.FromSlash(demoRules))
	if _, err := os.Stat(path); err == nil {
		return dir, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("demo: %w", err)
	}
	data, err := examples.Rules.ReadFile(demoRules)
	if err != nil {
		return "", fmt.Errorf("demo: the embedded %s: %w", demoRules, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return "", fmt.Errorf("demo: write %s: %w", path, err)
	}
	return dir, nil
}
