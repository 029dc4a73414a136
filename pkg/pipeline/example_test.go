package pipeline_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/pipeline"
	"github.com/darslabs/dars/pkg/report"
)

// A whole run on the embedded simulator, driven from Go as `dars run`
// drives it: load the run file, open the run, execute every stage, read
// the summary.
func Example() {
	out, err := os.MkdirTemp("", "dars-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(out)

	cfg, err := config.Load("../../examples/quickstart/dars.yaml")
	if err != nil {
		log.Fatal(err)
	}
	cfg.Out = out
	if err := cfg.Validate(); err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	run, err := pipeline.Open(ctx, cfg, pipeline.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer run.Close()
	res, err := run.Execute(ctx, pipeline.All)
	if err != nil {
		log.Fatal(err)
	}
	sum, err := report.Load(run.Dir())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("generations:", res.Manifest.Counts.Generations)
	fmt.Println("queries labelled:", sum.Queries)
	// Output:
	// generations: 3750
	// queries labelled: 50
}
