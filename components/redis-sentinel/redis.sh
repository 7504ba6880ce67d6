#!/bin/sh
# Starts one Redis data node of the Sentinel topology. The Sentinels know
# who the primary is (it may have moved since this pod last ran); only
# when none of them answers (the very first start) is redis-0 the primary.
# A node that is not the primary starts as its replica, so a restarted old
# primary never takes writes next to the promoted one.
set -eu
domain="redis-headless.$POD_NAMESPACE.svc.cluster.local"
self="$POD_NAME.$domain"
master=$(timeout 5 redis-cli -h redis-sentinel -p 26379 --no-auth-warning -a "$SENTINEL_PASSWORD" --raw \
  sentinel get-master-addr-by-name "$MASTER_NAME" 2>/dev/null | sed -n 1p || true)
if [ -z "$master" ]; then
  master="redis-0.$domain"
fi
# Announce the stable DNS name, not the pod IP, which changes on restart.
if [ "$master" = "$self" ]; then
  exec redis-server "$@" --replica-announce-ip "$self"
fi
exec redis-server "$@" --replica-announce-ip "$self" --replicaof "$master" 6379
