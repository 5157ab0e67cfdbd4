package catalog

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Violation is one problem with one field of some input.
type Violation struct {
	// Field is the path of the field, such as "strength" or
	// "provenance.document".
	Field       string
	Description string
}

// InvalidError reports input that breaks the rules of the domain. It lists
// every problem found, not only the first.
type InvalidError struct {
	Violations []Violation
}

func (e *InvalidError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Field + ": " + v.Description
	}
	return "invalid " + strings.Join(parts, "; ")
}

// Invalid returns an *InvalidError with one violation.
func Invalid(field, description string) error {
	return &InvalidError{Violations: []Violation{{Field: field, Description: description}}}
}

// maxQuoted is how much of a client's value an error message repeats.
const maxQuoted = 64

// Clip shortens a value a client sent to at most 64 characters, marking
// what it left out, so an error message or a log line never repeats a
// large input.
func Clip(s string) string { return ClipTo(s, maxQuoted) }

// ClipTo shortens s to at most n bytes (on a character boundary), marking
// what it left out.
func ClipTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("…(%d bytes)", len(s))
}

// ClipArgs applies Clip to the strings among format arguments.
func ClipArgs(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		if s, ok := a.(string); ok {
			a = Clip(s)
		}
		out[i] = a
	}
	return out
}
