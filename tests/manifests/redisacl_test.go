package manifests_test

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kubebank/kubebank/src/keyspace"
	"github.com/kubebank/kubebank/tests/internal/manifests"
)

// The Redis ACL users the StatefulSet defines: one per process that talks
// to Redis, each with its own Secret (besides the default user, whose
// password is redis-auth's, for operators and the readiness probe).
var redisUsers = []string{"api", "exporter", "scheduler", "web", "worker"}

// sentinelSecret holds the Sentinels' password (staging, prod): what the
// bank's processes and the Sentinels log in to a Sentinel with.
const sentinelSecret = "redis-sentinel"

// userSecret is the Secret holding a Redis ACL user's password.
func userSecret(user string) string { return "redis-" + user }

var hashSuffix = regexp.MustCompile(`-[a-z0-9]{10}$`)

// generatorName is the name a Secret was given before Kustomize's
// secretGenerator appended its content hash (dev).
func generatorName(name string) string { return hashSuffix.ReplaceAllString(name, "") }

// secretsOf lists every Secret a pod spec references: env, envFrom and
// volumes, in any container (by generator name).
func secretsOf(o manifests.Object) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, w := range x {
				switch k {
				case "secretKeyRef", "secretRef":
					out = append(out, generatorName(fmt.Sprint(manifests.Get(w, "name"))))
				case "secret":
					out = append(out, generatorName(fmt.Sprint(manifests.Get(w, "secretName"))))
				}
				walk(w)
			}
		case []any:
			for _, w := range x {
				walk(w)
			}
		}
	}
	walk(manifests.PodSpec(o))
	slices.Sort(out)
	return slices.Compact(out)
}

