package matrix

import (
	_ "embed"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultName is the name errors give the built-in matrix.
const DefaultName = "(built-in default matrix)"

// Default returns the built-in default matrix.
func Default() (*File, error) { return Parse(DefaultName, defaultYAML) }

// DefaultYAML returns the text of the built-in default matrix.
func DefaultYAML() []byte { return append([]byte(nil), defaultYAML...) }
