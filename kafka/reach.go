package kafka

import (
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Reachability is a client hook that remembers why the last attempt to connect to a broker
// failed, until one succeeds. The client retries on its own, so a broker away shows up
// here, in a reader's source.Progress, not as an error of a poll.
type Reachability struct {
	failed atomic.Pointer[string]
}

var _ kgo.HookBrokerConnect = (*Reachability)(nil)

// OnBrokerConnect records a failed connection, or forgets the failure once one succeeds.
func (r *Reachability) OnBrokerConnect(meta kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err == nil {
		r.failed.Store(nil)
		return
	}
	why := fmt.Sprintf("broker %s:%d: %v", meta.Host, meta.Port, err)
	r.failed.Store(&why)
}

// Unreachable says why the broker cannot be reached, or "" while it can.
func (r *Reachability) Unreachable() string {
	if why := r.failed.Load(); why != nil {
		return *why
	}
	return ""
}
