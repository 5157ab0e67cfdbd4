package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/client"
	"github.com/controlmap/controlmap/internal/interchange"
)

// Exit codes of the client commands, for scripts.
const (
	exitFailure     = 1 // anything else
	exitUsage       = 2 // bad flags or arguments
	exitNotFound    = 3 // NOT_FOUND
	exitRejected    = 4 // the server refused the input: INVALID_ARGUMENT, FAILED_PRECONDITION, ALREADY_EXISTS, ABORTED
	exitDenied      = 5 // UNAUTHENTICATED, PERMISSION_DENIED, RESOURCE_EXHAUSTED
	exitUnavailable = 6 // the server cannot be reached or is unavailable; the call may be retried
)

const exitCodesHelp = `Exit codes: 0 success; 1 other failure; 2 bad flags or arguments; 3 not found;
4 input refused (invalid, already exists, conflict); 5 not allowed (no or wrong
token, missing scope, quota); 6 server unreachable or unavailable (retry).`

// exitError is an error with the process exit code it calls for.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// ExitCode is the exit code of err: its own, or the one of its gRPC code.
func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	st, ok := status.FromError(err)
	if !ok {
		return exitFailure
	}
	switch st.Code() {
	case codes.NotFound:
		return exitNotFound
	case codes.InvalidArgument, codes.FailedPrecondition, codes.AlreadyExists, codes.Aborted, codes.OutOfRange:
		return exitRejected
	case codes.Unauthenticated, codes.PermissionDenied, codes.ResourceExhausted:
		return exitDenied
	case codes.Unavailable, codes.DeadlineExceeded:
		return exitUnavailable
	}
	return exitFailure
}

// describe is an error as a person reads it: a gRPC status as its code,
// message and the fields it names.
func describe(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", strings.ToUpper(strcase(st.Code().String())), st.Message())
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fmt.Fprintf(&b, "\n  %s: %s", v.GetField(), v.GetDescription())
			}
		}
	}
	return b.String()
}

// strcase turns "NotFound" into "not_found".
func strcase(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToLower(b.String())
}

// usage is an error in the command line.
func usage(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// exactArgs is cobra.ExactArgs with a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usage("%v; see %s --help", err, cmd.CommandPath())
		}
		return nil
	}
}

// clientFlags are the flags every client command takes.
type clientFlags struct {
	server    string
	useTLS    bool
	plaintext bool
	json      bool
}

func (f *clientFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.server, "server", env("CONTROLMAP_SERVER", "localhost:9090"), "host:port of controlmap's gRPC port (CONTROLMAP_SERVER)")
	cmd.Flags().BoolVar(&f.useTLS, "tls", false, "connect with TLS, verifying the server against the system's roots")
	cmd.Flags().BoolVar(&f.plaintext, "plaintext", false, "send the token without TLS to a server on another host (only where the network encrypts)")
	cmd.Flags().BoolVar(&f.json, "json", false, "print the API's JSON instead of a table")
}

// dial connects with the token in CONTROLMAP_TOKEN, if any.
func (f *clientFlags) dial() (*grpc.ClientConn, error) {
	conn, err := client.Dial(f.server, client.Options{Token: os.Getenv("CONTROLMAP_TOKEN"), TLS: f.useTLS, Plaintext: f.plaintext})
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	return conn, nil
}

