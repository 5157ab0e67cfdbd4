package interchange

import (
	"bytes"
	"path"
	"strings"
)

// Detect guesses the format of a file from its name and its first bytes:
// the top-level key of a JSON document ("catalog", "mapping-collection",
// "mappings"), the header row of a CSV sheet, the objects of a CISO
// Assistant library; for a sheet whose head says nothing, the name's
// extension (.olir.csv, .strm.csv, as exports are named). ok is false when
// nothing fits.
func Detect(name string, head []byte) (Format, bool) {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	text := strings.ToLower(string(head))
	trimmed := strings.TrimSpace(text)
	ext := strings.ToLower(path.Ext(name))
	switch {
	case strings.HasPrefix(trimmed, "{"):
		for _, c := range []struct {
			key string
			f   Format
		}{{`"mapping-collection"`, OSCALMapping}, {`"catalog"`, OSCALCatalog}, {`"mappings"`, JSON}} {
			if strings.Contains(text, c.key) {
				return c.f, true
			}
		}
		return "", false
	case ext == ".yaml" || ext == ".yml" || strings.Contains(text, "requirement_nodes") || strings.Contains(text, "requirement_mapping"):
		return CISOYAML, true
	case strings.Contains(text, "fde #") || strings.Contains(text, "fde#") || strings.Contains(text, "strm relationship"):
		return STRMCSV, true
	case strings.Contains(text, "focal document element") && strings.Contains(text, "reference document element"):
		return OLIRCSV, true
	}
	// The names of our exports say the format when the head does not (a
	// header row past the bytes given).
	for _, f := range []Format{OLIRCSV, STRMCSV} {
		if strings.HasSuffix(strings.ToLower(name), f.Extension()) {
			return f, true
		}
	}
	return "", false
}
