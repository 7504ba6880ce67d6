package keyspace

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// covers reports whether some key of family a is also a key of family b.
func covers(a, b Family) bool {
	switch {
	case a.Exact && b.Exact:
		return a.Key == b.Key
	case a.Exact:
		return strings.HasPrefix(a.Key, b.Key)
	case b.Exact:
		return strings.HasPrefix(b.Key, a.Key)
	default:
		return strings.HasPrefix(a.Key, b.Key) || strings.HasPrefix(b.Key, a.Key)
	}
}

// No two families may share a key: otherwise one package's writes could
// land in another's data.
func TestFamiliesAreDisjoint(t *testing.T) {
	for i, a := range Families {
		for _, b := range Families[i+1:] {
			if covers(a, b) {
				t.Errorf("key families %q and %q overlap", a.Key, b.Key)
			}
		}
	}
}

func TestFamiliesAreDocumented(t *testing.T) {
	for _, f := range Families {
		if f.Key == "" || f.Type == "" || f.Owner == "" || f.Lifetime == "" || f.Holds == "" {
			t.Errorf("family %+v lacks a field", f)
		}
		if !f.Exact && !strings.HasSuffix(f.Key, ":") {
			t.Errorf("prefix %q must end in ':' so that it cannot cover a longer name", f.Key)
		}
	}
}

// The overlap check itself must catch an overlap.
func TestCoversFindsOverlaps(t *testing.T) {
	for _, c := range []struct {
		a, b Family
		want bool
	}{
		{Family{Key: "bank:a:"}, Family{Key: "bank:a:b:"}, true},
		{Family{Key: "bank:a", Exact: true}, Family{Key: "bank:a", Exact: true}, true},
		{Family{Key: "bank:a:x", Exact: true}, Family{Key: "bank:a:"}, true},
		{Family{Key: "bank:a:"}, Family{Key: "bank:ab:"}, false},
		{Family{Key: "bank:outbox", Exact: true}, Family{Key: "bank:outbox:relayed:"}, false},
	} {
		if got := covers(c.a, c.b); got != c.want {
			t.Errorf("covers(%q, %q) = %v, want %v", c.a.Key, c.b.Key, got, c.want)
		}
	}
}

// keyLiteral matches a string that starts like a key ("bank: unknown
// command" is a message, not a key).
var keyLiteral = regexp.MustCompile(`^(` + regexp.QuoteMeta(Root) + `[a-z]|` + regexp.QuoteMeta(JobNamespace) + `)`)

// Every key family is named here and nowhere else: no Go file outside
// this package spells a key prefix as a string literal.
func TestNoKeyLiteralsOutsideTheRegistry(t *testing.T) {
	fset := token.NewFileSet()
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "keyspace" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err == nil && keyLiteral.MatchString(s) {
				t.Errorf("%s: key literal %q: use a keyspace constant", fset.Position(lit.Pos()), s)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
