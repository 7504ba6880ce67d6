package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kubebank/kubebank/src/api"
	"github.com/kubebank/kubebank/src/bank"
)

// TestBadInput sends malformed and hostile requests. Each must get the
// right 4xx problem+json, and none may change any balance or journal.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	e.client.Transport = secondKeyTransport{e.client.Transport}
	c := e.user(t, "carl", bank.Customer)
	other := e.user(t, "olga", bank.Customer)
	teller := e.user(t, "tess", bank.Teller)
	from := e.open(t, c, map[string]any{"type": "checking", "currency": "EUR", "overdraft_limit": 100})
	to := e.open(t, other, map[string]any{"type": "checking", "currency": "EUR"})
	usd := e.open(t, other, map[string]any{"type": "checking", "currency": "USD"})
	e.deposit(t, teller, from.Number, 1_000_00, "EUR")
	// A hold and a used idempotency key to collide with.
	hold := e.hold(t, c, map[string]any{"account": from.Number, "payee": to.Number, "amount": 10_00, "currency": "EUR"})
	want(t, e.do(t, req{Method: "POST", Path: "/v1/transfers", Token: c, Key: "used-key",
		Body: map[string]any{"from": from.Number, "to": to.Number, "amount": 1_00, "currency": "EUR"}}), 201, "")

	tr := func(fields string) string {
		return fmt.Sprintf(`{"from":%q,"to":%q,%s}`, from.Number, to.Number, fields)
	}
	badCheck := from.Number[:9] + string('0'+(from.Number[9]-'0'+1)%10)
	cases := []struct {
		name   string
		rq     req
		status int
		code   string
	}{
		{"negative amount", req{Body: tr(`"amount":-100,"currency":"EUR"`)}, 400, "invalid_amount"},
		{"zero amount", req{Body: tr(`"amount":0,"currency":"EUR"`)}, 400, "invalid_amount"},
		{"missing amount", req{Body: tr(`"currency":"EUR"`)}, 400, "invalid_amount"},
		{"fractional amount", req{Body: tr(`"amount":10.5,"currency":"EUR"`)}, 400, "invalid_type"},
		{"amount as string", req{Body: tr(`"amount":"100","currency":"EUR"`)}, 400, "invalid_type"},
		{"amount in exponent form", req{Body: tr(`"amount":1e3,"currency":"EUR"`)}, 400, "invalid_type"},
		{"amount above the posting maximum", req{Body: tr(fmt.Sprintf(`"amount":%d,"currency":"EUR"`, bank.MaxAmount+1))}, 400, "invalid_amount"},
		{"amount beyond int64", req{Body: tr(`"amount":99999999999999999999999,"currency":"EUR"`)}, 400, "invalid_type"},
		{"amount 2^53+1", req{Body: tr(`"amount":9007199254740993,"currency":"EUR"`)}, 400, "invalid_amount"},
		{"amount null", req{Body: tr(`"amount":null,"currency":"EUR"`)}, 400, "invalid_amount"},
		{"unknown currency", req{Body: tr(`"amount":100,"currency":"XXX"`)}, 400, "unknown_currency"},
		{"lower-case currency", req{Body: tr(`"amount":100,"currency":"eur"`)}, 400, "unknown_currency"},
		{"mismatched currency", req{Body: tr(`"amount":100,"currency":"USD"`)}, 422, "currency_mismatch"},
		{"to an account in another currency", req{Body: fmt.Sprintf(`{"from":%q,"to":%q,"amount":100,"currency":"EUR"}`, from.Number, usd.Number)}, 422, "currency_mismatch"},
		{"unknown field", req{Body: tr(`"amount":100,"currency":"EUR","fee":0`)}, 400, "unknown_field"},
		{"duplicate field", req{Body: tr(`"amount":1,"currency":"EUR","amount":100000`)}, 400, "duplicate_field"},
		{"field name in capitals overriding it", req{Body: tr(`"amount":10,"AMOUNT":77,"currency":"EUR"`)}, 400, "unknown_field"},
		{"field name in other case", req{Body: fmt.Sprintf(`{"from":%q,"To":%q,"amount":1,"currency":"EUR"}`, from.Number, to.Number)}, 400, "unknown_field"},
		{"field name in other case, alone", req{Body: tr(`"amount":1,"Currency":"EUR"`)}, 400, "unknown_field"},
		{"wrong type for account", req{Body: `{"from":1234567890,"to":"x","amount":1,"currency":"EUR"}`}, 400, "invalid_type"},
		{"malformed JSON", req{Body: `{"from": "1`}, 400, "invalid_json"},
		{"trailing garbage", req{Body: tr(`"amount":100,"currency":"EUR"`) + `{}`}, 400, "invalid_json"},
		{"JSON array instead of object", req{Body: `[1,2,3]`}, 400, "invalid_json"},
		{"empty body", req{Body: ` `}, 400, "invalid_json"},
		{"invalid UTF-8", req{Body: tr(`"amount":100,"currency":"EUR","description":"` + "\xff\xfe" + `"`)}, 400, "invalid_json"},
		{"lone surrogate escape", req{Body: tr(`"amount":100,"currency":"EUR","description":"\ud800"`)}, 400, "invalid_description"},
		{"bidi override in description", req{Body: tr(`"amount":100,"currency":"EUR","description":"pay \u202e001"`)}, 400, "invalid_description"},
		{"control character in description", req{Body: tr(`"amount":100,"currency":"EUR","description":"a\u0000b"`)}, 400, "invalid_description"},
		{"description too long", req{Body: tr(`"amount":100,"currency":"EUR","description":"` + strings.Repeat("é", 101) + `"`)}, 400, "invalid_description"},
		{"oversized body", req{Body: tr(`"amount":100,"currency":"EUR","description":"` + strings.Repeat("a", 20<<10) + `"`)}, 413, "body_too_large"},
		{"form-encoded body", req{Body: "from=1&to=2", Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 415, "unsupported_media_type"},
		{"missing idempotency key", req{Key: "-", Body: tr(`"amount":100,"currency":"EUR"`)}, 400, "idempotency_key_required"},
		{"idempotency key too long", req{Key: strings.Repeat("k", 101), Body: tr(`"amount":100,"currency":"EUR"`)}, 400, "invalid_idempotency_key"},
		{"two idempotency keys", req{Header: map[string]string{secondKey: "other-key"}, Body: tr(`"amount":100,"currency":"EUR"`)}, 400, "invalid_idempotency_key"},
		{"one idempotency key twice", req{Key: "twice-key", Header: map[string]string{secondKey: "twice-key"}, Body: tr(`"amount":100,"currency":"EUR"`)}, 400, "invalid_idempotency_key"},
		{"a used idempotency key before a new one", req{Key: "used-key", Header: map[string]string{secondKey: "fresh-key"}, Body: tr(`"amount":100,"currency":"EUR"`)}, 400, "invalid_idempotency_key"},
		{"a new idempotency key before a used one", req{Header: map[string]string{secondKey: "used-key"}, Body: tr(`"amount":2,"currency":"EUR"`)}, 400, "invalid_idempotency_key"},
		{"reused idempotency key, other body", req{Key: "used-key", Body: tr(`"amount":2,"currency":"EUR"`)}, 409, "idempotency_conflict"},
		{"account number with wrong check digit", req{Body: fmt.Sprintf(`{"from":%q,"to":%q,"amount":1,"currency":"EUR"}`, badCheck, to.Number)}, 400, "invalid_account_number"},
		{"SQL-looking account number", req{Body: fmt.Sprintf(`{"from":%q,"to":"1' OR '1'='1","amount":1,"currency":"EUR"}`, from.Number)}, 400, "invalid_account_number"},
		{"Lua/Redis-looking account number", req{Body: fmt.Sprintf(`{"from":%q,"to":"*\r\nFLUSHALL","amount":1,"currency":"EUR"}`, from.Number)}, 400, "invalid_account_number"},
		{"full-width digits", req{Body: fmt.Sprintf(`{"from":%q,"to":"１０００００００１６","amount":1,"currency":"EUR"}`, from.Number)}, 400, "invalid_account_number"},
		{"to a system account", req{Body: fmt.Sprintf(`{"from":%q,"to":%q,"amount":1,"currency":"EUR"}`, from.Number, bank.SystemAccountNumber(bank.PurposeTellerCash, bank.Currency{Numeric: 978}))}, 422, "system_account"},
		{"to a non-existent account", req{Body: fmt.Sprintf(`{"from":%q,"to":%q,"amount":1,"currency":"EUR"}`, from.Number, bank.CustomerAccountNumber(424242))}, 404, "account_not_found"},
		{"to itself", req{Body: fmt.Sprintf(`{"from":%q,"to":%q,"amount":1,"currency":"EUR"}`, from.Number, from.Number)}, 422, "same_account"},
		{"more than the overdraft allows", req{Body: tr(`"amount":99100,"currency":"EUR"`)}, 422, "insufficient_funds"},
		{"bad cursor", req{Method: "GET", Path: "/v1/accounts/" + from.Number + "/entries?cursor=%27%20OR%201%3D1%20--"}, 400, "invalid_cursor"},
		{"forged cursor", req{Method: "GET", Path: "/v1/accounts/" + from.Number + "/entries?cursor=ZTorLSsr"}, 400, "invalid_cursor"},
		{"limit above 200", req{Method: "GET", Path: "/v1/accounts/" + from.Number + "/entries?limit=201"}, 400, "invalid_limit"},
		{"limit not a number", req{Method: "GET", Path: "/v1/accounts/" + from.Number + "/entries?limit=ten"}, 400, "invalid_limit"},
		{"time not RFC 3339", req{Method: "GET", Path: "/v1/accounts/" + from.Number + "/entries?from=yesterday"}, 400, "invalid_time"},
		{"time before 1970", req{Method: "GET", Path: "/v1/accounts/" + from.Number + "/entries?from=1900-01-01T00:00:00Z"}, 400, "invalid_time"},
		{"zero stream id cursor", req{Method: "GET", Path: "/v1/accounts/" + from.Number + "/entries?cursor=ZTowLTA"}, 400, "invalid_cursor"},
		{"account number in path with letters", req{Method: "GET", Path: "/v1/accounts/10000000a6"}, 400, "invalid_account_number"},
		{"capture more than held", req{Path: "/v1/holds/" + hold.ID + "/capture", Body: `{"amount":1001}`}, 422, "capture_exceeds_hold"},
		{"capture negative", req{Path: "/v1/holds/" + hold.ID + "/capture", Body: `{"amount":-1}`}, 400, "invalid_amount"},
		{"capture: field name in other case", req{Path: "/v1/holds/" + hold.ID + "/capture", Body: `{"Amount":5}`}, 400, "unknown_field"},
		{"void: two idempotency keys", req{Path: "/v1/holds/" + hold.ID + "/void", Header: map[string]string{secondKey: "other-key"}}, 400, "invalid_idempotency_key"},
		{"hold expiry too far", req{Path: "/v1/holds", Body: fmt.Sprintf(`{"account":%q,"payee":%q,"amount":1,"currency":"EUR","expires_in_seconds":99999999}`, from.Number, to.Number)}, 400, "invalid_expiry"},
		{"hold id not ours", req{Method: "GET", Path: "/v1/holds/hd_nothex"}, 404, "hold_not_found"},
		{"open account: unknown type", req{Path: "/v1/accounts", Key: "-", Body: `{"type":"bitcoin","currency":"EUR"}`}, 400, "invalid_account_type"},
		{"open account: customer overdraft too high", req{Path: "/v1/accounts", Key: "-", Body: `{"type":"checking","currency":"EUR","overdraft_limit":100000000}`}, 400, "invalid_overdraft_limit"},
		{"open account: name with bidi", req{Path: "/v1/accounts", Key: "-", Body: `{"type":"checking","currency":"EUR","name":"\u2066x"}`}, 400, "invalid_name"},
		{"register: Cyrillic look-alike username", req{Path: "/v1/auth/register", Key: "-", Token: "-", Body: `{"username":"саrl","password":"password-123"}`}, 400, "invalid_username"},
		{"register: taken username", req{Path: "/v1/auth/register", Key: "-", Token: "-", Body: `{"username":"CARL","password":"password-123"}`}, 409, "username_taken"},
		{"register: role smuggling", req{Path: "/v1/auth/register", Key: "-", Token: "-", Body: `{"username":"mallory","password":"password-123","role":"admin"}`}, 400, "unknown_field"},
		{"register: USERNAME", req{Path: "/v1/auth/register", Key: "-", Token: "-", Body: `{"USERNAME":"mallory","password":"password-123"}`}, 400, "unknown_field"},
		{"register: field name by Unicode case folding", req{Path: "/v1/auth/register", Key: "-", Token: "-", Body: `{"username":"mallory","pa\u017f\u017fword":"password-123"}`}, 400, "unknown_field"},
		{"open account: field name in other case", req{Path: "/v1/accounts", Key: "-", Body: `{"type":"checking","currency":"EUR","Overdraft_Limit":100000000}`}, 400, "unknown_field"},
	}
	if len(cases) < 30 {
		t.Fatalf("only %d cases", len(cases))
	}

	accounts := []string{from.Number, to.Number, usd.Number}
	snapshot := func() string {
		var b strings.Builder
		for _, n := range accounts {
			a := e.account(t, n)
			en, err := e.Ledger.EntriesBetween(context.Background(), n, time0, time0)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s:%d/%d/%s/%d ", n, a.Balance, a.Held, a.Status, len(en))
		}
		return b.String()
	}
	before := snapshot()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rq := tc.rq
			if rq.Method == "" {
				rq.Method = "POST"
			}
			if rq.Path == "" {
				rq.Path = "/v1/transfers"
			}
			switch rq.Token {
			case "":
				rq.Token = c
			case "-":
				rq.Token = ""
			}
			switch {
			case rq.Key == "-":
				rq.Key = ""
			case rq.Key == "" && rq.Method == "POST":
				rq.Key = newKey()
			}
			r := e.do(t, rq)
			want(t, r, tc.status, tc.code)
			if p := r.problem(t); p.Status >= 400 && p.Status < 500 && len(p.Detail) < 10 {
				t.Errorf("detail %q does not say what is wrong", p.Detail)
			}
		})
	}
	if after := snapshot(); after != before {
		t.Fatalf("bad input changed the ledger:\n%s\n%s", before, after)
	}
	e.balanced(t)
	if _, err := e.Auth.UserByName(context.Background(), "mallory"); err == nil {
		t.Fatal("a rejected registration created a user")
	}
}

