package catalog

import "strings"

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
