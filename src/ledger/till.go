package ledger

import (
	"context"
	"slices"
	"time"

	"github.com/kubebank/kubebank/src/bank"
)

// Till is what one staff member did at the till between two instants:
// cash taken in and paid out per currency, and the accounts served, most
// recent first. The teller console shows it for the day.
type Till struct {
	Totals   []TillTotal `json:"totals"`
	Accounts []string    `json:"accounts"`
}

// TillTotal is one currency's cash at the till.
type TillTotal struct {
	Currency    string `json:"currency"`
	Deposits    int64  `json:"deposits"`    // cash taken in, minor units
	Withdrawals int64  `json:"withdrawals"` // cash paid out, minor units
	Postings    int    `json:"postings"`
}

// TillOf reads the teller-cash journals from from (inclusive) to to
// (exclusive) and keeps the postings staff made. Every cash posting goes
// through a teller-cash account, so nothing is missed; the postings'
// records say who made them.
func (l *Ledger) TillOf(ctx context.Context, staff string, from, to time.Time) (Till, error) {
	out := Till{Totals: []TillTotal{}, Accounts: []string{}}
	var served []bank.Entry
	for _, code := range bank.CurrencyCodes() {
		cash, err := SystemAccount(bank.PurposeTellerCash, code)
		if err != nil {
			return Till{}, err
		}
		entries, err := l.EntriesBetween(ctx, cash, from, to)
		if err != nil || len(entries) == 0 {
			if err != nil {
				return Till{}, err
			}
			continue
		}
		mine, err := l.madeBy(ctx, staff, entries)
		if err != nil {
			return Till{}, err
		}
		total := TillTotal{Currency: code}
		for _, e := range mine {
			// The till's side: a deposit debits it, a withdrawal credits it.
			switch e.Kind {
			case bank.PostingDeposit:
				total.Deposits -= e.Amount
			case bank.PostingWithdrawal:
				total.Withdrawals += e.Amount
			default:
				continue
			}
			total.Postings++
			served = append(served, e)
		}
		if total.Postings > 0 {
			out.Totals = append(out.Totals, total)
		}
	}
	// Newest first across currencies (to the millisecond: postings in one
	// millisecond in two currencies have no order between them).
	slices.SortStableFunc(served, func(a, b bank.Entry) int { return b.Time.Compare(a.Time) })
	for _, e := range served {
		if !slices.Contains(out.Accounts, e.Counterparty) {
			out.Accounts = append(out.Accounts, e.Counterparty)
		}
	}
	return out, nil
}

// madeBy keeps the entries whose posting staff initiated, reading every
// posting's record (the journal's or a legacy hash) in a script call per 500.
func (l *Ledger) madeBy(ctx context.Context, staff string, entries []bank.Entry) ([]bank.Entry, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	c, err := l.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var out []bank.Entry
	// In chunks: one script call holds Redis for all the records it reads.
	for chunk := range slices.Chunk(entries, 500) {
		ids := make([]string, len(chunk))
		for i, e := range chunk {
			ids[i] = e.TransferID
		}
		ts, err := getTransfers(c, ids)
		if err != nil {
			return nil, err
		}
		for i, e := range chunk {
			if ts[i].InitiatedBy == staff {
				out = append(out, e)
			}
		}
	}
	return out, nil
}
