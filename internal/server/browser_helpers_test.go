package server_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// page drives the explorer in one tab of the test's browser. Its methods
// take the test (or subtest) that a failure belongs to.
type page struct {
	ctx context.Context
	ui  string // the explorer's address, ending in /ui/
	axe string // axe-core's script
}

// do runs browser actions, bounded so that a hanging step ends the test.
func (p *page) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, done := context.WithTimeout(p.ctx, 30*time.Second)
	defer done()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a script in the page, awaiting a promise it returns, and
// decodes its value into out (when not nil).
func (p *page) eval(t *testing.T, what, js string, out any) {
	t.Helper()
	ctx, done := context.WithTimeout(p.ctx, 30*time.Second)
	defer done()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if err == nil && out != nil {
		err = json.Unmarshal(raw, out)
	}
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// load opens the explorer at hash afresh (from about:blank, so that it is
// a new document, not a new fragment of the same one) and waits until the
// view's figures are drawn.
func (p *page) load(t *testing.T, hash, view string) {
	t.Helper()
	p.do(t, "load "+hash, chromedp.Navigate("about:blank"), chromedp.Navigate(p.ui+hash), waitView(view))
}

// drawnCount is how many views the page has drawn since it was loaded.
func (p *page) drawnCount(t *testing.T) int {
	t.Helper()
	var n int
	p.eval(t, "views drawn", `Number(document.body.dataset.drawn || 0)`, &n)
	return n
}

// redraw runs actions that make the page draw a view again (a click, a
// filter, a new fragment) and waits until it has.
func (p *page) redraw(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	n := p.drawnCount(t)
	p.do(t, what, append(actions, chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`body[data-drawn="%d"]`, n+1))))...)
}

// accessible runs axe-core on the page as it is: a serious or critical
// violation fails the test.
func (p *page) accessible(t *testing.T, what string) {
	t.Helper()
	var violations []struct {
		ID, Impact, Help string
		Nodes            []struct{ Target []string }
	}
	p.eval(t, "axe on "+what, p.axe+`;axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)`, &violations)
	for _, v := range violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("%s: %s (%s): %s, at %v", what, v.ID, v.Impact, v.Help, v.Nodes)
		}
	}
}

// drawnAt is when the page last marked its figures drawn, in ms from the
// navigation's start.
func (p *page) drawnAt(t *testing.T) float64 {
	t.Helper()
	var ms float64
	p.eval(t, "drawn at", `performance.getEntriesByName('controlmap:drawn').at(-1).startTime`, &ms)
	return ms
}

// shot saves a screenshot of the viewport, with nothing focused, as a
// small PNG (see smallPNG), and checks it is a PNG of the viewport's size.
func (p *page) shot(t *testing.T, path string, width, height int) {
	t.Helper()
	p.do(t, "nothing focused", chromedp.Evaluate[chromedp.Void](`document.activeElement?.blur()`))
	ctx, done := context.WithTimeout(p.ctx, 30*time.Second)
	defer done()
	raw, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err == nil {
		raw, err = smallPNG(raw)
	}
	if err == nil {
		err = os.WriteFile(path, raw, 0o644)
	}
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(saved))
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG: %v", path, err)
	}
	if cfg.Width != width || cfg.Height != height {
		t.Errorf("screenshot %s is %dx%d, the viewport %dx%d", path, cfg.Width, cfg.Height, width, height)
	}
	t.Logf("screenshot %s: %dx%d, %d KB", path, cfg.Width, cfg.Height, len(saved)/1024)
}

// smallPNG writes a screenshot again with a palette of its 256 most
// common colours, each other colour (a shade of a glyph's edge) taking
// the nearest of them: a page of flat colours and text looks the same at
// a third of the size.
func smallPNG(raw []byte) ([]byte, error) {
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	r := img.Bounds()
	count := map[color.RGBA]int{}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			count[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	common := slices.SortedFunc(maps.Keys(count), func(a, b color.RGBA) int {
		return cmp.Or(count[b]-count[a], cmp.Compare(a.R, b.R), cmp.Compare(a.G, b.G), cmp.Compare(a.B, b.B), cmp.Compare(a.A, b.A))
	})
	var palette color.Palette
	for _, c := range common[:min(256, len(common))] {
		palette = append(palette, c)
	}
	out := image.NewPaletted(r, palette)
	index := map[color.RGBA]uint8{}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			i, ok := index[c]
			if !ok {
				i = uint8(palette.Index(c))
				index[c] = i
			}
			out.SetColorIndex(x, y, i)
		}
	}
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&b, out); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// waitView waits until the page has drawn the figures of a view.
func waitView(name string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(`body[data-view="` + name + `"]`))
}

// waitFile waits for a downloaded file to appear whole in dir and returns
// its content.
func waitFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	path := filepath.Join(dir, name)
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return b
		}
	}
	entries, _ := os.ReadDir(dir)
	t.Fatalf("no download %s in %s (it holds %v)", name, dir, entries)
	return nil
}

// share writes a share as the page does: JavaScript's toFixed(0) of the
// percentage, which rounds a half up where Go's formatting rounds it to
// even.
func share(x float64) string {
	v := 100 * x
	n := math.Floor(v)
	if v-n >= 0.5 {
		n++
	}
	return strconv.FormatFloat(n, 'f', 0, 64) + "%"
}

// lastPart is the id at the end of a resource name.
func lastPart(name string) string { return name[strings.LastIndex(name, "/")+1:] }

// median of a few timings, to report one figure that a single slow call
// does not move.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// luminance is the relative luminance (WCAG 2) of a CSS colour in the
// rgb(r, g, b) form a computed style gives.
func luminance(t *testing.T, css string) float64 {
	t.Helper()
	var r, g, b float64
	if _, err := fmt.Sscanf(css, "rgb(%g, %g, %g)", &r, &g, &b); err != nil {
		t.Fatalf("colour %q: %v", css, err)
	}
	lin := func(c float64) float64 {
		c /= 255
		if c <= 0.03928 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}

// contrast is the WCAG contrast ratio of two CSS colours.
func contrast(t *testing.T, a, b string) float64 {
	t.Helper()
	la, lb := luminance(t, a), luminance(t, b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}
