package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kubebank/kubebank/src/apiclient"
)

// The audit page of the teller console: admins and auditors read the
// trail of staff actions, filtered by who acted, which account, which
// days, newest first, a page at a time. The API keeps and filters it;
// this page only asks.

type auditData struct {
	Actor, Account, From, To string // the filter as typed (From and To are days)
	Page                     apiclient.AuditPage
	Older                    string // the link to the next page, "" at the end
	Error                    string
}

// auditPageSize is small enough to read on a phone.
const auditPageSize = 50

func (s *Server) auditLog(w http.ResponseWriter, r *http.Request, sess *Session) {
	if !sess.Overseer() {
		s.renderError(w, r, http.StatusForbidden, "Admins and auditors only", "The audit trail is for admins and auditors.")
		return
	}
	q := r.URL.Query()
	d := auditData{Actor: strings.TrimSpace(q.Get("actor")), Account: strings.ReplaceAll(q.Get("account"), " ", ""),
		From: q.Get("from"), To: q.Get("to")}
	aq := apiclient.AuditQuery{Actor: d.Actor, Account: d.Account, Cursor: q.Get("cursor"), Limit: auditPageSize}
	var err error
	if aq.From, err = day(d.From); err == nil {
		aq.To, err = day(d.To)
	}
	if err != nil {
		d.Error = "Enter days as YYYY-MM-DD."
		s.render(w, r, http.StatusBadRequest, "audit", page{Title: "Audit trail", Nav: "audit", Data: d})
		return
	}
	if !aq.To.IsZero() {
		aq.To = aq.To.AddDate(0, 0, 1) // the To day is included
	}
	d.Page, err = s.api.Audit(r.Context(), sess.Token, aq)
	if p, ok := apiclient.AsProblem(err); ok && p.Status == http.StatusBadRequest {
		d.Error = describe(p)
		s.render(w, r, http.StatusBadRequest, "audit", page{Title: "Audit trail", Nav: "audit", Data: d})
		return
	} else if err != nil {
		s.apiFailure(w, r, sess, err)
		return
	}
	if d.Page.NextCursor != "" {
		next := url.Values{}
		for k, v := range map[string]string{"actor": d.Actor, "account": d.Account, "from": d.From, "to": d.To, "cursor": d.Page.NextCursor} {
			if v != "" {
				next.Set(k, v)
			}
		}
		d.Older = "/teller/audit?" + next.Encode()
	}
	s.render(w, r, http.StatusOK, "audit", page{Title: "Audit trail", Nav: "audit", Data: d})
}

// day parses a YYYY-MM-DD day as its UTC midnight; "" is the zero time.
func day(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.DateOnly, s)
}
