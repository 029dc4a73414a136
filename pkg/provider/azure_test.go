package provider

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/problem"
)

// azureSeen is what the fake Azure endpoint saw of one request.
type azureSeen struct {
	path, apiVersion, apiKey string
	auth                     []string
	body                     map[string]any
}

func azureServer(t *testing.T, status int, reply any, seen *azureSeen) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.path, seen.apiVersion = r.URL.Path, r.URL.Query().Get("api-version")
		seen.apiKey, seen.auth = r.Header.Get("api-key"), r.Header.Values("Authorization")
		json.NewDecoder(r.Body).Decode(&seen.body)
		writeJSON(w, status, reply)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestAzure(t *testing.T) {
	for _, tt := range []struct {
		name, deployment, baseSuffix, version, wantVersion string
	}{
		{"default version", "gpt4o-prod", "/", "", DefaultAzureAPIVersion},
		{"given version", "gpt4o-prod", "", "2025-01-01-preview", "2025-01-01-preview"},
		{"dots kept, /openai trimmed", "gpt-3.5-turbo", "/openai", "", DefaultAzureAPIVersion},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("DARS_AZURE_KEY", testKey)
			var seen azureSeen
			srv := azureServer(t, 200, completion([]string{"42", "43"},
				map[string]int{"prompt_tokens": 10, "completion_tokens": 2}), &seen)
			m := config.Model{Name: "gpt", Provider: "azure", BaseURL: srv.URL + tt.baseSuffix,
				Model: tt.deployment, APIVersion: tt.version, APIKeyEnv: "DARS_AZURE_KEY"}
			p, err := New(m, config.Simulator{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := p.Generate(context.Background(), chatRequest(2))
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			if want := "/openai/deployments/" + tt.deployment + "/chat/completions"; seen.path != want {
				t.Errorf("path %q, want %q", seen.path, want)
			}
			if seen.apiVersion != tt.wantVersion {
				t.Errorf("api-version %q, want %q", seen.apiVersion, tt.wantVersion)
			}
			if seen.apiKey != testKey {
				t.Errorf("api-key header %q", seen.apiKey)
			}
			if len(seen.auth) != 0 {
				t.Errorf("Authorization sent to Azure: %q", seen.auth)
			}
			if seen.body["n"] != 2.0 || seen.body["seed"] != 1234.0 {
				t.Errorf("body n %v seed %v", seen.body["n"], seen.body["seed"])
			}
			if len(resp.Choices) != 2 || resp.Choices[0].Text != "42" || resp.PromptTokens != 10 {
				t.Errorf("response %+v", resp)
			}
		})
	}
}

func TestAzureUnauthorized(t *testing.T) {
	t.Setenv("DARS_AZURE_KEY", testKey)
	var seen azureSeen
	srv := azureServer(t, 401, map[string]any{"error": map[string]any{
		"code": "401", "message": "Access denied due to invalid subscription key " + testKey}}, &seen)
	p, err := NewAzure(config.Model{Name: "gpt", Provider: "azure", BaseURL: srv.URL, Model: "prod", APIKeyEnv: "DARS_AZURE_KEY"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Generate(context.Background(), chatRequest(1))
	var pe *Error
	if !errors.As(err, &pe) || !pe.Fatal {
		t.Fatalf("error %v, want a fatal *Error", err)
	}
	if strings.Contains(err.Error(), testKey) {
		t.Errorf("key leaked: %v", err)
	}
	for _, want := range []string{`deployment "prod"`, "[redacted]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if hints := problem.Hints(err); len(hints) != 1 || !strings.Contains(hints[0], `"DARS_AZURE_KEY"`) {
		t.Errorf("hints %q, want one naming DARS_AZURE_KEY", hints)
	}
}

func TestNewAzureConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		m    config.Model
		want string
	}{
		{"no deployment", config.Model{Name: "a", Provider: "azure", BaseURL: "https://r.openai.azure.com"}, "deployment name is empty"},
		{"no base_url", config.Model{Name: "a", Provider: "azure", Model: "d"}, "base_url is empty"},
		{"bad deployment", config.Model{Name: "a", Provider: "azure", BaseURL: "https://r.openai.azure.com", Model: "d/../x"}, "deployment name"},
		{"bad url", config.Model{Name: "a", Provider: "azure", BaseURL: "r.openai.azure.com", Model: "d"}, "base_url"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.m, config.Simulator{}, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `"a"`) {
				t.Errorf("error %v, want it to name the model and contain %q", err, tt.want)
			}
		})
	}
}
