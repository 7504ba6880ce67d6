package demo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
	"github.com/kubebank/kubebank/src/standing"
)

// Amounts of the demo history, in euro cents.
const (
	openingChecking = 240000
	openingSavings  = 600000
	openingBob      = 150000
	salaryAlice     = 325000
	salaryBob       = 290000
	rent            = 95000
	toSavings       = 100000
	pendingHold     = 12000
)

// event is one write of the history at its moment.
type event struct {
	at   time.Time
	what string // for errors
	do   func(ctx context.Context) error
}

// history writes the demo accounts' past, from the day they were opened
// to yesterday, in time order on the ledger's clock, then what is pending
// now: a card hold and the rent's standing order. Every write has a
// deterministic key (the idempotency key of its day and purpose, the
// interest day, the statement month), so writing the same history twice
// changes nothing the second time.
func (s *seeder) history(ctx context.Context, users map[string]bank.User, a accounts) error {
	evs := s.plan(users, a)
	// Stable: events clamped to now keep their order.
	slices.SortStableFunc(evs, func(x, y event) int { return x.at.Compare(y.at) })
	for _, e := range evs {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Nothing is written after now: the last day's interest and last
		// month's statement, due at an instant after their day or month,
		// are written at now at the latest.
		s.at = e.at
		if s.at.After(s.now) {
			s.at = s.now
		}
		if err := e.do(ctx); err != nil {
			return fmt.Errorf("demo: %s at %s: %w", e.what, s.at.Format(time.RFC3339), err)
		}
	}
	s.at = s.now
	return nil
}

// plan lists the history's events, in any order.
func (s *seeder) plan(users map[string]bank.User, a accounts) []event {
	alice, bob, teller := users["alice"].ID, users["bob"].ID, users["teller"].ID
	p := &planner{s: s}
	first := bank.NewDay(s.start(), s.loc)
	today := bank.NewDay(s.now, s.loc)

	p.deposit(first, 10, 0, "opening-checking", a.checking, openingChecking, "Opening deposit", teller)
	p.deposit(first, 10, 5, "opening-savings", a.savings, openingSavings, "Opening deposit", teller)
	p.deposit(first, 11, 30, "opening-bob", a.bob, openingBob, "Opening deposit", teller)
	for d := first; d.Ordinal < today.Ordinal; d = d.Next(s.loc) {
		t, _ := time.ParseInLocation("2006-01-02", d.Date, s.loc)
		month := t.Format("January")
		if d.Ordinal > first.Ordinal {
			switch t.Day() {
			case 1:
				p.transfer(d, 8, 0, "rent", a.checking, a.bob, rent, "Rent "+month, alice)
			case 3:
				p.card(d, 19, 30, "dinner", a.checking, a.bob, 6490, 6490, "Dinner with Bob", alice, bob, today)
			case 8:
				p.withdraw(d, 12, 15, "cash", a.checking, 10000, teller)
			case 12:
				p.transfer(d, 20, 0, "concert", a.checking, a.bob, 3850, "Concert tickets", alice)
			case 15:
				p.withdraw(d, 11, 0, "cash-bob", a.bob, 20000, teller)
			case 17:
				// Captured for less than authorised, as a card terminal does.
				p.card(d, 13, 0, "groceries", a.checking, a.bob, 2780, 2640, "Shared groceries", alice, bob, today)
			case 21:
				p.withdraw(d, 17, 45, "cash", a.checking, 6000, teller)
			case 25:
				p.deposit(d, 7, 0, "salary", a.checking, salaryAlice, "Salary "+month, teller)
				p.deposit(d, 7, 5, "salary-bob", a.bob, salaryBob, "Salary "+month, teller)
			case 26:
				p.transfer(d, 9, 0, "savings", a.checking, a.savings, toSavings, "Monthly savings", alice)
			}
		}
		// The interest job's run for the day, just after it ended.
		p.add(d.End.Add(time.Minute), "interest "+d.Date, func(ctx context.Context) error {
			sum, err := s.run.AccrueInterest(ctx, []string{a.savings}, d)
			if err == nil && sum.Refused > 0 {
				err = fmt.Errorf("%d accruals refused", sum.Refused)
			}
			return err
		})
		// The statements job's run on the 1st, for the month before.
		if next := d.Next(s.loc); next.Date[8:] == "01" {
			ym := d.Date[:7]
			p.add(p.at(next, 5, 0), "statements "+ym, func(ctx context.Context) error {
				_, err := s.run.IssueStatements(ctx, []string{a.checking, a.savings, a.bob}, ym)
				return err
			})
		}
	}
	p.pending(a, alice, today)
	return p.evs
}