// Each process logs in to Redis as its own ACL user with its own Secret,
// and no pod but Redis's holds another user's password: the web pod in
// particular holds only redis-web.
func TestEachProcessHasItsOwnRedisUser(t *testing.T) {
	for _, env := range manifests.Envs {
		objs := render(t, env)
		c, err := manifests.RedisContainer(objs)
		if err != nil {
			t.Fatal(err)
		}
		refs := manifests.SecretRefs(c)
		for k, v := range refs {
			refs[k] = generatorName(v)
		}
		args := manifests.Args(c)
		var names []string
		for _, u := range manifests.RedisUsers(args) {
			names = append(names, u.Name)
			want := []string{"reset", "on", ">$(REDIS_" + strings.ToUpper(u.Name) + "_PASSWORD)"}
			if len(u.Rules) < 3 || !slices.Equal(u.Rules[:3], want) {
				t.Errorf("%s: Redis user %s starts %v, want %v (from a clean slate, with its own password)", env, u.Name, u.Rules[:min(3, len(u.Rules))], want)
			}
			if n := slices.IndexFunc(u.Rules[min(3, len(u.Rules)):], func(r string) bool { return strings.HasPrefix(r, ">") || strings.HasPrefix(r, "#") || r == "nopass" }); n >= 0 {
				t.Errorf("%s: Redis user %s has a second password or nopass", env, u.Name)
			}
			if v := "REDIS_" + strings.ToUpper(u.Name) + "_PASSWORD"; refs[v] != userSecret(u.Name) {
				t.Errorf("%s: the Redis pod's %s comes from Secret %q, want %s", env, v, refs[v], userSecret(u.Name))
			}
		}
		slices.Sort(names)
		if !slices.Equal(names, redisUsers) {
			t.Errorf("%s: Redis defines the ACL users %v, want %v (and the default user)", env, names, redisUsers)
		}
		if !strings.Contains(strings.Join(args, " "), "--requirepass $(REDIS_PASSWORD)") || refs["REDIS_PASSWORD"] != "redis-auth" || refs["REDISCLI_AUTH"] != "redis-auth" {
			t.Errorf("%s: the default user's password is not redis-auth's (--requirepass, REDISCLI_AUTH): %v", env, refs)
		}

		logins := map[string][2]string{ // workload -> username and password variables
			"api": {"BANK_REDIS_USERNAME", "BANK_REDIS_PASSWORD"}, "worker": {"BANK_REDIS_USERNAME", "BANK_REDIS_PASSWORD"},
			"scheduler": {"BANK_REDIS_USERNAME", "BANK_REDIS_PASSWORD"}, "web": {"BANK_REDIS_USERNAME", "BANK_REDIS_PASSWORD"},
			"redis-exporter": {"REDIS_USER", "REDIS_PASSWORD"},
		}
		for _, w := range slices.Sorted(maps.Keys(logins)) {
			user := strings.TrimPrefix(w, "redis-")
			d := manifests.Find(objs, "Deployment", w)
			if d == nil {
				t.Fatalf("%s: no Deployment %s", env, w)
			}
			ctr := manifests.Containers(*d)[0]
			e := manifests.Env(ctr, func(name, key string) string { return "secret " + name })
			if got := e[logins[w][0]]; got != user {
				t.Errorf("%s: %s logs in to Redis as %q (%s), want %s", env, w, got, logins[w][0], user)
			}
			if got := generatorName(manifests.SecretRefs(ctr)[logins[w][1]]); got != userSecret(user) {
				t.Errorf("%s: %s's %s comes from Secret %q, want %s", env, w, logins[w][1], got, userSecret(user))
			}
			// With Sentinel, the bank's processes also hold the Sentinels'
			// password, which opens no data node.
			wantSecrets := []string{userSecret(user)}
			if manifests.Find(objs, "StatefulSet", "redis-sentinel") != nil && w != "redis-exporter" {
				wantSecrets = append(wantSecrets, sentinelSecret)
				slices.Sort(wantSecrets)
			}
			if got := secretsOf(*d); !slices.Equal(got, wantSecrets) {
				t.Errorf("%s: %s references the Secrets %v, want only %v", env, w, got, wantSecrets)
			}
			// No other user is named in its env either (a username whose
			// password it would not have is a mistake in waiting).
			for name, v := range e {
				for _, other := range append(slices.Clone(redisUsers), "default") {
					if other != user && v == other {
						t.Errorf("%s: %s's %s names Redis user %s", env, w, name, other)
					}
				}
			}
		}
		// Only the Redis pods hold the default user's password: the data
		// nodes, and the Sentinels, which reconfigure them (REPLICAOF,
		// CONFIG REWRITE) in a failover. And prod's backup CronJob, whose
		// SYNC only the default user may run: it holds no other Secret and
		// runs nothing but `bank admin backup`.
		for _, o := range objs {
			if manifests.PodSpec(o) == nil || o.Name == "redis" || o.Name == "redis-sentinel" || !slices.Contains(secretsOf(o), "redis-auth") {
				continue
			}
			if isBackupJob(o) {
				if got := secretsOf(o); !slices.Equal(got, []string{"redis-auth"}) {
					t.Errorf("%s: %s references the Secrets %v, want only redis-auth", env, o.ID(), got)
				}
				continue
			}
			t.Errorf("%s: %s references redis-auth, the default Redis user's Secret", env, o.ID())
		}
	}
	// dev generates the exporter's password in both namespaces: the same.
	var exporter []string
	for _, o := range render(t, "dev") {
		if o.Kind == "Secret" && strings.HasPrefix(o.Name, "redis-exporter-") {
			exporter = append(exporter, fmt.Sprint(o.Raw["data"]))
		}
	}
	if len(exporter) != 2 || exporter[0] != exporter[1] {
		t.Errorf("dev: the exporter's Secrets in bank and monitoring %v, want two with the same password", exporter)
	}
}

var keyRule = regexp.MustCompile(`^(%(R|W|RW))?~(.*)$`)

// auditFamilies are the audit trail's keys, which no process may delete
// or edit: written only through a selector that allows XADD alone.
var auditFamilies = []string{keyspace.Audit, keyspace.AuditActor + "*", keyspace.AuditAccount + "*"}

// rulesOf is a user's rules with its selectors, "(~k +cmd)", flattened
// into their key rules, after checking that a selector is the audit
// trail's append-only one (its keys, +xadd) and that the audit keys
// appear nowhere else but read-only.
func rulesOf(t *testing.T, env string, u manifests.RedisUser) []string {
	var out []string
	for _, r := range u.Rules {
		if !strings.HasPrefix(r, "(") {
			if m := keyRule.FindStringSubmatch(r); m != nil && slices.Contains(auditFamilies, m[3]) && m[2] != "R" {
				t.Errorf("%s: Redis user %s may change the audit trail with %q: only a (... +xadd) selector may write it", env, u.Name, r)
			}
			out = append(out, r)
			continue
		}
		inner := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(r, "("), ")"))
		var keys, cmds []string
		for _, x := range inner {
			if keyRule.MatchString(x) {
				keys = append(keys, x)
			} else {
				cmds = append(cmds, x)
			}
		}
		slices.Sort(keys)
		want := slices.Clone(auditFamilies)
		for i := range want {
			want[i] = "~" + want[i]
		}
		slices.Sort(want)
		if !slices.Equal(keys, want) || !slices.Equal(cmds, []string{"+xadd"}) {
			t.Errorf("%s: Redis user %s's selector %q: the only selector is the audit trail's, (%s +xadd)", env, u.Name, r, strings.Join(want, " "))
		}
		out = append(out, keys...)
	}
	return out
}

