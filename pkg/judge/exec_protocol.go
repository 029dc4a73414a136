package judge

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/darslabs/dars/pkg/record"
)

// execProtocol is the version of the exec judge's protocol, sent in every
// request. Version 2 added the request "id" that each verdict echoes.
const execProtocol = 2

// execRequest is the line written to the judge program for one sample.
type execRequest struct {
	Protocol int      `json:"protocol"`
	ID       uint64   `json:"id"`
	Item     execItem `json:"item"`
	Output   string   `json:"output"`
}

type execItem struct {
	ID       string   `json:"id"`
	Question string   `json:"question"`
	Answer   string   `json:"answer"`
	Answers  []string `json:"answers"`
	Choices  []string `json:"choices"`
	Context  string   `json:"context"`
	Task     string   `json:"task"`
}

// encodeRequest renders request id's line for item and output, newline
// included. Lists are always arrays, never null.
func encodeRequest(id uint64, item Item, output string) ([]byte, error) {
	req := execRequest{
		Protocol: execProtocol,
		ID:       id,
		Item: execItem{
			ID: item.ID, Question: item.Question, Answer: item.Answer,
			Answers: item.Answers, Choices: item.Choices, Context: item.Context, Task: item.Task,
		},
		Output: output,
	}
	if req.Item.Answers == nil {
		req.Item.Answers = []string{}
	}
	if req.Item.Choices == nil {
		req.Item.Choices = []string{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(req); err != nil { // Encode ends the line
		return nil, err
	}
	return buf.Bytes(), nil
}

// errNoID is the protocol failure of a verdict without an "id" field: a
// program written for protocol 1, or one that forgot the field.
var errNoID = errors.New(`the verdict has no "id"`)

// verdictFields are the fields of a verdict line besides "id", with what
// each must be.
var verdictFields = map[string]string{
	"status":    "a string",
	"score":     "a number",
	"passed":    "true or false",
	"extracted": "a string",
	"detail":    "a string",
}

// parseExecVerdict reads the verdict line of request id.
//
// An error means the line is not that request's verdict, so the worker is
// out of step and must be retired: the line is not one JSON object, its
// "id" is missing (errNoID), not a number, or another request's. Once the
// id matches, the line is this sample's, and anything else wrong with it is
// an error verdict: a field of the wrong type, a field twice, or a field
// whose name differs from the protocol's only in case (names are
// case-sensitive, unlike encoding/json's default). Other fields are
// ignored, and null is as good as a missing field.
//
// status defaults to "scored". A scored verdict needs score (in [0, 1]) or
// passed: a missing score is 1 or 0 from passed, and a missing passed is
// score == 1. score and passed are dropped from unscored and error
// verdicts. extracted and detail are clipped to maxExtracted bytes.
func parseExecVerdict(line []byte, id uint64) (Verdict, error) {
	keys, fields, err := splitObject(line)
	if err != nil {
		return Verdict{}, err
	}
	if err := checkID(fields["id"], id); err != nil {
		for _, k := range keys {
			if k != "id" && strings.EqualFold(k, "id") {
				return Verdict{}, fmt.Errorf(`the verdict has %q, want "id" (field names are case-sensitive)`, k)
			}
		}
		return Verdict{}, err
	}
	var (
		status, extracted, detail *string
		score                     *float64
		passed                    *bool
		seen                      = make(map[string]bool, len(keys))
	)
	for _, k := range keys {
		raw := fields[k]
		if seen[k] {
			return judgeError(fmt.Sprintf("judge program: field %q appears twice", k)), nil
		}
		seen[k] = true
		var dst any
		switch k {
		case "id":
			continue
		case "status":
			dst = &status
		case "score":
			dst = &score
		case "passed":
			dst = &passed
		case "extracted":
			dst = &extracted
		case "detail":
			dst = &detail
		default:
			for name := range verdictFields {
				if strings.EqualFold(k, name) {
					return judgeError(fmt.Sprintf("judge program: field %q: field names are case-sensitive, want %q", k, name)), nil
				}
			}
			continue // an unknown field
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return judgeError(fmt.Sprintf("judge program: field %q must be %s, got %s", k, verdictFields[k], clip(string(raw)))), nil
		}
	}
	v := Verdict{Status: record.StatusScored}
	if status != nil && *status != "" {
		v.Status = *status
	}
	if extracted != nil {
		v.Extracted = clip(*extracted)
	}
	if detail != nil {
		v.Detail = clip(*detail)
	}
	switch v.Status {
	case record.StatusScored:
	case record.StatusUnscored, record.StatusError:
		return v, nil
	default:
		return judgeError(fmt.Sprintf("judge program: invalid status %q (want scored, unscored or error)", clip(v.Status))), nil
	}
	switch {
	case score != nil:
		s := *score
		if math.IsNaN(s) || s < 0 || s > 1 {
			return judgeError(fmt.Sprintf("judge program: score %v is outside [0, 1]", s)), nil
		}
		v.Score = s
		v.Passed = s == 1
		if passed != nil {
			v.Passed = *passed
		}
	case passed != nil:
		v.Passed = *passed
		if v.Passed {
			v.Score = 1
		}
	default:
		return judgeError("judge program: scored verdict has neither score nor passed"), nil
	}
	return v, nil
}

// splitObject splits a line holding exactly one JSON object into its keys,
// in order and repeats included, and the raw value of each key's last
// occurrence.
func splitObject(line []byte) (keys []string, fields map[string]json.RawMessage, err error) {
	notVerdict := func(why string) error {
		return fmt.Errorf("a line that is not a verdict (%q): %s", clip(string(line)), why)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	tok, err := dec.Token()
	switch {
	case errors.Is(err, io.EOF):
		return nil, nil, notVerdict("an empty line")
	case err != nil:
		return nil, nil, notVerdict(err.Error())
	case tok != json.Delim('{'):
		return nil, nil, notVerdict("not a JSON object")
	}
	fields = make(map[string]json.RawMessage)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, notVerdict(err.Error())
		}
		key := tok.(string) // Token checks that an object's keys are strings
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, notVerdict(err.Error())
		}
		keys = append(keys, key)
		fields[key] = raw
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, nil, notVerdict(err.Error())
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, nil, notVerdict("more than one JSON value on the line")
	}
	return keys, fields, nil
}

// checkID checks that raw, the "id" of a verdict (nil when absent), is the
// number id.
func checkID(raw json.RawMessage, id uint64) error {
	if raw == nil {
		return errNoID
	}
	got, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return fmt.Errorf(`the verdict's "id" is %s, want %d (echo the request's "id" as it came, a number)`, clip(string(raw)), id)
	}
	switch {
	case got == float64(id):
		return nil
	case got < float64(id):
		return fmt.Errorf(`the verdict's "id" is %s, want %d: an extra line for an earlier request (write exactly one line per request)`, raw, id)
	default:
		return fmt.Errorf(`the verdict's "id" is %s, want %d`, raw, id)
	}
}

// errLineTooLong is returned by readLine for a line over its limit.
var errLineTooLong = errors.New("verdict line too long")

// readLine returns the next line of r without its newline, reading at most
// limit bytes. A final line without a newline is returned only with io.EOF
// as the error, since a verdict is complete only once its newline arrives.
func readLine(r *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > limit+1 {
			return nil, errLineTooLong
		}
		switch {
		case err == nil:
			return bytes.TrimRight(line, "\r\n"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return nil, err
		}
	}
}
