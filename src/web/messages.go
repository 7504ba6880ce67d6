package web

import (
	"strings"

	"github.com/kubebank/kubebank/src/apiclient"
)

// messages turns the API's stable problem codes into sentences for
// customers. Unknown codes fall back to the API's own detail text.
var messages = map[string]string{
	"insufficient_funds":        "Insufficient funds: the amount is more than the available balance (plus any overdraft).",
	"account_frozen":            "The account is frozen, so it cannot send money. Please contact the bank.",
	"account_closed":            "The account is closed and cannot send or receive money.",
	"account_not_found":         "There is no account with this number. Check the number and try again.",
	"currency_mismatch":         "The receiving account holds a different currency than the sending account.",
	"same_account":              "You cannot transfer money to the same account.",
	"invalid_account_number":    "This is not a valid account number: it has 10 digits and the last one is a check digit.",
	"unknown_currency":          "This currency is not supported.",
	"idempotency_conflict":      "This form was already sent with different values. Please review the details and send it again.",
	"rate_limited":              "Too many attempts. Please wait a little before trying again.",
	"account_not_empty":         "Only an account with a zero balance and no open holds can be closed.",
	"balance_limit":             "The amount would take the balance beyond what the bank supports.",
	"forbidden":                 "You are not allowed to do this.",
	"username_taken":            "This username is already taken. Please choose another one.",
	"standing_order_not_active": "This standing order has already ended or was cancelled.",
}

// describe is the message to show for an API problem.
func describe(p *apiclient.Problem) string {
	if m, ok := messages[p.Code]; ok {
		return m
	}
	var parts []string
	if p.Detail != "" {
		parts = append(parts, p.Detail)
	} else if p.Title != "" {
		parts = append(parts, p.Title)
	}
	for _, e := range p.Errors {
		parts = append(parts, e.Field+": "+e.Message)
	}
	if len(parts) == 0 {
		return "The bank could not complete this request."
	}
	return strings.Join(parts, " ")
}

// fieldOf says which form field an API problem is about, so the message
// appears next to the input the customer needs to fix.
func fieldOf(code string) string {
	switch code {
	case "invalid_amount", "insufficient_funds", "balance_limit":
		return "amount"
	case "account_not_found", "invalid_account_number", "currency_mismatch", "same_account":
		return "to"
	case "account_frozen":
		return "from"
	}
	return ""
}
