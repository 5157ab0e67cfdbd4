package interchange

import (
	"fmt"
	"io"
	"slices"
)

// WriteFramework writes f to w in format fm (oscal-catalog or ciso-yaml).
func WriteFramework(w io.Writer, fm Format, f *FrameworkFile) error {
	switch fm {
	case OSCALCatalog:
		return writeOSCALCatalog(w, f)
	case CISOYAML:
		return writeCISOFramework(w, f)
	}
	return fmt.Errorf("a framework is exported as %v, not %q", FrameworkFormats, fm)
}

// WriteCrosswalk writes cw to w in format fm.
func WriteCrosswalk(w io.Writer, fm Format, cw *CrosswalkFile) error {
	switch fm {
	case OSCALMapping:
		return writeOSCALMapping(w, cw)
	case OLIRCSV:
		return writeSheet(w, cw, false)
	case STRMCSV:
		return writeSheet(w, cw, true)
	case CISOYAML:
		return writeCISOMappings(w, cw)
	case JSON:
		return writeAPIJSON(w, cw)
	}
	return fmt.Errorf("a crosswalk is exported as %v, not %q", CrosswalkFormats, fm)
}

// Exports reports whether fm is a format of kind's exports.
func Exports(formats []Format, fm Format) bool { return slices.Contains(formats, fm) }
