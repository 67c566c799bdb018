package msgtemplate

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"text/template/parse"

	"github.com/simgate/simgate/gateway/compliance"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/store"
)

// Audience calls fn for every contact a template is meant for (all
// contacts, or a segment); store.DB.EachContact is one.
type Audience func(fn func(store.Contact) error) error

// Problem is one thing wrong with a template, named by the field it is
// about ("body", "kind") and, for a variable, the variable.
type Problem struct {
	Field    string `json:"field"`
	Variable string `json:"variable,omitempty"` // ".first_name", ".attributes.city"
	Contacts int    `json:"contacts,omitempty"` // how many contacts it affects
	Message  string `json:"message"`
	// Notice: the box fixes it itself (the opt-out line is added); saving
	// is not refused.
	Notice bool `json:"notice,omitempty"`
}

// Problems is every problem Lint found.
type Problems []Problem

// Errors returns the problems that refuse a save, not the notices.
func (ps Problems) Errors() Problems {
	return slices.DeleteFunc(slices.Clone(ps), func(p Problem) bool { return p.Notice })
}

func (ps Problems) Error() string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Field + ": " + p.Message
	}
	return strings.Join(msgs, "; ")
}

// LintInput is what Lint checks a template against.
type LintInput struct {
	Kind     store.Kind
	Settings compliance.Settings // the brand a marketing text starts with
	Audience Audience            // nil: no contacts to count
	// Event is a sample event's variables (EventVars): the empty-render
	// and brand checks render with it. Nil: event variables are only
	// checked by name.
	Event Vars
}

// shortenerPattern finds the public URL shorteners carriers filter: a text
// carrying one is often blocked as spam, and its target is hidden from the
// customer. simgate's own short links are on the shop's domain.
var shortenerPattern = regexp.MustCompile(`(?i)\b(bit\.ly|bitly\.com|tinyurl\.com|t\.co|goo\.gl|ow\.ly|is\.gd|buff\.ly|rebrand\.ly|cutt\.ly|shorturl\.at|tiny\.cc|rb\.gy|t\.ly|s\.id|v\.gd|bl\.ink|short\.io|lnkd\.in|shorte\.st|adf\.ly)(/|\b)`)

