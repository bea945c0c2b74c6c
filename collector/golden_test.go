package collector

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsbench/wsbench/record"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// TestConsoleGolden runs real-looking console transcripts (testdata/console/
// *.txt: ESP32 and ESP32-S3 boots, crashes and banners, with ANSI colours
// and host timestamps) through the pipeline and compares every record but
// the console lines, as JSON lines, with the .golden file beside it.
func TestConsoleGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "console", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			recs, st := runPipeline(in, 61)
			var b strings.Builder
			lines, logLines := 0, 0
			for _, r := range recs {
				if c, ok := r.Body.(*record.Console); ok {
					lines++
					if c.Level != "" {
						logLines++
					}
					continue
				}
				r.HostNS = 0
				j, err := json.Marshal(r)
				if err != nil {
					t.Fatal(err)
				}
				b.Write(j)
				b.WriteByte('\n')
			}
			fmt.Fprintf(&b, "# %d console lines, %d of them ESP-IDF log lines; %d segments\n", lines, logLines, st.Segments)
			golden := strings.TrimSuffix(f, ".txt") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestConsoleGolden -update to create it)", err)
			}
			if b.String() != string(want) {
				t.Errorf("records differ from %s:\ngot:\n%s\nwant:\n%s", golden, b.String(), want)
			}
		})
	}
}
