package matrix

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The example matrices in the repository must stay valid.
func TestExampleMatricesParse(t *testing.T) {
	files, err := filepath.Glob("../examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example matrices found: %v", err)
	}
	for _, p := range files {
		t.Run(filepath.Base(p), func(t *testing.T) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			// The CI example fills in the runner's port.
			b = []byte(strings.ReplaceAll(string(b), "@PORT@", "/dev/ttyACM0"))
			f, err := Parse(p, b)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Cells()) == 0 {
				t.Fatal("no cells")
			}
		})
	}
}
