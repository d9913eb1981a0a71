#!/usr/bin/env bash
# usage: loadtest.sh BINDIR PORT LABEL — serve the full-size snapshot, warm up, three loadtest runs, stop.
set -u
BIN=$1; PORT=$2; LABEL=$3; HTTP=$((PORT+1))
$BIN/Recommender.Host serve --artifacts ${ARTIFACTS:-/work/full/out-new} --data ${DATA:-/work/full/data} --online-log /tmp/ol-$LABEL.log --urls http://127.0.0.1:$PORT --http-urls http://127.0.0.1:$HTTP --environment Development > /tmp/serve-$LABEL.log 2>&1 &
PID=$!
start=$(date +%s.%N)
until curl -s -o /dev/null http://127.0.0.1:$HTTP/v1/popular?k=1; do sleep 0.5; done
echo "$LABEL: ready after $(echo "$(date +%s.%N) - $start" | bc) s, RSS $(grep VmRSS /proc/$PID/status)"
$BIN/Recommender.Host loadtest --address http://127.0.0.1:$PORT --requests 100000 --concurrency 16 > /dev/null
for i in 1 2 3; do
  $BIN/Recommender.Host loadtest --address http://127.0.0.1:$PORT --requests 300000 --concurrency 16 | grep -E "req/s|latency"
done
if [ "${4:-}" = "inspect" ]; then
  echo "RSS before inspecting: $(grep VmRSS /proc/$PID/status)"
  $BIN/Recommender.Host inspect-latency --address http://127.0.0.1:$PORT --token change-me-local-dev-token --calls 300
  echo "RSS after inspecting: $(grep VmRSS /proc/$PID/status)"
  for i in 1 2; do
    $BIN/Recommender.Host loadtest --address http://127.0.0.1:$PORT --requests 300000 --concurrency 16 | grep -E "req/s|latency"
  done
fi
kill $PID; wait $PID 2>/dev/null
