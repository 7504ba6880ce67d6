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

func (s *Server) listStatements(w http.ResponseWriter, r *http.Request) error {
	a, err := s.pathAccount(r)
	if err != nil {
		return err
	}
	list, err := s.statements.List(r.Context(), a.Number)
	return reply(w, http.StatusOK, map[string]any{"statements": list}, err)
}

func (s *Server) getStatement(w http.ResponseWriter, r *http.Request) error {
	a, err := s.pathAccount(r)
	if err != nil {
		return err
	}
	month := chi.URLParam(r, "month")
	if _, err := statements.ParseMonth(month, time.UTC); err != nil {
		return invalid("invalid_month", "month", "month must be YYYY-MM")
	}
	st, err := s.statements.Get(r.Context(), a.Number, month)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("format") == "csv" || strings.Contains(r.Header.Get("Accept"), "text/csv") {
		return writeCSV(w, st, "statement-"+a.Number+"-"+month+".csv")
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// writeCSV answers the statement as a CSV download. It is written to a
// buffer first, so that a failure is still a problem, not half a file.
func writeCSV(w http.ResponseWriter, st statements.Statement, filename string) error {
	var buf bytes.Buffer
	if err := statements.WriteCSV(&buf, st); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
	return nil
}
