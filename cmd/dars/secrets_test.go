package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// secretMarkers are planted in every place the run file can take a secret
// from; none may appear in anything dars prints or writes. Each is distinct,
// so a leak names its source.
var secretMarkers = map[string]string{
	"kEyMaRk-9f1c": "the API key (api_key_env), echoed by the endpoint",
	"LitUsrMark7":  "user name written in base_url",
	"LitPwdMark7":  "password written in base_url",
	"LitQryMark7":  "query value written in base_url",
	"EnvUsrMark3":  "user name in a base_url from ${DARS_SECRET_URL}",
	"EnvPwdMark3":  "password in a base_url from ${DARS_SECRET_URL}",
	"EnvQryMark3":  "query value in a base_url from ${DARS_SECRET_URL}",
	"JdgUsrMark5":  "user name from ${DARS_SECRET_JUSER} inside the judge model's base_url",
	"JdgPwdMark5":  "password from ${DARS_SECRET_JPASS} inside the judge model's base_url",
	"AzUsrMark2":   "user name written in an azure base_url",
	"AzPwdMark2":   "password written in an azure base_url",
	"AzQryMark2":   "query value written in an azure base_url",
}

// secretEndpoint is an OpenAI-compatible endpoint (and an Azure one) whose
// behaviour the first segment of the request path names, so that one
// server can fail in every way. It echoes the credential headers it gets
// in its 401 body, as a careless server might. Candidates ask for model id
// "cand", the judge model for "judge".
type secretEndpoint struct {
	mu   sync.Mutex
	seen map[string]int // requests by mode and model id
}

func (s *secretEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mode, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	req, ok := readChat(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	s.seen[mode+" "+req.Model]++
	first := s.seen[mode+" "+req.Model] == 1
	s.mu.Unlock()
	fail := func(status int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error": {"message": %q, "type": "invalid_request_error"}}`, msg)
	}
	switch mode {
	case "401":
		fail(http.StatusUnauthorized, "Incorrect API key provided: "+r.Header.Get("Authorization")+r.Header.Get("api-key"))
		return
	case "403":
		fail(http.StatusForbidden, "this key may not use the model")
		return
	case "404":
		fail(http.StatusNotFound, "The model does not exist")
		return
	case "429":
		if first {
			w.Header().Set("Retry-After", "0")
			fail(http.StatusTooManyRequests, "slow down")
			return
		}
	case "500":
		fail(http.StatusInternalServerError, "upstream exploded")
		return
	case "malformed":
		io.WriteString(w, `{"choices": [`)
		return
	case "timeout":
		io.Copy(io.Discard, r.Body) // so that the server notices the client going
		<-r.Context().Done()
		return
	}
	text := "Final Answer: 2"
	if req.Model == "judge" {
		text = `{"score": 1, "passed": true, "reason": "fine"}`
	}
	writeChat(w, req.Model, repeat(text, req.samples()), 20, 6)
}

// TestNoSecretReachesAnyOutput runs the whole pipeline, then validate
// --ping, against endpoints that fail in every way they can, with a secret
// planted in every place the run file takes one from, and searches every
// output for them: stdout, stderr (the log lines included), every file under
// the output directory as raw bytes (the store, its WAL when one is left,
// the manifest), and the decoded values and metadata of every Parquet file.
// The run file has no headers setting, so the key and the URL are all the
// places a secret can come from.
func TestNoSecretReachesAnyOutput(t *testing.T) {
	srv := httptest.NewServer(&secretEndpoint{seen: map[string]int{}})
	defer srv.Close()
	local := strings.TrimPrefix(srv.URL, "http://")
	for _, tt := range []struct {
		mode  string // the endpoint's behaviour
		host  string // where the models point; "" = the fake endpoint
		want  string // what the outputs must say somewhere, so the search is not vacuous
		query bool   // the base URLs carry a credential in a query: refused by validation, its value never shown
	}{
		{mode: "401", want: "unauthorized"},
		{mode: "403", want: "forbidden"},
		{mode: "404", want: "not found"},
		{mode: "429", want: `"generation_errors": 0`},
		{mode: "500", want: "upstream exploded"},
		{mode: "malformed", want: "malformed"},
		{mode: "timeout", want: "timeout"},
		{mode: "refused", host: "127.0.0.1:1", want: "refused"},
		{mode: "dns", host: "dars-secret.invalid", want: "dars-secret.invalid"},
		{mode: "query", want: "has a query or fragment", query: true},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			host := cmp.Or(tt.host, local)
			envQuery, litQuery, azQuery := "", "", ""
			if tt.query {
				envQuery, litQuery, azQuery = "?token=EnvQryMark3", "?token=LitQryMark7", "?sig=AzQryMark2"
			}
			t.Setenv("DARS_SECRET_KEY", "kEyMaRk-9f1c")
			t.Setenv("DARS_SECRET_URL", fmt.Sprintf("http://EnvUsrMark3:EnvPwdMark3@%s/%s/v1%s", host, tt.mode, envQuery))
			t.Setenv("DARS_SECRET_JUSER", "JdgUsrMark5")
			t.Setenv("DARS_SECRET_JPASS", "JdgPwdMark5")
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "q.jsonl"), `{"id": "1", "question": "What is 1+1?", "answer": "2"}`+"\n")
			limits := "api_key_env: DARS_SECRET_KEY, max_attempts: 2, timeout: 300ms"
			writeFile(t, filepath.Join(dir, "dars.yaml"), fmt.Sprintf(`run: leak
dataset: {path: q.jsonl}
sampling: {samples: 2}
models:
  - {name: lit, provider: openai, model: cand, base_url: "http://LitUsrMark7:LitPwdMark7@%[1]s/%[2]s/v1%[4]s", %[3]s}
  - {name: env, provider: openai, model: cand, base_url: "${DARS_SECRET_URL}", %[3]s}
  - {name: az, provider: azure, model: cand, base_url: "http://AzUsrMark2:AzPwdMark2@%[1]s/%[2]s%[5]s", %[3]s}
  - {name: ok, provider: sim, skill: 1}
  - {name: grader, provider: openai, model: judge, candidate: false, base_url: "http://${DARS_SECRET_JUSER}:${DARS_SECRET_JPASS}@%[1]s/%[2]s/v1", %[3]s}
judges:
  - {name: answer, type: numeric, primary: true}
  - {name: graded, type: llm, model: grader}
`, host, tt.mode, limits, litQuery, azQuery))
			var outputs []leakSource
			code, stdout, stderr := runDars(t, dir, "run", "--log-level", "debug")
			t.Logf("run: exit %d\n%s", code, stderr)
			outputs = append(outputs, leakSource{"run: stdout", stdout}, leakSource{"run: stderr", stderr})
			code, stdout, stderr = runDars(t, dir, "validate", "--ping", "--log-level", "debug")
			t.Logf("validate --ping: exit %d\n%s", code, stderr)
			outputs = append(outputs, leakSource{"validate --ping: stdout", stdout}, leakSource{"validate --ping: stderr", stderr})
			if !tt.query { // refused before anything was written
				outputs = append(outputs, outputFiles(t, filepath.Join(dir, "out"))...)
			}

			said := false
			for _, o := range outputs {
				said = said || strings.Contains(o.text, tt.want)
				for marker, source := range secretMarkers {
					if i := strings.Index(o.text, marker); i >= 0 {
						t.Errorf("%s holds %s: %q", o.name, source, o.text[max(i-120, 0):min(i+60, len(o.text))])
					}
				}
			}
			if !said {
				t.Errorf("no output says %q: the failure was not exercised", tt.want)
			}
		})
	}
}

