package listen

import (
	"context"
	"net/http"
	"time"
)

type streamsKey struct{}

// streamsContext gives the requests of one server a shared count of open streams.
func streamsContext(base context.Context, max int) context.Context {
	return context.WithValue(base, streamsKey{}, make(chan struct{}, max))
}

// Streams wraps h, a handler that keeps its answer open (Server-Sent Events): it lifts the
// write timeout for it, and answers 503 while the server's Config.MaxStreams streams are
// already open. The request's context ends when the server closes.
func Streams(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slots, ok := r.Context().Value(streamsKey{}).(chan struct{}); ok {
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
			default:
				w.Header().Set("Retry-After", "5")
				http.Error(w, "too many open streams; try again later", http.StatusServiceUnavailable)
				return
			}
		}
		if err := http.NewResponseController(w).SetWriteDeadline(time.Time{}); err != nil {
			http.Error(w, "cannot stream on this connection: "+err.Error(), http.StatusInternalServerError)
			return
		}
		h.ServeHTTP(w, r)
	})
}
