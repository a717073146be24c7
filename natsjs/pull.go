package natsjs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
)

// nextAPI is the subject prefix of JetStream's next-message requests, followed by the
// stream and the consumer.
const nextAPI = "$JS.API.CONSUMER.MSG.NEXT."

// lateEnd is how long past its expiry a pull request whose end never came still counts
// as open: the server ends every request it holds by then, so the puller asks again.
const lateEnd = time.Second

// flushWait bounds the wait for the server to confirm that it has processed an
// unsubscription.
const flushWait = 5 * time.Second

// puller pulls a durable consumer's messages with requests it sends itself, each asking
// for up to batch messages within expires, and the next only once the last has ended.
// Request k is answered on inbox.k, and the inbox stays subscribed while the puller runs,
// so whatever a request delivers is read, even after the puller stopped waiting for its
// end. stop unsubscribes and waits until the server has processed that: the server then
// serves no request of this puller (it drops a request that nobody listens to), so a
// consumer reset after stop delivers everything past the reset point to whoever pulls
// next.
type puller struct {
	nc      *nats.Conn
	subject string // the consumer's next-message API subject
	inbox   string
	sub     *nats.Subscription
	batch   int
	expires time.Duration
	body    []byte // the request: batch and expires

	sent  int       // requests sent
	reply string    // the open request's reply subject; empty when none is open
	left  int       // messages the open request may still deliver
	ends  time.Time // when the open request counts as over even if its end never came
}

// pullRequest is the body of a next-message request.
type pullRequest struct {
	Batch   int           `json:"batch"`
	Expires time.Duration `json:"expires"` // in nanoseconds
}

// newPuller subscribes to a fresh inbox for the requests of consumer durable of stream.
func newPuller(nc *nats.Conn, stream, durable string, batch int, expires time.Duration) (*puller, error) {
	body, err := json.Marshal(pullRequest{Batch: batch, Expires: expires})
	if err != nil {
		return nil, err
	}
	p := &puller{nc: nc, subject: nextAPI + stream + "." + durable, inbox: nc.NewInbox(),
		batch: batch, expires: expires, body: body}
	if p.sub, err = nc.SubscribeSync(p.inbox + ".*"); err != nil {
		return nil, fmt.Errorf("pull from %s: subscribe: %w", durable, err)
	}
	// The open requests bound what can come, so the subscription never drops a message
	// for being slow.
	if err := p.sub.SetPendingLimits(-1, -1); err != nil {
		_ = p.sub.Unsubscribe()
		return nil, fmt.Errorf("pull from %s: %w", durable, err)
	}
	return p, nil
}

// next returns the next message the consumer delivers, asking for more when no request is
// open. It waits until ctx ends or, when within is positive, at most within, and then
// returns ctx's error or nats.ErrTimeout. While the connection is away no request goes
// out, and next waits all the same.
func (p *puller) next(ctx context.Context, within time.Duration) (*nats.Msg, error) {
	for {
		if err := p.ask(); err != nil {
			return nil, err
		}
		var m *nats.Msg
		var err error
		if within > 0 {
			m, err = p.sub.NextMsg(within)
		} else {
			m, err = p.sub.NextMsgWithContext(ctx)
		}
		if err != nil {
			return nil, err
		}
		if status := m.Header.Get("Status"); status != "" && len(m.Data) == 0 {
			if err := p.ended(m, status); err != nil {
				return nil, err
			}
			continue
		}
		if p.left--; p.left <= 0 {
			p.reply = ""
		}
		return m, nil
	}
}

// ask sends a request unless one is open. A request that cannot go out because the
// connection is away is not an error: the reconnected reader asks again.
func (p *puller) ask() error {
	if p.reply != "" && time.Now().Before(p.ends) {
		return nil
	}
	p.sent++
	reply := p.inbox + "." + strconv.Itoa(p.sent)
	if err := p.nc.PublishRequest(p.subject, reply, p.body); err != nil {
		if errors.Is(err, nats.ErrReconnectBufExceeded) { // the connection is away
			p.reply = ""
			return nil
		}
		return fmt.Errorf("pull request: %w", err)
	}
	p.reply, p.left, p.ends = reply, p.batch, time.Now().Add(p.expires+lateEnd)
	return nil
}

// ended takes a status message of the server: the end of a request (no messages, its
// expiry, a change of the consumer's leader) or an error. The end of a request other
// than the open one, which was given up on, changes nothing.
func (p *puller) ended(m *nats.Msg, status string) error {
	switch status {
	case "100": // a heartbeat, which these requests do not ask for
		return nil
	case "404", "408":
	case "409":
		if d := m.Header.Get("Description"); d != "Leadership Change" {
			return fmt.Errorf("pull request: %s %s", status, d)
		}
	default:
		return fmt.Errorf("pull request: %s %s", status, m.Header.Get("Description"))
	}
	if m.Subject == p.reply {
		p.reply = ""
	}
	return nil
}

// stop unsubscribes and, while connected, waits until the server has processed the
// unsubscription, after which it serves no request of this puller. A connection that is
// away holds no interest at the server once it notices, and the reader resets the consumer
// when it reconnects.
func (p *puller) stop() error {
	if p.sub == nil {
		return nil
	}
	err := p.sub.Unsubscribe()
	p.sub = nil
	if err != nil {
		return fmt.Errorf("pull: unsubscribe: %w", err)
	}
	if !p.nc.IsConnected() {
		return nil
	}
	if err := p.nc.FlushTimeout(flushWait); err != nil {
		return fmt.Errorf("pull: confirm the unsubscription: %w", err)
	}
	return nil
}