// Lint checks a template's source and reports every problem, not only the
// first: a parse error (then nothing else can be checked), public URL
// shorteners, unknown variables, variables some contacts lack without a
// fallback (with how many), renders that fail or come out empty, and for
// marketing the brand rule and the opt-out line of R-ID.
func Lint(src string, in LintInput) Problems {
	var ps Problems
	var found []string
	for _, m := range shortenerPattern.FindAllStringSubmatch(src, -1) {
		found = append(found, strings.ToLower(m[1]))
	}
	for _, m := range uniq(found) {
		ps = append(ps, Problem{Field: "body", Message: fmt.Sprintf(
			"%s is a public URL shortener: carriers filter texts that carry one; write the shop's own URL (it becomes a short link on your domain)", m)})
	}
	t, err := ParseKind(src, in.Kind)
	if err != nil {
		var fe *store.FieldError
		if errors.As(err, &fe) {
			return append(ps, Problem{Field: fe.Field, Message: fe.Message})
		}
		return append(ps, Problem{Field: "body", Message: err.Error()})
	}
	uses := t.uses()
	var contactUses []varUse
	for _, u := range uses {
		name := "." + strings.Join(u.path, ".")
		sub, known := knownVars[u.path[0]]
		switch {
		case !known:
			ps = append(ps, Problem{Field: "body", Variable: name, Message: fmt.Sprintf(
				"unknown variable %s: use %s", name, strings.Join(sortedKeys(knownVars), ", "))})
		case len(u.path) > 1 && sub != nil && !sub[u.path[1]]:
			ps = append(ps, Problem{Field: "body", Variable: name, Message: fmt.Sprintf(
				"unknown variable %s: .%s has %s", name, u.path[0], strings.Join(sortedKeys(sub), ", "))})
		case contactRoots[u.path[0]] && !u.covered:
			contactUses = append(contactUses, u)
		case !contactRoots[u.path[0]] && !u.covered && in.Event != nil && lookupPath(in.Event, u.path) == nil:
			ps = append(ps, Problem{Field: "body", Variable: name, Message: fmt.Sprintf(
				"the sample event has no %s and it has no fallback: write {{ default \"...\" %s }}", name, name)})
		}
	}
	// One pass over the audience counts the contacts lacking each
	// variable, the renders that fail for another reason or come out
	// empty, and keeps a render for the brand check.
	lacking := make([]int, len(contactUses))
	total, empty, failed := 0, 0, 0
	var firstFailure error
	sample, haveSample := "", false
	check := func(vars Vars) {
		text, err := t.renderRaw(vars)
		var miss *MissingError
		switch {
		case errors.As(err, &miss):
			// Reported per variable.
		case err != nil:
			failed++
			if firstFailure == nil {
				firstFailure = err
			}
		case strings.TrimSpace(Plain(text)) == "":
			empty++
		case !haveSample:
			sample, haveSample = Plain(text), true
		}
	}
	if in.Audience != nil {
		err := in.Audience(func(c store.Contact) error {
			total++
			vars := ContactVars(c)
			for i, u := range contactUses {
				if lookupPath(vars, u.path) == nil {
					lacking[i]++
				}
			}
			maps.Copy(vars, in.Event)
			check(vars)
			return nil
		})
		if err != nil {
			ps = append(ps, Problem{Field: "body", Message: "could not read the contacts to check against: " + err.Error()})
		}
	}
	if total == 0 {
		vars := Vars{"tags": []string{}, "attributes": map[string]any{}}
		maps.Copy(vars, in.Event)
		check(vars)
	}
	for i, u := range contactUses {
		name := "." + strings.Join(u.path, ".")
		if lacking[i] > 0 {
			ps = append(ps, Problem{Field: "body", Variable: name, Contacts: lacking[i], Message: fmt.Sprintf(
				"%d of %d contacts have no %s and it has no fallback: write {{ default \"...\" %s }}", lacking[i], total, name, name)})
		}
	}
	if failed > 0 {
		ps = append(ps, Problem{Field: "body", Contacts: failed, Message: fmt.Sprintf("fails to render for %d contacts: %v", failed, firstFailure)})
	}
	if empty > 0 {
		msg := "renders to an empty text"
		if total > 0 {
			msg += fmt.Sprintf(" for %d of %d contacts", empty, total)
		}
		ps = append(ps, Problem{Field: "body", Contacts: empty, Message: msg})
	}
	if in.Kind == store.KindMarketing {
		if !haveSample {
			// No render worked: the words as written must start with it.
			sample = src
		}
		if err := compliance.CheckMarketingBrand("body", sample, in.Settings); err != nil {
			var fe *store.FieldError
			if errors.As(err, &fe) {
				ps = append(ps, Problem{Field: fe.Field, Message: fe.Message})
			}
		}
		if !compliance.HasOptOut(Plain(src)) {
			ps = append(ps, Problem{Field: "body", Notice: true, Message: fmt.Sprintf(
				"has no opt-out line: %q is added at the end of every text, and counts in its parts", compliance.OptOutLine)})
		}
	}
	return ps
}

func uniq(list []string) []string {
	slices.Sort(list)
	return slices.Compact(list)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.Sort(keys)
	for i, k := range keys {
		keys[i] = "." + k
	}
	return keys
}

// lookupPath is lookup by a split path.
func lookupPath(v Vars, path []string) any { return lookup(map[string]any(v), strings.Join(path, ".")) }

// varUse is a variable a template reads from its top-level values.
type varUse struct {
	path    []string
	covered bool // default gives a fallback
}

