package parquetio

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/darslabs/dars/pkg/record"
)

// FuzzReadGenerations feeds corrupted files to the readers: they must return
// rows or an error, never panic or hang.
func FuzzReadGenerations(f *testing.F) {
	dir := f.TempDir()
	for i, write := range []func(string) error{
		func(p string) error { return WriteGenerations(p, testGenerations(), testMeta) },
		func(p string) error { return WriteLabels(p, testLabels(), testKs, testMeta) },
		func(p string) error { return WriteRoutes(p, testRoutes(), testModels, testMeta) },
	} {
		p := filepath.Join(dir, strconv.Itoa(i)+".parquet")
		if err := write(p); err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("PAR1"))
	f.Add([]byte("PAR1\x00\x00\x00\x00PAR1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "f.parquet")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _ = ReadGenerations(p)
		_, _, _ = ReadLabels(p)
		_, _, _ = ReadRoutes(p)
		_, _ = ReadMeta(p)
	})
}

// FuzzParsePassAtK checks that parsePassAtK accepts exactly the names
// passAtKColumn writes.
func FuzzParsePassAtK(f *testing.F) {
	for _, s := range []string{"pass_at_1", "pass_at_05", "pass_at_0", "pass_at_-1", "pass_at_", "p_best", "pass_at_99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		k, ok := parsePassAtK(name)
		if ok && (k < 1 || passAtKColumn(k) != name) {
			t.Errorf("parsePassAtK(%q) = %d, true; passAtKColumn gives %q", name, k, passAtKColumn(k))
		}
		if ok {
			if k2, ok2 := parsePassAtK(passAtKColumn(k)); !ok2 || k2 != k {
				t.Errorf("round trip of %d gives %d, %v", k, k2, ok2)
			}
		}
	})
}

// FuzzRoundTripVariants writes arbitrary strings and ids and reads them back
// unchanged.
func FuzzRoundTripVariants(f *testing.F) {
	f.Add("1", int32(0), "text", "", "\xff\xfe invalid utf-8")
	f.Add("", int32(-3), "", "m", "")
	f.Fuzz(func(t *testing.T, queryID string, variantID int32, text, rewriter, source string) {
		rows := []record.Variant{{QueryID: queryID, VariantID: variantID, Source: source, Text: text, Rewriter: rewriter}}
		p := filepath.Join(t.TempDir(), "v.parquet")
		if err := WriteVariants(p, rows, testMeta); err != nil {
			t.Fatal(err)
		}
		got, err := ReadVariants(p)
		if err != nil {
			t.Fatal(err)
		}
		if !same(got, rows) {
			t.Errorf("round trip\n got %#v\nwant %#v", got, rows)
		}
	})
}
