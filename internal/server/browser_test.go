package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

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

// view waits until the page has drawn the figures of a view.
func view(name string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(`body[data-view="` + name + `"]`))
}

// TestExplorerInABrowser drives the explorer in a headless Chromium as a
// person would: it follows a control to what it satisfies and opens a
// proof, builds a coverage heatmap, checks the figures on screen against
// the API's answers, uses a tenant's key, works the keyboard and a narrow
// screen, runs axe-core on every page, and reports how long the figures
// take to appear.
func TestExplorerInABrowser(t *testing.T) {
	browser := need(t, "Chromium", chromium())
	axePath := need(t, "axe-core", axeScript())
	axe, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatal(err)
	}
	s := startDefault(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.WindowSize(1280, 800))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, done := context.WithTimeout(ctx, 30*time.Second)
		defer done()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(what, js string, out any) {
		t.Helper()
		sctx, done := context.WithTimeout(ctx, 30*time.Second)
		defer done()
		raw, err := chromedp.Run(sctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
		if err == nil && out != nil {
			err = jsonUnmarshal(raw, out)
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	accessible := func(page string) {
		t.Helper()
		var violations []struct {
			ID, Impact, Help string
			Nodes            []struct{ Target []string }
		}
		eval("axe on "+page, string(axe)+`;axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)`, &violations)
		for _, v := range violations {
			if v.Impact == "serious" || v.Impact == "critical" {
				t.Errorf("%s: %s (%s): %s, at %v", page, v.ID, v.Impact, v.Help, v.Nodes)
			}
		}
	}
	drawnAt := func(what string) float64 {
		var ms float64
		eval(what, `performance.getEntriesByName('controlmap:drawn').at(-1).startTime`, &ms)
		return ms
	}
	ui := s.base + "/ui/"
	// phases splits a fresh load: when the app started (its script
	// evaluated, after the browser fetched and parsed the page), how long
	// its API calls took, and how long drawing took once they answered.
	type loadPhases struct{ Start, API, Draw float64 }
	phases := func() loadPhases {
		var p loadPhases
		eval("phases", `(() => { const api = performance.getEntriesByType('resource').filter(e => e.name.includes('/v1/'));
			const first = Math.min(...api.map(e => e.startTime)), last = Math.max(...api.map(e => e.responseEnd));
			const drawn = performance.getEntriesByName('controlmap:drawn').at(-1).startTime;
			return {Start: first, API: last - first, Draw: drawn - last}; })()`, &p)
		return p
	}
	// coldLoad loads a page afresh (from about:blank, so not a same-page
	// navigation) and returns when its figures were on screen, from the
	// navigation's start. The first load of all also pays for starting
	// the browser's renderer: it is done twice, the second one counts.
	coldLoad := func(what, url, name string) float64 {
		t.Helper()
		var ms float64
		for range 2 {
			step(what, chromedp.Navigate("about:blank"), chromedp.Navigate(url), view(name))
			ms = drawnAt(what)
		}
		return ms
	}

	// A control: what it satisfies, as the API says, and a proof.
	coldControl := coldLoad("control page", ui+"#/control/iso-27001-2022/A.5.1", "control")
	controlPhases := phases()
	var onScreen [][2]string
	eval("rows", `[...document.querySelectorAll('tr[data-control]')].map(tr => [tr.dataset.control, tr.children[1].textContent])`, &onScreen)
	sat, err := cmv1.NewSatisfactionServiceClient(s.conn).Satisfies(ctxT(t), &cmv1.SatisfiesRequest{Control: "frameworks/iso-27001-2022/controls/A.5.1", MaxHops: 3})
	if err != nil {
		t.Fatal(err)
	}
	var fromAPI [][2]string
	for _, f := range sat.GetFrameworks() {
		for _, c := range f.GetControls() {
			fromAPI = append(fromAPI, [2]string{c.GetControl(), strings.TrimPrefix(c.GetSatisfaction().String(), "SATISFACTION_")})
		}
	}
	if len(fromAPI) == 0 || !slices.Equal(onScreen, fromAPI) {
		t.Fatalf("on screen %v, the API says %v", onScreen, fromAPI)
	}
	first := fromAPI[0][0]
	ex, err := cmv1.NewSatisfactionServiceClient(s.conn).Explain(ctxT(t), &cmv1.ExplainRequest{Source: "frameworks/iso-27001-2022/controls/A.5.1", Target: first})
	if err != nil || len(ex.GetPaths()) == 0 {
		t.Fatalf("explain: %v", err)
	}
	m, err := s.crosswalk.GetMapping(ctxT(t), &cmv1.GetMappingRequest{Name: ex.GetPaths()[0].GetSteps()[0].GetMapping()})
	if err != nil {
		t.Fatal(err)
	}
	// From the keyboard: focus the first proof and press Enter.
	step("open a proof", chromedp.Focus(chromedp.CSS(`tr[data-control] details summary`)), chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`details[data-ready]`)))
	var proof string
	eval("proof", `document.querySelector('details[data-ready]').textContent`, &proof)
	if !strings.Contains(proof, m.GetMapping().GetJustification()) {
		t.Errorf("the proof does not show the mapping's justification %q:\n%s", m.GetMapping().GetJustification(), proof)
	}
	accessible("control")
	// A filter changed from the keyboard keeps the focus where it was.
	step("filter from the keyboard", chromedp.Focus(chromedp.CSS(`select[name="min"]`)), chromedp.KeyEvent(kb.ArrowDown),
		chromedp.WaitVisible(chromedp.CSS(`body[data-drawn="2"]`)))
	var focused string
	eval("focus after a filter", `document.activeElement.name + ' ' + location.hash`, &focused)
	if focused != "min #/control/iso-27001-2022/A.5.1?hops=3&min=1&inferred=1&draft=0" {
		t.Errorf("after changing a filter from the keyboard: focus and URL %q", focused)
	}
	// The skip link moves the focus to the content and leaves the view as it is.
	step("skip link", chromedp.Focus(chromedp.CSS(`#skip`)), chromedp.KeyEvent(kb.Enter))
	eval("skip link", `document.activeElement.id + ' ' + document.body.dataset.view + ' ' + location.hash.startsWith('#/control/')`, &focused)
	if focused != "main control true" {
		t.Errorf("after the skip link: %q", focused)
	}
	// A proof says which of its paths the page's filters leave out: with
	// inferred answers off, a direct answer's inferred paths. The first
	// ISO 27001 control with such an answer shows it.
	sats := cmv1.NewSatisfactionServiceClient(s.conn)
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
	step("proof with inferred off", chromedp.Navigate("about:blank"), chromedp.Navigate(ui+"#/control/iso-27001-2022/"+from+"?hops=3&min=0&inferred=0&draft=0"), view("control"),
		chromedp.Click(chromedp.CSS(`tr[data-control="`+withInferred+`"] details summary`)), chromedp.WaitVisible(chromedp.CSS(`details[data-ready]`)))
	var marks []string
	eval("left out", `[...document.querySelectorAll('details[data-ready] li.left-out')].map(li => li.firstChild.textContent)`, &marks)
	if !slices.ContainsFunc(marks, func(m string) bool { return strings.HasSuffix(m, "left out: inferred paths are off") }) {
		t.Errorf("with inferred answers off, the proof of %s -> %s marks %q", from, withInferred, marks)
	}
	step("back to A.5.1", chromedp.Navigate("about:blank"), chromedp.Navigate(ui+"#/control/iso-27001-2022/A.5.1"), view("control"))

	// In-page navigation to another control.
	eval("warm navigation", `performance.mark('controlmap:navigate'); location.hash = '#/control/iso-27001-2022/A.8.16'; 0`, nil)
	step("second control", chromedp.WaitVisible(chromedp.CSS(`body[data-drawn="2"]`)))
	var warmControl float64
	eval("warm timing", `performance.getEntriesByName('controlmap:drawn').at(-1).startTime - performance.getEntriesByName('controlmap:navigate').at(-1).startTime`, &warmControl)
	var apiControl float64
	eval("the same calls alone", `(async () => { const t = performance.now();
		await Promise.all([fetch('/v1/frameworks/iso-27001-2022/controls/A.8.16').then(r => r.json()),
			fetch('/v1/frameworks/iso-27001-2022/controls/A.8.16:satisfies?max_hops=3&min_strength=0&include_inferred=true&include_draft=false').then(r => r.json())]);
		return performance.now() - t })()`, &apiControl)

	// The coverage heatmap, figures as the API computes them.
	coldCoverage := coldLoad("coverage page", ui+"#/coverage?source=iso-27001-2022&target=iso-42001-2023", "coverage")
	coveragePhases := phases()
	var all []string
	eval("totals", `[...document.querySelectorAll('#heatmap tbody tr:last-child td')].slice(0, 4).map(td => td.textContent)`, &all)
	cov, err := cmv1.NewSatisfactionServiceClient(s.conn).ComputeCoverage(ctxT(t), &cmv1.ComputeCoverageRequest{
		Source: &cmv1.CoverageSource{Framework: "frameworks/iso-27001-2022"}, Target: "frameworks/iso-42001-2023"})
	if err != nil {
		t.Fatal(err)
	}
	tot := cov.GetTotals()
	pct := func(x float64) string { return fmt.Sprintf("%.0f%%", 100*x) }
	want := []string{fmt.Sprint(tot.GetTotal()), fmt.Sprintf("%d (%s)", tot.GetFull(), pct(tot.GetFullShare())),
		fmt.Sprintf("%d (%s)", tot.GetPartial(), pct(tot.GetPartialShare())), fmt.Sprintf("%d (%s)", tot.GetNone(), pct(tot.GetNoneShare()))}
	if !slices.Equal(all, want) {
		t.Errorf("coverage totals on screen %v, the API says %v", all, want)
	}
	var apiCoverage float64
	eval("coverage call alone", `(async () => { const t = performance.now();
		await fetch('/v1/coverage:compute', {method: 'POST', headers: {'Content-Type': 'application/json'},
			body: JSON.stringify({source: {framework: 'frameworks/iso-27001-2022'}, target: 'frameworks/iso-42001-2023'})}).then(r => r.json());
		return performance.now() - t })()`, &apiCoverage)
	accessible("coverage")
	// In-page: to another coverage and back.
	eval("other coverage", `location.hash = '#/coverage?source=iso-27001-2022&target=nist-ai-rmf-1.0'; 0`, nil)
	step("other coverage", chromedp.WaitVisible(chromedp.CSS(`body[data-drawn="2"]`)))
	eval("warm coverage", `performance.mark('controlmap:navigate'); location.hash = '#/coverage?source=iso-27001-2022&target=iso-42001-2023'; 0`, nil)
	step("coverage again", chromedp.WaitVisible(chromedp.CSS(`body[data-drawn="3"]`)))
	var warmCoverage float64
	eval("warm coverage timing", `performance.getEntriesByName('controlmap:drawn').at(-1).startTime - performance.getEntriesByName('controlmap:navigate').at(-1).startTime`, &warmCoverage)
	// A coverage the API refuses keeps the form, with the reason under it.
	step("refused coverage", chromedp.Navigate("about:blank"), chromedp.Navigate(ui+"#/coverage?source=iso-42001-2023&target=iso-42001-2023"), view("coverage-error"))
	var shown string
	eval("refused coverage", `document.querySelectorAll('main select').length + ' ' + document.querySelector('main [role=alert]').textContent`, &shown)
	if !strings.HasPrefix(shown, "2 ") || !strings.Contains(shown, "must differ") {
		t.Errorf("a refused coverage shows %q", shown)
	}
	accessible("coverage-error")
	if dir := os.Getenv("CONTROLMAP_SCREENSHOTS"); dir != "" {
		step("coverage again", chromedp.Navigate("about:blank"), chromedp.Navigate(ui+"#/coverage?source=iso-27001-2022&target=iso-42001-2023"), view("coverage"))
		shot(t, ctx, filepath.Join(dir, "coverage.png"))
		step("control page with a proof", chromedp.Navigate(ui+"#/control/iso-42001-2023/6.1.3?hops=3&min=6&inferred=1&draft=0"), view("control"),
			chromedp.Click(chromedp.CSS(`tr[data-control] details summary`)), chromedp.WaitVisible(chromedp.CSS(`details[data-ready]`)))
		shot(t, ctx, filepath.Join(dir, "control.png"))
	}

	// Every other page passes axe too.
	for _, p := range []struct{ hash, view string }{{"#/", "frameworks"}, {"#/frameworks/nist-ai-rmf-1.0", "framework"},
		{"#/crosswalks", "crosswalks"}, {"#/crosswalk/iso-27001-2022/iso-42001-2023", "crosswalk"},
		{"#/crosswalk/iso-42001-2023/nist-ai-rmf-1.0", "crosswalk"}, // every colour of the matrix
		{"#/mapping/" + strings.TrimPrefix(m.GetMapping().GetName(), "mappings/"), "mapping"}} {
		// A fresh load each: from one crosswalk to another is only a new
		// fragment, and the view's name would be there before its figures.
		step(p.view, chromedp.Navigate("about:blank"), chromedp.Navigate(ui+p.hash), view(p.view))
		accessible(p.view)
	}
	// The control tree finds a control by any spelling of its id.
	step("search", chromedp.Navigate(ui+"#/frameworks/nist-ai-rmf-1.0"), view("framework"), chromedp.SendKeys(chromedp.CSS("#search"), "gv 1.2"))
	var hits []string
	eval("hits", `[...document.querySelectorAll('#main ul.tree a')].map(a => a.textContent)`, &hits)
	if !slices.Contains(hits, "GOVERN-1.2") || slices.Contains(hits, "MAP-1.1") || len(hits) > 3 {
		t.Errorf("searching gv 1.2 found %v", hits)
	}
	// A narrow screen scrolls no page sideways.
	step("narrow", chromedp.EmulateViewport(375, 800), chromedp.Navigate(ui+"#/coverage?source=iso-27001-2022&target=nist-ai-rmf-1.0"), view("coverage"))
	var overflow bool
	eval("overflow", `document.documentElement.scrollWidth > window.innerWidth + 1`, &overflow)
	if overflow {
		t.Error("the coverage page scrolls sideways on a narrow screen")
	}
	step("wide again", chromedp.EmulateViewport(1280, 800))

	// A tenant's key: kept in sessionStorage, never in the URL, and its
	// internal framework shows.
	_, acme := newTenantWithKey(t, s, "acme", "SCOPE_READ", "SCOPE_WRITE")
	if r := s.rest(t, "POST", "/v1/frameworks?framework_id=acme-isms", map[string]any{"displayName": "Acme ISMS"}, key(acme)...); r.status != 200 {
		t.Fatal(r.status)
	}
	step("public list", chromedp.Navigate(ui+"#/"), view("frameworks"))
	step("key", chromedp.SendKeys(chromedp.CSS("#api-key"), acme), chromedp.Click(chromedp.CSS(`#key-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="#/frameworks/acme-isms"]`)))
	var stored, href string
	eval("stored key", `sessionStorage.getItem('controlmap.key')`, &stored)
	eval("url", `location.href`, &href)
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
	step("member of a group", chromedp.Navigate(ui+"#/control/acme-isms/POL-2"), view("control"))
	var how string
	eval("how", `document.querySelector('tr[data-control="frameworks/iso-42001-2023/controls/A.2.2"]').children[4].textContent`, &how)
	if !strings.HasPrefix(how, "member of group ") {
		t.Errorf("a member's answer shows %q", how)
	}
	step("group crosswalk", chromedp.Navigate(ui+"#/crosswalk/acme-isms/iso-42001-2023"), view("crosswalk"))
	var cells []string
	eval("cells", `[...document.querySelectorAll('.matrix tbody tr')].map(tr => tr.children[0].textContent + ':' + [...tr.querySelectorAll('button')].map(b => b.textContent).join(','))`, &cells)
	if !slices.Equal(cells, []string{"POL-1:1", "POL-2:1"}) {
		t.Errorf("the matrix counts the group as %v", cells)
	}
	accessible("tenant crosswalk")
	// Forgetting the key forgets what it showed.
	groupName := strings.TrimPrefix(group.str("mapping", "name"), "mappings/")
	step("the group mapping", chromedp.Navigate(ui+"#/mapping/"+groupName), view("mapping"), chromedp.Click(chromedp.CSS(`#key-clear`)), view("error"))

	t.Logf("figures on screen, from navigation start (cold) or in-page navigation (warm), next to the same API calls from the page:")
	t.Logf("  control page: cold %.0f ms (app started at %.0f ms, its API calls %.0f ms, drawing %.0f ms), warm %.0f ms; its API calls alone %.0f ms",
		coldControl, controlPhases.Start, controlPhases.API, controlPhases.Draw, warmControl, apiControl)
	t.Logf("  ISO 27001 -> ISO 42001 coverage heatmap: cold %.0f ms (app started at %.0f ms, its API calls %.0f ms, drawing %.0f ms), warm %.0f ms; its API call alone %.0f ms",
		coldCoverage, coveragePhases.Start, coveragePhases.API, coveragePhases.Draw, warmCoverage, apiCoverage)
}

// shot saves a screenshot of the viewport as a PNG.
func shot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err == nil {
		err = os.WriteFile(path, png, 0o644)
	}
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
}

func jsonUnmarshal(raw []byte, out any) error { return json.Unmarshal(raw, out) }
