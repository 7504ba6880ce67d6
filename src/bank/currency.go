package bank

import (
	"sort"
	"strconv"
	"strings"
)

// Currency is an ISO 4217 currency the bank accepts.
type Currency struct {
	Code     string `json:"code"`
	Numeric  int    `json:"numeric"`
	Exponent int    `json:"exponent"` // number of minor-unit digits: 2 for EUR, 0 for JPY, 3 for BHD
}

// currencies is the allow-list. Adding one is a deliberate change: system
// accounts are created per currency.
var currencies = map[string]Currency{
	"EUR": {"EUR", 978, 2}, "USD": {"USD", 840, 2}, "GBP": {"GBP", 826, 2},
	"CHF": {"CHF", 756, 2}, "SEK": {"SEK", 752, 2}, "NOK": {"NOK", 578, 2},
	"DKK": {"DKK", 208, 2}, "PLN": {"PLN", 985, 2}, "CZK": {"CZK", 203, 2},
	"JPY": {"JPY", 392, 0}, "BHD": {"BHD", 48, 3}, "KWD": {"KWD", 414, 3},
}

// LookupCurrency returns the allow-listed currency for an ISO 4217 code.
// The code must be exactly three upper-case letters.
func LookupCurrency(code string) (Currency, error) {
	c, ok := currencies[code]
	if !ok {
		return Currency{}, Errorf(KindInvalid, "unknown_currency", "currency %q is not supported; use one of %s", code, strings.Join(CurrencyCodes(), ", "))
	}
	return c, nil
}

// CurrencyCodes lists the allowed codes, sorted.
func CurrencyCodes() []string {
	out := make([]string, 0, len(currencies))
	for k := range currencies {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ValidateAmount checks a posting amount in minor units.
func ValidateAmount(amount int64) error {
	if amount <= 0 {
		return Errorf(KindInvalid, "invalid_amount", "amount must be a positive integer number of minor units")
	}
	if amount > MaxAmount {
		return Errorf(KindInvalid, "invalid_amount", "amount must not exceed %d minor units", MaxAmount)
	}
	return nil
}

// ParseAmount parses a decimal string such as "12.34" into minor units of c,
// exactly: no floating point is involved. At most c.Exponent fraction digits
// are accepted; the result must be a valid posting amount.
func ParseAmount(s string, c Currency) (int64, error) {
	bad := func(why string) error {
		return Errorf(KindInvalid, "invalid_amount", "amount %q is not valid: %s", s, why)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, bad("it is empty")
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" {
		return 0, bad("digits are required before the decimal point")
	}
	if hasDot && frac == "" {
		return 0, bad("digits are required after the decimal point")
	}
	if len(frac) > c.Exponent {
		if c.Exponent == 0 {
			return 0, bad(c.Code + " has no minor unit")
		}
		return 0, bad("at most " + strconv.Itoa(c.Exponent) + " decimal places are allowed for " + c.Code)
	}
	for _, part := range []string{whole, frac} {
		for _, r := range part {
			if r < '0' || r > '9' {
				return 0, bad("only digits and one decimal point are allowed")
			}
		}
	}
	if len(whole) > 16 {
		return 0, bad("too large")
	}
	frac += strings.Repeat("0", c.Exponent-len(frac))
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, bad("too large")
	}
	if err := ValidateAmount(v); err != nil {
		return 0, bad("it must be greater than zero and at most " + FormatAmount(MaxAmount, c))
	}
	return v, nil
}

// FormatAmount renders minor units as a decimal string, e.g. -1234 EUR → "-12.34".
func FormatAmount(minor int64, c Currency) string {
	neg := minor < 0
	u := uint64(minor)
	if neg {
		u = uint64(-minor)
	}
	digits := strconv.FormatUint(u, 10)
	if c.Exponent > 0 {
		if len(digits) <= c.Exponent {
			digits = strings.Repeat("0", c.Exponent-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-c.Exponent] + "." + digits[len(digits)-c.Exponent:]
	}
	if neg {
		return "-" + digits
	}
	return digits
}
