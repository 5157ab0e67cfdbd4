package catalog

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	frameworksPrefix = "frameworks/"
	controlsInfix    = "/controls/"
	mappingsPrefix   = "mappings/"
)

var (
	frameworkIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{0,62}$`)
	mappingIDPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	// ControlIDPattern is what the id of a control a user writes (through
	// the API or an import) looks like.
	ControlIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
)

// ValidFrameworkID reports whether id is a well-formed framework id.
func ValidFrameworkID(id string) bool { return frameworkIDPattern.MatchString(id) }

// FrameworkName is the resource name of a framework.
func FrameworkName(id string) string { return frameworksPrefix + id }

// ControlName is the resource name of a control.
func ControlName(framework, control string) string {
	return frameworksPrefix + framework + controlsInfix + control
}

// MappingName is the resource name of a mapping.
func MappingName(id string) string { return mappingsPrefix + id }

// ParseFrameworkName returns the id in "frameworks/{id}". When bareID is
// true a plain id is accepted too.
func ParseFrameworkName(name string, bareID bool) (string, bool) {
	id, ok := strings.CutPrefix(name, frameworksPrefix)
	if !ok && !bareID {
		return "", false
	}
	if !ValidFrameworkID(id) {
		return "", false
	}
	return id, true
}

// ParseControlName splits "frameworks/{fw}/controls/{id}". The control id
// is returned as written: it may be an alias, to be resolved by a Graph.
func ParseControlName(name string) (framework, control string, ok bool) {
	rest, ok := strings.CutPrefix(name, frameworksPrefix)
	if !ok {
		return "", "", false
	}
	framework, control, ok = strings.Cut(rest, controlsInfix)
	if !ok || !ValidFrameworkID(framework) || !ValidControlRef(control) {
		return "", "", false
	}
	return framework, control, true
}

// ValidControlRef reports whether s can be a control id or alias as written
// by a client: 1-64 bytes of valid UTF-8, no slash, no control characters.
func ValidControlRef(s string) bool {
	if s == "" || len(s) > 64 || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r == '/' || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// ParseMappingName returns the id in "mappings/{id}".
func ParseMappingName(name string) (string, bool) {
	id, ok := strings.CutPrefix(name, mappingsPrefix)
	if !ok || !mappingIDPattern.MatchString(id) {
		return "", false
	}
	return id, true
}
