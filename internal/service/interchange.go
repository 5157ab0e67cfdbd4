package service

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/interchange"
	"github.com/controlmap/controlmap/internal/store"
	"github.com/controlmap/controlmap/internal/writes"
)

// InterchangeServer implements cmv1.InterchangeServiceServer.
type InterchangeServer struct {
	cmv1.UnimplementedInterchangeServiceServer
	store  store.Store
	writes *writes.Writer
	limits interchange.Limits
}

// NewInterchangeServer returns the import and export service over s,
// writing through w and reading documents within lim.
func NewInterchangeServer(s store.Store, w *writes.Writer, lim interchange.Limits) *InterchangeServer {
	return &InterchangeServer{store: s, writes: w, limits: lim}
}

// formatTokens lists formats for error messages.
func formatTokens(fs []interchange.Format) string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = string(f)
	}
	return strings.Join(out, ", ")
}

// MaxBindings bounds the bindings of one import.
const MaxBindings = 100

// importOptions validates the options of an import.
func importOptions(o *cmv1.ImportOptions) (interchange.Format, writes.ImportOptions, error) {
	var opt writes.ImportOptions
	if o == nil {
		return "", opt, invalid("options", "is required in the first message")
	}
	format, ok := interchange.ParseFormat(o.GetFormat())
	if !ok {
		return "", opt, invalid("options.format", "must be one of "+formatTokens(interchange.Formats)+", got %q", o.GetFormat())
	}
	if err := checkEnum("options.mode", o.GetMode(), cmv1.ImportMode_name, true); err != nil {
		return "", opt, err
	}
	if err := checkEnum("options.framework_kind", o.GetFrameworkKind(), cmv1.FrameworkKind_name, true); err != nil {
		return "", opt, err
	}
	if len(o.GetBindings()) > MaxBindings {
		return "", opt, invalid("options.bindings", "at most %d bindings, got %d", MaxBindings, len(o.GetBindings()))
	}
	opt.Bindings = map[string]string{}
	for k, v := range o.GetBindings() {
		id, ok := catalog.ParseFrameworkName(strings.TrimSpace(v), true)
		if strings.TrimSpace(k) == "" || len(k) > 2000 || !ok {
			return "", opt, invalid(fmt.Sprintf("options.bindings[%q]", catalog.Clip(k)), "must map a resource key to a framework name (frameworks/{id}) or id, got %q", v)
		}
		opt.Bindings[k] = id
	}
	if fid := o.GetFrameworkId(); fid != "" {
		id, ok := catalog.ParseFrameworkName(fid, true)
		if !ok {
			return "", opt, invalid("options.framework_id", "must match [a-z0-9][a-z0-9.-]{0,62}, got %q", fid)
		}
		opt.FrameworkID = id
	}
	opt.Lenient = o.GetMode() == cmv1.ImportMode_IMPORT_MODE_LENIENT
	opt.ValidateOnly, opt.FrameworkKind = o.GetValidateOnly(), o.GetFrameworkKind()
	return format, opt, nil
}

// chunks reads the document of an import stream, chunk by chunk, as the
// client sends them: the readers of JSON and CSV parse it as it arrives
// (a YAML document is parsed whole, by its library).
type chunks struct {
	buf  []byte
	recv func() (*cmv1.ImportRequest, error)
	err  error
}

func (c *chunks) Read(p []byte) (int, error) {
	for len(c.buf) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		msg, err := c.recv()
		if err != nil {
			c.err = err
			continue
		}
		c.buf = msg.GetChunk()
	}
	n := copy(p, c.buf)
	c.buf = c.buf[n:]
	return n, nil
}

// Import implements cmv1.InterchangeServiceServer.
func (s *InterchangeServer) Import(stream cmv1.InterchangeService_ImportServer) error {
	first, err := stream.Recv()
	if errors.Is(err, io.EOF) {
		return invalid("options", "is required: the first message carries the options")
	}
	if err != nil {
		return err
	}
	format, opt, err := importOptions(first.GetOptions())
	if err != nil {
		return err
	}
	in := &chunks{buf: first.GetChunk(), recv: stream.Recv}
	doc, err := interchange.Read(in, format, s.limits)
	var le *interchange.LimitError
	switch {
	case err != nil && in.err != nil && !errors.Is(in.err, io.EOF):
		return in.err // the stream broke: not the document's fault
	case errors.As(err, &le):
		return invalid("document", "%v", le)
	case errors.Is(err, interchange.ErrSyntax):
		return invalid("document", "not a valid %s document: %v", format, strings.TrimPrefix(err.Error(), interchange.ErrSyntax.Error()+": "))
	case err != nil:
		return err
	}
	rep, err := s.writes.Import(stream.Context(), doc, opt)
	if err != nil {
		return err
	}
	return stream.SendAndClose(importResponse(rep))
}

