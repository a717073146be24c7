// Package window assigns records to event-time windows and decides when windows fire and which
// records are late. Everything here is a pure function of its inputs: no goroutines, no clocks.
//
// # Time
//
// Event times and watermarks are milliseconds since the Unix epoch (UTC), the representation of
// schema.Timestamp. A Spec's durations must be whole milliseconds.
//
// # Windows
//
// Windows are half-open intervals [start, end). Tumbling and hopping windows are aligned to the
// epoch: a tumbling window of size S starts at every multiple of S, a hopping window of size S and
// slide E starts at every multiple of E. A record whose event time lies exactly on a boundary
// belongs to the window starting there, never to the one ending there. Negative event times (before
// 1970) round down, so -1 ms belongs to the window [-S, 0).
//
// Session windows are per key: each event at t covers [t, t+Gap), and events whose intervals
// overlap form one session [first event, last event + Gap). Two events exactly Gap apart are in
// different sessions, consistent with the half-open rule: the first session has already ended
// when the second event's time is reached.
//
// The whole input is one window, [WholeStart, WholeEnd), holding every row whatever its event
// time. Only the final watermark of a bounded input (math.MaxInt64) reaches its end, so it
// fires once, when the input has ended: a group-by without a window over files.
//
// # Firing and lateness
//
// A watermark W promises that no more records with event time below W will arrive; records that
// still do are out of order beyond the allowance. A window [start, end) fires as soon as
// W >= end (see Fires): at that point every record it can hold has arrived. A record is late when
// every window it belongs to has already fired (see Late); late records go to the source's late
// output and are counted, never silently dropped.
//
// For session windows, a record at t is late when W >= t + Gap: the one-event session it would
// open has already fired. This is decided without looking at the key's open sessions, so a record
// that could still have extended an open session backwards is late all the same, as in Flink.
package window
