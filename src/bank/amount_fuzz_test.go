package bank_test

import (
	"testing"

	"github.com/kubebank/kubebank/src/bank"
)

// FuzzParseAmount: parsing never panics; what it accepts is a valid
// posting amount that formats and parses back to itself, for currencies
// with 0, 2 and 3 minor-unit digits.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"12.34", "0.01", "1", "0", "-1", "1.", ".5", "1.234", "10000000000.00", "10000000000.01",
		"99999999999999999999", " 7 ", "1e3", "١٢", "1_000", "0x10", "+5", "00012.30", "9007199254740993"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, code := range []string{"EUR", "JPY", "BHD"} {
			c, _ := bank.LookupCurrency(code)
			v, err := bank.ParseAmount(s, c)
			if err != nil {
				if bank.ErrorCode(err) != "invalid_amount" {
					t.Fatalf("%q %s: error code %q", s, code, bank.ErrorCode(err))
				}
				continue
			}
			if v <= 0 || v > bank.MaxAmount {
				t.Fatalf("%q %s: accepted out-of-range %d", s, code, v)
			}
			back, err := bank.ParseAmount(bank.FormatAmount(v, c), c)
			if err != nil || back != v {
				t.Fatalf("%q %s: %d formats as %q, parses back as %d (%v)", s, code, v, bank.FormatAmount(v, c), back, err)
			}
		}
	})
}
