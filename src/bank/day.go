package bank

import (
	"fmt"
	"time"
)

// Day is one civil day in the bank's time zone: the business date of
// interest, statements, standing orders and every periodic job.
type Day struct {
	Date    string    // YYYY-MM-DD
	Ordinal int64     // days since 1970-01-01; orders days across zones
	End     time.Time // first instant of the next day, exclusive
}

// NewDay returns the civil day of t in loc.
func NewDay(t time.Time, loc *time.Location) Day {
	y, m, d := t.In(loc).Date()
	return Day{
		Date:    fmt.Sprintf("%04d-%02d-%02d", y, m, d),
		Ordinal: time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400,
		End:     time.Date(y, m, d+1, 0, 0, 0, 0, loc),
	}
}

// ParseDay parses YYYY-MM-DD as a day in loc.
func ParseDay(s string, loc *time.Location) (Day, error) {
	t, err := time.ParseInLocation("2006-01-02", s, loc)
	if err != nil {
		return Day{}, Errorf(KindInvalid, "invalid_date", "date %q must be YYYY-MM-DD", s)
	}
	return NewDay(t, loc), nil
}

// DayFromOrdinal returns the day with the given ordinal in loc.
func DayFromOrdinal(o int64, loc *time.Location) Day {
	t := time.Unix(o*86400, 0).UTC()
	return NewDay(time.Date(t.Year(), t.Month(), t.Day(), 12, 0, 0, 0, loc), loc)
}

// Next returns the following day.
func (d Day) Next(loc *time.Location) Day { return NewDay(d.End, loc) }
