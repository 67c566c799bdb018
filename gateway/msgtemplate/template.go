// Package msgtemplate renders the texts that flows, campaigns and the
// console's Send page send: Go's text/template with a small set of
// functions (default, money, date, first, link, raw), over the variables
// of a contact and of a shop event. docs/templates.md is the shop owner's
// reference; this comment says how it works.
//
// A missing variable is an error at render (missingkey=error), so that no
// customer ever gets "Hi <no value>,". The one way around it is default:
// Parse rewrites every value that default covers into a lookup that yields
// nil for a missing key, which default then replaces by its fallback.
//
// link and raw mark the URLs they print with private-use characters, so
// that gateway/links can tell a URL to shorten from one to leave alone
// after the text is rendered. A rendered text therefore goes through
// links.Shorten (or Plain) before it is sent; the marks never reach a
// phone.
package msgtemplate

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/store"
)

// Vars are the values a template sees: its dot. ContactVars and EventVars
// make them; merge them with maps.Copy.
type Vars = map[string]any

// Template is a parsed message template. It is safe for concurrent use.
type Template struct {
	src  string
	kind store.Kind
	base *template.Template
	// pool holds clones of base, each with its own render settings
	// (language, zone) that the clone's functions read: cloning per render
	// would cost more than the render.
	pool sync.Pool
}

// renderer is one clone of a template and the settings its functions read.
type renderer struct {
	tmpl *template.Template
	ctx  *renderContext
}

// optFunc is the name of the lookup Parse puts in place of a value default
// covers. No shop owner would write it; it is in the function set only
// because text/template calls functions by name.
const optFunc = "simgate_optional"

// Parse parses a transactional template: text sent as written.
func Parse(src string) (*Template, error) { return ParseKind(src, store.KindTransactional) }

// ParseKind parses a template of a kind. A marketing template's renders
// get the opt-out line when they have none (compliance.WithOptOut), and
// every URL in them becomes a short link unless marked raw.
func ParseKind(src string, kind store.Kind) (*Template, error) {
	if kind != store.KindMarketing && kind != store.KindTransactional {
		return nil, &store.FieldError{Field: "kind", Message: "must be marketing or transactional"}
	}
	if strings.TrimSpace(src) == "" {
		return nil, &store.FieldError{Field: "body", Message: "must not be empty"}
	}
	if strings.ContainsAny(src, markChars) {
		return nil, &store.FieldError{Field: "body", Message: "must not contain the private-use characters U+E000 to U+E002"}
	}
	ctx := &renderContext{}
	base, err := template.New("body").Option("missingkey=error").Funcs(funcs(ctx)).Parse(src)
	if err != nil {
		return nil, &store.FieldError{Field: "body", Message: cleanParseError(err)}
	}
	if len(base.Templates()) > 1 {
		return nil, &store.FieldError{Field: "body", Message: "must not define templates ({{ define }} or {{ block }})"}
	}
	coverDefaults(base.Tree.Root)
	t := &Template{src: src, kind: kind, base: base}
	t.pool.New = func() any {
		ctx := &renderContext{}
		clone := template.Must(t.base.Clone())
		clone.Funcs(funcs(ctx))
		return &renderer{tmpl: clone, ctx: ctx}
	}
	return t, nil
}

// cleanParseError drops text/template's "template: body:" prefix: the
// message is shown beside the body field.
func cleanParseError(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "template: ")
	msg = strings.TrimPrefix(msg, "body:")
	return "line " + msg
}

// Source returns the text the template was parsed from.
func (t *Template) Source() string { return t.src }

// Kind returns the template's kind.
func (t *Template) Kind() store.Kind { return t.kind }

// Render fills the template with vars. The result still carries the marks
// of link and raw (see the package comment). Errors name the variable and
// the place in the template.
func (t *Template) Render(vars Vars) (string, error) {
	text, err := t.renderRaw(vars)
	if err != nil {
		return "", err
	}
	if t.kind == store.KindMarketing && strings.TrimSpace(Plain(text)) != "" {
		text = compliance.WithOptOut(text)
	}
	return text, nil
}

// renderRaw is Render without the opt-out line.
func (t *Template) renderRaw(vars Vars) (string, error) {
	r := t.pool.Get().(*renderer)
	defer t.pool.Put(r)
	r.ctx.set(vars)
	var b strings.Builder
	if err := r.tmpl.Execute(&b, vars); err != nil {
		return "", renderError(err)
	}
	return b.String(), nil
}

