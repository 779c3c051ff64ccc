// Package clock reads time the way a server's hot path can afford to:
// once for an interval or a deadline where time.Now reads two clocks, and
// lazily for connection deadlines, which are re-armed only when the one
// already set would fire too early or too late, as nginx arms its timers.
//
// On a virtual machine a clock read is a paravirtual call of 50 to 100 ns,
// and a connection that answers a request re-arms two or three deadlines,
// each a time.Now, a time.Until and a runtime timer update. Per request,
// that was a tenth of the user time of a pass.
package clock

import "time"

// base anchors Mono's readings: its monotonic reading is what they count
// from.
var base = time.Now()

// Mono is the time now, for measuring an interval or setting a deadline:
// one read of the monotonic clock. Its wall reading is base's plus the
// monotonic time since, which drifts from the system clock when that is
// stepped, so it is not for timestamps a person reads. Intervals between
// Mono and time.Now values are measured on the monotonic clock.
func Mono() time.Time { return base.Add(time.Since(base)) }

// Deadline is one direction (read or write) of one connection's deadline,
// armed lazily. The zero value has no deadline set. It is not safe for
// concurrent use: it belongs to whatever owns the connection's reads, or
// its writes.
type Deadline struct {
	at time.Duration // when the deadline set fires, after base; 0 for none, -1 for one not known
}

// lazyAtMost is the most a lazily armed deadline fires late, nginx's
// NGX_TIMER_LAZY_DELAY. A timeout shorter than 16 times that gets a
// sixteenth of itself.
const lazyAtMost = 300 * time.Millisecond

func slack(d time.Duration) time.Duration { return min(d/16, lazyAtMost) }

// Extend asks for a deadline d from now. It reports the deadline to set
// and true when the one already set would fire before that or more than
// the slack after it, and false when the one set will do: it fires no
// earlier than d from now and at most a sixteenth of d (300 ms at most)
// later. The caller sets t when told to.
func (l *Deadline) Extend(d time.Duration) (t time.Time, set bool) {
	want := time.Since(base) + d
	if l.at >= want && l.at <= want+slack(d) {
		return time.Time{}, false
	}
	l.at = want + slack(d)
	return base.Add(l.at), true
}

// Set records that the caller set the deadline t itself (the zero time
// for none).
func (l *Deadline) Set(t time.Time) {
	if t.IsZero() {
		l.at = 0
		return
	}
	l.at = t.Sub(base)
}

// Clear reports whether there is a deadline to clear, and records that
// the caller clears it (sets the zero time).
func (l *Deadline) Clear() bool {
	if l.at == 0 {
		return false
	}
	l.at = 0
	return true
}

// Forget records that the deadline is not known: someone else set it.
// The next Extend sets one.
func (l *Deadline) Forget() { l.at = -1 }
