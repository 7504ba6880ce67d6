package main

import "flag"

// pprofFlag registers --pprof-addr on a long-running command: Go's
// profiles, off by default and on loopback only (service.ServePprof), so
// that an operator reaches them with kubectl port-forward and nobody else.
func pprofFlag(fs *flag.FlagSet) *string {
	return fs.String("pprof-addr", "", "serve Go profiles (net/http/pprof) on this loopback address, e.g. 127.0.0.1:6060 (empty: off)")
}