// Every key pattern of every ACL user is a key family of src/keyspace (a
// prefix family as its prefix plus "*", an exact one as itself), so the
// ACL cannot drift from the registry: the web user's is its sessions and
// nothing else, no other user's covers them, the exporter has none, and
// every family is writable by some process.
func TestRedisACLFollowsTheKeyspace(t *testing.T) {
	patterns := map[string]keyspace.Family{}
	for _, f := range keyspace.Families {
		if f.Exact {
			patterns[f.Key] = f
		} else {
			patterns[f.Key+"*"] = f
		}
	}
	for _, env := range manifests.Envs {
		c, err := manifests.RedisContainer(render(t, env))
		if err != nil {
			t.Fatal(err)
		}
		written := map[string]bool{}
		for _, u := range manifests.RedisUsers(manifests.Args(c)) {
			var keys []string
			for _, r := range rulesOf(t, env, u) {
				// The one channel: the money movers publish to it before WAIT
				// (src/luascript); nobody subscribes.
				ackChannel := r == "&"+keyspace.AckChannel && (u.Name == "api" || u.Name == "worker")
				if r == "allkeys" || r == "allcommands" || r == "+@all" || strings.HasPrefix(r, "&") && !ackChannel || r == "allchannels" {
					t.Errorf("%s: Redis user %s has %q", env, u.Name, r)
				}
				m := keyRule.FindStringSubmatch(r)
				if m == nil {
					continue
				}
				p := m[3]
				keys = append(keys, p)
				f, known := patterns[p]
				switch {
				case p == "" && (u.Name == "api" || u.Name == "worker"):
					// The empty key is what the ledger's scripts get for "no
					// Idempotency-Key" (keyspace.IdempotencyRecord).
					continue
				case !known:
					t.Errorf("%s: Redis user %s's key pattern %q is no key family of src/keyspace", env, u.Name, p)
					continue
				}
				if m[2] != "R" {
					written[f.Key] = true
				}
				if u.Name != "web" && f.Key == keyspace.WebSession {
					t.Errorf("%s: Redis user %s may touch the web app's sessions (%s)", env, u.Name, r)
				}
			}
			switch u.Name {
			case "web":
				if !slices.Equal(keys, []string{keyspace.WebSession + "*"}) {
					t.Errorf("%s: the web user's keys %q, want only %q", env, keys, keyspace.WebSession+"*")
				}
			case "exporter":
				if len(keys) != 0 {
					t.Errorf("%s: the exporter user may touch keys %q", env, keys)
				}
			}
			// Command categories: the data commands, never the dangerous
			// ones (SORT, which the ledger needs, is added back by name).
			cats := slices.DeleteFunc(slices.Clone(u.Rules), func(r string) bool { return !strings.Contains(r, "@") })
			if len(cats) > 0 && (!slices.Equal(cats, []string{"+@read", "+@write", "-@dangerous"}) || u.Name == "web" || u.Name == "exporter") {
				t.Errorf("%s: Redis user %s's command categories %v, want none or +@read +@write -@dangerous", env, u.Name, cats)
			}
		}
		for _, f := range keyspace.Families {
			if !written[f.Key] {
				t.Errorf("%s: no Redis user may write %s (%s)", env, f.Key, f.Holds)
			}
		}
	}
}

// isBackupJob is prod's backup CronJob: one container, running only
// `bank admin backup`.
func isBackupJob(o manifests.Object) bool {
	cs := manifests.Containers(o)
	if o.Kind != "CronJob" || o.Name != "redis-backup" || len(cs) != 1 {
		return false
	}
	args := fmt.Sprint(cs[0]["args"])
	return cs[0]["command"] == nil && strings.HasPrefix(args, "[admin backup ")
}
