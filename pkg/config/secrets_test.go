package config

import (
	"slices"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"http://localhost:8000/v1", "http://localhost:8000/v1"},
		{"https://user:pw@host/v1", "https://REDACTED@host/v1"},
		{"https://user@host/v1", "https://REDACTED@host/v1"},
		{"https://host/v1?key=sk-123", "https://host/v1?key=REDACTED"},
		{"https://user:pw@host/v1?key=sk-123#frag", "https://REDACTED@host/v1?key=REDACTED#REDACTED"},
		{"https://host/v1#frag", "https://host/v1#REDACTED"},
		{"ftp://user:pw@host/v1", "ftp://REDACTED@host/v1"},
		{"https://host/v1?a=1&token&b=", "https://host/v1?a=REDACTED&REDACTED&b=REDACTED"},
		// What url.Parse refuses, or reads wrong, is redacted all the same.
		{"http://user:pw@host:port/v1?key=sk-123", "http://REDACTED@host:port/v1?REDACTED"},
		{"http://user:p/w@host/v1", "http://REDACTED@host/v1"},
		{"http://user:80/w@host/v1", "http://REDACTED@host/v1"},
		{"http://user:p#w@host/v1", "http://REDACTED@#REDACTED"},
		{"a://0:pw@#?0=v", "a://REDACTED@#REDACTED"},
		{"http://user:p?w@host/v1?key=sk-123", "http://REDACTED@?REDACTED"},
		{"0://user:pw@host?@=v", "0://REDACTED@?REDACTED"},
		{"http://user:pw@host/v1?key=%zz", "http://REDACTED@host/v1?key=REDACTED"},
		// No scheme: url.Parse reads "user" as the scheme.
		{"user:pw@host:8000/v1", "REDACTED@host:8000/v1"},
		{"localhost:8000", "localhost:8000"},
		{"not a url", "not a url"},
	} {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzRedactURL: whatever surrounds them, the user name, the password and
// the query value of a URL never survive RedactURL.
func FuzzRedactURL(f *testing.F) {
	f.Add("https", "", "host:8000/v1", "key", "#frag")
	f.Add("http", "u", "host:port/v1", "k", "")
	f.Add("", "x/y", "h", "", "?a=b")
	f.Fuzz(func(t *testing.T, scheme, user, host, key, tail string) {
		const us, pw, qv = "usMARK", "pwMARK", "qvMARK"
		if strings.Contains(scheme+user+host+key+tail, "MARK") {
			return
		}
		s := scheme + "://" + us + user + ":" + pw + "@" + host + "?" + key + "=" + qv + tail
		got := RedactURL(s)
		for _, secret := range []string{us, pw, qv} {
			if strings.Contains(got, secret) {
				t.Errorf("RedactURL(%q) = %q", s, got)
			}
		}
	})
}

func TestSecretVars(t *testing.T) {
	content := `run: ${RUN_NAME}
prompt:
  system: "Talk to ${WHO}."
models:
  - name: a
    provider: openai
    base_url: https://${USER_A}:${PASS_A}@api.example.com/v1
    model: ${MODEL:-gpt}
    api_key_env: KEY_B
  - name: b
    provider: openai
    base_url: ${URL_B:-http://localhost:8000/v1}
    api_key_env: KEY_A
  - name: c
    provider: azure
    base_url: https://${USER_A}@r.openai.azure.com
    api_key_env: KEY_A
  - name: d
    provider: sim
  - name: e
    provider: openai
    base_url: https://${HOST_E}/$${LITERAL}/v1
`
	path := writeConfig(t, content)
	cfg, err := load(path, env(map[string]string{"RUN_NAME": "r", "WHO": "bob", "USER_A": "u", "PASS_A": "p", "HOST_E": "h"}))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"HOST_E", "KEY_A", "KEY_B", "PASS_A", "URL_B", "USER_A"}
	if got := cfg.SecretVars(); !slices.Equal(got, want) {
		t.Errorf("SecretVars() = %q, want %q", got, want)
	}
	defaults := DefaultConfig()
	if got := defaults.SecretVars(); len(got) != 0 {
		t.Errorf("SecretVars() of the defaults = %q, want none", got)
	}
	built := Config{Models: []Model{{Name: "x", APIKeyEnv: "K"}, {Name: "y", APIKeyEnv: "K"}}}
	if got := built.SecretVars(); !slices.Equal(got, []string{"K"}) {
		t.Errorf("SecretVars() of a config built in code = %q, want [K]", got)
	}
}