func importResponse(rep *writes.ImportReport) *cmv1.ImportResponse {
	out := &cmv1.ImportResponse{Revision: rep.Revision, ValidateOnly: rep.ValidateOnly, Refused: rep.Refused, Format: string(rep.Format),
		ChangesOmitted: int32(rep.Omitted), Bindings: map[string]string{}}
	for _, k := range writes.ImportKinds {
		c := rep.Counts[k]
		out.Counts = append(out.Counts, &cmv1.ImportCount{Kind: k, Created: int32(c.Created), Updated: int32(c.Updated),
			Unchanged: int32(c.Unchanged), Skipped: int32(c.Skipped)})
	}
	for _, p := range rep.Problems {
		out.Problems = append(out.Problems, &cmv1.ImportProblem{Location: p.Loc, Message: p.Message, Skipped: p.Skipped})
	}
	for _, c := range rep.Changes {
		out.Changes = append(out.Changes, &cmv1.ImportedResource{Name: c.Name, Action: c.Action})
	}
	for k, id := range rep.Bindings {
		out.Bindings[k] = catalog.FrameworkName(id)
	}
	return out
}

// exportChunk is the size of the pieces an export is sent in.
const exportChunk = 64 << 10

// sender turns writes into stream messages of at most exportChunk bytes,
// the first with the file's type and name.
type sender struct {
	contentType, filename string
	send                  func(contentType, filename string, data []byte) error
	buf                   []byte
	sentHead              bool
}

func (s *sender) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		room := exportChunk - len(s.buf)
		take := min(room, len(p))
		s.buf = append(s.buf, p[:take]...)
		p = p[take:]
		if len(s.buf) == exportChunk {
			if err := s.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (s *sender) flush() error {
	if len(s.buf) == 0 && s.sentHead {
		return nil
	}
	var err error
	if s.sentHead {
		err = s.send("", "", s.buf)
	} else {
		err = s.send(s.contentType, s.filename, s.buf)
	}
	s.sentHead, s.buf = true, s.buf[:0]
	return err
}

func exportFormat(field, token string, allowed []interchange.Format) (interchange.Format, error) {
	f, ok := interchange.ParseFormat(token)
	if !ok || !slices.Contains(allowed, f) {
		return "", invalid(field, "must be one of "+formatTokens(allowed)+", got %q", token)
	}
	return f, nil
}

// ExportFramework implements cmv1.InterchangeServiceServer.
func (s *InterchangeServer) ExportFramework(req *cmv1.ExportFrameworkRequest, stream cmv1.InterchangeService_ExportFrameworkServer) error {
	format, err := exportFormat("format", req.GetFormat(), interchange.FrameworkFormats)
	if err != nil {
		return err
	}
	g := viewOf(stream.Context(), s.store)
	f, err := resolveFramework(g, "name", req.GetName(), true)
	if err != nil {
		return err
	}
	file := &interchange.FrameworkFile{Framework: f.Framework}
	for _, c := range g.Controls(f) {
		file.Controls = append(file.Controls, c.Control)
	}
	name := f.ID + format.Extension()
	w := &sender{contentType: format.ContentType(), filename: name, send: func(contentType, filename string, data []byte) error {
		return stream.Send(&cmv1.ExportFrameworkResponse{ContentType: contentType, Filename: filename, Data: data})
	}}
	if err := interchange.WriteFramework(w, format, file); err != nil {
		return err
	}
	return w.flush()
}

// ExportCrosswalk implements cmv1.InterchangeServiceServer.
func (s *InterchangeServer) ExportCrosswalk(req *cmv1.ExportCrosswalkRequest, stream cmv1.InterchangeService_ExportCrosswalkServer) error {
	format, err := exportFormat("format", req.GetFormat(), interchange.CrosswalkFormats)
	if err != nil {
		return err
	}
	g := viewOf(stream.Context(), s.store)
	from, err := resolveFramework(g, "source", req.GetSource(), true)
	if err != nil {
		return err
	}
	to, err := resolveFramework(g, "target", req.GetTarget(), true)
	if err != nil {
		return err
	}
	if from.Index == to.Index {
		return invalid("target", "must differ from source: a crosswalk joins two frameworks")
	}
	file := &interchange.CrosswalkFile{Source: from.Framework, Target: to.Framework, Titles: map[catalog.ControlRef]string{}}
	for _, o := range g.Crosswalk(from.Index, to.Index) {
		m := o.Mapping.Mapping
		if o.Inverse {
			m = m.Reversed()
		}
		file.Mappings = append(file.Mappings, m)
	}
	for _, f := range []*catalog.FrameworkNode{from, to} {
		for _, c := range g.Controls(f) {
			file.Titles[catalog.ControlRef{Framework: f.ID, Control: c.ID}] = c.Title
		}
	}
	name := fmt.Sprintf("%s_%s%s", from.ID, to.ID, format.Extension())
	w := &sender{contentType: format.ContentType(), filename: name, send: func(contentType, filename string, data []byte) error {
		return stream.Send(&cmv1.ExportCrosswalkResponse{ContentType: contentType, Filename: filename, Data: data})
	}}
	if err := interchange.WriteCrosswalk(w, format, file); err != nil {
		return err
	}
	return w.flush()
}
