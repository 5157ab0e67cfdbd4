package content

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/controlmap/controlmap/internal/catalog"
)

//go:embed data
var embedded embed.FS

// Content is the built-in catalog: frameworks with their controls, and the
// mappings between them.
type Content struct {
	Frameworks []Framework
	Mappings   []catalog.Mapping
	// Release orders content versions: a higher release is newer.
	Release int
	// Version identifies the data exactly: "r{release}-{digest of every
	// data file}".
	Version string
}

// Framework is a framework with its controls in document order.
type Framework struct {
	catalog.Framework
	Controls []catalog.Control
}

// Load reads and checks the embedded content.
func Load() (*Content, error) {
	sub, err := fs.Sub(embedded, "data")
	if err != nil {
		return nil, err
	}
	return LoadFS(sub)
}

// LoadFS reads and checks content laid out like the embedded data
// directory. Every problem is reported as "file:line: message"; all of them
// are returned, joined.
func LoadFS(fsys fs.FS) (*Content, error) {
	l := &loader{fsys: fsys, digest: sha256.New()}
	fwFiles, err := fs.Glob(fsys, "frameworks/*.yaml")
	if err != nil {
		return nil, err
	}
	xwFiles, err := fs.Glob(fsys, "crosswalks/*.yaml")
	if err != nil {
		return nil, err
	}
	if len(fwFiles) == 0 {
		return nil, errors.New("content: no framework files under frameworks/")
	}
	c := &Content{}
	if err := l.release(c); err != nil {
		return nil, err
	}
	var lines []controlLines
	for _, name := range fwFiles {
		if fw, ls, ok := l.framework(name); ok {
			c.Frameworks = append(c.Frameworks, fw)
			lines = append(lines, ls)
		}
	}
	if len(l.errs) > 0 {
		return nil, errors.Join(l.errs...)
	}
	g, err := c.frameworksOnly()
	if err != nil {
		return nil, l.locateControlErrors(err, c.Frameworks, lines)
	}
	seen := map[[2]catalog.ControlID]position{}
	for _, name := range xwFiles {
		c.Mappings = append(c.Mappings, l.crosswalk(name, g, seen)...)
	}
	if len(l.errs) > 0 {
		return nil, errors.Join(l.errs...)
	}
	c.Version = fmt.Sprintf("r%d-%s", c.Release, hex.EncodeToString(l.digest.Sum(nil))[:16])
	return c, nil
}

// ReleaseOf reads the release out of a Version string; 0 when there is none.
func ReleaseOf(version string) int {
	var r int
	if _, err := fmt.Sscanf(version, "r%d-", &r); err != nil {
		return 0
	}
	return r
}

// LoadGraph loads the embedded content and builds its catalog at revision 1,
// as a store starts with it.
func LoadGraph() (*Content, *catalog.Graph, error) {
	c, err := Load()
	if err != nil {
		return nil, nil, err
	}
	g, err := c.Graph(1)
	if err != nil {
		return nil, nil, err
	}
	return c, g, nil
}

// Graph builds the catalog of this content at the given revision.
func (c *Content) Graph(revision int64) (*catalog.Graph, error) {
	var b catalog.Builder
	for _, f := range c.Frameworks {
		b.AddFramework(f.Framework, f.Controls)
	}
	return b.Build(revision, c.Mappings)
}

func (c *Content) frameworksOnly() (*catalog.Graph, error) {
	return (&Content{Frameworks: c.Frameworks}).Graph(0)
}

// MappingID is the stable id of a built-in mapping: a digest of its two
// ends, the same in every process and every database.
func MappingID(source, target catalog.ControlRef) string {
	sum := sha256.Sum256([]byte(source.Name() + "\x00" + target.Name()))
	return "b" + hex.EncodeToString(sum[:])[:15]
}

type position struct {
	file string
	line int
}

func (p position) String() string { return fmt.Sprintf("%s:%d", p.file, p.line) }

// controlLines remembers where each control of a framework file was written.
type controlLines struct {
	file      string
	framework int
	lines     []int
}

// locateControlErrors turns the catalog's *ControlError values into
// "file:line: message" errors.
func (l *loader) locateControlErrors(err error, fws []Framework, lines []controlLines) error {
	var out []error
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var ce *catalog.ControlError
		if !errors.As(err, &ce) {
			out = append(out, err)
			return
		}
		i := slices.IndexFunc(fws, func(f Framework) bool { return f.ID == ce.Framework })
		if i < 0 {
			out = append(out, err)
			return
		}
		p := position{file: lines[i].file, line: lines[i].framework}
		if ce.Control >= 0 && ce.Control < len(lines[i].lines) {
			p.line = lines[i].lines[ce.Control]
		}
		out = append(out, fmt.Errorf("%s: %s", p, ce.Message))
	}
	walk(err)
	return errors.Join(out...)
}

func baseName(file string) string {
	return strings.TrimSuffix(path.Base(file), path.Ext(file))
}
