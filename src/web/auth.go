package web

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strings"

	"github.com/kubebank/kubebank/src/apiclient"
)

type authData struct {
	Username string
	Next     string
	Error    string
	Notice   string
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	sess, _, err := s.load(r)
	if err == nil && sess != nil {
		http.Redirect(w, r, landing(sess), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// landing is where a session starts: staff at the teller console, where
// their work is, customers at their accounts.
func landing(sess *Session) string {
	if sess.Staff() {
		return "/teller"
	}
	return "/dashboard"
}

// safeNext only allows local paths as a post-login destination, so the
// login page cannot be used to bounce people to another site.
func safeNext(n string) string {
	const home = "/dashboard"
	// Browsers read "\\" as "/" and drop tabs and newlines, and
	// http.Redirect cleans "/./" away: any of them can turn a local path
	// into "//host". Only plain local paths are accepted, checked again
	// after cleaning.
	if n == "" || n[0] != '/' || strings.ContainsFunc(n, func(r rune) bool { return r == '\\' || r <= ' ' || r == 0x7f }) {
		return home
	}
	u, err := url.Parse(n)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return home
	}
	clean := path.Clean(u.Path) // also folds "//" (decoded from %2F%2F too) into "/"
	if !strings.HasPrefix(clean, "/") || strings.ContainsFunc(clean, func(r rune) bool { return r == '\\' || r < ' ' || r == 0x7f }) {
		return home
	}
	return (&url.URL{Path: clean, RawQuery: u.RawQuery}).String()
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	d := authData{Next: r.URL.Query().Get("next")}
	switch {
	case r.URL.Query().Get("expired") != "":
		d.Notice = "Your session has expired. Please log in again."
	case r.URL.Query().Get("bye") != "":
		d.Notice = "You have been logged out."
	case r.URL.Query().Get("welcome") != "":
		d.Notice = "Your profile was created. Please log in."
	}
	s.render(w, r, http.StatusOK, "login", page{Title: "Log in", Nav: "login", Data: d})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	d := authData{Username: strings.TrimSpace(r.PostFormValue("username")), Next: r.PostFormValue("next")}
	password := r.PostFormValue("password")
	if d.Username == "" || password == "" {
		d.Error = "Enter your username and password."
		s.render(w, r, http.StatusUnprocessableEntity, "login", page{Title: "Log in", Nav: "login", Data: d})
		return
	}
	sess, err := s.startSession(w, r, d.Username, password)
	if err != nil {
		code, msg := loginError(err)
		if code >= 500 {
			s.log.ErrorContext(r.Context(), "login", "err", err)
		}
		d.Error = msg
		s.render(w, r, code, "login", page{Title: "Log in", Nav: "login", Data: d})
		return
	}
	next := landing(sess)
	if d.Next != "" {
		next = safeNext(d.Next)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func loginError(err error) (int, string) {
	p, ok := apiclient.AsProblem(err)
	switch {
	case !ok:
		return http.StatusBadGateway, "We could not reach the banking service. Please try again in a moment."
	case p.Status == http.StatusTooManyRequests:
		msg := "Too many attempts. Please wait a little before trying again."
		if p.RetryAfter != "" {
			msg = "Too many attempts. Please wait " + p.RetryAfter + " seconds before trying again."
		}
		return http.StatusTooManyRequests, msg
	case p.Status == http.StatusUnauthorized:
		return http.StatusUnauthorized, "The username or password is not correct."
	default:
		return p.Status, describe(p)
	}
}

// startSession logs in at the API and stores the token in a new session.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, username, password string) (*Session, error) {
	l, err := s.api.Login(s.clientCtx(r), username, password)
	if err != nil {
		return nil, err
	}
	// A login always gets a fresh session id, and a previous session of
	// this browser ends: an id planted before login is worth nothing.
	if old, _, err := s.load(r); err == nil && old != nil {
		_ = s.api.Logout(r.Context(), old.Token)
		_ = s.sessions.Delete(r.Context(), old.ID)
	}
	sess := &Session{Token: l.Token, UserID: l.User.ID, Username: l.User.Username, Role: l.User.Role}
	if err := s.sessions.Create(r.Context(), sess, l.ExpiresAt); err != nil {
		return nil, err
	}
	s.setCookie(w, sess)
	return sess, nil
}

func (s *Server) signupForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "signup", page{Title: "Open your bank profile", Nav: "signup", Data: authData{}})
}

func (s *Server) signup(w http.ResponseWriter, r *http.Request) {
	d := authData{Username: strings.TrimSpace(r.PostFormValue("username"))}
	password, confirm := r.PostFormValue("password"), r.PostFormValue("confirm")
	fail := func(code int, msg string) {
		d.Error = msg
		s.render(w, r, code, "signup", page{Title: "Open your bank profile", Nav: "signup", Data: d})
	}
	switch {
	case d.Username == "" || password == "":
		fail(http.StatusUnprocessableEntity, "Choose a username and a password.")
		return
	case password != confirm:
		fail(http.StatusUnprocessableEntity, "The two passwords do not match.")
		return
	}
	if _, err := s.api.Register(s.clientCtx(r), d.Username, password); err != nil {
		if p, ok := apiclient.AsProblem(err); ok {
			fail(p.Status, describe(p))
			return
		}
		s.log.ErrorContext(r.Context(), "register", "err", err)
		fail(http.StatusBadGateway, "We could not reach the banking service. Please try again in a moment.")
		return
	}
	if _, err := s.startSession(w, r, d.Username, password); err != nil {
		// The profile exists; let them log in by hand.
		http.Redirect(w, r, "/login?welcome=1", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	sess, _, _ := s.load(r)
	if sess != nil {
		// Revoke the API token too: a stolen session id must not outlive logout.
		if err := s.api.Logout(r.Context(), sess.Token); err != nil && !apiclient.IsStatus(err, http.StatusUnauthorized) {
			s.log.WarnContext(r.Context(), "api logout", "err", err)
		}
		if err := s.sessions.Delete(r.Context(), sess.ID); err != nil {
			s.log.WarnContext(r.Context(), "deleting session", "err", err)
		}
	}
	s.clearCookie(w)
	http.Redirect(w, r, "/login?bye=1", http.StatusSeeOther)
}

// clientCtx carries the browser's address to the API's rate limits. When
// this request came from one of the web app's trusted proxies (the
// ingress controller), it sends the X-Forwarded-For chain that proxy
// passed on plus the peer, so the API, which believes only its trusted
// proxies' hops, finds the browser behind both the ingress and this web
// app. From anyone else the header is the client's own invention (a
// fresh address per attempt would buy a fresh login budget), so only the
// peer is sent.
func (s *Server) clientCtx(r *http.Request) context.Context {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	chain := host
	if prev := strings.Join(r.Header.Values("X-Forwarded-For"), ", "); prev != "" && s.trustedPeer(host) {
		chain = prev + ", " + host
	}
	return apiclient.WithClientAddr(r.Context(), chain)
}

func (s *Server) trustedPeer(host string) bool {
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap() // an IPv4 peer on a dual-stack socket
	for _, p := range s.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
