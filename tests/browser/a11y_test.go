package browser

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The accessibility and layout checks: axe-core (WCAG 2.1 A and AA rules)
// and the fit of every amount, balance, date and account number, on every
// page at a phone's and a desktop's width.

// marked are the elements that carry an amount or balance (.amount), an
// account number (.acct) or a date (.date): on every page and at every
// width they are fully on screen and on one line.
const marked = `.amount, .acct, .date`

// widths the pages are checked at: a 390×844 phone (mobile emulation,
// touch) and a 1280×800 desktop.
var widths = []struct {
	name          string
	width, height int64
	mobile        bool
}{
	{"phone", 390, 844, true},
	{"desktop", 1280, 800, false},
}

var (
	axeOnce sync.Once
	axeJS   string
	axeErr  error
)

// axeSource reads axe.min.js: $BANK_AXE_JS (set by the Makefile), else the
// version pinned in the Makefile under .cache/axe/ at the repository root.
// A missing file fails the test: the checks are part of `make test`.
func axeSource(t *testing.T) string {
	t.Helper()
	axeOnce.Do(func() {
		p := os.Getenv("BANK_AXE_JS")
		if p == "" {
			root := filepath.Join("..", "..")
			v, err := makeVar(filepath.Join(root, "Makefile"), "AXE_VERSION")
			if err != nil {
				axeErr = err
				return
			}
			p = filepath.Join(root, ".cache", "axe", v, "node_modules", "axe-core", "axe.min.js")
		}
		b, err := os.ReadFile(p)
		if err != nil || len(b) == 0 {
			axeErr = fmt.Errorf("axe-core is required for the accessibility checks and was not found at %s (%v): run `make deps-axe` (make test does it)", p, err)
			return
		}
		axeJS = string(b)
	})
	if axeErr != nil {
		t.Fatal(axeErr)
	}
	return axeJS
}

// makeVar reads `NAME := value` from the Makefile.
func makeVar(path, name string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":=")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("%s: no %s", path, name)
}

type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// runAxe injects axe-core into the current page (once per document) and
// returns its WCAG 2.1 A/AA violations.
func runAxe(t *testing.T, ctx context.Context) []axeViolation {
	t.Helper()
	src := axeSource(t)
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === 'object'`))
	if err != nil {
		t.Fatalf("axe: %v", err)
	}
	if !loaded {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](src+"\n;typeof window.axe === 'object'")); err != nil {
			t.Fatalf("injecting axe-core: %v", err)
		}
	}
	vs, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](
		`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']}).then(r => r.violations)`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("running axe-core: %v", err)
	}
	return vs
}

// layoutProblems lists what does not fit: a page wider than the screen,
// and marked elements not fully inside the viewport's width, invisible, or
// broken over more than one line.
const layoutJS = `(() => {
  const out = [], w = window.innerWidth, de = document.documentElement;
  if (de.scrollWidth > w) out.push('page scrolls sideways: ' + de.scrollWidth + 'px wide on a ' + w + 'px screen');
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + String(e.className).trim().split(/\s+/).join('.') : '') + ' "' + e.textContent.trim().slice(0, 40) + '"';
  for (const e of document.querySelectorAll(` + "`" + marked + "`" + `)) {
    if (e.closest('.sr-only')) continue;
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) { out.push('hidden: ' + name(e)); continue; }
    if (r.left < -0.5 || r.right > w + 0.5) out.push('outside the screen (' + Math.round(r.left) + '..' + Math.round(r.right) + ' of ' + w + '): ' + name(e));
    const rg = document.createRange(); rg.selectNodeContents(e);
    const tops = new Set([...rg.getClientRects()].filter(x => x.width > 0).map(x => Math.round(x.top)));
    if (tops.size > 1) out.push('wraps over ' + tops.size + ' lines: ' + name(e));
  }
  return out;
})()`

// checkPage runs the layout checks and axe-core on the current page at the
// phone's and the desktop's width, fails on any finding, and returns to the
// desktop width. It does not reload: the page may be the answer to a POST.
func checkPage(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	for _, w := range widths {
		opts := []chromedp.EmulateViewportOption{}
		if w.mobile {
			opts = append(opts, chromedp.EmulateMobile)
		}
		step(t, ctx, page+" at "+w.name, chromedp.EmulateViewport(w.width, w.height, opts...), chromedp.Sleep(50*time.Millisecond))
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+"`"+marked+"`"+`).length`))
		if err != nil {
			t.Fatal(err)
		}
		probs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](layoutJS))
		if err != nil {
			t.Fatalf("%s at %s: layout check: %v", page, w.name, err)
		}
		vs := runAxe(t, ctx)
		shot(t, ctx, "a11y-"+page+"-"+w.name)
		var b strings.Builder
		for _, p := range probs {
			fmt.Fprintf(&b, "\n  layout: %s", p)
		}
		for _, v := range vs {
			fmt.Fprintf(&b, "\n  axe %s (%s): %s", v.ID, v.Impact, v.Help)
			for _, nd := range v.Nodes {
				fmt.Fprintf(&b, "\n    at %v: %s", nd.Target, strings.ReplaceAll(nd.Summary, "\n", " "))
			}
		}
		if b.Len() > 0 {
			t.Errorf("%s at %s (%dx%d):%s", page, w.name, w.width, w.height, b.String())
			continue
		}
		t.Logf("a11y %-18s %-7s axe: 0 violations; %d amounts/dates/account numbers on screen, no sideways scroll", page, w.name, n)
	}
}

// tabTo presses Tab until the element matching css has the focus (at most
// 30 times), checking at each stop that the focus is visible.
func tabTo(t *testing.T, ctx context.Context, css string) {
	t.Helper()
	for i := 0; i < 30; i++ {
		step(t, ctx, "tab", chromedp.KeyEvent("\t"))
		st, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
  const e = document.activeElement; if (!e || e === document.body) return ['', ''];
  const s = getComputedStyle(e);
  const visible = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none';
  return [e.matches(`+"`"+css+"`"+`) ? 'yes' : 'no', visible ? '' : (e.tagName + '#' + e.id + ' ' + e.textContent.trim().slice(0, 30))];
})()`))
		if err != nil || len(st) != 2 {
			t.Fatalf("reading the focus: %v", err)
		}
		if st[1] != "" {
			t.Errorf("focus is not visible on %s", st[1])
		}
		if st[0] == "yes" {
			return
		}
	}
	shot(t, ctx, "failed-tab")
	t.Fatalf("30 presses of Tab never reached %s", css)
}

// typeKeys types text into the focused field, key by key.
func typeKeys(t *testing.T, ctx context.Context, text string) {
	t.Helper()
	step(t, ctx, "type "+text, chromedp.KeyEvent(text))
}
