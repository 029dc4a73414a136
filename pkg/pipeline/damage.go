package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/darslabs/dars/pkg/problem"
	"github.com/darslabs/dars/pkg/store"
)

// ErrDamagedStore is wrapped by Execute and Estimate when the run store is
// not the one the run's manifest.json was written from, or holds fewer
// calls than it did: a lost dars.db, a truncated one, a lost -wal file.
// Going on would pay again for what was paid for; `dars recover` rebuilds
// the store from the exported Parquet files.
var ErrDamagedStore = errors.New("run store lost or damaged")

// recoverHint is the way out of a damaged store.
const recoverHint = "run `dars recover` to rebuild the store from the exported Parquet files; nothing is paid for until then"

// lastManifest reads what the manifest.json in dir says of its store; ok
// is false when there is no manifest, or one from before manifests named
// their store.
func lastManifest(dir string) (ms ManifestStore, ok bool, err error) {
	b, err := os.ReadFile(dir + string(os.PathSeparator) + "manifest.json")
	if errors.Is(err, os.ErrNotExist) {
		return ms, false, nil
	}
	if err != nil {
		return ms, false, err
	}
	var m struct {
		Store ManifestStore `json:"store"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return ms, false, fmt.Errorf("read %s/manifest.json: %w", dir, err)
	}
	return m.Store, m.Store.ID != "", nil
}

// checkStore compares st with what the run's last manifest says of its
// store and returns an error wrapping ErrDamagedStore when st is another
// store, or holds fewer calls.
func (r *Run) checkStore(ctx context.Context, st *store.Store) error {
	want, ok, err := lastManifest(r.dir)
	if err != nil || !ok {
		return err
	}
	id, err := st.ID(ctx)
	if err != nil {
		return err
	}
	size, err := st.Size(ctx)
	if err != nil {
		return err
	}
	switch {
	case id != want.ID:
		return problem.Hint(fmt.Errorf("%s is not the store the run's manifest.json was written from (store id %s, manifest %s; it holds %d of the %d calls the manifest counts): %w",
			st.Path(), id, want.ID, size.Generations, want.Generations, ErrDamagedStore), recoverHint)
	case size.Generations < want.Generations:
		return problem.Hint(fmt.Errorf("%s holds %d calls, fewer than the %d manifest.json counts (a lost -wal file?): %w",
			st.Path(), size.Generations, want.Generations, ErrDamagedStore), recoverHint)
	}
	return nil
}
