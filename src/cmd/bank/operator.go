package main

import (
	"flag"
	"os"
	"os/user"

	"github.com/kubebank/kubebank/src/audit"
)

// operatorFlag registers --operator: who runs an audited command at the
// command line. In a pod (kubectl exec) there is no login to read, so
// the runbook has operators pass their name; the default names the local
// user and host.
func operatorFlag(fs *flag.FlagSet) *string {
	name := "operator"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if h, err := os.Hostname(); err == nil {
		name += "@" + h
	}
	return fs.String("operator", name, "your name, for the audit trail of what this command does")
}

// operatorRecord is the audit record of an operator's action: create-user
// puts it in the context for the script that writes the entry in the same
// step; jobs run appends it before the job runs.
func operatorRecord(operator, action, target string) *audit.Record {
	return &audit.Record{Actor: operator, ActorName: operator, Role: audit.Operator, Action: action, Target: target}
}
