// The HTTP transport under go-openai: it writes the sampling parameters into
// the request body and records the status and headers of the reply.

package provider

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
)

// exchange carries one request's parameters to the transport and what the
// transport saw back. Only the goroutine running the request touches it.
type exchange struct {
	params  []byte   // JSON members to add to the body: "temperature":0.7,...
	n       int      // samples asked for; n is in params only when > 1
	sent    []string // the droppable parameters in params
	refused []string // those a 400 refused, set by classify

	status int         // the HTTP status, 0 when no response arrived
	header http.Header // the response headers
}

type exchangeKey struct{}

// exchangeDoer is the HTTP client go-openai uses: it adds the sampling
// parameters to the body and records the status and headers of the reply.
type exchangeDoer struct{ client *http.Client }

func (d exchangeDoer) Do(req *http.Request) (*http.Response, error) {
	x, _ := req.Context().Value(exchangeKey{}).(*exchange)
	if x != nil && len(x.params) > 0 && req.Body != nil {
		if err := addParams(req, x.params); err != nil {
			return nil, err
		}
	}
	resp, err := d.client.Do(req)
	if x != nil && resp != nil {
		x.status = resp.StatusCode
		x.header = resp.Header
	}
	return resp, err
}

// addParams appends JSON members to the object in the request body. The
// members are never among those go-openai wrote: the request struct leaves
// every sampling parameter at its omitted zero value.
func addParams(req *http.Request, params []byte) error {
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return fmt.Errorf("read request body: %w", err)
	}
	body = bytes.TrimSpace(body)
	if len(body) < 2 || body[0] != '{' || body[len(body)-1] != '}' {
		return fmt.Errorf("add sampling parameters: the request body is not a JSON object")
	}
	out := make([]byte, 0, len(body)+len(params)+1)
	out = bytes.TrimRight(append(out, body[:len(body)-1]...), " \t\r\n")
	if out[len(out)-1] != '{' {
		out = append(out, ',')
	}
	out = append(out, params...)
	out = append(out, '}')
	req.Body = io.NopCloser(bytes.NewReader(out))
	req.ContentLength = int64(len(out))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(out)), nil }
	return nil
}
