package api

// Routes of an account's statements.

import (
	"bytes"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/kubebank/kubebank/src/statements"
)

func (s *Server) listStatements(w http.ResponseWriter, r *http.Request) {
	a, err := s.visibleAccount(r, "number", chi.URLParam(r, "number"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	list, err := s.statements.List(r.Context(), a.Number)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"statements": list})
}

func (s *Server) getStatement(w http.ResponseWriter, r *http.Request) {
	a, err := s.visibleAccount(r, "number", chi.URLParam(r, "number"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	month := chi.URLParam(r, "month")
	if _, err := statements.ParseMonth(month, time.UTC); err != nil {
		s.fail(w, r, invalid("invalid_month", "month", "month must be YYYY-MM"))
		return
	}
	st, err := s.statements.Get(r.Context(), a.Number, month)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if r.URL.Query().Get("format") == "csv" || strings.Contains(r.Header.Get("Accept"), "text/csv") {
		var buf bytes.Buffer
		if err := statements.WriteCSV(&buf, st); err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="statement-`+a.Number+"-"+month+`.csv"`)
		w.WriteHeader(http.StatusOK)
		w.Write(buf.Bytes())
		return
	}
	writeJSON(w, http.StatusOK, st)
}
