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
//
// # Foresight
//
// Foresight remembers a surge after one occurrence. Beside Holt-Winters it keeps a load
// profile, for each slot of the day and of the week the highest rate seen there (rising at
// once, falling by halves), and the same profile with calendar events as regressors (month
// end, last business day, paydays, holidays; see Calendar), which learns each event's
// factor over the ordinary day, so a close seen at one month end is expected at the next
// and not the day after. With Auto it picks among reactive, Holt-Winters, profile and
// profile+calendar once a day by backtesting each on its own history through the fleet
// model: the fewest SLO-violation minutes, then the fewest worker-minutes. Every forecast
// says which model made it, why that model was picked and what it remembered; the policy
// ends each decision's reason with it.
//
// # Policy and simulation
//
// Policy.Decide sizes the workers for the rate, the backlog and the forecast, scales up at
// once and down late, and makes no change for a need that lasts less than the restart
// cost (the rebalance pause). Simulate replays a trace through the policy and the fleet
// model (start-up of a worker, a rebalance pause at each change) and measures each surge
// of the trace: when it came, when the capacity for it was serving, its violation minutes.
// Nothing in the package reads a clock: time is what the caller passes in.
package scale