// uses lists the variables the template reads from the top-level values,
// once each (covered when every read of it is): fields of the dot where
// the dot is the top, and fields of $ anywhere. Inside range and with the
// dot is something else, and its fields are not variables of the contact.
func (t *Template) uses() []varUse {
	var out []varUse
	seen := map[string]int{}
	add := func(path []string, covered bool) {
		key := strings.Join(path, ".")
		if i, ok := seen[key]; ok {
			out[i].covered = out[i].covered && covered
			return
		}
		seen[key] = len(out)
		out = append(out, varUse{path: path, covered: covered})
	}
	var walk func(n parse.Node, top bool)
	walk = func(n parse.Node, top bool) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c, top)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe, top)
		case *parse.IfNode:
			walk(n.Pipe, top)
			walk(n.List, top)
			walk(n.ElseList, top)
		case *parse.RangeNode:
			walk(n.Pipe, top)
			walk(n.List, false)
			walk(n.ElseList, top)
		case *parse.WithNode:
			walk(n.Pipe, top)
			walk(n.List, false)
			walk(n.ElseList, top)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c, top)
				}
			}
		case *parse.CommandNode:
			if id, ok := n.Args[0].(*parse.IdentifierNode); ok && id.Ident == optFunc {
				path := strings.Split(n.Args[2].(*parse.StringNode).Text, ".")
				switch base := n.Args[1].(type) {
				case *parse.DotNode:
					if top {
						add(path, true)
					}
				case *parse.VariableNode:
					if base.Ident[0] == "$" {
						add(path, true)
					}
				default:
					walk(base, top)
				}
				return
			}
			for _, a := range n.Args {
				walk(a, top)
			}
		case *parse.FieldNode:
			if top {
				add(n.Ident, false)
			}
		case *parse.VariableNode:
			if n.Ident[0] == "$" && len(n.Ident) > 1 {
				add(n.Ident[1:], false)
			}
		case *parse.ChainNode:
			walk(n.Node, top)
		}
	}
	walk(t.base.Tree.Root, true)
	return out
}

// Rendering is one render of a template and what it costs to send.
type Rendering struct {
	Number string `json:"number,omitempty"` // whose render it is
	Text   string `json:"text"`
	modem.Plan
}

// PreviewResult shows a template's render for a sample contact and the
// longest render across the audience, which decides what a send costs.
type PreviewResult struct {
	Sample   Rendering  `json:"sample"`
	Longest  *Rendering `json:"longest,omitempty"` // nil without an audience
	Rendered int        `json:"rendered"`          // audience renders that worked
	Failed   int        `json:"failed"`            // audience renders that failed
	// FirstFailure is the first failed render's error and number.
	FirstFailure string `json:"first_failure,omitempty"`
}

// PreviewInput is what Preview renders with.
type PreviewInput struct {
	Contact  store.Contact // the sample
	Event    Vars          // a sample event's variables; nil for none
	Audience Audience      // nil: the sample only
	// Finish turns a render into the text that would be sent: links
	// shortens its URLs with codes of the real length. Nil: Plain.
	Finish func(rendered string) (string, error)
}

// Preview renders the template for the sample contact and for every
// contact of the audience, and reports the sample's render and the
// longest one (most parts, then most units), each with its encoding,
// parts and the characters that forced UCS-2.
func (t *Template) Preview(in PreviewInput) (PreviewResult, error) {
	finish := in.Finish
	if finish == nil {
		finish = func(s string) (string, error) { return Plain(s), nil }
	}
	render := func(c store.Contact) (Rendering, error) {
		vars := ContactVars(c)
		maps.Copy(vars, in.Event)
		text, err := t.Render(vars)
		if err != nil {
			return Rendering{}, err
		}
		if text, err = finish(text); err != nil {
			return Rendering{}, err
		}
		return Rendering{Number: c.Number, Text: text, Plan: modem.PlanText(text)}, nil
	}
	var res PreviewResult
	var err error
	if res.Sample, err = render(in.Contact); err != nil {
		return PreviewResult{}, err
	}
	if in.Audience == nil {
		return res, nil
	}
	err = in.Audience(func(c store.Contact) error {
		r, err := render(c)
		if err != nil {
			res.Failed++
			if res.FirstFailure == "" {
				res.FirstFailure = c.Number + ": " + err.Error()
			}
			return nil
		}
		res.Rendered++
		if res.Longest == nil || r.Parts > res.Longest.Parts || r.Parts == res.Longest.Parts && r.Units > res.Longest.Units {
			res.Longest = &r
		}
		return nil
	})
	return res, err
}
