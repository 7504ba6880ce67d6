// Package redishash decodes the hashes the bank keeps in Redis. A stored
// number that does not parse is reported, never read as 0: a balance or a
// limit silently turned into zero would be a wrong answer about money.
package redishash

import (
	"fmt"
	"strconv"
	"time"
)

// Fields reads one hash. Missing fields read as zero values (older records
// lack newer fields); the first malformed one is kept for Err.
type Fields struct {
	key string
	m   map[string]string
	err error
}

// New reads m, the hash stored at key (named in errors).
func New(key string, m map[string]string) *Fields { return &Fields{key: key, m: m} }

// Str returns a field as stored.
func (f *Fields) Str(name string) string { return f.m[name] }

// Int returns an integer field; missing or empty is 0.
func (f *Fields) Int(name string) int64 {
	v, err := Int("redis hash "+f.key+": field "+name, f.m[name])
	if err != nil && f.err == nil {
		f.err = err
	}
	return v
}

// Int parses one stored integer that what names (a hash field, a script's
// reply): "" (not written yet) is 0, anything else that does not parse is
// an error, never 0.
func Int(what, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: malformed integer %q", what, s)
	}
	return v, nil
}

// Millis returns a field holding Unix milliseconds as a UTC time; missing
// or 0 is the zero time.
func (f *Fields) Millis(name string) time.Time {
	ms := f.Int(name)
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// Err is the first malformed field's error, or nil.
func (f *Fields) Err() error { return f.err }
