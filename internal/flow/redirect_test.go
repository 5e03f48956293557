package flow

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestRedirectPolicy: a request that carries a secret in its body follows
// no redirect off its origin; a GET never downgrades https to http.
func TestRedirectPolicy(t *testing.T) {
	var leaked atomic.Int32
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if len(body) > 0 || r.Header.Get("Authorization") != "" {
			leaked.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"sub":"x","access_token":"a"}`))
	}))
	defer sink.Close()
	// tlsSrv redirects /away to the plain sink and /same to its own /ok.
	var tlsSrv *httptest.Server
	tlsSrv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, sink.URL+"/stolen", http.StatusTemporaryRedirect)
		case "/downgrade":
			http.Redirect(w, r, strings.Replace(tlsSrv.URL, "https://", "http://", 1)+"/ok", http.StatusFound)
		case "/same":
			http.Redirect(w, r, "/ok", http.StatusTemporaryRedirect)
		default:
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusOK)
		}
	}))
	defer tlsSrv.Close()
	client := NewHTTPClient(0)
	client.Transport = LimitBodies(tlsSrv.Client().Transport)

	tests := []struct {
		name, method, url string
		ok                bool
	}{
		{"POST to another origin", http.MethodPost, tlsSrv.URL + "/away", false},
		{"POST to the same origin", http.MethodPost, tlsSrv.URL + "/same", true},
		{"DELETE to another origin", http.MethodDelete, tlsSrv.URL + "/away", false},
		{"GET https to plain http", http.MethodGet, tlsSrv.URL + "/downgrade", false},
		{"GET to the same origin", http.MethodGet, tlsSrv.URL + "/same", true},
		{"GET https to another, plain http origin", http.MethodGet, tlsSrv.URL + "/away", false},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, tt.url, strings.NewReader("refresh_token=secret"))
		req.Header.Set("Authorization", "Bearer secret")
		resp, err := client.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok %t", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrRedirect) {
			t.Errorf("%s: %v is not ErrRedirect", tt.name, err)
		}
	}
	if n := leaked.Load(); n != 0 {
		t.Errorf("%d requests reached the other origin with a secret", n)
	}
}
