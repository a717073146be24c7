package spec

// Emit says when a view that aggregates without a window emits its results.
type Emit string

const (
	// EmitFinal emits the table once, when the input ends; the default over bounded inputs.
	EmitFinal Emit = "final"
	// EmitBatch emits a changelog: the changes each input batch makes to the table, as rows
	// with an _op column (+I, -U, +U, -D); the default over unbounded inputs.
	EmitBatch Emit = "batch"
	// EmitWatermark emits a changelog too, but holds the changes back until the watermark
	// advances, and then emits for each key only the change its latest row makes.
	EmitWatermark Emit = "watermark"
)

// Changelog says whether the view emits changes rather than a final table.
func (e Emit) Changelog() bool { return e == EmitBatch || e == EmitWatermark }
