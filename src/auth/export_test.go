package auth

import "context"

// Rehash is Service.rehash, for the test of its compare-and-set.
func Rehash(ctx context.Context, s *Service, userID, hash, password string) {
	s.rehash(ctx, userID, hash, password)
}
