package loadgen

import (
	"math/rand/v2"
	"testing"
)

func TestParseMix(t *testing.T) {
	m, err := ParseMix("transfer=70, hold=10,balance=10,history=10")
	if err != nil || m[OpTransfer] != 70 || m[OpHold] != 10 || m.total() != 100 {
		t.Fatalf("ParseMix: %v %v", m, err)
	}
	if m.String() != "transfer=70,hold=10,balance=10,history=10" {
		t.Errorf("String: %s", m)
	}
	for _, bad := range []string{"transfer", "transfer=x", "capture=1", "transfer=-1", "transfer=0", "nope=3"} {
		if _, err := ParseMix(bad); err == nil {
			t.Errorf("ParseMix(%q) accepted", bad)
		}
	}
	if m, err := ParseMix(""); err != nil || m.pick(rand.New(rand.NewPCG(1, 2))) != OpTransfer {
		t.Errorf("the empty mix is not transfers only: %v %v", m, err)
	}
	// Picks follow the weights: 10,000 draws of 70/10/10/10 land near them.
	r := rand.New(rand.NewPCG(1, 2))
	got := map[string]int{}
	for range 10_000 {
		got[m.pick(r)]++
	}
	if got[OpTransfer] < 6700 || got[OpTransfer] > 7300 || got[OpHold] < 800 || got[OpHold] > 1200 || got[OpBalance]+got[OpHistory]+got[OpHold]+got[OpTransfer] != 10_000 {
		t.Errorf("10,000 picks of %v: %v", m, got)
	}
}
