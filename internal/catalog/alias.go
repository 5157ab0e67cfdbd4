package catalog

import (
	"strings"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
)

// aiRMFAbbreviations are the two-letter forms of the AI RMF functions in
// common use (GV-1.1 for GOVERN 1.1).
var aiRMFAbbreviations = map[string]string{
	"GOVERN":  "GV",
	"MAP":     "MP",
	"MEASURE": "MS",
	"MANAGE":  "MG",
}

// DerivedAliases returns the common spellings of a control id besides the
// canonical one, by the conventions of its kind. Case is not varied: lookups
// ignore case.
//
//	A.5.15 (ISO annex)      -> 5.15, A5.15
//	GOVERN-1.1 (AI RMF)     -> GOVERN 1.1, GOVERN.1.1, GOVERN1.1, GV-1.1, GV 1.1, GV.1.1, GV1.1
//	GOVERN (AI RMF)         -> GV
func DerivedAliases(c *Control) []string {
	switch c.Kind {
	case cmv1.ControlKind_CONTROL_KIND_ANNEX_CONTROL, cmv1.ControlKind_CONTROL_KIND_ANNEX_GROUP:
		rest, ok := AnnexNumber(c)
		if !ok {
			return nil
		}
		return []string{rest, "A" + rest}
	case cmv1.ControlKind_CONTROL_KIND_FUNCTION:
		if abbr, ok := aiRMFAbbreviations[c.ID]; ok {
			return []string{abbr}
		}
	case cmv1.ControlKind_CONTROL_KIND_CATEGORY, cmv1.ControlKind_CONTROL_KIND_SUBCATEGORY:
		fn, num, ok := strings.Cut(c.ID, "-")
		if !ok {
			return nil
		}
		out := []string{fn + " " + num, fn + "." + num, fn + num}
		if abbr, ok := aiRMFAbbreviations[fn]; ok {
			out = append(out, abbr+"-"+num, abbr+" "+num, abbr+"."+num, abbr+num)
		}
		return out
	}
	return nil
}

// AnnexNumber is the number of an annex control or group without its
// annex letter (5.15 of A.5.15), as ISO/IEC 27002 and many crosswalks
// number the controls of ISO/IEC 27001's Annex A; ok is false for a
// control of another kind.
func AnnexNumber(c *Control) (string, bool) {
	if c.Kind != cmv1.ControlKind_CONTROL_KIND_ANNEX_CONTROL && c.Kind != cmv1.ControlKind_CONTROL_KIND_ANNEX_GROUP {
		return "", false
	}
	return strings.CutPrefix(c.ID, "A.")
}

// lookupKey is the case-insensitive key of a control id or alias within
// its framework.
func lookupKey(ref string) string { return strings.ToLower(strings.TrimSpace(ref)) }
