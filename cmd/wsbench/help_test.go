package main

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestFlagHelpNamesNoBackquotedWords: pflag takes a `word` in a flag's usage
// as the name of its value, so a backquoted command in the text garbles the
// help line ("--peer-ca wsbench serve   CA of ...").
func TestFlagHelpNamesNoBackquotedWords(t *testing.T) {
	for _, mk := range subcommands {
		cmd := mk()
		t.Run(cmd.Name(), func(t *testing.T) {
			cmd.Flags().VisitAll(func(f *pflag.Flag) {
				if name, _ := pflag.UnquoteUsage(f); strings.Contains(name, " ") {
					t.Errorf("--%s: help shows %q as its value name", f.Name, name)
				}
			})
		})
	}
}
