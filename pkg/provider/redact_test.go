package provider

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/darslabs/dars/pkg/config"
)

// Credentials a base URL may carry; no error may show them.
const (
	urlUser  = "urlUserMARK"
	urlPass  = "urlPassMARK"
	urlQuery = "urlQueryMARK"
)

// TestErrorsNeverShowURLCredentials: every error that names the endpoint
// names it by its redacted base URL (no user information, no query values),
// whatever failed, and no error shows the key or another request header.
func TestErrorsNeverShowURLCredentials(t *testing.T) {
	t.Setenv("DARS_TEST_KEY", testKey)
	// The server echoes the credential headers it got, as a careless one might.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // so that the server notices when the client goes
		mode, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		echo := r.Header.Get("Authorization") + " " + r.Header.Get("api-key")
		status := map[string]int{"401": 401, "402": 402, "403": 403, "404": 404, "quota": 429, "500": 500, "malformed": 200}[mode]
		switch mode {
		case "timeout":
			<-r.Context().Done()
			return
		case "malformed":
			w.WriteHeader(status)
			io.WriteString(w, `{"choices": [`)
			return
		case "quota":
			writeJSON(w, status, map[string]any{"error": map[string]any{"message": "quota gone " + echo, "type": "insufficient_quota", "code": "insufficient_quota"}})
			return
		}
		writeJSON(w, status, map[string]any{"error": map[string]any{"message": "refused " + echo}})
	}))
	defer srv.Close()
	local := strings.TrimPrefix(srv.URL, "http://")
	for _, kind := range []string{config.ProviderOpenAI, config.ProviderAzure} {
		for _, tt := range []struct {
			mode, host string // host "" = the test server
			endpoint   bool   // the message names the endpoint
		}{
			{mode: "401", endpoint: true},
			{mode: "402", endpoint: true},
			{mode: "403", endpoint: true},
			{mode: "404", endpoint: true},
			{mode: "quota", endpoint: true},
			{mode: "500"},
			{mode: "malformed"},
			{mode: "timeout", endpoint: true},
			{mode: "refused", host: "127.0.0.1:1", endpoint: true},
			{mode: "dns", host: "dars-test.invalid", endpoint: true},
		} {
			t.Run(kind+"/"+tt.mode, func(t *testing.T) {
				host := local
				if tt.host != "" {
					host = tt.host
				}
				base := "http://" + urlUser + ":" + urlPass + "@" + host + "/" + tt.mode + "/v1?token=" + urlQuery
				if kind == config.ProviderAzure {
					base = "http://" + urlUser + ":" + urlPass + "@" + host + "/" + tt.mode + "?sig=" + urlQuery
				}
				p, err := New(config.Model{Name: "small", Provider: kind, BaseURL: base, Model: "qwen-7b",
					APIKeyEnv: "DARS_TEST_KEY", Timeout: "100ms"}, config.Simulator{}, nil)
				if err != nil {
					t.Fatal(err)
				}
				_, err = p.Generate(context.Background(), chatRequest(1))
				if err == nil {
					t.Fatal("Generate succeeded, want an error")
				}
				msg := err.Error()
				t.Log(msg)
				for _, secret := range []string{urlUser, urlPass, urlQuery, testKey} {
					if strings.Contains(msg, secret) {
						t.Errorf("error shows %q: %s", secret, msg)
					}
				}
				if tt.endpoint && !strings.Contains(msg, "REDACTED@"+host) {
					t.Errorf("error does not name the endpoint by its redacted URL: %s", msg)
				}
			})
		}
	}
}

// TestErrorsNeverShowBasicAuth: with no key, net/http sends the base URL's
// user information as a basic Authorization header; a server that echoes
// it must not put it in the error.
func TestErrorsNeverShowBasicAuth(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		writeJSON(w, 401, map[string]any{"error": map[string]any{"message": "bad credentials: " + r.Header.Get("Authorization")}})
	}))
	defer srv.Close()
	base := "http://" + urlUser + ":" + urlPass + "@" + strings.TrimPrefix(srv.URL, "http://") + "/v1"
	p, err := New(config.Model{Name: "small", Provider: config.ProviderOpenAI, BaseURL: base, Model: "m"}, config.Simulator{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Generate(context.Background(), chatRequest(1))
	basic := base64.StdEncoding.EncodeToString([]byte(urlUser + ":" + urlPass))
	if err == nil || !strings.Contains(err.Error(), "bad credentials: Basic [redacted]") {
		t.Fatalf("error %v, want the echoed header redacted", err)
	}
	for _, secret := range []string{urlUser, urlPass, basic} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows %q: %v", secret, err)
		}
	}
}

// TestConfigErrorsNeverShowURLCredentials: a base URL the provider refuses
// is quoted redacted, also when it does not parse as a URL.
func TestConfigErrorsNeverShowURLCredentials(t *testing.T) {
	for _, tt := range []struct{ name, kind, base string }{
		{"not http", config.ProviderOpenAI, "ftp://" + urlUser + ":" + urlPass + "@host/v1?token=" + urlQuery},
		{"bad port", config.ProviderOpenAI, "http://" + urlUser + ":" + urlPass + "@host:port/v1?token=" + urlQuery},
		{"azure not http", config.ProviderAzure, "ftp://" + urlUser + ":" + urlPass + "@host?sig=" + urlQuery},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(config.Model{Name: "small", Provider: tt.kind, BaseURL: tt.base, Model: "m"}, config.Simulator{}, nil)
			if err == nil || !strings.Contains(err.Error(), "base_url") {
				t.Fatalf("error %v, want one about base_url", err)
			}
			for _, secret := range []string{urlUser, urlPass, urlQuery} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error shows %q: %v", secret, err)
				}
			}
		})
	}
}
