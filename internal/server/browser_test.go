package server_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"google.golang.org/protobuf/proto"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
)

// need finds what a browser test needs: without it the test is skipped,
// except in CI, where that is a failure.
func need(t *testing.T, what string, found string) string {
	t.Helper()
	if found != "" {
		return found
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is missing: the browser tests need it (.ci/run installs it)", what)
	}
	t.Skipf("%s is missing; skipping the browser test", what)
	return ""
}

func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// axeScript is axe-core's script: CONTROLMAP_AXE_CORE, or the package
// installed globally with npm.
func axeScript() string {
	if p := os.Getenv("CONTROLMAP_AXE_CORE"); p != "" {
		return p
	}
	out, err := exec.Command("npm", "root", "-g").Output()
	if err != nil {
		return ""
	}
	p := filepath.Join(strings.TrimSpace(string(out)), "axe-core", "axe.min.js")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// relSymbols is how the page writes a relationship, read source -> target.
var relSymbols = map[cmv1.Relationship]string{cmv1.Relationship_RELATIONSHIP_EQUAL: "=", cmv1.Relationship_RELATIONSHIP_SUPERSET_OF: "⊇",
	cmv1.Relationship_RELATIONSHIP_SUBSET_OF: "⊆", cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH: "∩", cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP: "∅"}

// relRank orders relationships from the strongest, as the matrix does.
var relRank = map[cmv1.Relationship]int{cmv1.Relationship_RELATIONSHIP_EQUAL: 5, cmv1.Relationship_RELATIONSHIP_SUPERSET_OF: 4,
	cmv1.Relationship_RELATIONSHIP_SUBSET_OF: 3, cmv1.Relationship_RELATIONSHIP_INTERSECTS_WITH: 2, cmv1.Relationship_RELATIONSHIP_NO_RELATIONSHIP: 1}

const relPrefix = "RELATIONSHIP_"

// TestExplorerInABrowser drives the explorer in a headless Chromium as a
// person would: from the catalog through a framework's tree to a control,
// what it satisfies and a proof; a coverage built with the form and its
// CSV; a crosswalk's matrix and filters; a tenant's key. It checks what is
// on screen against the API's answers, runs axe-core on every page at
// 1280x800 and at 375 px, saves screenshots, and reports how long the
// figures take to appear.
func TestExplorerInABrowser(t *testing.T) {
	chromiumPath := need(t, "Chromium", chromium())
	axePath := need(t, "axe-core", axeScript())
	axe, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatal(err)
	}
	s := startDefault(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromiumPath), chromedp.NoSandbox, chromedp.WindowSize(1280, 800))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	downloads := t.TempDir()
	p := &page{ctx: ctx, ui: s.base + "/ui/", axe: string(axe)}
	// The window alone gives a smaller viewport (its frame takes some):
	// the page gets exactly 1280x800.
	// The browser starts with the first action on ctx itself: it lives as
	// long as that context, not a step's.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatalf("downloads: %v", err)
	}
	sats := cmv1.NewSatisfactionServiceClient(s.conn)
	const a51 = "frameworks/iso-27001-2022/controls/A.5.1"

	// Timings first, so that "cold" is the first load of the page in this
	// browser. They are reported at the end, not asserted.
	var tm timings
	t.Run("timing", func(t *testing.T) { tm = measure(t, p) })

	t.Run("frameworks", func(t *testing.T) {
		p.load(t, "#/", "frameworks")
		var rows [][4]string
		p.eval(t, "frameworks", `[...document.querySelectorAll('#frameworks tbody tr')].map(tr => [tr.dataset.framework, tr.children[0].querySelector('a').textContent,
			tr.children[3].textContent, tr.children[4].textContent])`, &rows)
		list, err := s.catalog.ListFrameworks(ctxT(t), &cmv1.ListFrameworksRequest{PageSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var want [][4]string
		for _, f := range list.GetFrameworks() {
			want = append(want, [4]string{f.GetName(), f.GetDisplayName(), fmt.Sprint(f.GetControlCount()), fmt.Sprint(f.GetAssessableCount())})
		}
		if len(want) == 0 || !slices.Equal(rows, want) {
			t.Errorf("frameworks on screen %v, the API says %v", rows, want)
		}
	})

	// satisfiesRows is the Satisfies answer as the control page shows it.
	satisfiesRows := func(t *testing.T, req *cmv1.SatisfiesRequest) [][5]string {
		t.Helper()
		sat, err := sats.Satisfies(ctxT(t), req)
		if err != nil {
			t.Fatal(err)
		}
		var rows [][5]string
		for _, f := range sat.GetFrameworks() {
			for _, c := range f.GetControls() {
				how := "direct"
				switch {
				case c.GetGroup() != "":
					how = "member of group " + lastPart(c.GetGroup())
				case c.GetInferred():
					how = fmt.Sprintf("inferred (%d steps)", len(c.GetPath()))
				}
				rows = append(rows, [5]string{c.GetControl(), strings.TrimPrefix(c.GetSatisfaction().String(), "SATISFACTION_"),
					strings.TrimPrefix(c.GetRelationship().String(), relPrefix), fmt.Sprint(c.GetStrength()), how})
			}
		}
		return rows
	}
	onScreenRows := func(t *testing.T) [][5]string {
		t.Helper()
		var rows [][5]string
		p.eval(t, "satisfied rows", `[...document.querySelectorAll('tr[data-control]')].map(tr => [tr.dataset.control, tr.children[1].textContent,
			tr.children[2].textContent, tr.children[3].textContent, tr.children[4].querySelector('.how').textContent])`, &rows)
		return rows
	}

	t.Run("tree to control to proof", func(t *testing.T) {
		p.load(t, "#/", "frameworks")
		p.do(t, "a framework", chromedp.Click(chromedp.CSS(`#frameworks a[href="#/frameworks/iso-27001-2022"]`)), waitView("framework"))
		p.do(t, "a control of its tree", chromedp.Click(chromedp.CSS(`#main ul.tree a[href="#/control/iso-27001-2022/A.5.1"]`)), waitView("control"))
		rows, want := onScreenRows(t), satisfiesRows(t, &cmv1.SatisfiesRequest{Control: a51, MaxHops: 3})
		if len(want) == 0 || !slices.Equal(rows, want) {
			t.Fatalf("on screen %v, the API says %v", rows, want)
		}
		// From the keyboard: focus the first proof and press Enter.
		p.do(t, "open a proof", chromedp.Focus(chromedp.CSS(`tr[data-control] details summary`)), chromedp.KeyEvent(kb.Enter),
			chromedp.WaitVisible(chromedp.CSS(`details[data-ready]`)))
		ex, err := sats.Explain(ctxT(t), &cmv1.ExplainRequest{Source: a51, Target: want[0][0], MaxHops: 3})
		if err != nil || len(ex.GetPaths()) == 0 {
			t.Fatalf("explain: %v", err)
		}
		// Every path, every mapping of it, each with its justification,
		// status, method and source.
		var shown []struct {
			Steps []string
			Text  []string
		}
		p.eval(t, "proof", `[...document.querySelectorAll('details[data-ready] ol.paths > li')].map(li =>
			({Steps: [...li.querySelectorAll('li[data-mapping]')].map(s => s.dataset.mapping), Text: [...li.querySelectorAll('li[data-mapping]')].map(s => s.textContent)}))`, &shown)
		if len(shown) != len(ex.GetPaths()) {
			t.Fatalf("the proof shows %d paths, Explain %d", len(shown), len(ex.GetPaths()))
		}
		for i, path := range ex.GetPaths() {
			var steps []string
			for _, st := range path.GetSteps() {
				steps = append(steps, st.GetMapping())
			}
			if !slices.Equal(shown[i].Steps, steps) {
				t.Errorf("path %d: on screen %v, Explain %v", i, shown[i].Steps, steps)
				continue
			}
			for j, name := range steps {
				m, err := s.crosswalk.GetMapping(ctxT(t), &cmv1.GetMappingRequest{Name: name})
				if err != nil {
					t.Fatal(err)
				}
				pr := m.GetMapping().GetProvenance()
				for _, want := range []string{m.GetMapping().GetJustification(), "Status " + strings.TrimPrefix(pr.GetStatus().String(), "MAPPING_STATUS_"),
					"method " + strings.TrimPrefix(pr.GetMethod().String(), "MAPPING_METHOD_"), "source: " + cmpOr(pr.GetDocument(), "n/a")} {
					if !strings.Contains(shown[i].Text[j], want) {
						t.Errorf("path %d, mapping %s: %q does not show %q", i, name, shown[i].Text[j], want)
					}
				}
			}
		}
		p.accessible(t, "control with a proof")
		// A filter changed from the keyboard keeps the focus where it was.
		p.redraw(t, "filter from the keyboard", chromedp.Focus(chromedp.CSS(`select[name="min"]`)), chromedp.KeyEvent(kb.ArrowDown))
		var focused string
		p.eval(t, "focus after a filter", `document.activeElement.name + ' ' + location.hash`, &focused)
		if focused != "min #/control/iso-27001-2022/A.5.1?hops=3&min=1&inferred=1&draft=0" {
			t.Errorf("after changing a filter from the keyboard: focus and URL %q", focused)
		}
		// The skip link moves the focus to the content and leaves the view as it is.
		p.do(t, "skip link", chromedp.Focus(chromedp.CSS(`#skip`)), chromedp.KeyEvent(kb.Enter))
		p.eval(t, "skip link", `document.activeElement.id + ' ' + document.body.dataset.view + ' ' + location.hash.startsWith('#/control/')`, &focused)
		if focused != "main control true" {
			t.Errorf("after the skip link: %q", focused)
		}
	})

	t.Run("filters out of range", func(t *testing.T) {
		for _, c := range []struct {
			query     string
			hops, min int32
		}{{"hops=9&min=42", 5, 10}, {"hops=0&min=-1", 1, 0}, {"hops=two&min=", 3, 0}} {
			p.load(t, "#/control/iso-27001-2022/A.5.1?"+c.query, "control")
			var got struct {
				Hops, Min, Hash, Note string
			}
			p.eval(t, "filters", `({Hops: document.querySelector('select[name=hops]').value, Min: document.querySelector('select[name=min]').value,
				Hash: location.hash, Note: document.querySelector('#filter-notes')?.textContent || ''})`, &got)
			wantHash := fmt.Sprintf("#/control/iso-27001-2022/A.5.1?hops=%d&min=%d&inferred=1&draft=0", c.hops, c.min)
			if got.Hops != fmt.Sprint(c.hops) || got.Min != fmt.Sprint(c.min) || got.Hash != wantHash || got.Note == "" {
				t.Errorf("?%s: selects %s and %s, URL %s, note %q; want %d, %d, %s and a note", c.query, got.Hops, got.Min, got.Hash, got.Note, c.hops, c.min, wantHash)
			}
			rows, want := onScreenRows(t), satisfiesRows(t, &cmv1.SatisfiesRequest{Control: a51, MaxHops: c.hops, MinStrength: c.min})
			if !slices.Equal(rows, want) {
				t.Errorf("?%s: on screen %v, the API (max_hops %d, min_strength %d) says %v", c.query, rows, c.hops, c.min, want)
			}
		}
	})

	t.Run("malformed link", func(t *testing.T) {
		p.load(t, "#/control/iso-27001-2022/%E0%A4%A", "error")
		var alert string
		p.eval(t, "error", `document.querySelector('main h1').textContent + ': ' + document.querySelector('main [role=alert]').textContent`, &alert)
		if !strings.Contains(alert, "not a valid link") {
			t.Errorf("a malformed link shows %q", alert)
		}
	})

	t.Run("failed proof retried", func(t *testing.T) {
		p.load(t, "#/control/iso-27001-2022/A.5.1", "control")
		// A key the server refuses makes the proof's calls fail. It goes
		// whatever happens, or every later page would fail too.
		p.eval(t, "a bad key", `sessionStorage.setItem('controlmap.key', 'cmk_not_a_key'); 0`, nil)
		defer func() {
			if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[chromedp.Void](`sessionStorage.removeItem('controlmap.key')`)); err != nil {
				t.Errorf("removing the bad key: %v", err)
			}
		}()
		p.do(t, "open a proof", chromedp.Click(chromedp.CSS(`tr[data-control] details summary`)), chromedp.WaitVisible(chromedp.CSS(`details[data-failed]`)))
		var text string
		p.eval(t, "failure", `document.querySelector('details[data-failed]').textContent`, &text)
		if !strings.Contains(text, "could not be fetched") {
			t.Errorf("a failed proof shows %q", text)
		}
		p.eval(t, "no key", `sessionStorage.removeItem('controlmap.key'); 0`, nil)
		p.do(t, "close and open it again", chromedp.Click(chromedp.CSS(`tr[data-control] details summary`)), chromedp.Click(chromedp.CSS(`tr[data-control] details summary`)),
			chromedp.WaitVisible(chromedp.CSS(`details[data-loaded][data-ready]`)))
		var after struct {
			Paths, Errors int
		}
		p.eval(t, "retried", `({Paths: document.querySelectorAll('details[data-loaded] ol.paths > li').length, Errors: document.querySelectorAll('details[data-loaded] .proof-error').length})`, &after)
		if after.Paths == 0 || after.Errors != 0 {
			t.Errorf("reopened, the proof shows %d paths and %d errors", after.Paths, after.Errors)
		}
	})

	t.Run("proof marks what filters leave out", func(t *testing.T) {
		// With inferred answers off, a direct answer's inferred paths: the
		// first ISO 27001 control with such an answer shows it.
		var from, withInferred string
		controls, err := s.catalog.ListControls(ctxT(t), &cmv1.ListControlsRequest{Parent: "frameworks/iso-27001-2022", PageSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
	search:
		for _, c := range controls.GetControls() {
			direct, err := sats.Satisfies(ctxT(t), &cmv1.SatisfiesRequest{Control: c.GetName(), IncludeInferred: proto.Bool(false)})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range direct.GetFrameworks() {
				for _, d := range f.GetControls() {
					ex, err := sats.Explain(ctxT(t), &cmv1.ExplainRequest{Source: c.GetName(), Target: d.GetControl()})
					if err != nil {
						t.Fatal(err)
					}
					// An inferred path that counts but for the page's filter.
					if slices.ContainsFunc(ex.GetPaths(), func(p *cmv1.ExplainedPath) bool { return p.GetInferred() && p.GetLeftOut() == "" }) {
						from, withInferred = c.GetRefId(), d.GetControl()
						break search
					}
				}
			}
		}
		if withInferred == "" {
			t.Fatal("no direct answer of an ISO 27001 control has an inferred path too: the proof filter is not tested")
		}
		p.load(t, "#/control/iso-27001-2022/"+from+"?hops=3&min=0&inferred=0&draft=0", "control")
		p.do(t, "proof with inferred off", chromedp.Click(chromedp.CSS(`tr[data-control="`+withInferred+`"] details summary`)), chromedp.WaitVisible(chromedp.CSS(`details[data-ready]`)))
		var marks []string
		p.eval(t, "left out", `[...document.querySelectorAll('details[data-ready] li.left-out')].map(li => li.firstChild.textContent)`, &marks)
		if !slices.ContainsFunc(marks, func(m string) bool { return strings.HasSuffix(m, "left out: inferred paths are off") }) {
			t.Errorf("with inferred answers off, the proof of %s -> %s marks %q", from, withInferred, marks)
		}
	})

	t.Run("search", func(t *testing.T) {
		hits := func(t *testing.T, fw, query string) []string {
			t.Helper()
			p.load(t, "#/frameworks/"+fw, "framework")
			p.do(t, "search", chromedp.SendKeys(chromedp.CSS("#search"), query))
			var hits []string
			p.eval(t, "hits", `[...document.querySelectorAll('#main ul.tree a')].map(a => a.textContent)`, &hits)
			return hits
		}
		// Any spelling of an id.
		if h := hits(t, "nist-ai-rmf-1.0", "gv 1.2"); !slices.Contains(h, "GOVERN-1.2") || slices.Contains(h, "MAP-1.1") || len(h) > 3 {
			t.Errorf("searching gv 1.2 found %v", h)
		}
		// The exact id first, then the ids it begins and the titles that
		// have the words (GOVERN-1.4, "risk management", comes before
		// MANAGE in the tree).
		if h := hits(t, "iso-27001-2022", "a.5.1"); len(h) < 2 || h[0] != "A.5.1" || !slices.Contains(h, "A.5.10") {
			t.Errorf("searching a.5.1 found %v", h)
		}
		if h := hits(t, "nist-ai-rmf-1.0", "manage"); len(h) < 2 || h[0] != "MANAGE" || !slices.Contains(h, "GOVERN-1.4") {
			t.Errorf("searching manage found %v", h)
		}
	})

	// coverageOnScreen checks a drawn coverage against ComputeCoverage:
	// every row of the heatmap, and the three lists.
	checkCoverage := func(t *testing.T, source, target string) *cmv1.ComputeCoverageResponse {
		t.Helper()
		cov, err := sats.ComputeCoverage(ctxT(t), &cmv1.ComputeCoverageRequest{Source: &cmv1.CoverageSource{Framework: "frameworks/" + source}, Target: "frameworks/" + target})
		if err != nil {
			t.Fatal(err)
		}
		row := func(label string, tot *cmv1.CoverageTotals) [5]string {
			return [5]string{label, fmt.Sprint(tot.GetTotal()), fmt.Sprintf("%d (%s)", tot.GetFull(), share(tot.GetFullShare())),
				fmt.Sprintf("%d (%s)", tot.GetPartial(), share(tot.GetPartialShare())), fmt.Sprintf("%d (%s)", tot.GetNone(), share(tot.GetNoneShare()))}
		}
		var want [][5]string
		for _, g := range cov.GetGroups() {
			want = append(want, row(lastPart(g.GetGroup())+" "+g.GetTitle(), g.GetTotals()))
		}
		want = append(want, row("All", cov.GetTotals()))
		var rows [][5]string
		p.eval(t, "heatmap", `[...document.querySelectorAll('#heatmap tbody tr')].map(tr => [...tr.children].slice(0, 5).map(c => c.textContent))`, &rows)
		if len(cov.GetGroups()) == 0 || !slices.Equal(rows, want) {
			t.Errorf("%s -> %s: heatmap on screen %v, the API says %v", source, target, rows, want)
		}
		for _, gap := range []cmv1.GapClass{cmv1.GapClass_GAP_CLASS_REUSE, cmv1.GapClass_GAP_CLASS_EXTEND, cmv1.GapClass_GAP_CLASS_NEW} {
			label := strings.TrimPrefix(gap.String(), "GAP_CLASS_")
			label = label[:1] + strings.ToLower(label[1:])
			var members []string
			for _, c := range cov.GetControls() {
				if c.GetGap() == gap {
					members = append(members, lastPart(c.GetControl()))
				}
			}
			var shown struct {
				Heading string
				Members []string
			}
			p.eval(t, "list "+label, `(() => { const ol = document.getElementById('list-`+label+`');
				return {Heading: ol.closest('section').querySelector('h2').textContent, Members: [...ol.querySelectorAll('li')].map(li => li.textContent)}; })()`, &shown)
			if shown.Heading != fmt.Sprintf("%s (%d)", label, len(members)) || !slices.Equal(shown.Members, members) {
				t.Errorf("%s -> %s: %q lists %v, the API %d: %v", source, target, shown.Heading, shown.Members, len(members), members)
			}
		}
		return cov
	}

	t.Run("coverage from the form", func(t *testing.T) {
		p.load(t, "#/coverage", "coverage-form")
		p.do(t, "choose and compute", chromedp.SetValue(chromedp.CSS(`main select[name="source"]`), "iso-27001-2022"),
			chromedp.SetValue(chromedp.CSS(`main select[name="target"]`), "nist-ai-rmf-1.0"),
			chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)), waitView("coverage"))
		var hash string
		p.eval(t, "url", `location.hash`, &hash)
		if hash != "#/coverage?source=iso-27001-2022&target=nist-ai-rmf-1.0" {
			t.Errorf("the form leads to %s", hash)
		}
		checkCoverage(t, "iso-27001-2022", "nist-ai-rmf-1.0")
	})

	t.Run("coverage and its CSV", func(t *testing.T) {
		p.load(t, "#/coverage?source=iso-27001-2022&target=iso-42001-2023", "coverage")
		cov := checkCoverage(t, "iso-27001-2022", "iso-42001-2023")
		p.do(t, "download the CSV", chromedp.Click(chromedp.CSS(`#download-csv`)))
		got, err := csv.NewReader(bytes.NewReader(waitFile(t, downloads, "coverage_iso-27001-2022_iso-42001-2023.csv"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		want := [][]string{{"control", "status", "gap", "sources"}}
		for _, c := range cov.GetControls() {
			var sources []string
			for _, src := range c.GetSources() {
				if id := lastPart(src.GetControl()); !slices.Contains(sources, id) {
					sources = append(sources, id)
				}
			}
			want = append(want, []string{lastPart(c.GetControl()), strings.TrimPrefix(c.GetStatus().String(), "SATISFACTION_"),
				strings.TrimPrefix(c.GetGap().String(), "GAP_CLASS_"), strings.Join(sources, " ")})
		}
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("the CSV holds %v, the API says %v", got, want)
		}
	})

	t.Run("refused coverage", func(t *testing.T) {
		// A coverage the API refuses keeps the form, with the reason under it.
		p.load(t, "#/coverage?source=iso-42001-2023&target=iso-42001-2023", "coverage-error")
		var shown string
		p.eval(t, "refused coverage", `document.querySelectorAll('main select').length + ' ' + document.querySelector('main [role=alert]').textContent`, &shown)
		if !strings.HasPrefix(shown, "2 ") || !strings.Contains(shown, "must differ") {
			t.Errorf("a refused coverage shows %q", shown)
		}
		// A framework that is not in the catalog stays chosen.
		p.load(t, "#/coverage?source=no-such-framework&target=iso-42001-2023", "coverage-error")
		p.eval(t, "unknown source", `document.querySelector('main select[name=source]').value`, &shown)
		if shown != "no-such-framework" {
			t.Errorf("with an unknown source the form shows %q", shown)
		}
	})

	t.Run("crosswalk matrix and filters", func(t *testing.T) { crosswalkInBrowser(t, p, s) })

	t.Run("accessible", func(t *testing.T) {
		ex, err := sats.Explain(ctxT(t), &cmv1.ExplainRequest{Source: a51, Target: "frameworks/iso-42001-2023/controls/A.2.2", MaxHops: 3})
		var mappingID string
		if err == nil && len(ex.GetPaths()) > 0 {
			mappingID = lastPart(ex.GetPaths()[0].GetSteps()[0].GetMapping())
		} else {
			list, err := s.crosswalk.ListCrosswalkMappings(ctxT(t), &cmv1.ListCrosswalkMappingsRequest{Source: "iso-27001-2022", Target: "iso-42001-2023", PageSize: 1})
			if err != nil || len(list.GetMappings()) == 0 {
				t.Fatalf("a mapping: %v", err)
			}
			mappingID = lastPart(list.GetMappings()[0].GetName())
		}
		pages := []struct{ hash, view string }{{"#/", "frameworks"}, {"#/frameworks/nist-ai-rmf-1.0", "framework"},
			{"#/control/iso-27001-2022/A.5.1", "control"}, {"#/crosswalks", "crosswalks"},
			{"#/crosswalk/iso-27001-2022/iso-42001-2023", "crosswalk"},
			{"#/crosswalk/iso-42001-2023/nist-ai-rmf-1.0", "crosswalk"}, // every colour of the matrix
			{"#/mapping/" + mappingID, "mapping"}, {"#/coverage", "coverage-form"},
			{"#/coverage?source=iso-27001-2022&target=iso-42001-2023", "coverage"},
			{"#/coverage?source=iso-42001-2023&target=iso-42001-2023", "coverage-error"},
			{"#/control/iso-27001-2022/%E0%A4%A", "error"}}
		for _, size := range [][2]int64{{1280, 800}, {375, 800}} {
			p.do(t, "viewport", chromedp.EmulateViewport(size[0], size[1]))
			for _, pg := range pages {
				what := fmt.Sprintf("%s at %dx%d", pg.hash, size[0], size[1])
				p.load(t, pg.hash, pg.view)
				if pg.view == "control" {
					p.do(t, "open a proof", chromedp.Click(chromedp.CSS(`tr[data-control] details summary`)), chromedp.WaitVisible(chromedp.CSS(`details[data-ready]`)))
				}
				p.accessible(t, what)
				// No page scrolls sideways; a box that does scrolls, takes
				// the focus and is named.
				var layout struct {
					Overflow    bool
					Unfocusable []string
				}
				p.eval(t, "layout", `new Promise(r => requestAnimationFrame(() => r({Overflow: document.documentElement.scrollWidth > window.innerWidth + 1,
					Unfocusable: [...document.querySelectorAll('main *')].filter(e => { const st = getComputedStyle(e);
						return (e.scrollWidth > e.clientWidth + 1 && /auto|scroll/.test(st.overflowX)) || (e.scrollHeight > e.clientHeight + 1 && /auto|scroll/.test(st.overflowY)); })
						.filter(e => e.tabIndex < 0 || !e.getAttribute('aria-label')).map(e => e.outerHTML.slice(0, 80))})))`, &layout)
				if layout.Overflow {
					t.Errorf("%s: the page scrolls sideways", what)
				}
				if len(layout.Unfocusable) > 0 {
					t.Errorf("%s: these scroll but take no focus or have no name: %v", what, layout.Unfocusable)
				}
			}
		}
		p.do(t, "viewport", chromedp.EmulateViewport(1280, 800))
	})

	t.Run("screenshots", func(t *testing.T) {
		dir := os.Getenv("CONTROLMAP_SCREENSHOTS")
		if dir == "" {
			dir = t.TempDir()
		}
		p.load(t, "#/coverage?source=iso-27001-2022&target=iso-42001-2023", "coverage")
		p.shot(t, filepath.Join(dir, "coverage.png"), 1280, 800)
		p.load(t, "#/control/iso-42001-2023/6.1.3?hops=3&min=6&inferred=1&draft=0", "control")
		p.do(t, "a proof", chromedp.Click(chromedp.CSS(`tr[data-control] details summary`)), chromedp.WaitVisible(chromedp.CSS(`details[data-ready]`)))
		p.shot(t, filepath.Join(dir, "control.png"), 1280, 800)
	})

	t.Run("tenant key", func(t *testing.T) { tenantInBrowser(t, p, s) })

	t.Logf("figures on screen, from the navigation's start (loads) or the in-page navigation (warm), next to the same API calls alone from the page (median of 5):")
	t.Logf("  control page (ISO 27001 A.5.1): first load %.0f ms (app started at %.0f ms, its API calls %.0f ms, drawing %.0f ms), second load %.0f ms, warm %.0f ms; its API calls alone %.0f ms",
		tm.controlCold, tm.controlColdPhases.Start, tm.controlColdPhases.API, tm.controlColdPhases.Draw, tm.controlSecond, tm.controlWarm, tm.controlAPI)
	t.Logf("  ISO 27001 -> ISO 42001 coverage heatmap: first load %.0f ms (app started at %.0f ms, its API calls %.0f ms, drawing %.0f ms), second load %.0f ms, warm %.0f ms; its API calls alone %.0f ms",
		tm.coverageCold, tm.coverageColdPhases.Start, tm.coverageColdPhases.API, tm.coverageColdPhases.Draw, tm.coverageSecond, tm.coverageWarm, tm.coverageAPI)
}

func cmpOr(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}

// loadPhases splits a load: when the app started its API calls (after the
// browser fetched and parsed the page and its script), how long they took
// together, and how long drawing took once they answered.
type loadPhases struct{ Start, API, Draw float64 }

type timings struct {
	controlCold, controlSecond, controlWarm, controlAPI     float64
	coverageCold, coverageSecond, coverageWarm, coverageAPI float64
	controlColdPhases, coverageColdPhases                   loadPhases
}

// measure times the control page and the coverage heatmap: the first load
// of each in this browser, a second load, an in-page navigation, and the
// API calls each makes, alone.
func measure(t *testing.T, p *page) timings {
	var tm timings
	phases := func() loadPhases {
		var ph loadPhases
		p.eval(t, "phases", `(() => { const api = performance.getEntriesByType('resource').filter(e => e.name.includes('/v1/'));
			const first = Math.min(...api.map(e => e.startTime)), last = Math.max(...api.map(e => e.responseEnd));
			const drawn = performance.getEntriesByName('controlmap:drawn').at(-1).startTime;
			return {Start: first, API: last - first, Draw: drawn - last}; })()`, &ph)
		return ph
	}
	warm := func(what, hash string) float64 {
		p.redraw(t, what, chromedp.Evaluate[chromedp.Void](`performance.mark('controlmap:navigate'); location.hash = '`+hash+`'`))
		var ms float64
		p.eval(t, what, `performance.getEntriesByName('controlmap:drawn').at(-1).startTime - performance.getEntriesByName('controlmap:navigate').at(-1).startTime`, &ms)
		return ms
	}
	alone := func(what, calls string) float64 {
		var runs []float64
		for range 5 {
			var ms float64
			p.eval(t, what, `(async () => { const t = performance.now(); await Promise.all([`+calls+`].map(r => r.then(r => r.json()))); return performance.now() - t })()`, &ms)
			runs = append(runs, ms)
		}
		return median(runs)
	}

	// The very first page this browser loads.
	p.do(t, "first load of the control page", chromedp.Navigate(p.ui+"#/control/iso-27001-2022/A.5.1"), waitView("control"))
	tm.controlCold, tm.controlColdPhases = p.drawnAt(t), phases()
	p.load(t, "#/control/iso-27001-2022/A.5.1", "control")
	tm.controlSecond = p.drawnAt(t)
	tm.controlWarm = warm("to another control", "#/control/iso-27001-2022/A.8.16")
	// The calls of the page for A.8.16.
	tm.controlAPI = alone("the control's calls alone", `fetch('/v1/frameworks/iso-27001-2022/controls/A.8.16'),
		fetch('/v1/frameworks/iso-27001-2022/controls/A.8.16:satisfies?max_hops=3&min_strength=0&include_inferred=true&include_draft=false')`)

	// The first load of the coverage page.
	const cov = "#/coverage?source=iso-27001-2022&target=iso-42001-2023"
	p.load(t, cov, "coverage")
	tm.coverageCold, tm.coverageColdPhases = p.drawnAt(t), phases()
	p.load(t, cov, "coverage")
	tm.coverageSecond = p.drawnAt(t)
	p.redraw(t, "another coverage", chromedp.Evaluate[chromedp.Void](`location.hash = '#/coverage?source=iso-27001-2022&target=nist-ai-rmf-1.0'`))
	tm.coverageWarm = warm("back to the coverage", cov)
	// Both calls of the page: the framework list for the form, and the coverage.
	tm.coverageAPI = alone("the coverage's calls alone", `fetch('/v1/frameworks?page_size=1000'),
		fetch('/v1/coverage:compute', {method: 'POST', headers: {'Content-Type': 'application/json'},
			body: JSON.stringify({source: {framework: 'frameworks/iso-27001-2022'}, target: 'frameworks/iso-42001-2023'})})`)
	return tm
}

// crosswalkInBrowser checks the matrix of ISO 27001 -> ISO 42001 against
// the API, clicks a cell and works the relationship filter.
func crosswalkInBrowser(t *testing.T, p *page, s *stack) {
	const a, b = "iso-27001-2022", "iso-42001-2023"
	groupOf := map[string]string{}
	top := map[string]bool{}
	for _, fw := range []string{a, b} {
		token := ""
		for {
			r, err := s.catalog.ListControls(ctxT(t), &cmv1.ListControlsRequest{Parent: "frameworks/" + fw, PageSize: 1000, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range r.GetControls() {
				groupOf[c.GetName()] = cmpOr(c.GetGroup(), c.GetName())
				top[c.GetName()] = c.GetParent() == ""
			}
			if token = r.GetNextPageToken(); token == "" {
				break
			}
		}
	}
	var mappings []*cmv1.Mapping
	for token := ""; ; {
		r, err := s.crosswalk.ListCrosswalkMappings(ctxT(t), &cmv1.ListCrosswalkMappingsRequest{Source: a, Target: b, PageSize: 1000, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		mappings = append(mappings, r.GetMappings()...)
		if token = r.GetNextPageToken(); token == "" {
			break
		}
	}
	sides := func(one string, many []string) []string {
		if len(many) > 0 {
			return many
		}
		return []string{one}
	}
	// What each cell holds: the mappings whose sides touch its groups.
	type cellWant struct {
		names []string
		best  cmv1.Relationship
	}
	cells := map[[2]string]*cellWant{}
	var order [][2]string
	for _, m := range mappings {
		seen := map[[2]string]bool{}
		for _, src := range sides(m.GetSource(), m.GetSources()) {
			for _, tgt := range sides(m.GetTarget(), m.GetTargets()) {
				k := [2]string{lastPart(groupOf[src]), lastPart(groupOf[tgt])}
				if seen[k] || !top[groupOf[src]] || !top[groupOf[tgt]] {
					continue
				}
				seen[k] = true
				c := cells[k]
				if c == nil {
					c = &cellWant{}
					cells[k] = c
					order = append(order, k)
				}
				c.names = append(c.names, m.GetName())
				if relRank[m.GetRelationship()] > relRank[c.best] {
					c.best = m.GetRelationship()
				}
			}
		}
	}
	p.load(t, "#/crosswalk/"+a+"/"+b, "crosswalk")
	var onScreen [][5]string
	p.eval(t, "cells", `[...document.querySelectorAll('.matrix button')].map(b => [b.dataset.sg, b.dataset.tg, b.querySelector('.n').textContent,
		b.querySelector('.sym').textContent, b.className])`, &onScreen)
	got := map[[2]string][3]string{}
	for _, c := range onScreen {
		got[[2]string{c[0], c[1]}] = [3]string{c[2], c[3], c[4]}
	}
	if len(got) != len(cells) {
		t.Errorf("the matrix has %d cells, the API's mappings touch %d", len(got), len(cells))
	}
	for k, c := range cells {
		w := strings.TrimPrefix(c.best.String(), relPrefix)
		if want := [3]string{fmt.Sprint(len(c.names)), relSymbols[c.best], "rel-" + w}; got[k] != want {
			t.Errorf("cell %v: on screen %v, the API's mappings give %v", k, got[k], want)
		}
	}
	// The legend: five colours apart, each with readable text, and the
	// same symbols as the cells.
	var legend [][3]string
	p.eval(t, "legend", `[...document.querySelectorAll('.legend .swatch')].map(s => [s.textContent, getComputedStyle(s).backgroundColor, getComputedStyle(s).color])`, &legend)
	if len(legend) != 5 {
		t.Fatalf("the legend: %v", legend)
	}
	for i, l := range legend {
		if c := contrast(t, l[1], l[2]); c < 4.5 {
			t.Errorf("legend %s: text contrast %.2f", l[0], c)
		}
		for _, o := range legend[i+1:] {
			if c := contrast(t, l[1], o[1]); c < 1.5 {
				t.Errorf("legend %s and %s: colours %.2f:1 apart", l[0], o[0], c)
			}
		}
	}
	if syms := []string{legend[0][0], legend[1][0], legend[2][0], legend[3][0], legend[4][0]}; !slices.Equal(syms, []string{"=", "⊇", "⊆", "∩", "∅"}) {
		t.Errorf("the legend's symbols: %v", syms)
	}

	listed := func(t *testing.T) []string {
		t.Helper()
		var names []string
		p.eval(t, "listed", `[...document.querySelectorAll('#mapping-list tbody tr')].map(tr => tr.dataset.mapping)`, &names)
		return names
	}
	// The busiest cell, clicked.
	k := slices.MaxFunc(order, func(x, y [2]string) int { return len(cells[x].names) - len(cells[y].names) })
	cellSel := fmt.Sprintf(`.matrix button[data-sg="%s"][data-tg="%s"]`, k[0], k[1])
	p.redraw(t, "a cell", chromedp.Click(chromedp.CSS(cellSel)))
	if got := listed(t); !slices.Equal(got, cells[k].names) {
		t.Errorf("cell %v lists %v, the API's mappings of it are %v", k, got, cells[k].names)
	}
	var state string
	p.eval(t, "selected", `document.querySelector('`+cellSel+`').getAttribute('aria-pressed') + ' ' + document.activeElement.id`, &state)
	if state != "true mappings" {
		t.Errorf("after a click on a cell: %q", state)
	}
	// Every relationship unticked, one after the other: nothing listed.
	for _, r := range []string{"EQUAL", "SUPERSET_OF", "SUBSET_OF", "INTERSECTS_WITH", "NO_RELATIONSHIP"} {
		p.redraw(t, "untick "+r, chromedp.Click(chromedp.CSS(`input[name="rel-`+r+`"]`)))
		var focus string
		p.eval(t, "focus", `document.activeElement.name`, &focus)
		if focus != "rel-"+r {
			t.Errorf("after unticking %s the focus is on %q", r, focus)
		}
	}
	var none struct {
		Hash    string
		Checked int
		Rows    int
		Text    string
	}
	p.eval(t, "nothing ticked", `({Hash: location.hash, Checked: document.querySelectorAll('fieldset input:checked').length,
		Rows: document.querySelectorAll('#mapping-list tr').length, Text: document.getElementById('mapping-list').textContent})`, &none)
	if !strings.Contains(none.Hash, "rel=&") && !strings.HasSuffix(none.Hash, "rel=") || none.Checked != 0 || none.Rows != 0 || !strings.Contains(none.Text, "No relationship") {
		t.Errorf("with every relationship unticked: %+v", none)
	}
	// One ticked: that relationship's mappings of the cell.
	best := strings.TrimPrefix(cells[k].best.String(), relPrefix)
	p.redraw(t, "tick "+best, chromedp.Click(chromedp.CSS(`input[name="rel-`+best+`"]`)))
	only := func(names []string) []string {
		var out []string
		for _, m := range mappings {
			if slices.Contains(names, m.GetName()) && m.GetRelationship() == cells[k].best {
				out = append(out, m.GetName())
			}
		}
		return out
	}
	if got, want := listed(t), only(cells[k].names); len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("cell %v with %s only lists %v, want %v", k, best, got, want)
	}
	// "All mappings" leaves the cell, keeps the filter.
	p.redraw(t, "all mappings", chromedp.Click(chromedp.CSS(`#all-mappings`)))
	var all []string
	for _, m := range mappings {
		all = append(all, m.GetName())
	}
	if got, want := listed(t), only(all); !slices.Equal(got, want) {
		t.Errorf("all %s mappings: on screen %v, want %v", best, got, want)
	}
	var hash string
	p.eval(t, "url", `location.hash`, &hash)
	if hash != "#/crosswalk/"+a+"/"+b+"?rel="+best {
		t.Errorf("after All mappings the URL is %s", hash)
	}
}

// tenantInBrowser uses a tenant's key: kept in sessionStorage, never in the
// URL; its internal framework shows, a group of its controls is answered
// as a group, and forgetting the key forgets what it showed.
func tenantInBrowser(t *testing.T, p *page, s *stack) {
	_, acme := newTenantWithKey(t, s, "acme", "SCOPE_READ", "SCOPE_WRITE")
	if r := s.rest(t, "POST", "/v1/frameworks?framework_id=acme-isms", map[string]any{"displayName": "Acme ISMS"}, key(acme)...); r.status != 200 {
		t.Fatal(r.status)
	}
	p.load(t, "#/", "frameworks")
	p.do(t, "key", chromedp.SendKeys(chromedp.CSS("#api-key"), acme), chromedp.Click(chromedp.CSS(`#key-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="#/frameworks/acme-isms"]`)))
	var stored, href string
	p.eval(t, "stored key", `sessionStorage.getItem('controlmap.key')`, &stored)
	p.eval(t, "url", `location.href`, &href)
	if stored != acme || strings.Contains(href, acme) {
		t.Errorf("the key: stored %t, in the URL %t", stored == acme, strings.Contains(href, acme))
	}
	// A group of the tenant's controls: a member alone gives PARTIAL, named
	// as a group answer; the matrix counts it in each row its members are in.
	for _, c := range []string{"POL-1", "POL-2"} {
		if r := s.rest(t, "POST", "/v1/frameworks/acme-isms/controls?control_id="+c, map[string]any{"title": "Policy " + c, "implementationStatus": "IMPLEMENTATION_STATUS_IMPLEMENTED"}, key(acme)...); r.status != 200 {
			t.Fatal(r.status)
		}
	}
	group := s.rest(t, "POST", "/v1/mappings", map[string]any{"sources": []string{"frameworks/acme-isms/controls/POL-1", "frameworks/acme-isms/controls/POL-2"},
		"target": "frameworks/iso-42001-2023/controls/A.2.2", "relationship": "RELATIONSHIP_SUPERSET_OF", "reverseStrength": 6, "rationale": "RATIONALE_SEMANTIC",
		"justification": "Together they cover the AI policy.", "provenance": map[string]any{"status": "MAPPING_STATUS_APPROVED"}}, key(acme)...)
	if group.status != 200 {
		t.Fatalf("group: %d %s", group.status, group.raw)
	}
	p.load(t, "#/control/acme-isms/POL-2", "control")
	var how string
	p.eval(t, "how", `document.querySelector('tr[data-control="frameworks/iso-42001-2023/controls/A.2.2"] .how').textContent`, &how)
	groupName := group.str("mapping", "name")
	if how != "member of group "+lastPart(groupName) {
		t.Errorf("a member's answer shows %q", how)
	}
	p.load(t, "#/crosswalk/acme-isms/iso-42001-2023", "crosswalk")
	var cells []string
	p.eval(t, "cells", `[...document.querySelectorAll('.matrix tbody tr')].map(tr => tr.children[0].textContent + ':' + [...tr.querySelectorAll('button')].map(b => b.textContent).join(','))`, &cells)
	if !slices.Equal(cells, []string{"POL-1:1 ⊇", "POL-2:1 ⊇"}) {
		t.Errorf("the matrix counts the group as %v", cells)
	}
	p.accessible(t, "tenant crosswalk")
	// Forgetting the key forgets what it showed.
	p.load(t, "#/mapping/"+lastPart(groupName), "mapping")
	p.do(t, "forget the key", chromedp.Click(chromedp.CSS(`#key-clear`)), waitView("error"))
}
