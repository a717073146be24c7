// Package scale is how millrace scales before the peak: it measures what each operator can
// do, forecasts the input a few minutes ahead, and from both decides the parallelism a
// pipeline needs.
//
// # Capacity
//
// An operator's true processing rate is the records one subtask handles per second of work,
// as Flink's autoscaler and the DS2 paper define it: time blocked on a full downstream
// channel (backpressure) is not work, and neither is time waiting for input. Between two
// snapshots of the engine's figures, for a node with p subtasks,
//
//	working     = Δbusy - Δbackpressure            (summed over the subtasks)
//	true rate   = Δrecords / working               (records/s of one subtask, fully busy)
//	input rate  = Δrecords / Δelapsed
//	utilisation = working / (p Δelapsed)           (in [0, 1])
//
// where the records are the rows a node took in, or for a source the rows it read. So p
// subtasks handle at most p × true rate, and a node needs input rate / true rate subtasks
// busy all the time. A source that knows the size of its input also reports its backlog, the
// bytes not yet read, and how fast that grows. Measure computes these between two snapshots;
// Window keeps the snapshots of a sliding window and measures across it.
//
// # Forecasting
//
// HoltWinters forecasts a rate sampled every step with additive Holt-Winters (level, trend
// and a seasonal index for each step of the season, e.g. each minute of a day). Until it has
// seen two whole seasons it extrapolates a line fitted to the recent values; then it starts
// the seasonal model from those two seasons, so a surge that came at 03:00 on two nights is
// expected on the third. Its prediction interval comes from the errors its own forecasts
// made, horizon by horizon, and widens with the horizon. Its state, history included,
// marshals to JSON so that it survives a restart. DetectSeason picks a season from the
// autocorrelation of a series.
package scale
