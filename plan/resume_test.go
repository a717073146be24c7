package plan

import (
	"testing"

	"millrace/engine"
	"millrace/engine/enginetest"
)

// runResumed runs the graphs of the plans build makes as enginetest.RunResumed does.
func runResumed(t *testing.T, stages []enginetest.Stage, build func(p int) *Plan) *engine.Snapshot {
	t.Helper()
	return enginetest.RunResumed(t, stages, func(p int) *engine.Graph { return build(p).Graph })
}
