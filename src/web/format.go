package web

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/kubebank/kubebank/src/apiclient"
	"github.com/kubebank/kubebank/src/bank"
)

// currencyOf resolves a code to its exponent. Unknown codes fall back to
// exponent 2 only for display; the API never sends such a code.
func currencyOf(code string) bank.Currency {
	if c, err := bank.LookupCurrency(code); err == nil {
		return c
	}
	return bank.Currency{Code: code, Exponent: 2}
}

// money formats integer minor units for people: thousands separated by a
// thin space, the exact decimal digits of the currency, then the code.
// No floating point is involved at any step.
func money(minor int64, code string) string {
	s := bank.FormatAmount(minor, currencyOf(code))
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	if neg {
		b.WriteString("−") // a real minus sign reads better than a hyphen
	}
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(",")
		}
		b.WriteRune(r)
	}
	if hasFrac {
		b.WriteString(".")
		b.WriteString(frac)
	}
	b.WriteString(" ")
	b.WriteString(code)
	return b.String()
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func formatDate(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02")
}

// groupNumber shows an account number in groups, as printed on cards.
func groupNumber(n string) string {
	if len(n) != 10 {
		return n
	}
	return n[:4] + " " + n[4:7] + " " + n[7:]
}

var funcs = template.FuncMap{
	"money": money,
	"time":  formatTime,
	"date":  formatDate,
	"acct":  groupNumber,
	"title": func(s string) string {
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + strings.ReplaceAll(s[1:], "_", " ")
	},
	"neg":         func(v int64) bool { return v < 0 },
	"systemParty": systemParty,
	"add":         func(a, b int) int { return a + b },
}

// chart is a server-rendered SVG line chart of an account's balance over
// time. Coordinates are computed with integers: scaling a balance bounded
// by bank.MaxBalance (1e15) by a few hundred pixels stays far below 2^63.
type chart struct {
	Width, Height int
	Path          template.HTML // SVG path data, already safe
	Label         string        // text alternative for screen readers
	MaxLabel      string
	MinLabel      string
	ZeroY         int
	ShowZero      bool
	Ticks         []tick // the time axis, oldest first, evenly spaced
	Points        int
}

// tick is one time-axis label and its vertical grid line.
type tick struct {
	X     int
	Label string
}

const (
	chartW     = 640
	chartH     = 200
	chartP     = 4 // padding so the stroke is not clipped
	chartTicks = 5
)

type chartPoint struct{ t, bal int64 }

// buildChart plots entries (newest first, as the API returns them) as a
// step line ending at now with the account's current balance.
func buildChart(entries []bank.Entry, acct apiclient.Account, now time.Time) *chart {
	if len(entries) == 0 {
		return nil
	}
	pts := chartPoints(entries, acct, now)
	t0, t1 := pts[0].t, pts[len(pts)-1].t
	// The scale keeps zero in view, as a reference; the labels name only
	// balances the account really had.
	minB, maxB := int64(0), int64(0)
	lo, hi := pts[0].bal, pts[0].bal
	for _, p := range pts {
		minB, maxB = min(minB, p.bal), max(maxB, p.bal)
		lo, hi = min(lo, p.bal), max(hi, p.bal)
	}
	spanT := max(t1-t0, 1)
	spanB := max(maxB-minB, 1)
	innerW, innerH := int64(chartW-2*chartP), int64(chartH-2*chartP)
	x := func(t int64) int64 { return chartP + (t-t0)*innerW/spanT }
	y := func(b int64) int64 { return chartP + innerH - (b-minB)*innerH/spanB }

	var d strings.Builder
	d.WriteString("M" + strconv.FormatInt(x(pts[0].t), 10) + " " + strconv.FormatInt(y(pts[0].bal), 10))
	lastY := y(pts[0].bal)
	for _, p := range pts[1:] {
		// Step: the balance holds until the next posting changes it (a
		// point that changes nothing on screen, such as now, only holds).
		d.WriteString(" H" + strconv.FormatInt(x(p.t), 10))
		if py := y(p.bal); py != lastY {
			d.WriteString(" V" + strconv.FormatInt(py, 10))
			lastY = py
		}
	}
	cur := acct.Account.Currency
	c := &chart{
		Width: chartW, Height: chartH,
		Path:     template.HTML(d.String()), // only digits, spaces and M/H/V
		MaxLabel: money(hi, cur),
		MinLabel: money(lo, cur),
		ZeroY:    int(y(0)),
		ShowZero: minB < 0,
		Points:   len(entries),
	}
	c.Ticks = axis(t0, spanT, x)
	c.Label = fmt.Sprintf("Balance from %s to %s over %d postings: lowest %s, highest %s, now %s.",
		formatDate(time.UnixMilli(t0)), formatDate(time.UnixMilli(t1)), len(entries), c.MinLabel, c.MaxLabel, money(acct.Balance, cur))
	return c
}

