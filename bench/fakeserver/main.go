// Command fakeserver is a tiny, fast OpenAI-compatible chat completions
// endpoint for benchmarks: it answers at once with n choices and usage, can
// inject faults, and counts what it answered so a benchmark can tell whether
// any sample was paid for twice.
//
//	go run ./bench/fakeserver -addr 127.0.0.1:0 -p429 0.2 -p5xx 0.05 -pmalformed 0.01 -stats stats.json
//	go run ./bench/fakeserver -rpm 30000 -latency 40ms   # a rate-limited endpoint with latency
//
// It listens on loopback only and prints its base URL (http://HOST:PORT/v1)
// on stdout and, with -addr-file, into a file. GET /stats returns the
// summary as JSON; on SIGTERM or SIGINT it writes the summary to -stats (or
// stderr) and exits.
//
// A rewriter's call (a user message with a <question> block and "Return N
// new rewrites", as dars's paraphrase stage writes it) is answered with N
// rewrites as JSON, "Q<k>: <question>", k counting on from the rewrites
// listed to avoid, so every one is new and passes dars's filters.
//
// A request is "answered" when it gets a well-formed 200 with its choices.
// Answers are counted per (prompt, seed): dars sends a distinct seed per
// sample (the first sample's seed for an n-batch), so a (prompt, seed)
// answered twice is a sample paid for twice. Requests without a seed are
// counted but cannot be checked for duplicates.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/time/rate"
)

func main() {
	os.Exit(run())
}

func run() int {
	addr := flag.String("addr", "127.0.0.1:0", "loopback address to listen on (port 0 picks a free one)")
	addrFile := flag.String("addr-file", "", "also write the base URL into this file")
	statsFile := flag.String("stats", "", "write the JSON summary here on SIGTERM/SIGINT (default stderr)")
	p429 := flag.Float64("p429", 0, "probability of answering 429")
	p5xx := flag.Float64("p5xx", 0, "probability of answering 500, 502 or 503")
	pMalformed := flag.Float64("pmalformed", 0, "probability of answering 200 with a truncated JSON body")
	retryAfterMS := flag.Int("retry-after-ms", 0, "on 429 send retry-after-ms: N instead of Retry-After: 0")
	rpm := flag.Int("rpm", 0, "answer 429 to requests past this many a minute (a token bucket holding a second's worth); 0: no limit")
	latency := flag.Duration("latency", 0, "wait this long before answering each request, as a real model does")
	seed := flag.Uint64("seed", 1, "seed of the fault draws")
	flag.Parse()

	if err := checkLoopback(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "fakeserver:", err)
		return 2
	}
	for name, p := range map[string]float64{"-p429": *p429, "-p5xx": *p5xx, "-pmalformed": *pMalformed} {
		if p < 0 || p > 1 {
			fmt.Fprintf(os.Stderr, "fakeserver: %s %v: want a probability in [0, 1]\n", name, p)
			return 2
		}
	}
	if *p429+*p5xx+*pMalformed > 1 {
		fmt.Fprintln(os.Stderr, "fakeserver: fault probabilities add up to more than 1")
		return 2
	}
	if *rpm < 0 || *latency < 0 {
		fmt.Fprintln(os.Stderr, "fakeserver: -rpm and -latency must not be negative")
		return 2
	}
	s := newServer(faults{p429: *p429, p5xx: *p5xx, pMalformed: *pMalformed, retryAfterMS: *retryAfterMS}, *seed)
	s.latency = *latency
	if *rpm > 0 {
		s.limit = rate.NewLimiter(rate.Limit(float64(*rpm)/60), max(1, *rpm/60))
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakeserver:", err)
		return 1
	}
	url := "http://" + ln.Addr().String() + "/v1"
	if *addrFile != "" {
		tmp := *addrFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(url+"\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "fakeserver:", err)
			return 1
		}
		if err := os.Rename(tmp, *addrFile); err != nil {
			fmt.Fprintln(os.Stderr, "fakeserver:", err)
			return 1
		}
	}
	fmt.Println(url)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		fmt.Fprintln(os.Stderr, "fakeserver:", err)
		return 1
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx) // in-flight answers finish and are counted
	out := io.Writer(os.Stderr)
	if *statsFile != "" {
		f, err := os.Create(*statsFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "fakeserver:", err)
			return 1
		}
		defer f.Close()
		out = f
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s.stats()); err != nil {
		fmt.Fprintln(os.Stderr, "fakeserver:", err)
		return 1
	}
	return 0
}

