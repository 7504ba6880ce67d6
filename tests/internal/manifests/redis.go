package manifests

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
)

// SecretValues resolves secretKeyRefs: from a Secret the tree renders
// (dev), otherwise to a value made up from the Secret's name and key
// (staging and prod get theirs from the cluster), the same wherever it is
// referenced.
func SecretValues(objs []Object) func(name, key string) string {
	data := map[string]string{}
	for _, o := range objs {
		if o.Kind != "Secret" {
			continue
		}
		d, _ := o.Raw["data"].(map[string]any)
		for k, v := range d {
			b, _ := base64.StdEncoding.DecodeString(fmt.Sprint(v))
			data[o.Name+"/"+k] = string(b)
		}
	}
	return func(name, key string) string {
		if v, ok := data[name+"/"+key]; ok {
			return v
		}
		return "test-secret-" + name + "-" + key
	}
}

// EnvValue is what one entry of a container's env resolves to: its value,
// or the value of the Secret key it references.
func EnvValue(e any, secret func(name, key string) string) string {
	if ref := Get(e, "valueFrom", "secretKeyRef"); ref != nil {
		return secret(fmt.Sprint(Get(ref, "name")), fmt.Sprint(Get(ref, "key")))
	}
	return fmt.Sprint(Get(e, "value"))
}

// Env resolves a container's whole env, by name.
func Env(c map[string]any, secret func(name, key string) string) map[string]string {
	env := map[string]string{}
	l, _ := c["env"].([]any)
	for _, e := range l {
		env[fmt.Sprint(Get(e, "name"))] = EnvValue(e, secret)
	}
	return env
}

// SecretRefs lists the Secrets a container's env references, by variable.
func SecretRefs(c map[string]any) map[string]string {
	refs := map[string]string{}
	l, _ := c["env"].([]any)
	for _, e := range l {
		if ref := Get(e, "valueFrom", "secretKeyRef"); ref != nil {
			refs[fmt.Sprint(Get(e, "name"))] = fmt.Sprint(Get(ref, "name"))
		}
	}
	return refs
}

var envRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// Expand replaces each $(VAR) in s with env[VAR], as the kubelet does in
// command and args; a variable env lacks stays as written.
func Expand(s string, env map[string]string) string {
	return envRef.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := env[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// RedisContainer is the redis-server container of StatefulSet redis.
func RedisContainer(objs []Object) (map[string]any, error) {
	sts := Find(objs, "StatefulSet", "redis")
	if sts == nil {
		return nil, fmt.Errorf("no StatefulSet redis")
	}
	for _, c := range Containers(*sts) {
		if c["name"] == "redis" {
			return c, nil
		}
	}
	return nil, fmt.Errorf("StatefulSet redis has no container redis")
}

// Args returns a container's args.
func Args(c map[string]any) []string {
	var out []string
	l, _ := c["args"].([]any)
	for _, a := range l {
		out = append(out, fmt.Sprint(a))
	}
	return out
}

// Directives splits redis-server's command line into its config
// directives: each "--name" with the arguments up to the next one, the
// way redis-server reads them (so "--user web on >pw ~k:* +get" is one
// directive, a line of redis.conf).
func Directives(args []string) [][]string {
	var out [][]string
	for _, a := range args {
		if strings.HasPrefix(a, "--") || len(out) == 0 {
			out = append(out, []string{strings.TrimPrefix(a, "--")})
			continue
		}
		out[len(out)-1] = append(out[len(out)-1], a)
	}
	return out
}

// RedisUser is one ACL user that redis-server's args define.
type RedisUser struct {
	Name  string
	Rules []string // in order: reset, on, >password, ~pattern, +command, ...
}

// RedisUsers returns the users of the "--user" directives in args.
func RedisUsers(args []string) []RedisUser {
	var out []RedisUser
	for _, d := range Directives(args) {
		if d[0] == "user" && len(d) > 1 {
			out = append(out, RedisUser{Name: d[1], Rules: d[2:]})
		}
	}
	return out
}
