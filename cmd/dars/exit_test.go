package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/darslabs/dars/pkg/store"
)

// runDars runs the CLI in-process in dir and returns its exit code and streams.
func runDars(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	t.Chdir(dir)
	var out, errb bytes.Buffer
	code := Main(context.Background(), nil, args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestExitCodes(t *testing.T) {
	const data = `{"id": "1", "question": "What is 1+1?", "answer": "2"}` + "\n"
	const goodModels = "models:\n  - {name: a, provider: sim, skill: 1}\njudges: [{name: j, type: numeric}]\n"
	tests := []struct {
		name   string
		config string
		args   []string
		code   int
		stderr string
	}{
		{"ok", "run: t\ndataset: {path: q.jsonl}\nsampling: {samples: 2}\n" + goodModels, []string{"run"}, exitOK, ""},
		{"unknown flag", "", []string{"run", "--nope"}, exitUsage, "unknown flag"},
		{"unknown command", "", []string{"frobnicate"}, exitUsage, "unknown command"},
		{"no config", "", []string{"run", "-c", "absent.yaml"}, exitUsage, "absent.yaml"},
		{"unknown key", "run: t\nnope: 1\n", []string{"run"}, exitUsage, "dars.yaml:2"},
		{"unknown provider", "run: t\ndataset: {path: q.jsonl}\nmodels: [{name: a, provider: x}]\njudges: [{name: j, type: numeric}]\n", []string{"run"}, exitUsage, "models[0].provider"},
		{"unknown judge", "run: t\ndataset: {path: q.jsonl}\nmodels: [{name: a, provider: sim}]\njudges: [{name: j, type: x}]\n", []string{"run"}, exitUsage, `unknown type "x"`},
		{"missing key variable", "run: t\ndataset: {path: q.jsonl}\nmodels: [{name: a, provider: openai, model: m, base_url: 'http://127.0.0.1:1/v1', api_key_env: DARS_NO_SUCH_KEY}]\njudges: [{name: j, type: numeric}]\n", []string{"run"}, exitUsage, "DARS_NO_SUCH_KEY"},
		{"malformed data", "run: t\ndataset: {path: bad.jsonl}\n" + goodModels, []string{"run"}, exitUsage, "bad.jsonl:2"},
		{"bad log level", "", []string{"version", "--log-level", "loud"}, exitUsage, "--log-level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "q.jsonl"), data)
			writeFile(t, filepath.Join(dir, "bad.jsonl"), data+"{oops\n")
			if tt.config != "" {
				writeFile(t, filepath.Join(dir, "dars.yaml"), tt.config)
			}
			code, _, stderr := runDars(t, dir, append(tt.args, "--quiet")...)
			if code != tt.code {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.stderr)
			}
		})
	}
}

// TestLockedOutput: a second process on the same output directory gets a
// clear error (exit 2) and the first run's files are untouched.
func TestLockedOutput(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "q.jsonl"), `{"id": "1", "question": "What is 1+1?", "answer": "2"}`+"\n")
	writeFile(t, filepath.Join(dir, "dars.yaml"), "run: t\ndataset: {path: q.jsonl}\nsampling: {samples: 2}\nmodels:\n  - {name: a, provider: sim, skill: 1}\njudges: [{name: j, type: numeric}]\n")
	if code, _, stderr := runDars(t, dir, "run", "--quiet"); code != exitOK {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	labels := filepath.Join(dir, "out", "t", "labels.parquet")
	before, err := os.ReadFile(labels)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "out", "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	code, _, stderr := runDars(t, dir, "run", "--quiet")
	if code != exitUsage || !strings.Contains(stderr, "in use") {
		t.Fatalf("locked run: exit %d, stderr %q; want exit 2 naming the lock", code, stderr)
	}
	after, err := os.ReadFile(labels)
	if err != nil || !bytes.Equal(before, after) {
		t.Fatalf("labels.parquet changed under a locked run (err %v)", err)
	}
}

// TestExitCodeOfACancellation: a cancelled context is an interruption (130)
// only when the signals' context is done; otherwise it is a failure like
// any other, printed with its message.
func TestExitCodeOfACancellation(t *testing.T) {
	stopped, stop := context.WithCancel(context.Background())
	stop()
	err := fmt.Errorf("judge %q: %w", "g", context.Canceled)
	if got := exitCode(stopped, err); got != exitInterrupted {
		t.Errorf("after a signal: exit %d, want %d", got, exitInterrupted)
	}
	if got := exitCode(context.Background(), err); got != exitFailed {
		t.Errorf("without a signal: exit %d, want %d", got, exitFailed)
	}
}
