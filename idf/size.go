package idf

import (
	"encoding/json"
	"fmt"
	"os"
)

// Size is the static memory summary of an image, as `idf.py size --format
// json2` (esp-idf-size, new generation) writes it: one entry per memory type
// (e.g. "DIRAM", "IRAM", "Flash Code", "Flash Data"), bytes used and total.
type Size struct {
	Version string       `json:"version"`
	Layout  []MemoryType `json:"layout"`
}

// MemoryType is one memory type of a Size summary.
type MemoryType struct {
	Name  string              `json:"name"`
	Total int64               `json:"total"`
	Used  int64               `json:"used"`
	Free  int64               `json:"free"`
	Parts map[string]SizePart `json:"parts"` // by section, e.g. ".bss", ".data", ".text"
}

// SizePart is the size of one section within a memory type.
type SizePart struct {
	Size int64 `json:"size"`
}

// ReadSize reads a size.json written by Build.
func ReadSize(path string) (Size, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Size{}, fmt.Errorf("read size report: %w", err)
	}
	var s Size
	if err := json.Unmarshal(b, &s); err != nil {
		return Size{}, fmt.Errorf("size report %s: %w", path, err)
	}
	if len(s.Layout) == 0 {
		return Size{}, fmt.Errorf("size report %s: no \"layout\" entries (want esp-idf-size json2 output)", path)
	}
	return s, nil
}

// Static returns the memory type called name, if the summary has it.
func (s Size) Static(name string) (MemoryType, bool) {
	for _, m := range s.Layout {
		if m.Name == name {
			return m, true
		}
	}
	return MemoryType{}, false
}
