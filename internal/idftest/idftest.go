// Package idftest puts a stand-in idf.py first on PATH for the tests of
// building and flashing. It is for tests only.
package idftest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Install writes script as idf.py in a fresh directory put first on PATH
// and returns the path of the log the script appends its calls to
// ($FAKE_IDF_LOG). $FAKE_IDF_KCONFIGS names the firmware's own
// Kconfig.projbuild, and HOME and XDG_CONFIG_HOME are fresh directories, so
// the user's ~/.config/wsbench (certificates, settings) stays out of the test.
func Install(t testing.TB, script string) string {
	t.Helper()
	kc, err := firmwareKconfig()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "idf.py"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(bin, "calls.log")
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("FAKE_IDF_LOG", log)
	t.Setenv("FAKE_IDF_KCONFIGS", kc)
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	return log
}

// firmwareKconfig finds firmware/main/Kconfig.projbuild in the module root
// above the test's working directory (its package directory).
func firmwareKconfig() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "firmware", "main", "Kconfig.projbuild"), nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("idftest: no go.mod above the working directory")
		}
		dir = up
	}
}