// print writes msg as indented JSON.
func printJSON(w io.Writer, msg proto.Message) error {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  ", EmitUnpopulated: true}.Marshal(msg)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// table writes rows aligned in columns.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// enumWord is "SUBSET_OF" for RELATIONSHIP_SUBSET_OF.
func enumWord(s fmt.Stringer, prefix string) string { return strings.TrimPrefix(s.String(), prefix) }

// frameworkName accepts an id or a name.
func frameworkName(s string) string {
	if strings.HasPrefix(s, "frameworks/") {
		return s
	}
	return "frameworks/" + s
}

// controlName accepts frameworks/{f}/controls/{c} or {f}/{c}.
func controlName(s string) string {
	if strings.HasPrefix(s, "frameworks/") {
		return s
	}
	if fw, ctl, ok := strings.Cut(s, "/"); ok {
		return "frameworks/" + fw + "/controls/" + ctl
	}
	return s
}

func frameworksCommand() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "frameworks",
		Short: "List the frameworks the server holds (those the token may see)",
		Long:  "List the frameworks of a running controlmap, over gRPC.\n\n" + exitCodesHelp,
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := f.dial()
			if err != nil {
				return err
			}
			defer conn.Close()
			c := cmv1.NewCatalogServiceClient(conn)
			all := &cmv1.ListFrameworksResponse{}
			for token := ""; ; {
				resp, err := c.ListFrameworks(cmd.Context(), &cmv1.ListFrameworksRequest{PageSize: 100, PageToken: token})
				if err != nil {
					return err
				}
				all.Frameworks = append(all.Frameworks, resp.GetFrameworks()...)
				if token = resp.GetNextPageToken(); token == "" {
					break
				}
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), all)
			}
			var rows [][]string
			for _, fw := range all.GetFrameworks() {
				rows = append(rows, []string{strings.TrimPrefix(fw.GetName(), "frameworks/"), enumWord(fw.GetKind(), "FRAMEWORK_KIND_"),
					fmt.Sprint(fw.GetControlCount()), fmt.Sprint(fw.GetAssessableCount()), fw.GetVersion(), fw.GetDisplayName()})
			}
			return table(cmd.OutOrStdout(), []string{"ID", "KIND", "CONTROLS", "ASSESSABLE", "VERSION", "NAME"}, rows)
		},
	}
	f.register(cmd)
	return cmd
}

func satisfiesCommand() *cobra.Command {
	var (
		f                   clientFlags
		targets             []string
		maxHops, minStrenth int32
		direct, draft       bool
	)
	cmd := &cobra.Command{
		Use:   "satisfies CONTROL",
		Short: "What implementing a control satisfies in other frameworks",
		Long: `Ask a running controlmap which controls of other frameworks implementing
CONTROL satisfies, fully or in part, directly or through other mappings.
CONTROL is frameworks/{framework}/controls/{control} or {framework}/{control};
aliases work (iso-27001-2022/5.1).

` + exitCodesHelp,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			conn, err := f.dial()
			if err != nil {
				return err
			}
			defer conn.Close()
			req := &cmv1.SatisfiesRequest{Control: controlName(args[0]), MaxHops: maxHops, MinStrength: minStrenth, IncludeDraft: draft}
			if direct {
				req.IncludeInferred = proto.Bool(false)
			}
			for _, t := range targets {
				req.TargetFrameworks = append(req.TargetFrameworks, frameworkName(t))
			}
			resp, err := cmv1.NewSatisfactionServiceClient(conn).Satisfies(cmd.Context(), req)
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), resp)
			}
			var rows [][]string
			for _, fw := range resp.GetFrameworks() {
				for _, c := range fw.GetControls() {
					how := "direct"
					switch {
					case c.GetGroup() != "":
						how = "member of group " + c.GetGroup()
					case c.GetInferred():
						how = fmt.Sprintf("inferred (%d hops)", len(c.GetPath()))
					}
					rows = append(rows, []string{c.GetControl(), enumWord(c.GetSatisfaction(), "SATISFACTION_"), enumWord(c.GetRelationship(), "RELATIONSHIP_"),
						fmt.Sprint(c.GetStrength()), how})
				}
			}
			if len(rows) == 0 {
				_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s satisfies nothing in the frameworks asked about\n", resp.GetControl())
				return err
			}
			return table(cmd.OutOrStdout(), []string{"CONTROL", "SATISFACTION", "RELATIONSHIP", "STRENGTH", "HOW"}, rows)
		},
	}
	f.register(cmd)
	cmd.Flags().StringSliceVar(&targets, "target", nil, "only these frameworks (id or name; repeat or comma-separate)")
	cmd.Flags().Int32Var(&maxHops, "max-hops", 0, "longest inferred path, 1-5 (server default 3)")
	cmd.Flags().Int32Var(&minStrenth, "min-strength", 0, "leave out mappings weaker than this (0-10)")
	cmd.Flags().BoolVar(&direct, "direct", false, "direct mappings only, nothing inferred")
	cmd.Flags().BoolVar(&draft, "include-draft", false, "count DRAFT mappings too")
	return cmd
}

