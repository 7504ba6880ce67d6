package api

// How every money-moving POST runs: strict body, Idempotency-Key and
// request fingerprint, the posting, its metric and the answer.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"

	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/ledger"
)

// idempotency reads the Idempotency-Key header and fingerprints the
// request (method, path, and the decoded body re-encoded canonically, so
// whitespace or key order do not make a retry look different).
func idempotency(r *http.Request, req any) (ledger.Idem, error) {
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
	return ledger.Idem{Scope: userOf(r).ID, Key: key, Hash: hex.EncodeToString(h.Sum(nil))}, nil
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

// moveMoney runs a money-moving POST the way all of them go: decode the
// body strictly into a Req, take the Idempotency-Key and fingerprint the
// request, then post (which checks the fields and calls the ledger); count
// the outcome and answer with the result or the problem. A request without
// fields (a void) may leave its body out. location, when not nil, names
// the created resource.
func moveMoney[Req, Res any](s *Server, w http.ResponseWriter, r *http.Request, kind string, status int,
	location func(Res) string, post func(Req, ledger.Idem) (Res, bool, error)) {
	res, replayed, err := func() (Res, bool, error) {
		var req Req
		var none Res
		if _, noFields := any(req).(struct{}); !noFields || r.ContentLength != 0 {
			if err := readBody(w, r, s.maxBody, &req); err != nil {
				return none, false, err
			}
		}
		idem, err := idempotency(r, req)
		if err != nil {
			return none, false, err
		}
		return post(req, idem)
	}()
	s.countPosting(kind, replayed, err)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if location != nil {
		w.Header().Set("Location", location(res))
	}
	writeMoney(w, status, replayed, res)
}
