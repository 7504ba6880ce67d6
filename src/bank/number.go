package bank

import (
	"fmt"
	"strconv"
)

// Account numbers are ten digits: nine payload digits and a Luhn check
// digit, so a mistyped number is rejected before any lookup. Customer
// accounts start with 1–8; system accounts start with 9.

// LuhnDigit computes the check digit for payload (digits only).
func LuhnDigit(payload string) byte {
	sum := 0
	double := true // the rightmost payload digit is doubled
	for i := len(payload) - 1; i >= 0; i-- {
		d := int(payload[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte('0' + (10-sum%10)%10)
}

// CustomerAccountNumber formats sequence number seq (≥ 1) as an account number.
func CustomerAccountNumber(seq int64) string {
	p := strconv.FormatInt(100_000_000+seq, 10)
	return p + string(LuhnDigit(p))
}

// SystemAccountNumber is the deterministic number of a system account:
// 9, the purpose digit, the ISO numeric currency code, four zeros, check.
func SystemAccountNumber(purpose int, c Currency) string {
	p := fmt.Sprintf("9%d%03d0000", purpose, c.Numeric)
	return p + string(LuhnDigit(p))
}

// System account purposes.
const (
	PurposeTellerCash      = 1
	PurposeInterestExpense = 2
)

// ValidateAccountNumber checks shape and check digit.
func ValidateAccountNumber(n string) error {
	if len(n) != 10 {
		return Errorf(KindInvalid, "invalid_account_number", "account number must be 10 digits")
	}
	for i := 0; i < len(n); i++ {
		if n[i] < '0' || n[i] > '9' {
			return Errorf(KindInvalid, "invalid_account_number", "account number must be 10 digits")
		}
	}
	if LuhnDigit(n[:9]) != n[9] {
		return Errorf(KindInvalid, "invalid_account_number", "account number %s has a wrong check digit (mistyped?)", n)
	}
	return nil
}
