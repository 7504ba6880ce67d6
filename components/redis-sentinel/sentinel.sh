#!/bin/sh
# Starts one Redis Sentinel. It monitors the primary the other Sentinels
# name (the first start: redis-0) and rewrites its config in /data as it
# learns the replicas and the other Sentinels. Clients and Sentinels log
# in with the redis-sentinel Secret; the Sentinels log in to the data
# nodes as their default user (redis-auth). The exporter logs in as its
# own user with the redis-exporter Secret, as on the data nodes: INFO and
# the SENTINEL reads it exports (redis_sentinel_*), nothing that changes.
set -eu
self="$POD_NAME.redis-sentinel-headless.$POD_NAMESPACE.svc.cluster.local"
master=$(timeout 5 redis-cli -h redis-sentinel -p 26379 --no-auth-warning -a "$SENTINEL_PASSWORD" --raw \
  sentinel get-master-addr-by-name "$MASTER_NAME" 2>/dev/null | sed -n 1p || true)
if [ -z "$master" ]; then
  master="redis-0.redis-headless.$POD_NAMESPACE.svc.cluster.local"
fi
cat > /data/sentinel.conf <<CONF
port 26379
dir /data
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip $self
requirepass $SENTINEL_PASSWORD
sentinel sentinel-pass $SENTINEL_PASSWORD
user exporter reset on >$EXPORTER_PASSWORD +ping +info +client|setname +sentinel|masters +sentinel|sentinels +sentinel|slaves +sentinel|replicas +sentinel|ckquorum
sentinel monitor $MASTER_NAME $master 6379 2
sentinel auth-pass $MASTER_NAME $REDIS_PASSWORD
sentinel down-after-milliseconds $MASTER_NAME $DOWN_AFTER_MS
sentinel failover-timeout $MASTER_NAME 60000
sentinel parallel-syncs $MASTER_NAME 1
CONF
exec redis-sentinel /data/sentinel.conf
