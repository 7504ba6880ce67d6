package ledger

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gomodule/redigo/redis"

	"github.com/kubebank/kubebank/src/audit"
	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/redishash"
)

// Touch says which side of a posting counts as customer activity (for the
// dormancy sweep): a customer's transfer touches the sender, a teller
// deposit or withdrawal touches the customer's account, interest touches
// nothing.
type Touch string

const (
	TouchNone Touch = ""
	TouchFrom Touch = "from"
	TouchTo   Touch = "to"
)

// Posting is one money movement request.
type Posting struct {
	From, To    string
	Amount      int64
	Currency    string
	Kind        bank.PostingKind
	Description string
	InitiatedBy string
	Touch       Touch
	Idem        Idem
}

// MaxDescription bounds free text stored in the journal (bytes).
const MaxDescription = 200

func ValidatePosting(p Posting) error {
	if err := bank.ValidateAmount(p.Amount); err != nil {
		return err
	}
	if _, err := bank.LookupCurrency(p.Currency); err != nil {
		return err
	}
	return checkDescription(p.Description)
}

// checkDescription bounds a posting's free text.
func checkDescription(desc string) error {
	if len(desc) > MaxDescription {
		return bank.Errorf(bank.KindInvalid, "invalid_description", "description must be at most %d bytes", MaxDescription)
	}
	return nil
}

// prepared is p checked, with its defaults (a transfer). Its id is the
// script's: money.lua's post names a posting after its sender's journal
// entry.
func (p Posting) prepared() (Posting, error) {
	if err := ValidatePosting(p); err != nil {
		return p, err
	}
	if p.Kind == "" {
		p.Kind = bank.PostingTransfer
	}
	return p, nil
}

// Post executes a posting atomically. replayed is true when the
// idempotency key had already been used for the same request; the
// original transfer is returned and no money moves.
func (l *Ledger) Post(ctx context.Context, p Posting) (t bank.Transfer, replayed bool, err error) {
	p, err = p.prepared()
	if err != nil {
		return bank.Transfer{}, false, err
	}
	c, err := l.conn(ctx)
	if err != nil {
		return bank.Transfer{}, false, err
	}
	defer c.Close()
	amount := strconv.FormatInt(p.Amount, 10)
	status, rid, err := decodeReply(l.move(ctx, c, scriptTransfer,
		accountKey(p.From), accountKey(p.To), journalKey(p.From), journalKey(p.To),
		idemKey(p.Idem.Scope, p.Idem.Key), KeyOutbox,
		amount, "-"+amount, p.Currency, l.nowMs(), p.Kind, p.Description, p.Idem.Hash,
		int64(l.IdempotencyTTL.Seconds()), p.InitiatedBy, string(p.Touch), bank.MaxBalance, audit.Arg(ctx)))
	if err != nil {
		return bank.Transfer{}, false, err
	}
	t, err = getTransfer(c, rid)
	return t, status == "replay", err
}

// Deposit credits cash paid in at a teller: teller cash → account.
func (l *Ledger) Deposit(ctx context.Context, account string, amount int64, currency, desc, teller string, idem Idem) (bank.Transfer, bool, error) {
	return l.postCash(ctx, Cash{Kind: bank.PostingDeposit, Account: account, Amount: amount, Currency: currency, Description: desc, Idem: idem}, teller)
}

// Withdraw debits cash paid out at a teller: account → teller cash.
func (l *Ledger) Withdraw(ctx context.Context, account string, amount int64, currency, desc, teller string, idem Idem) (bank.Transfer, bool, error) {
	return l.postCash(ctx, Cash{Kind: bank.PostingWithdrawal, Account: account, Amount: amount, Currency: currency, Description: desc, Idem: idem}, teller)
}

// postCash posts c (Cash.posting: the movement, its default description)
// as made by teller.
func (l *Ledger) postCash(ctx context.Context, c Cash, teller string) (bank.Transfer, bool, error) {
	p, err := c.posting()
	if err != nil {
		return bank.Transfer{}, false, err
	}
	p.InitiatedBy = teller
	return l.Post(ctx, p)
}

// Transfer returns one transfer.
func (l *Ledger) Transfer(ctx context.Context, id string) (bank.Transfer, error) {
	c, err := l.conn(ctx)
	if err != nil {
		return bank.Transfer{}, err
	}
	defer c.Close()
	return getTransfer(c, id)
}

// getTransfer reads a posting's record with transfer_get.lua, whatever
// the id's form (money.lua's load_transfer knows them all).
func getTransfer(c redis.Conn, id string) (bank.Transfer, error) {
	ts, err := getTransfers(c, []string{id})
	if err != nil {
		return bank.Transfer{}, err
	}
	if ts[0].ID == "" {
		return bank.Transfer{}, bank.ErrTransferNotFound
	}
	return ts[0], nil
}

// getTransfers reads the records of ids in one script call; an id that
// names no posting gets a zero Transfer.
func getTransfers(c redis.Conn, ids []string) ([]bank.Transfer, error) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	recs, err := redis.Values(scriptRecord.Do(c, args...))
	if err != nil || len(recs) != len(ids) {
		return nil, fmt.Errorf("ledger: transfer records: %d for %d ids: %w", len(recs), len(ids), err)
	}
	out := make([]bank.Transfer, len(ids))
	for i, rec := range recs {
		t, err := transferReply(rec, nil)
		if err != nil && !errors.Is(err, bank.ErrTransferNotFound) {
			return nil, err
		}
		out[i] = t
	}
	return out, nil
}

// transferReply decodes the record a script answered (money.lua's
// load_transfer); no fields mean there is no such posting.
func transferReply(v any, err error) (bank.Transfer, error) {
	m, err := redis.StringMap(v, err)
	if err != nil {
		return bank.Transfer{}, fmt.Errorf("ledger: %w", err)
	}
	if len(m) == 0 {
		return bank.Transfer{}, bank.ErrTransferNotFound
	}
	f := redishash.New("transfer "+m["id"], m)
	t := transferFrom(f)
	if err := f.Err(); err != nil {
		return bank.Transfer{}, fmt.Errorf("ledger: %w", err)
	}
	return t, nil
}

// transferFrom decodes a transfer record.
func transferFrom(f *redishash.Fields) bank.Transfer {
	return bank.Transfer{
		ID: f.Str("id"), Kind: bank.PostingKind(f.Str("kind")), From: f.Str("from"), To: f.Str("to"), Amount: f.Int("amount"),
		Currency: f.Str("currency"), Description: f.Str("desc"), HoldID: f.Str("hold"), InitiatedBy: f.Str("by"),
		Status: bank.TransferStatus(f.Str("status")), CreatedAt: f.Millis("created"),
		Reversed: f.Int("reversed"), Reversals: strings.Fields(f.Str("reversals")),
		ReversalOf: f.Str("reversal_of"), ReversalID: f.Str("reversal"),
	}
}