// checkLoopback refuses any address that is not on the loopback interface.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %q: only loopback addresses (127.0.0.1, ::1, localhost)", addr)
	}
	return nil
}

type faults struct {
	p429, p5xx, pMalformed float64
	retryAfterMS           int
}

// answerKey identifies a request's prompt and seed.
type answerKey [16]byte

// server is the endpoint and its counters.
type server struct {
	faults  faults
	limit   *rate.Limiter // the rpm limit; nil: none
	latency time.Duration // before each answer

	requests, samplesAsked       atomic.Int64
	answered, samples            atomic.Int64
	n429, n5xx, nMalformed, nBad atomic.Int64
	nLimited                     atomic.Int64 // 429s of the rpm limit
	unseeded                     atomic.Int64
	start                        time.Time

	mu      sync.Mutex
	rng     *rand.Rand
	seen    map[answerKey]uint32 // answers per (prompt, seed)
	dupReqs int64
	dupSmp  int64
	dupEx   []duplicate
}

type duplicate struct {
	Key     string `json:"key"` // hex of the (prompt, seed) hash
	Seed    int64  `json:"seed"`
	Answers uint32 `json:"answers"`
}

func newServer(f faults, seed uint64) *server {
	return &server{faults: f, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		seen: map[answerKey]uint32{}, start: time.Now()}
}

// Stats is the summary GET /stats and the exit write.
type Stats struct {
	Requests          int64       `json:"requests"`           // every chat completions request
	SamplesAsked      int64       `json:"samples_asked"`      // sum of n over them
	Answered          int64       `json:"answered"`           // well-formed 200s
	Samples           int64       `json:"samples"`            // choices in well-formed 200s
	Faults429         int64       `json:"faults_429"`         // drawn at random (-p429)
	Limited429        int64       `json:"limited_429"`        // past the -rpm limit
	Faults5xx         int64       `json:"faults_5xx"`         //
	FaultsMalformed   int64       `json:"faults_malformed"`   //
	BadRequests       int64       `json:"bad_requests"`       // bodies that did not parse
	Unseeded          int64       `json:"unseeded"`           // answered without a seed: not checked for duplicates
	DistinctAnswered  int         `json:"distinct_answered"`  // distinct (prompt, seed) answered
	DuplicateRequests int64       `json:"duplicate_requests"` // answers to a (prompt, seed) already answered
	DuplicateSamples  int64       `json:"duplicate_samples"`  // choices in those answers
	Duplicates        []duplicate `json:"duplicate_examples"` // up to 10
	UptimeSeconds     float64     `json:"uptime_seconds"`
}

func (s *server) stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{
		Requests: s.requests.Load(), SamplesAsked: s.samplesAsked.Load(),
		Answered: s.answered.Load(), Samples: s.samples.Load(),
		Faults429: s.n429.Load(), Limited429: s.nLimited.Load(), Faults5xx: s.n5xx.Load(), FaultsMalformed: s.nMalformed.Load(),
		BadRequests: s.nBad.Load(), Unseeded: s.unseeded.Load(),
		DistinctAnswered: len(s.seen), DuplicateRequests: s.dupReqs, DuplicateSamples: s.dupSmp,
		Duplicates: append([]duplicate(nil), s.dupEx...), UptimeSeconds: time.Since(s.start).Seconds(),
	}
}

