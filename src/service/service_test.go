package service_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kubebank/kubebank/src/service"
)

// Every process's /metrics carries its own metrics and bank_build_info.
func TestMetricsIncludeTheBuild(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "bank_test_total", Help: "a test counter"})
	reg.MustRegister(c)
	mux := http.NewServeMux()
	service.NewProbes(nil).Mount(mux, reg)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{"bank_test_total 0", `bank_build_info{goversion="go`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, b)
		}
	}
}