// planner collects events.
type planner struct {
	s   *seeder
	evs []event
}

func (p *planner) add(at time.Time, what string, do func(context.Context) error) {
	p.evs = append(p.evs, event{at: at, what: what, do: do})
}

// at is hour:minute on day d.
func (p *planner) at(d bank.Day, hour, minute int) time.Time {
	return d.End.AddDate(0, 0, -1).Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute)
}

// idem is the deterministic idempotency record of the write named what on
// day d; hash fingerprints its request.
func idem(d bank.Day, what string, hash ...any) ledger.Idem {
	return ledger.Idem{Scope: Scope, Key: d.Date + ":" + what, Hash: fmt.Sprint(hash...)}
}

func (p *planner) deposit(d bank.Day, h, m int, what, acct string, amount int64, desc, teller string) {
	p.add(p.at(d, h, m), "deposit "+what, func(ctx context.Context) error {
		_, _, err := p.s.l.Deposit(ctx, acct, amount, "EUR", desc, teller, idem(d, what, "deposit ", acct, " ", amount))
		return err
	})
}

func (p *planner) withdraw(d bank.Day, h, m int, what, acct string, amount int64, teller string) {
	p.add(p.at(d, h, m), "withdrawal "+what, func(ctx context.Context) error {
		_, _, err := p.s.l.Withdraw(ctx, acct, amount, "EUR", "", teller, idem(d, what, "withdraw ", acct, " ", amount))
		return err
	})
}

// transfer is a customer's transfer, as the API posts one.
func (p *planner) transfer(d bank.Day, h, m int, what, from, to string, amount int64, desc, by string) {
	p.add(p.at(d, h, m), "transfer "+what, func(ctx context.Context) error {
		_, _, err := p.s.l.Post(ctx, ledger.Posting{From: from, To: to, Amount: amount, Currency: "EUR", Kind: bank.PostingTransfer,
			Description: desc, InitiatedBy: by, Touch: ledger.TouchFrom, Idem: idem(d, what, "transfer ", from, " ", to, " ", amount)})
		return err
	})
}

// card is a card payment: a hold authorised at h:m on day d, captured by
// the payee the next morning. A payment whose capture would fall on today
// or later is left out, so the one pending hold is the seed's own.
func (p *planner) card(d bank.Day, h, m int, what, from, payee string, held, captured int64, desc, by, payeeUser string, today bank.Day) {
	next := d.Next(p.s.loc)
	if next.Ordinal >= today.Ordinal {
		return
	}
	var id string
	p.add(p.at(d, h, m), "card "+what, func(ctx context.Context) error {
		hd, _, err := p.s.l.Authorize(ctx, ledger.HoldRequest{Account: from, Payee: payee, Amount: held, Currency: "EUR",
			Description: desc, InitiatedBy: by, Idem: idem(d, what, "hold ", from, " ", payee, " ", held)})
		id = hd.ID
		return err
	})
	p.add(p.at(next, 9, 0), "capture "+what, func(ctx context.Context) error {
		_, _, err := p.s.l.Capture(ctx, id, captured, desc, payeeUser, idem(d, what+"-capture", "capture ", captured))
		return err
	})
}

// pending writes, at now, what is still open: a card hold on alice's
// checking expiring in five days and the rent's standing order from the
// 1st of next month.
func (p *planner) pending(a accounts, alice string, today bank.Day) {
	now := p.s.now
	p.add(now, "pending hold", func(ctx context.Context) error {
		_, _, err := p.s.l.Authorize(ctx, ledger.HoldRequest{Account: a.checking, Payee: a.bob, Amount: pendingHold, Currency: "EUR",
			Description: "Weekend trip deposit", TTL: 5 * 24 * time.Hour, InitiatedBy: alice,
			Idem: idem(today, "pending-hold", "hold ", a.checking, " ", pendingHold)})
		return err
	})
	y, m, _ := now.In(p.s.loc).Date()
	r := standing.Request{From: a.checking, To: a.bob, Amount: rent, Currency: "EUR", Description: "Rent",
		Frequency: standing.Monthly, FirstDate: time.Date(y, m+1, 1, 0, 0, 0, 0, p.s.loc).Format("2006-01-02")}
	p.add(now, "standing order", func(ctx context.Context) error {
		_, _, err := p.s.stand.Create(ctx, alice, r, now, idem(today, "standing-rent", "standing ", r))
		return err
	})
}
