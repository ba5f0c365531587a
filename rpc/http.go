package rpc

import (
	"errors"
	"io"
	"mime"
	"net/http"
)

// HTTPHandler serves JSON-RPC over HTTP POST. Subscriptions are refused
// ("notifications not supported"), as go-ethereum does over HTTP.
func (s *Server) HTTPHandler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

// acceptedContentTypes are go-ethereum's: JSON and two older spellings.
var acceptedContentTypes = map[string]bool{
	"application/json":        true,
	"application/json-rpc":    true,
	"application/jsonrequest": true,
}

type httpConn struct{}

func (httpConn) subscriptions() *subscriptions { return nil }

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	// An empty GET is a health check (load balancers probe with it).
	if r.Method == http.MethodGet && r.ContentLength <= 0 && r.URL.RawQuery == "" {
		w.WriteHeader(http.StatusOK)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "method not allowed: JSON-RPC takes POST", http.StatusMethodNotAllowed)
		return
	}
	if r.ContentLength > MaxRequestSize {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || !acceptedContentTypes[mt] {
		http.Error(w, "invalid content type: want application/json", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestSize))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read request", http.StatusBadRequest)
		return
	}
	reply := s.handle(r.Context(), httpConn{}, body)
	w.Header().Set("Content-Type", "application/json")
	if reply == nil {
		// Only notifications: JSON-RPC sends nothing back.
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Write(reply)
}