// leakSource is one output searched for secrets.
type leakSource struct{ name, text string }

// outputFiles reads every file under root as raw bytes and, for Parquet
// files, also as the text of every value and metadata entry (their pages
// are compressed, so raw bytes alone would hide a leak).
func outputFiles(t *testing.T, root string) []leakSource {
	t.Helper()
	var out []leakSource
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		out = append(out, leakSource{rel, string(b)})
		if strings.HasSuffix(path, ".parquet") {
			out = append(out, leakSource{rel + " (decoded)", parquetText(t, path)})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no output under %s", root)
	}
	return out
}

// parquetText is every value of every column of a Parquet file, one a line,
// and its key-value metadata.
func parquetText(t *testing.T, path string) string {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer pf.Close()
	var b strings.Builder
	for _, kv := range pf.MetaData().KeyValueMetadata() {
		if kv.Value != nil {
			fmt.Fprintf(&b, "%s=%s\n", kv.Key, *kv.Value)
		}
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	defer tbl.Release()
	for i := range int(tbl.NumCols()) {
		for _, chunk := range tbl.Column(i).Data().Chunks() {
			for j := range chunk.Len() {
				b.WriteString(valueText(chunk, j))
				b.WriteByte('\n')
			}
		}
	}
	return b.String()
}

// valueText is one value as text: strings whole (ValueStr would quote and
// escape them), anything else as arrow prints it.
func valueText(a interface {
	ValueStr(int) string
}, i int) string {
	if s, ok := a.(*array.String); ok {
		return s.Value(i)
	}
	if s, ok := a.(*array.LargeString); ok {
		return s.Value(i)
	}
	return a.ValueStr(i)
}
