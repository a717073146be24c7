package ingest

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"millrace/natsjs"
)

// Service is the store of HTTP ingest on one machine: an embedded JetStream server keeping
// its streams in a directory (under the pipeline's state directory), one stream per
// endpoint, and the Handler that stores posted records in them. The pipeline's http
// sources read those streams from URL.
type Service struct {
	emb *natsjs.Embedded
	nc  *nats.Conn
	h   *Handler
}

// Open starts the embedded server on dir (loopback, a free port), creates the streams of
// eps, and returns the service. Records stored by an earlier service on dir are still
// there.
func Open(ctx context.Context, dir string, eps []Endpoint) (*Service, error) {
	emb, err := natsjs.StartEmbedded(ctx, natsjs.EmbeddedOptions{Dir: dir})
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	nc, err := nats.Connect(emb.URL(), nats.Name("millrace ingest"))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("ingest: connect to the embedded server: %w", err), emb.Close())
	}
	s := &Service{emb: emb, nc: nc}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(2*publishWindow))
	if err == nil {
		s.h, err = NewHandler(ctx, js, eps)
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("ingest: %w", err), s.Close())
	}
	return s, nil
}

// Handler serves the POSTs of the service's endpoints.
func (s *Service) Handler() *Handler { return s.h }

// URL is the address of the embedded server, for the sources that read the streams.
func (s *Service) URL() string { return s.emb.URL() }

// Close closes the connection (a request still storing is answered 503) and stops the
// server, whose streams stay in the directory. Serve nothing from Handler after it.
func (s *Service) Close() error {
	s.nc.Close()
	return s.emb.Close()
}