// chartPoints are the balances to plot, oldest first, ending at now. The
// balance before the oldest entry is plotted only when the account existed
// before it: a new account's first deposit does not start from a 0.00 it
// never had.
func chartPoints(entries []bank.Entry, acct apiclient.Account, now time.Time) []chartPoint {
	pts := make([]chartPoint, 0, len(entries)+2)
	oldest := entries[len(entries)-1]
	if acct.CreatedAt.IsZero() || acct.CreatedAt.Before(oldest.Time.Add(-time.Second)) {
		pts = append(pts, chartPoint{oldest.Time.UnixMilli(), oldest.BalanceAfter - oldest.Amount})
	}
	for i := len(entries) - 1; i >= 0; i-- {
		pts = append(pts, chartPoint{entries[i].Time.UnixMilli(), entries[i].BalanceAfter})
	}
	end := max(now.UnixMilli(), pts[len(pts)-1].t)
	return append(pts, chartPoint{end, pts[len(pts)-1].bal})
}

// axis spaces chartTicks labels evenly over the span from t0; where the
// span is too short for them to differ (postings minutes apart) only the
// first and the last remain, or one.
func axis(t0, spanT int64, x func(int64) int64) []tick {
	var ticks []tick
	for i := range chartTicks {
		t := t0 + spanT*int64(i)/(chartTicks-1)
		ticks = append(ticks, tick{X: int(x(t)), Label: tickLabel(time.UnixMilli(t), time.Duration(spanT)*time.Millisecond)})
	}
	for i := 1; i < len(ticks); i++ {
		if ticks[i].Label == ticks[i-1].Label {
			first, last := ticks[0], ticks[len(ticks)-1]
			if first.Label == last.Label {
				return []tick{first}
			}
			return []tick{first, last}
		}
	}
	return ticks
}

// tickLabel writes a time-axis label as precisely as the chart's span
// needs: hours within two days, days within two months, else months.
func tickLabel(t time.Time, span time.Duration) string {
	t = t.UTC()
	switch {
	case span <= 48*time.Hour:
		return t.Format("Jan 2 15:04")
	case span <= 62*24*time.Hour:
		return t.Format("Jan 2")
	}
	return t.Format("Jan 2006")
}

// systemParty names the bank's own side of a posting in currency cur, the
// way a customer would say it ("Cash deposit", not 9197 800 007), or ""
// when the counterparty n is a customer's account.
func systemParty(n, cur string, kind bank.PostingKind) string {
	c, err := bank.LookupCurrency(cur)
	if err != nil {
		return ""
	}
	switch n {
	case bank.SystemAccountNumber(bank.PurposeTellerCash, c):
		switch kind {
		case bank.PostingDeposit:
			return "Cash deposit"
		case bank.PostingWithdrawal:
			return "Cash withdrawal"
		}
		return "Cash"
	case bank.SystemAccountNumber(bank.PurposeInterestExpense, c):
		return "Interest"
	}
	return ""
}
