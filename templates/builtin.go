package templates

import (
	"embed"
	"path"
	"slices"
	"strings"
)

//go:embed builtin/*.yaml
var builtinFS embed.FS

// Builtin is a protocol shipped inside the binary.
type Builtin struct {
	Slug string
	YAML []byte
}

// Builtins returns the built-in protocols ordered by slug: microneedling and
// microneedling-prep. Each call returns fresh copies; pass YAML to Parse (and
// set Source to aftercare.SourceBuiltin) to get the protocol.
func Builtins() []Builtin {
	entries, err := builtinFS.ReadDir("builtin")
	if err != nil {
		panic(err) // the directory is embedded: it cannot be missing
	}
	var out []Builtin
	for _, e := range entries {
		name := e.Name()
		src, err := builtinFS.ReadFile(path.Join("builtin", name))
		if err != nil {
			panic(err)
		}
		out = append(out, Builtin{Slug: strings.TrimSuffix(name, ".yaml"), YAML: src})
	}
	slices.SortFunc(out, func(a, b Builtin) int { return strings.Compare(a.Slug, b.Slug) })
	return out
}
