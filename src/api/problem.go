package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/kubebank/kubebank/src/auth"
	"github.com/kubebank/kubebank/src/bank"
	"github.com/kubebank/kubebank/src/redispool"
)

// Problem is an RFC 9457 problem details object. Code is the stable,
// machine-readable part of the contract; Title and Detail are for people.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail"`
	Code   string       `json:"code"`
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError points at the request field that is wrong.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// apiError is an error with an HTTP status that the domain has no kind
// for (413, 415, 405) and optional field details.
type apiError struct {
	status int
	code   string
	detail string
	fields []FieldError
}

func (e *apiError) Error() string { return e.code + ": " + e.detail }

func errStatus(status int, code, detail string, fields ...FieldError) error {
	return &apiError{status: status, code: code, detail: detail, fields: fields}
}

func invalid(code, field, detail string) error {
	var fields []FieldError
	if field != "" {
		fields = []FieldError{{Field: field, Message: detail}}
	}
	return &apiError{status: http.StatusBadRequest, code: code, detail: detail, fields: fields}
}

var kindStatus = map[bank.Kind]int{
	bank.KindInvalid:      http.StatusBadRequest,
	bank.KindUnauthorized: http.StatusUnauthorized,
	bank.KindForbidden:    http.StatusForbidden,
	bank.KindNotFound:     http.StatusNotFound,
	bank.KindConflict:     http.StatusConflict,
	bank.KindRejected:     http.StatusUnprocessableEntity,
	bank.KindRateLimited:  http.StatusTooManyRequests,
}

// problemFor maps any error to a problem. Errors that are not domain
// errors are internal: their text is logged, never shown.
func problemFor(err error) Problem {
	var ae *apiError
	if errors.As(err, &ae) {
		return Problem{Type: typeURI(ae.code), Title: http.StatusText(ae.status), Status: ae.status, Detail: ae.detail, Code: ae.code, Errors: ae.fields}
	}
	var be *bank.Error
	if errors.As(err, &be) {
		st, ok := kindStatus[be.Kind]
		if !ok {
			st = http.StatusInternalServerError
		}
		return Problem{Type: typeURI(be.Code), Title: http.StatusText(st), Status: st, Detail: be.Message, Code: be.Code}
	}
	if redispool.Unavailable(err) {
		detail := "the ledger's database is unavailable right now (restarting, failing over or overloaded); retry after Retry-After seconds, a money-moving request with the same Idempotency-Key"
		if errors.Is(err, redispool.ErrNotReplicated) {
			detail = "outcome unknown: the write could not be confirmed on a replica in time; retry with the same Idempotency-Key (a replay moves no money twice)"
		}
		return Problem{Type: typeURI(codeUnavailable), Title: http.StatusText(http.StatusServiceUnavailable), Status: http.StatusServiceUnavailable,
			Detail: detail, Code: codeUnavailable}
	}
	return Problem{Type: typeURI("internal"), Title: http.StatusText(http.StatusInternalServerError), Status: http.StatusInternalServerError,
		Detail: "an internal error occurred; it has been logged", Code: "internal"}
}

// codeUnavailable is a dependency that cannot serve now (Redis down,
// paused, loading, failing over, or a write not confirmed by replicas):
// 503 with Retry-After, never 500, so that clients and load balancers
// retry instead of giving up.
const codeUnavailable = "unavailable"

// retryAfterUnavailable is the Retry-After of a 503: about the time a
// Sentinel failover or a restart takes to be over for most requests.
const retryAfterUnavailable = "1"

// typeURI names the problem type. A URN rather than a URL: nothing needs
// to be hosted, and the code stays the thing clients switch on.
func typeURI(code string) string { return "urn:kubebank:problem:" + code }

// handler is a route that returns its failure instead of writing it.
// handle writes every failure the one way (s.fail), so no route can
// forget to stop after a problem, or answer twice.
type handler func(w http.ResponseWriter, r *http.Request) error

func (s *Server) handle(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	}
}

// reply answers v as JSON with status, unless err says that what v was
// read from failed: then nothing is written and err goes to the adapter.
func reply(w http.ResponseWriter, status int, v any, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, status, v)
	return nil
}

// noContent answers 204, unless err says the action failed.
func noContent(w http.ResponseWriter, err error) error {
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	p := problemFor(err)
	s.auditFailure(r, p)
	switch {
	case p.Code == codeUnavailable:
		// Expected while Redis fails over; one line per request, not an error.
		s.log.WarnContext(r.Context(), "request unavailable", "method", r.Method, "path", r.URL.Path, "err", err.Error())
		w.Header().Set("Retry-After", retryAfterUnavailable)
	case p.Status >= 500:
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err.Error())
	}
	var le *auth.LimitError
	if errors.As(err, &le) {
		w.Header().Set("Retry-After", strconv.Itoa(int((le.RetryAfter.Milliseconds()+999)/1000)))
	}
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kubebank"`)
	}
	writeProblem(w, p)
}

func writeProblem(w http.ResponseWriter, p Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
