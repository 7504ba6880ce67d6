package api

// How every money-moving POST runs: strict body, Idempotency-Key and
// request fingerprint, the posting, its metric and the answer.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
)

// idempotency reads the one Idempotency-Key header and fingerprints the
// request (method, path, and the decoded body re-encoded canonically, so
// whitespace or key order do not make a retry look different).
func idempotency(r *http.Request, req any) (ledger.Idem, error) {
	keys := r.Header.Values("Idempotency-Key")
	if len(keys) > 1 {
		// Get would take the first; a proxy, a log or a retry may take
		// another: one operation has one key.
		return ledger.Idem{}, invalid("invalid_idempotency_key", "Idempotency-Key",
			fmt.Sprintf("send exactly one Idempotency-Key header, not %d", len(keys)))
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return ledger.Idem{}, invalid("idempotency_key_required", "Idempotency-Key",
			"money-moving requests need an Idempotency-Key header (1-100 printable ASCII characters), unique per intended operation")
	}
	if len(key) > 100 {
		return ledger.Idem{}, invalid("invalid_idempotency_key", "Idempotency-Key", "Idempotency-Key must be at most 100 characters")
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return ledger.Idem{}, invalid("invalid_idempotency_key", "Idempotency-Key", "Idempotency-Key must be printable ASCII")
		}
	}
	canon, err := json.Marshal(req)
	if err != nil {
		return ledger.Idem{}, err
	}
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
	h.Write(canon)
	// The scope is the caller; a route that authenticates in its script
	// (transfer) has no caller here, and the script scopes the key itself.
	var scope string
	if u, ok := r.Context().Value(ctxUser).(bank.User); ok {
		scope = u.ID
	}
	return ledger.Idem{Scope: scope, Key: key, Hash: hex.EncodeToString(h.Sum(nil))}, nil
}

func (s *Server) countPosting(kind string, replayed bool, err error) {
	outcome := "completed"
	switch {
	case err != nil:
		outcome = bank.ErrorCode(err)
	case replayed:
		outcome = "replayed"
	}
	s.m.transfers.WithLabelValues(kind, outcome).Inc()
}

func writeMoney(w http.ResponseWriter, status int, replayed bool, v any) {
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, status, v)
}

// writeRequest decodes a write's body strictly into a Req, then takes
// its Idempotency-Key and fingerprints the request. A request without
// fields (noFields: a void) may leave its body out.
func writeRequest[Req any](s *Server, w http.ResponseWriter, r *http.Request) (Req, ledger.Idem, error) {
	var req Req
	if _, none := any(req).(noFields); !none || r.ContentLength != 0 {
		if err := readBody(w, r, s.maxBody, &req); err != nil {
			return req, ledger.Idem{}, err
		}
	}
	idem, err := idempotency(r, req)
	return req, idem, err
}

// noFields is the body of a money-moving POST that takes none.
type noFields struct{}

func (noFields) validate() error { return nil }

// validator checks a request's own fields, before anything is looked up.
type validator interface{ validate() error }

// moveMoney runs a money-moving POST the way all of them go: decode the
// body and take the Idempotency-Key (writeRequest), check the fields
// (Req.validate), then post (which looks up what it needs and calls the
// ledger); count the outcome and answer with the result, or return the
// problem. location, when not nil, names the created resource.
func moveMoney[Req validator, Res any](s *Server, w http.ResponseWriter, r *http.Request, kind string, status int,
	location func(Res) string, post func(Req, ledger.Idem) (Res, bool, error)) error {
	res, replayed, err := func() (Res, bool, error) {
		req, idem, err := writeRequest[Req](s, w, r)
		if err == nil {
			err = req.validate()
		}
		if err != nil {
			var none Res
			return none, false, err
		}
		return post(req, idem)
	}()
	s.countPosting(kind, replayed, err)
	if err != nil {
		return err
	}
	if location != nil {
		w.Header().Set("Location", location(res))
	}
	writeMoney(w, status, replayed, res)
	return nil
}
