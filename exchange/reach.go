package exchange

import (
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// reachability remembers why a reader's last attempt to connect to a broker failed, until
// one succeeds. The client retries on its own, so a broker away shows up here, in the
// reader's Progress, not as an error of a Read.
type reachability struct {
	failed atomic.Pointer[string]
}

var _ kgo.HookBrokerConnect = (*reachability)(nil)

// OnBrokerConnect records a failed connection, or forgets the failure once one succeeds.
func (r *reachability) OnBrokerConnect(meta kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err == nil {
		r.failed.Store(nil)
		return
	}
	why := fmt.Sprintf("broker %s:%d: %v", meta.Host, meta.Port, err)
	r.failed.Store(&why)
}

// unreachable says why the broker cannot be reached, or "" while it can.
func (r *reachability) unreachable() string {
	if why := r.failed.Load(); why != nil {
		return *why
	}
	return ""
}
