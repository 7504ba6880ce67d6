package loadgen

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// The operations a run can mix. A hold is authorised and then, half the
// time each, captured or voided: one step of the mix, three requests.
const (
	OpTransfer = "transfer"
	OpHold     = "hold"
	OpCapture  = "capture"
	OpVoid     = "void"
	OpBalance  = "balance"
	OpHistory  = "history"
)

// mixable are the operations a mix may name, in report order.
var mixable = []string{OpTransfer, OpHold, OpBalance, OpHistory}

// Mix is the weight of each operation in a run.
type Mix map[string]int

// ParseMix reads "transfer=70,hold=10,balance=10,history=10"; "" is
// transfers only.
func ParseMix(s string) (Mix, error) {
	if strings.TrimSpace(s) == "" {
		return Mix{OpTransfer: 1}, nil
	}
	m := Mix{}
	for part := range strings.SplitSeq(s, ",") {
		name, w, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(w)
		if !ok || err != nil || n < 0 || !slices.Contains(mixable, name) {
			return nil, fmt.Errorf("mix %q: want op=weight,... with ops %v and weights >= 0", s, mixable)
		}
		m[name] += n
	}
	if m.total() == 0 {
		return nil, fmt.Errorf("mix %q: every weight is 0", s)
	}
	return m, nil
}

func (m Mix) total() int {
	t := 0
	for _, w := range m {
		t += w
	}
	return t
}

// pick draws an operation by weight.
func (m Mix) pick(r *rand.Rand) string {
	n := r.IntN(m.total())
	for _, op := range mixable {
		if n < m[op] {
			return op
		}
		n -= m[op]
	}
	return OpTransfer
}

func (m Mix) String() string {
	var parts []string
	for _, op := range mixable {
		if m[op] > 0 {
			parts = append(parts, op+"="+strconv.Itoa(m[op]))
		}
	}
	return strings.Join(parts, ",")
}