type chatRequest struct {
	Model    string `json:"model"`
	N        int    `json:"n"`
	Seed     *int64 `json:"seed"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/stats":
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s.stats())
		return
	case r.Method == http.MethodPost && r.URL.Path == "/v1/chat/completions":
	default:
		http.NotFound(w, r)
		return
	}
	s.requests.Add(1)
	var req chatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		s.nBad.Add(1)
		writeError(w, http.StatusBadRequest, "invalid_request_error", "could not parse the body: "+err.Error())
		return
	}
	n := max(req.N, 1)
	s.samplesAsked.Add(int64(n))
	if s.latency > 0 {
		time.Sleep(s.latency)
	}
	if s.limit != nil {
		if r := s.limit.Reserve(); r.Delay() > 0 {
			r.Cancel()
			s.nLimited.Add(1)
			w.Header().Set("retry-after-ms", strconv.FormatInt(max(1, r.Delay().Milliseconds()), 10))
			writeError(w, http.StatusTooManyRequests, "rate_limit_exceeded", "Rate limit reached for requests (fake -rpm)")
			return
		}
	}

	s.mu.Lock()
	draw := s.rng.Float64()
	s.mu.Unlock()
	f := s.faults
	switch {
	case draw < f.p429:
		s.n429.Add(1)
		if f.retryAfterMS > 0 {
			w.Header().Set("retry-after-ms", strconv.Itoa(f.retryAfterMS))
		} else {
			w.Header().Set("Retry-After", "0")
		}
		writeError(w, http.StatusTooManyRequests, "rate_limit_exceeded", "Rate limit reached (fake)")
		return
	case draw < f.p429+f.p5xx:
		s.n5xx.Add(1)
		codes := [...]int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}
		writeError(w, codes[int(draw*1e6)%len(codes)], "server_error", "The server had an error (fake)")
		return
	case draw < f.p429+f.p5xx+f.pMalformed:
		s.nMalformed.Add(1)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id": "chatcmpl-fake", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assis`)
		return
	}

	promptChars := 0
	h := sha256.New()
	for _, m := range req.Messages {
		promptChars += len(m.Content)
		h.Write([]byte(m.Role))
		h.Write([]byte{0})
		h.Write([]byte(m.Content))
		h.Write([]byte{0})
	}
	if req.Seed != nil {
		h.Write(strconv.AppendInt(nil, *req.Seed, 10))
	}
	var key answerKey
	copy(key[:], h.Sum(nil))

	body := make([]byte, 0, 256+n*160)
	body = append(body, `{"id":"chatcmpl-fake","object":"chat.completion","created":0,"model":`...)
	body = strconv.AppendQuote(body, req.Model)
	body = append(body, `,"choices":[`...)
	for i := 0; i < n; i++ {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, `{"index":`...)
		body = strconv.AppendInt(body, int64(i), 10)
		body = append(body, `,"finish_reason":"stop","message":{"role":"assistant","content":`...)
		if rw, ok := rewrites(req.Messages[len(req.Messages)-1].Content); ok {
			body = append(body, rw...)
		} else {
			body = append(body, `"Let me work it out.\nFinal Answer: `...)
			body = strconv.AppendInt(body, int64(i%10), 10)
			body = append(body, '"')
		}
		body = append(body, `}}`...)
	}
	prompt, completion := int64(promptChars/4+1), int64(12*n)
	body = append(body, `],"usage":{"prompt_tokens":`...)
	body = strconv.AppendInt(body, prompt, 10)
	body = append(body, `,"completion_tokens":`...)
	body = strconv.AppendInt(body, completion, 10)
	body = append(body, `,"total_tokens":`...)
	body = strconv.AppendInt(body, prompt+completion, 10)
	body = append(body, "}}\n"...)
	w.Header().Set("Content-Type", "application/json")
	if _, err := w.Write(body); err != nil {
		return // the client went away: nothing was delivered
	}

	s.answered.Add(1)
	s.samples.Add(int64(n))
	if req.Seed == nil {
		s.unseeded.Add(1)
		return
	}
	s.mu.Lock()
	s.seen[key]++
	if c := s.seen[key]; c > 1 {
		first := c == 2
		s.dupReqs++
		s.dupSmp += int64(n)
		if first && len(s.dupEx) < 10 {
			s.dupEx = append(s.dupEx, duplicate{Key: hex.EncodeToString(key[:]), Seed: *req.Seed, Answers: c})
		}
	}
	s.mu.Unlock()
}

// rewriteAsk finds what a rewriter's call asks for.
var rewriteAsk = regexp.MustCompile(`(?s)<question>\n(.*?)\n</question>.*Return (\d+) new rewrites`)

// rewrites returns the JSON string literal of the answer to a rewriter's
// call, or false when user is not one.
func rewrites(user string) ([]byte, bool) {
	m := rewriteAsk.FindStringSubmatch(user)
	if m == nil {
		return nil, false
	}
	n, _ := strconv.Atoi(m[2])
	avoid := 0
	if i := strings.Index(user, "<avoid>"); i >= 0 {
		if j := strings.Index(user[i:], "</avoid>"); j > 0 {
			avoid = strings.Count(strings.TrimSpace(user[i+len("<avoid>"):i+j]), "\n") + 1
		}
	}
	list := make([]string, n)
	for k := range list {
		list[k] = fmt.Sprintf("Q%d: %s", avoid+k+1, m[1])
	}
	answer, _ := json.Marshal(map[string][]string{"rewrites": list})
	literal, _ := json.Marshal(string(answer))
	return literal, true
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, err := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": typ, "code": nil}})
	if err != nil {
		panic(errors.New("fakeserver: marshal error body: " + err.Error())) // plain strings: cannot fail
	}
	w.Write(b)
}
