package provider

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkOpenAIGenerate measures one Generate against an instant loopback
// endpoint: body building, the added sampling parameters, the HTTP round
// trip and decoding.
func BenchmarkOpenAIGenerate(b *testing.B) {
	reply := []byte(`{"id":"x","object":"chat.completion","model":"m","choices":[` +
		`{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"Final Answer: 42"}}],` +
		`"usage":{"prompt_tokens":20,"completion_tokens":5,"total_tokens":25}}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(reply)
	}))
	defer srv.Close()
	m := testModel(srv)
	m.Concurrency = 64
	p, err := NewOpenAI(m, nil)
	if err != nil {
		b.Fatal(err)
	}
	req := chatRequest(1)
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Generate(context.Background(), req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAddParams measures writing the sampling parameters into a body.
func BenchmarkAddParams(b *testing.B) {
	p := &OpenAI{refused: map[string]string{}}
	req := chatRequest(3)
	body := []byte(`{"model":"qwen-7b","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is 6*7?"}]}`)
	b.ReportAllocs()
	for b.Loop() {
		x := p.newExchange(req)
		r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/", nil)
		r.Body = io.NopCloser(&byteReader{b: body})
		if err := addParams(r, x.params); err != nil {
			b.Fatal(err)
		}
	}
}

type byteReader struct {
	b []byte
	i int
}

func (r *byteReader) Read(p []byte) (int, error) {
	if r.i >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.i:])
	r.i += n
	return n, nil
}
