package buildinfo

import (
	"strings"
	"testing"
)

func TestBuildInfoMetric(t *testing.T) {
	mfs, err := Gatherer().Gather()
	if err != nil || len(mfs) != 1 || mfs[0].GetName() != "bank_build_info" {
		t.Fatalf("gathered %v, %v", mfs, err)
	}
	m := mfs[0].GetMetric()[0]
	labels := map[string]string{}
	for _, l := range m.GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	if m.GetGauge().GetValue() != 1 || labels["version"] != Version || labels["goversion"] != GoVersion() || labels["revision"] == "" {
		t.Fatalf("bank_build_info %v = %v", labels, m.GetGauge().GetValue())
	}
	if s := String(); !strings.Contains(s, Version) || !strings.Contains(s, GoVersion()) {
		t.Fatalf("String() = %q", s)
	}
}