// renderError rewords text/template's execution errors for a shop owner:
// "map has no entry for key" is what a missing variable looks like.
func renderError(err error) error {
	var ee template.ExecError
	msg := err.Error()
	if errors.As(err, &ee) {
		msg = ee.Err.Error()
	}
	msg = strings.TrimPrefix(msg, "template: ")
	msg = strings.TrimPrefix(msg, "body:")
	if i := strings.Index(msg, "map has no entry for key "); i >= 0 {
		key := strings.Trim(msg[i+len("map has no entry for key "):], `"`)
		where, _, _ := strings.Cut(msg, ": ")
		return &MissingError{Key: key, Where: "line " + where}
	}
	// "1:9: executing "body" at <money (simgate_optional ...)>: error
	// calling money: ..." shows the rewritten call; the place and the
	// function's own words say enough.
	if i := strings.Index(msg, "error calling "); i >= 0 {
		where, _, _ := strings.Cut(msg, ": ")
		msg = where + ": " + msg[i:]
	}
	return errors.New("line " + msg)
}

// MissingError is a render that needed a variable the values lack.
type MissingError struct {
	Key   string // the missing key ("first_name", "city" of attributes.city)
	Where string // line and column in the template
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("%s: no value for %q; give a fallback with default, as in {{ default \"...\" .%s }}", e.Where, e.Key, e.Key)
}

// coverDefaults rewrites, in place, every value that default covers into a
// call of optFunc, so that a missing key becomes nil instead of an error.
// It covers both spellings: {{ default "x" .a.b }} and {{ .a.b | default "x" }}.
func coverDefaults(n parse.Node) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			coverDefaults(c)
		}
	case *parse.ActionNode:
		coverDefaults(n.Pipe)
	case *parse.IfNode:
		coverBranch(&n.BranchNode)
	case *parse.RangeNode:
		coverBranch(&n.BranchNode)
	case *parse.WithNode:
		coverBranch(&n.BranchNode)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for i, cmd := range n.Cmds {
			for _, a := range cmd.Args {
				coverDefaults(a)
			}
			if !isDefault(cmd) {
				continue
			}
			if len(cmd.Args) == 3 {
				// {{ default "x" VALUE }}
				if opt := optional(cmd.Args[2]); opt != nil {
					cmd.Args[2] = &parse.PipeNode{NodeType: parse.NodePipe, Pos: opt.Pos, Cmds: []*parse.CommandNode{opt}}
				}
			} else if len(cmd.Args) == 2 && i > 0 && len(n.Cmds[i-1].Args) == 1 {
				// {{ VALUE | default "x" }}
				if opt := optional(n.Cmds[i-1].Args[0]); opt != nil {
					n.Cmds[i-1] = opt
				}
			}
		}
	case *parse.ChainNode:
		coverDefaults(n.Node)
	}
}

func coverBranch(b *parse.BranchNode) {
	coverDefaults(b.Pipe)
	coverDefaults(b.List)
	coverDefaults(b.ElseList)
}

func isDefault(cmd *parse.CommandNode) bool {
	id, ok := cmd.Args[0].(*parse.IdentifierNode)
	return ok && id.Ident == "default"
}

// optional returns the command `simgate_optional BASE "a.b"` that looks up
// the field chain of n without failing on a missing key, or nil when n is
// not a field chain.
func optional(n parse.Node) *parse.CommandNode {
	var base parse.Node
	var path []string
	switch n := n.(type) {
	case *parse.FieldNode:
		base, path = &parse.DotNode{NodeType: parse.NodeDot, Pos: n.Pos}, n.Ident
	case *parse.VariableNode:
		if len(n.Ident) < 2 {
			return nil
		}
		base = &parse.VariableNode{NodeType: parse.NodeVariable, Pos: n.Pos, Ident: n.Ident[:1]}
		path = n.Ident[1:]
	case *parse.ChainNode:
		base, path = n.Node, n.Field
	default:
		return nil
	}
	id := parse.NewIdentifier(optFunc).SetPos(n.Position())
	joined := strings.Join(path, ".")
	str := &parse.StringNode{NodeType: parse.NodeString, Pos: n.Position(), Quoted: fmt.Sprintf("%q", joined), Text: joined}
	return &parse.CommandNode{NodeType: parse.NodeCommand, Pos: n.Position(), Args: []parse.Node{id, base, str}}
}
