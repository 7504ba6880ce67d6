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
	StartLabel    string
	EndLabel      string
	Points        int
}

const (
	chartW = 640
	chartH = 200
	chartP = 4 // padding so the stroke is not clipped
)

// buildChart plots entries (newest first, as the API returns them) as a
// step line ending at now with the account's current balance.
func buildChart(entries []bank.Entry, acct apiclient.Account, now time.Time) *chart {
	if len(entries) == 0 {
		return nil
	}
	type pt struct{ t, bal int64 }
	pts := make([]pt, 0, len(entries)+2)
	oldest := entries[len(entries)-1]
	// The balance just before the oldest plotted entry.
	pts = append(pts, pt{oldest.Time.UnixMilli(), oldest.BalanceAfter - oldest.Amount})
	for i := len(entries) - 1; i >= 0; i-- {
		pts = append(pts, pt{entries[i].Time.UnixMilli(), entries[i].BalanceAfter})
	}
	end := now.UnixMilli()
	if last := pts[len(pts)-1].t; end < last {
		end = last
	}
	pts = append(pts, pt{end, pts[len(pts)-1].bal})

	t0, t1 := pts[0].t, end
	minB, maxB := int64(0), int64(0) // always include zero as a reference
	for _, p := range pts {
		minB = min(minB, p.bal)
		maxB = max(maxB, p.bal)
	}
	spanT := max(t1-t0, 1)
	spanB := max(maxB-minB, 1)
	innerW, innerH := int64(chartW-2*chartP), int64(chartH-2*chartP)
	x := func(t int64) int64 { return chartP + (t-t0)*innerW/spanT }
	y := func(b int64) int64 { return chartP + innerH - (b-minB)*innerH/spanB }

	var d strings.Builder
	d.WriteString("M" + strconv.FormatInt(x(pts[0].t), 10) + " " + strconv.FormatInt(y(pts[0].bal), 10))
	for _, p := range pts[1:] {
		// Step: the balance holds until the next posting changes it.
		d.WriteString(" H" + strconv.FormatInt(x(p.t), 10) + " V" + strconv.FormatInt(y(p.bal), 10))
	}
	cur := acct.Account.Currency
	c := &chart{
		Width: chartW, Height: chartH,
		Path:       template.HTML(d.String()), // only digits, spaces and M/H/V
		MaxLabel:   money(maxB, cur),
		MinLabel:   money(minB, cur),
		ZeroY:      int(y(0)),
		ShowZero:   minB < 0,
		StartLabel: formatDate(time.UnixMilli(t0)),
		EndLabel:   formatDate(time.UnixMilli(t1)),
		Points:     len(entries),
	}
	c.Label = fmt.Sprintf("Balance from %s to %s over %d postings: lowest %s, highest %s, now %s.",
		c.StartLabel, c.EndLabel, len(entries), c.MinLabel, c.MaxLabel, money(acct.Balance, cur))
	return c
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