var time0 time.Time

// secondKey, a header of a test request, is sent as a second
// Idempotency-Key header line (the test client sets one line per name).
const secondKey = "X-Test-Second-Idempotency-Key"

type secondKeyTransport struct{ http.RoundTripper }

func (t secondKeyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if v := r.Header.Get(secondKey); v != "" {
		r = r.Clone(r.Context())
		r.Header.Del(secondKey)
		r.Header.Add("Idempotency-Key", v)
	}
	return t.RoundTripper.RoundTrip(r)
}

// TestDecodeStrictExactNames: every object's keys, at any depth, must
// spell a field of what they decode into exactly.
func TestDecodeStrictExactNames(t *testing.T) {
	type leg struct {
		Amount int64 `json:"amount"`
	}
	type Note struct {
		Text string `json:"text"`
	}
	type body struct {
		Legs  []leg          `json:"legs"`
		ByKey map[string]leg `json:"by_key"`
		Ptr   *leg           `json:"ptr"`
		Any   any            `json:"any"`
		Plain string
		Note
	}
	var ok body
	if err := api.DecodeStrict([]byte(`{"legs":[{"amount":1}],"by_key":{"Any Key":{"amount":2}},"ptr":{"amount":3},"any":{"AMOUNT":4},"Plain":"p","text":"t"}`), &ok); err != nil {
		t.Fatalf("exact names refused: %v", err)
	}
	if ok.Legs[0].Amount != 1 || ok.ByKey["Any Key"].Amount != 2 || ok.Ptr.Amount != 3 || ok.Plain != "p" || ok.Text != "t" {
		t.Fatalf("decoded %+v", ok)
	}
	for in, key := range map[string]string{
		`{"LEGS":[]}`:                          "LEGS",
		`{"legs":[{"amount":1},{"Amount":2}]}`: "Amount",
		`{"by_key":{"k":{"amounT":1}}}`:        "amounT",
		`{"ptr":{"amount":1,"AMOUNT":2}}`:      "AMOUNT",
		`{"plain":"p"}`:                        "plain",
		`{"TEXT":"t"}`:                         "TEXT",
		`{"Note":{"text":"t"}}`:                "Note",
		`{"legs":[{"fee":1}]}`:                 "fee",
	} {
		var b body
		err := api.DecodeStrict([]byte(in), &b)
		if err == nil || !strings.HasPrefix(err.Error(), fmt.Sprintf("unknown_field: unknown field %q", key)) {
			t.Errorf("%s: %v, want unknown_field %q", in, err, key)
		}
	}
	// One object and nothing after it but white space.
	for _, in := range []string{`{"Plain":"a"}{"Plain":"b"}`, `{"Plain":"a"} {}`, `{"Plain":"a"} []`, `{"Plain":"a"} 1`, `{"Plain":"a"} x`, `{"Plain":"a"}}`} {
		var b body
		if err := api.DecodeStrict([]byte(in), &b); err == nil || !strings.HasPrefix(err.Error(), "invalid_json: ") {
			t.Errorf("%s: %v, want invalid_json", in, err)
		}
	}
	var b body
	if err := api.DecodeStrict([]byte("{\"Plain\":\"a\"} \n\t"), &b); err != nil || b.Plain != "a" {
		t.Errorf("trailing white space: %v, %+v", err, b)
	}
}
