package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	if os.Getenv("DARS_TEST_RUN_MAIN") == "1" { // a child process of a signal or crash test
		os.Exit(runMain())
	}
	testscript.Main(m, map[string]func(){
		"dars": func() { os.Exit(runMain()) },
	})
}

// TestScripts runs the CLI scripts in testdata/script: init, run, re-run,
// bad inputs, shards, judge changes. Exact exit codes are TestExitCodes'.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			e.Setenv("HOME", e.WorkDir)
			return nil
		},
	})
}
