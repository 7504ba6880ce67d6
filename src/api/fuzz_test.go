package api_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/kubebank/kubebank/src/api"
)

type fuzzTransfer struct {
	From        string `json:"from"`
	To          string `json:"to"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Description string `json:"description"`
}

// FuzzDecodeStrict feeds arbitrary bodies to the request decoder: it must
// never panic, must reject with a 4xx problem (never an internal error),
// and whatever it accepts must be a JSON object that plain encoding/json
// decodes to the same value.
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{
		`{"from":"1000000016","to":"1000000024","amount":100,"currency":"EUR"}`,
		`{"amount":1e3}`, `{"amount":-1}`, `{"amount":"1"}`, `{"amount":1,"amount":2}`, `{"x":1}`,
		`[]`, `null`, `{}`, `{} {}`, `{"description":"\ud800"}`, "{\"description\":\"\xff\"}",
		`{"from":{"a":[1,{"b":2}]}}`, `{"a":{"a":1,"a":2}}`, `   `, `{"amount":99999999999999999999}`,
		`{"description":"` + "\u202e" + `"}`, `{"from":"1","to":"2","amount":10.0}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var got fuzzTransfer
		err := api.DecodeStrict(body, &got)
		if err != nil {
			var p interface{ Error() string }
			if !errors.As(err, &p) || err.Error() == "" {
				t.Fatalf("error without text for %q", body)
			}
			return
		}
		var plain fuzzTransfer
		if perr := json.Unmarshal(body, &plain); perr != nil {
			t.Fatalf("strict decoder accepted %q, which encoding/json rejects: %v", body, perr)
		}
		if plain != got {
			t.Fatalf("strict %+v vs plain %+v for %q", got, plain, body)
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(body, &obj) != nil || obj == nil {
			t.Fatalf("accepted a non-object %q", body)
		}
	})
}
