package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/darslabs/dars/pkg/record"
	"github.com/darslabs/dars/pkg/store"
)

// blockingEndpoint answers chat completions only when released; it reports
// every arrival.
type blockingEndpoint struct {
	arrived  chan struct{}
	release  chan struct{}
	requests atomic.Int32
}

func (b *blockingEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.requests.Add(1)
	io.Copy(io.Discard, r.Body)
	b.arrived <- struct{}{}
	select {
	case <-b.release:
	case <-r.Context().Done():
		return
	}
	fmt.Fprint(w, `{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"Final Answer: 2"}}],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}`)
}

// startChild runs `dars run` in a child process against url and returns it
// with a reader of its stderr lines.
func startChild(t *testing.T, url string) (*exec.Cmd, *bufio.Scanner, string) {
	t.Helper()
	dir := t.TempDir()
	var data strings.Builder
	for i := 1; i <= 20; i++ {
		fmt.Fprintf(&data, `{"id": "%d", "question": "What is 1+1?", "answer": "2"}`+"\n", i)
	}
	writeFile(t, filepath.Join(dir, "q.jsonl"), data.String())
	writeFile(t, filepath.Join(dir, "dars.yaml"), fmt.Sprintf(`run: sig
dataset: {path: q.jsonl}
sampling: {samples: 1}
models:
  - {name: remote, provider: openai, base_url: "%s/v1", model: m, concurrency: 2, n: "off"}
judges: [{name: answer, type: numeric}]
`, url))
	cmd := exec.Command(os.Args[0], "run", "--quiet")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DARS_TEST_RUN_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, bufio.NewScanner(stderr), filepath.Join(dir, "out", "sig")
}

func waitLine(t *testing.T, sc *bufio.Scanner, want string) {
	t.Helper()
	for sc.Scan() {
		if strings.Contains(sc.Text(), want) {
			return
		}
	}
	t.Fatalf("the child's stderr ended without %q", want)
}

func exitStatus(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

func storedSamples(t *testing.T, dir string) int {
	t.Helper()
	st, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := 0
	if err := st.Generations(context.Background(), func(g record.Generation) error {
		if g.Error != "" {
			t.Errorf("stored an error row: %s", g.Error)
		}
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCtrlCLetsInFlightFinish: the first Ctrl-C stops new requests, lets the
// ones in flight finish, commits them and exits 130.
func TestCtrlCLetsInFlightFinish(t *testing.T) {
	ep := &blockingEndpoint{arrived: make(chan struct{}, 64), release: make(chan struct{})}
	srv := httptest.NewServer(ep)
	defer srv.Close()
	cmd, stderr, runDir := startChild(t, srv.URL)
	<-ep.arrived
	<-ep.arrived
	cmd.Process.Signal(syscall.SIGINT)
	waitLine(t, stderr, "letting requests in flight finish")
	close(ep.release)
	waitLine(t, stderr, "interrupted")
	if code := exitStatus(t, cmd); code != exitInterrupted {
		t.Fatalf("exit %d, want 130", code)
	}
	if n := ep.requests.Load(); n != 2 {
		t.Fatalf("the endpoint saw %d requests, want only the 2 in flight", n)
	}
	if n := storedSamples(t, runDir); n != 2 {
		t.Fatalf("%d samples stored, want the 2 that were in flight", n)
	}
}

// TestSecondCtrlCStopsAtOnce: a second Ctrl-C cancels what is in flight and
// exits 130 at once, with a store that opens and holds no half sample.
func TestSecondCtrlCStopsAtOnce(t *testing.T) {
	ep := &blockingEndpoint{arrived: make(chan struct{}, 64), release: make(chan struct{})}
	srv := httptest.NewServer(ep)
	defer srv.Close()
	defer close(ep.release)
	cmd, stderr, runDir := startChild(t, srv.URL)
	<-ep.arrived
	<-ep.arrived
	cmd.Process.Signal(syscall.SIGINT)
	waitLine(t, stderr, "letting requests in flight finish")
	cmd.Process.Signal(syscall.SIGINT)
	waitLine(t, stderr, "interrupted")
	if code := exitStatus(t, cmd); code != exitInterrupted {
		t.Fatalf("exit %d, want 130", code)
	}
	if n := storedSamples(t, runDir); n != 0 {
		t.Fatalf("%d samples stored, want none: nothing had finished", n)
	}
}