func coverageCommand() *cobra.Command {
	var (
		f              clientFlags
		source, target string
		draft          bool
	)
	cmd := &cobra.Command{
		Use:   "coverage --source FRAMEWORK --target FRAMEWORK",
		Short: "How much of a target framework implementing a source framework covers",
		Long: `Ask a running controlmap how much of --target implementing every control of
--source covers: FULL, PARTIAL and NONE by group of the target, and in all.
--source may be an internal framework of the token's tenant: its controls
count as their implementation status says.

` + exitCodesHelp,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if source == "" || target == "" {
				return usage("--source and --target are required")
			}
			conn, err := f.dial()
			if err != nil {
				return err
			}
			defer conn.Close()
			resp, err := cmv1.NewSatisfactionServiceClient(conn).ComputeCoverage(cmd.Context(), &cmv1.ComputeCoverageRequest{
				Source: &cmv1.CoverageSource{Framework: frameworkName(source)}, Target: frameworkName(target), IncludeDraft: draft})
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(cmd.OutOrStdout(), resp)
			}
			share := func(t *cmv1.CoverageTotals) []string {
				return []string{fmt.Sprint(t.GetTotal()), fmt.Sprintf("%d (%.0f%%)", t.GetFull(), 100*t.GetFullShare()),
					fmt.Sprintf("%d (%.0f%%)", t.GetPartial(), 100*t.GetPartialShare()), fmt.Sprintf("%d (%.0f%%)", t.GetNone(), 100*t.GetNoneShare())}
			}
			var rows [][]string
			for _, g := range resp.GetGroups() {
				rows = append(rows, append([]string{strings.TrimPrefix(g.GetGroup(), resp.GetTarget()+"/controls/"), g.GetTitle()}, share(g.GetTotals())...))
			}
			rows = append(rows, append([]string{"all", ""}, share(resp.GetTotals())...))
			if err := table(cmd.OutOrStdout(), []string{"GROUP", "TITLE", "CONTROLS", "FULL", "PARTIAL", "NONE"}, rows); err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), "\n"+resp.GetNotice())
			return err
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&source, "source", "", "the framework implemented (id or name)")
	cmd.Flags().StringVar(&target, "target", "", "the framework to cover (id or name)")
	cmd.Flags().BoolVar(&draft, "include-draft", false, "count DRAFT mappings too")
	return cmd
}

func importCommand() *cobra.Command {
	var (
		f                   clientFlags
		format, frameworkID string
		kind                string
		dryRun, lenient     bool
		binds               []string
	)
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Import a framework or crosswalk file (OSCAL, OLIR, STRM, CISO Assistant, JSON) into a server",
		Long: `Send FILE ("-" for standard input) to a running controlmap's Import, in
pieces, as one write. The format is told from the file when --format is not
given: oscal-catalog, oscal-mapping, olir-csv, strm-csv, ciso-yaml or json.

--bind KEY=FRAMEWORK says which framework a resource of the file is: KEY as
the file names it (an OSCAL href, a CISO Assistant URN; "source" and "target"
for the two sides of an OLIR or STRM sheet). Without --lenient the first
problem fails the import. --dry-run writes nothing and reports on the whole
file: every row that cannot be applied, and (without --lenient, exit code 4)
that the import would be refused.

` + exitCodesHelp,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, closeIn, err := openInput(cmd, args[0])
			if err != nil {
				return err
			}
			defer closeIn()
			head := make([]byte, 4096)
			n, err := io.ReadFull(in, head)
			if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
				return err
			}
			head = head[:n]
			if format == "" {
				fm, ok := interchange.Detect(args[0], head)
				if !ok {
					return usage("cannot tell the format of %s: give --format (%s)", args[0], formatList())
				}
				format = string(fm)
			}
			opts := &cmv1.ImportOptions{Format: format, ValidateOnly: dryRun, FrameworkId: frameworkID, Bindings: map[string]string{}}
			if lenient {
				opts.Mode = cmv1.ImportMode_IMPORT_MODE_LENIENT
			}
			if kind != "" {
				v, ok := cmv1.FrameworkKind_value["FRAMEWORK_KIND_"+strings.ToUpper(kind)]
				if !ok {
					return usage("--kind must be standard, regulation, framework or internal, got %q", kind)
				}
				opts.FrameworkKind = cmv1.FrameworkKind(v)
			}
			for _, b := range binds {
				i := strings.LastIndexByte(b, '=')
				if i <= 0 || i == len(b)-1 {
					return usage("--bind takes KEY=FRAMEWORK, got %q", b)
				}
				opts.Bindings[b[:i]] = b[i+1:]
			}
			conn, err := f.dial()
			if err != nil {
				return err
			}
			defer conn.Close()
			resp, err := sendImport(cmd.Context(), cmv1.NewInterchangeServiceClient(conn), opts, io.MultiReader(strings.NewReader(string(head)), in))
			if err != nil {
				return err
			}
			if f.json {
				if err := printJSON(cmd.OutOrStdout(), resp); err != nil || !resp.GetRefused() {
					return err
				}
				return errRefused
			}
			return printImport(cmd.OutOrStdout(), resp)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&format, "format", "", "the file's format: "+formatList())
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "check and report, write nothing")
	cmd.Flags().BoolVar(&lenient, "lenient", false, "skip rows that cannot be applied (reported) instead of failing")
	cmd.Flags().StringArrayVar(&binds, "bind", nil, "KEY=FRAMEWORK: the framework a resource of the file is (repeatable)")
	cmd.Flags().StringVar(&frameworkID, "framework-id", "", "id of the framework a catalog or CISO Assistant framework file creates or updates")
	cmd.Flags().StringVar(&kind, "kind", "", "kind of a framework the import creates: standard, regulation or framework (operator), internal (tenant)")
	return cmd
}

