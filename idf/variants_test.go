package idf

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestProjectVariants(t *testing.T) {
	tests := []struct {
		name    string
		files   []string // under the project; a trailing / makes a directory
		noDir   bool     // no variants directory at all
		want    []string
		wantErr string
	}{
		{name: "a project's own variants, sorted",
			files: []string{"variants/nokeep.defaults", "variants/int.defaults", "variants/a-b.defaults", "variants/a.defaults"},
			want:  []string{"a", "a-b", "int", "nokeep"}},
		{name: "other files, hidden files and directories are not variants",
			files: []string{"variants/int.defaults", "variants/README.md", "variants/int.defaults.bak", "variants/.defaults",
				"variants/.hidden.defaults", "variants/sub.defaults/", "sdkconfig.defaults"},
			want: []string{"int"}},
		{name: "no variants", files: []string{"variants/"}},
		{name: "no variants directory", noDir: true, wantErr: "variants of project "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proj := t.TempDir()
			for _, f := range tt.files {
				p := filepath.Join(proj, f)
				if strings.HasSuffix(f, "/") {
					if err := os.MkdirAll(p, 0o755); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := ProjectVariants(proj)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr+proj) || !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("error %v, want %q naming %s and wrapping fs.ErrNotExist", err, tt.wantErr, proj)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// Variants is the repository firmware's own list: it must match the files.
func TestVariantsAreTheFirmwares(t *testing.T) {
	got, err := ProjectVariants("../firmware")
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Sorted(slices.Values(Variants()))
	if !slices.Equal(got, want) {
		t.Errorf("firmware/variants has %q, idf.Variants() says %q", got, want)
	}
}
