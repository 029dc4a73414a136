package sampler

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strconv"

	"github.com/darslabs/dars/pkg/provider"
)

// Seed is the stable per-sample seed of DESIGN §4: a hash of the run seed,
// query id, variant id, model name and sample index, kept in [0, 2^31) so
// every server that takes a seed accepts it. Distinct samples get distinct
// seeds, so a server that honours seeds never collapses repeats into copies.
func Seed(runSeed int64, queryID string, variantID int32, model string, sampleIndex int32) int64 {
	h := sha256.New()
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], uint64(runSeed))
	h.Write([]byte("dars-seed\x00"))
	h.Write(buf[:])
	writeField(h, queryID)
	h.Write([]byte(strconv.FormatInt(int64(variantID), 10) + "\x00"))
	writeField(h, model)
	h.Write([]byte(strconv.FormatInt(int64(sampleIndex), 10)))
	sum := h.Sum(nil)
	return int64(binary.LittleEndian.Uint64(sum[:8]) & (1<<31 - 1))
}

func writeField(h interface{ Write([]byte) (int, error) }, s string) {
	h.Write([]byte(strconv.Itoa(len(s)) + ":" + s + "\x00"))
}

// keyRequest is the canonical request a generation key hashes. Its field
// order is fixed by the struct, so json.Marshal is canonical.
type keyRequest struct {
	Endpoint    string             `json:"endpoint"`
	Messages    []provider.Message `json:"messages"`
	Temperature float64            `json:"temperature"`
	TopP        float64            `json:"top_p"`
	MaxTokens   int                `json:"max_tokens"`
	SampleIndex int32              `json:"sample_index"`
	Seed        int64              `json:"seed"`
}

// GenerationKey is the sha256 (hex) of the canonical request that produces
// one sample (DESIGN §4): endpoint identity, rendered messages, sampling
// parameters, sample index and seed. It never includes a secret: the
// endpoint identity names the base URL and model id, not the key.
func GenerationKey(endpoint string, msgs []provider.Message, temperature, topP float64, maxTokens int, sampleIndex int32, seed int64) string {
	b, err := json.Marshal(keyRequest{endpoint, msgs, temperature, topP, maxTokens, sampleIndex, seed})
	if err != nil {
		panic("sampler: marshal key request: " + err.Error()) // only plain values: cannot fail
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