// copyExport writes the first piece of an export and every next one.
func copyExport(w io.Writer, first []byte, recv func() ([]byte, error)) error {
	for data := first; ; {
		if _, err := w.Write(data); err != nil {
			return err
		}
		var err error
		if data, err = recv(); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
}

func formatList() string {
	out := make([]string, len(interchange.Formats))
	for i, f := range interchange.Formats {
		out[i] = string(f)
	}
	return strings.Join(out, ", ")
}

// openInput opens a file, or standard input for "-".
func openInput(cmd *cobra.Command, name string) (io.Reader, func(), error) {
	if name == "-" {
		return cmd.InOrStdin(), func() {}, nil
	}
	fh, err := os.Open(name)
	if err != nil {
		return nil, nil, &exitError{code: exitUsage, err: err}
	}
	return fh, func() { fh.Close() }, nil
}

// sendImport streams r to Import in pieces of 256 KiB.
func sendImport(ctx context.Context, c cmv1.InterchangeServiceClient, opts *cmv1.ImportOptions, r io.Reader) (*cmv1.ImportResponse, error) {
	stream, err := c.Import(ctx)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 256<<10)
	for first := true; ; first = false {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 || first {
			msg := &cmv1.ImportRequest{Chunk: buf[:n]}
			if first {
				msg.Options = opts
			}
			if err := stream.Send(msg); err != nil {
				break // the server answered early: CloseAndRecv has its answer
			}
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return nil, rerr
		}
	}
	return stream.CloseAndRecv()
}

// errRefused ends a strict dry run that found rows it cannot apply.
var errRefused = &exitError{code: exitRejected, err: errors.New("the import would be refused at the first skipped row; --lenient skips them")}

func printImport(w io.Writer, resp *cmv1.ImportResponse) error {
	var rows [][]string
	for _, c := range resp.GetCounts() {
		rows = append(rows, []string{c.GetKind(), fmt.Sprint(c.GetCreated()), fmt.Sprint(c.GetUpdated()), fmt.Sprint(c.GetUnchanged()), fmt.Sprint(c.GetSkipped())})
	}
	if err := table(w, []string{"KIND", "CREATED", "UPDATED", "UNCHANGED", "SKIPPED"}, rows); err != nil {
		return err
	}
	keys := make([]string, 0, len(resp.GetBindings()))
	for k := range resp.GetBindings() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "bound %s to %s\n", k, resp.GetBindings()[k])
	}
	for _, p := range resp.GetProblems() {
		what := "warning"
		if p.GetSkipped() {
			what = "skipped"
		}
		loc := p.GetLocation()
		if loc != "" {
			loc += ": "
		}
		fmt.Fprintf(w, "%s: %s%s\n", what, loc, p.GetMessage())
	}
	var err error
	switch {
	case resp.GetRefused():
		fmt.Fprintln(w, "dry run: nothing written")
		return errRefused
	case resp.GetValidateOnly():
		_, err = fmt.Fprintln(w, "dry run: nothing written")
	case resp.GetRevision() == 0:
		_, err = fmt.Fprintln(w, "nothing changed")
	default:
		_, err = fmt.Fprintf(w, "imported at revision %d\n", resp.GetRevision())
	}
	return err
}

func exportCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export a framework or a crosswalk from a server as a file",
	}
	var (
		f      clientFlags
		format string
		out    string
	)
	// write copies the export to standard output or, whole or not at all,
	// to --output: the file is written beside it and renamed once the
	// export has ended well, so a failed export leaves an older file as it
	// was.
	write := func(cmd *cobra.Command, recv func() ([]byte, error)) error {
		first, err := recv() // a refused export creates no file
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if out == "" || out == "-" {
			return copyExport(cmd.OutOrStdout(), first, recv)
		}
		tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
		if err != nil {
			return &exitError{code: exitUsage, err: err}
		}
		defer os.Remove(tmp.Name()) // after the rename, there is nothing left to remove
		if err := copyExport(tmp, first, recv); err != nil {
			tmp.Close()
			return err
		}
		if err := tmp.Close(); err != nil {
			return err
		}
		return os.Rename(tmp.Name(), out)
	}
	// export runs one export: open starts its stream and returns how to
	// read the next piece.
	export := func(cmd *cobra.Command, open func(c cmv1.InterchangeServiceClient) (func() ([]byte, error), error)) error {
		conn, err := f.dial()
		if err != nil {
			return err
		}
		defer conn.Close()
		recv, err := open(cmv1.NewInterchangeServiceClient(conn))
		if err != nil {
			return err
		}
		return write(cmd, recv)
	}
	framework := &cobra.Command{
		Use:   "framework FRAMEWORK --format oscal-catalog|ciso-yaml",
		Short: "Export a framework and its controls",
		Long:  "Write a framework of a running controlmap to standard output or --output.\n\n" + exitCodesHelp,
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return export(cmd, func(c cmv1.InterchangeServiceClient) (func() ([]byte, error), error) {
				stream, err := c.ExportFramework(cmd.Context(), &cmv1.ExportFrameworkRequest{Name: frameworkName(args[0]), Format: format})
				return func() ([]byte, error) { msg, err := stream.Recv(); return msg.GetData(), err }, err
			})
		},
	}
	crosswalk := &cobra.Command{
		Use:   "crosswalk SOURCE TARGET --format oscal-mapping|olir-csv|strm-csv|ciso-yaml|json",
		Short: "Export the mappings between two frameworks, read from SOURCE to TARGET",
		Long:  "Write a crosswalk of a running controlmap to standard output or --output.\n\n" + exitCodesHelp,
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return export(cmd, func(c cmv1.InterchangeServiceClient) (func() ([]byte, error), error) {
				stream, err := c.ExportCrosswalk(cmd.Context(), &cmv1.ExportCrosswalkRequest{Source: args[0], Target: args[1], Format: format})
				return func() ([]byte, error) { msg, err := stream.Recv(); return msg.GetData(), err }, err
			})
		},
	}
	for _, c := range []*cobra.Command{framework, crosswalk} {
		c.Flags().StringVar(&f.server, "server", env("CONTROLMAP_SERVER", "localhost:9090"), "host:port of controlmap's gRPC port (CONTROLMAP_SERVER)")
		c.Flags().BoolVar(&f.useTLS, "tls", false, "connect with TLS, verifying the server against the system's roots")
		c.Flags().BoolVar(&f.plaintext, "plaintext", false, "send the token without TLS to a server on another host (only where the network encrypts)")
		c.Flags().StringVar(&format, "format", "", "the file format (required)")
		c.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of standard output")
		// Checked here, not with MarkFlagRequired: cobra's error for a missing
		// flag would exit with 1, not the usage code.
		c.PreRunE = func(*cobra.Command, []string) error {
			if format == "" {
				return usage("--format is required")
			}
			return nil
		}
	}
	cmd.AddCommand(framework, crosswalk)
	return cmd
}
