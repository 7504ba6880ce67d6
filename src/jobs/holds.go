package jobs

import "context"

// ExpireHolds voids every authorised hold past its expiry.
func (r *Runner) ExpireHolds(ctx context.Context) (int, error) {
	n := 0
	for {
		ids, err := r.l.DueHolds(ctx, r.l.Now(), 500)
		if err != nil {
			return n, err
		}
		progress := false
		for _, id := range ids {
			ok, err := r.l.Expire(ctx, id)
			if err != nil {
				return n, err
			}
			if ok {
				n++
				progress = true
			}
		}
		if len(ids) < 500 || !progress {
			return n, nil
		}
	}
}
