package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// recordPackages are the packages whose types must not show through a
// room's face: webui sees the rooms' own types, never the store's records
// or the modem driver's.
var recordPackages = []string{module + "/store", module + "/modem"}

// A room's face is the type a facade accessor returns (gw.Contacts()
// returns *contacts.API); webui imports the room for that face's types.
// TestRoomFacesHideRecords reads each accessor of gateway.Gateway and
// reports every exported method of its face whose signature reaches a
// store or modem type: directly, or through an exported field of a type
// of the room that the signature names.
func TestRoomFacesHideRecords(t *testing.T) {
	faces, err := roomFaces("../../gateway")
	if err != nil {
		t.Fatal(err)
	}
	if len(faces) == 0 {
		t.Fatal("no accessor of gateway.Gateway returns a room's face: was the facade renamed?")
	}
	for _, f := range faces {
		problems, err := exposedRecords(filepath.Join("../..", strings.TrimPrefix(f.pkg, module+"/")), f.typ)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("gw.%s() returns *%s.%s, whose %s", f.accessor, filepath.Base(f.pkg), f.typ, p)
		}
	}
}

// TestExposedRecordsCatches runs the check on a room written for it.
func TestExposedRecordsCatches(t *testing.T) {
	dir := t.TempDir()
	src := `package room

import (
	"context"

	"github.com/simgate/simgate/store"
)

type API struct{ db *store.DB }

type Item struct {
	ID     uint64
	Record store.Contact
	hidden store.Message
}

type Clean struct{ Name string }

func (a *API) Get(ctx context.Context, id uint64) (Item, error) { return Item{}, nil }
func (a *API) Raw() []store.Message                              { return nil }
func (a *API) Fine(c Clean) (string, error)                      { return "", nil }
func (a *API) internal() store.Contact                           { return store.Contact{} }
`
	if err := os.WriteFile(filepath.Join(dir, "room.go"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := exposedRecords(dir, "API")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Get reaches store.Contact through Item.Record", "Raw reaches store.Message"}
	if !slices.Equal(got, want) {
		t.Errorf("problems %q, want %q", got, want)
	}
}

// roomFace is one accessor of the facade and the type it returns.
type roomFace struct {
	accessor string // "Contacts"
	pkg      string // the room's import path
	typ      string // "API"
}

// roomFaces finds the methods of *Gateway in dir that take nothing and
// return a pointer to a type of a package under gateway/.
func roomFaces(dir string) ([]roomFace, error) {
	files, err := parseDir(dir)
	if err != nil {
		return nil, err
	}
	var faces []roomFace
	for _, f := range files {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || !fn.Name.IsExported() || receiverName(fn) != "Gateway" ||
				fn.Type.Params.NumFields() != 0 || fn.Type.Results.NumFields() != 1 {
				continue
			}
			star, ok := fn.Type.Results.List[0].Type.(*ast.StarExpr)
			if !ok {
				continue
			}
			sel, ok := star.X.(*ast.SelectorExpr)
			if !ok {
				continue
			}
			pkg := importPath(f, sel.X)
			if strings.HasPrefix(pkg, module+"/gateway/") {
				faces = append(faces, roomFace{accessor: fn.Name.Name, pkg: pkg, typ: sel.Sel.Name})
			}
		}
	}
	return faces, nil
}

// exposedRecords reads the package in dir and describes each exported
// method of typ whose signature reaches a record package.
func exposedRecords(dir, typ string) ([]string, error) {
	files, err := parseDir(dir)
	if err != nil {
		return nil, err
	}
	decls := map[string]typeDecl{}
	for _, f := range files {
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.TYPE {
				for _, spec := range g.Specs {
					ts := spec.(*ast.TypeSpec)
					decls[ts.Name.Name] = typeDecl{spec: ts, file: f}
				}
			}
		}
	}
	var problems []string
	for _, f := range files {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || !fn.Name.IsExported() || receiverName(fn) != typ {
				continue
			}
			if found := reachRecord(fn.Type, f, decls, map[string]bool{}); found != "" {
				problems = append(problems, fn.Name.Name+" reaches "+found)
			}
		}
	}
	slices.Sort(problems)
	return problems, nil
}

type typeDecl struct {
	spec *ast.TypeSpec
	file *ast.File
}

// reachRecord returns the first record type expr names, directly or
// through the exported fields and methods of the package's own types
// ("store.Contact through Item.Record"), or "".
func reachRecord(expr ast.Node, f *ast.File, decls map[string]typeDecl, seen map[string]bool) (found string) {
	ast.Inspect(expr, func(n ast.Node) bool {
		if found != "" {
			return false
		}
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if slices.Contains(recordPackages, importPath(f, n.X)) {
				found = fmt.Sprintf("%s.%s", n.X.(*ast.Ident).Name, n.Sel.Name)
			}
			return false
		case *ast.Ident:
			d, ok := decls[n.Name]
			if !ok || seen[n.Name] {
				return false
			}
			seen[n.Name] = true
			if via, field := reachThroughType(d, decls, seen); via != "" {
				found = via + " through " + n.Name + "." + field
			}
		}
		return true
	})
	return found
}

// reachThroughType looks at what a type of the package shows: its
// exported fields (embedded ones too) or methods, or the type it is.
func reachThroughType(d typeDecl, decls map[string]typeDecl, seen map[string]bool) (found, field string) {
	var members *ast.FieldList
	switch t := d.spec.Type.(type) {
	case *ast.StructType:
		members = t.Fields
	case *ast.InterfaceType:
		members = t.Methods
	default:
		if found := reachRecord(d.spec.Type, d.file, decls, seen); found != "" {
			return found, "(type)"
		}
		return "", ""
	}
	for _, m := range members.List {
		name := ""
		switch {
		case len(m.Names) > 0 && m.Names[0].IsExported():
			name = m.Names[0].Name
		case len(m.Names) == 0: // embedded
			name = "(embedded)"
		default:
			continue
		}
		if found := reachRecord(m.Type, d.file, decls, seen); found != "" {
			return found, name
		}
	}
	return "", ""
}

// importPath is the import path a package name in f stands for, or "".
func importPath(f *ast.File, x ast.Expr) string {
	id, ok := x.(*ast.Ident)
	if !ok {
		return ""
	}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		name := filepath.Base(path)
		if imp.Name != nil {
			name = imp.Name.Name
		}
		if name == id.Name {
			return path
		}
	}
	return ""
}

// receiverName is the type name of a method's receiver, without a star.
func receiverName(fn *ast.FuncDecl) string {
	t := fn.Recv.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// parseDir parses the package's non-test Go files in dir.
func parseDir(dir string) ([]*ast.File, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}