// TestValidateShowsStringsAsWritten: every Validate message that quotes a
// string shows the text the run file wrote when the value came from ${VAR},
// and the value itself when the file wrote it so, even when another field
// expanded to the same text.
func TestValidateShowsStringsAsWritten(t *testing.T) {
	content := `run: ${V_RUN}
dataset: {path: q.jsonl, preset: "${V_PRESET}", format: "${V_FORMAT}"}
models:
  - {name: "${V_NAME}", provider: "${V_PROVIDER}", api_key_env: "${V_KEYENV}", n: "${V_N}"}
  - {name: ok, provider: openai, model: m, base_url: "ftp://sEcReT-same/v1", timeout: "${V_TIMEOUT}"}
  - {name: "${V_DUP}", provider: sim}
  - {name: lit, provider: openai, model: m, base_url: "ftp://u:sEcReT-pw@host/v1"}
paraphrase: {model: "${V_PARA}"}
judges:
  - {name: j, type: regex, pattern: "${V_PATTERN}", model: "${V_JMODEL}"}
  - {name: "${V_JNAME}", type: exact}
  - {name: k, type: math, pattern: "(unclosed"}
labels: {prior: "${V_PRIOR}"}
prompt: {system: "${V_SAME}"}
`
	vars := map[string]string{
		"V_RUN": "sEcReT/run", "V_PRESET": "sEcReT-preset", "V_FORMAT": "sEcReT-format",
		"V_NAME": "sEcReT name", "V_PROVIDER": "sEcReT-provider", "V_KEYENV": "SECRET_UNSET_VAR",
		"V_N": "sEcReT-n", "V_TIMEOUT": "sEcReT-timeout", "V_DUP": "ok", "V_PARA": "sEcReT-para",
		"V_PATTERN": "(sEcReT-pattern", "V_JMODEL": "sEcReT-jmodel", "V_JNAME": "j",
		"V_PRIOR": "sEcReT-prior", "V_SAME": "ftp://sEcReT-same/v1",
	}
	path := writeConfig(t, content)
	cfg, err := load(path, env(vars))
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.validate(env(vars))
	if err == nil {
		t.Fatal("validate succeeded, want errors")
	}
	msg := err.Error()
	for _, want := range []string{
		`run: "${V_RUN}" is not a safe directory name`,
		`dataset.preset: unknown value "${V_PRESET}"`,
		`dataset.format: unknown value "${V_FORMAT}"`,
		`models[0].name: "${V_NAME}" is not safe`,
		`models[0].provider: unknown provider "${V_PROVIDER}"`,
		`models[0].api_key_env: environment variable "${V_KEYENV}" is not set`,
		`models[0].n: "${V_N}"; want auto`,
		`models[1].base_url: "ftp://sEcReT-same/v1" is not an http(s) URL`, // written so
		`models[1].timeout: "${V_TIMEOUT}" is not a positive Go duration`,
		`models[2].name: "${V_DUP}" is already the name of models[1]`,
		`models[3].base_url: "ftp://REDACTED@host/v1" is not an http(s) URL`,
		`paraphrase.model: no model named "${V_PARA}"`,
		`judges[0].pattern: "${V_PATTERN}" is not a valid regular expression: missing closing )`,
		`judges[0].model: "${V_JMODEL}" names no models[] entry`,
		`judges[1].name: "${V_JNAME}" is already the name of judges[0]`,
		"judges[2].pattern: \"(unclosed\" is not a valid regular expression: missing closing ): `(unclosed`",
		`labels.prior: unknown prior "${V_PRIOR}"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("errors lack %q", want)
		}
	}
	for _, line := range strings.Split(msg, "\n") {
		if strings.Contains(line, "sEcReT") && !strings.Contains(line, `"ftp://sEcReT-same/v1" is not`) {
			t.Errorf("an error shows an expanded value or a password: %s", line)
		}
	}
	if t.Failed() {
		t.Logf("errors:\n%s", msg)
	}
}
