#!/usr/bin/env bash
# usage: inspect.sh BINDIR PORT — serve the full-size snapshot, time the console's RPCs, report memory.
set -u
BIN=$1; PORT=$2; HTTP=$((PORT+1)); T=change-me-local-dev-token
$BIN/Recommender.Host serve --artifacts ${ARTIFACTS:-/work/full/out-new} --data ${DATA:-/work/full/data} --online-log /tmp/ol-inspect.log --urls http://127.0.0.1:$PORT --http-urls http://127.0.0.1:$HTTP --environment Development > /tmp/serve-inspect.log 2>&1 &
PID=$!
until curl -s -o /dev/null http://127.0.0.1:$HTTP/v1/popular?k=1; do sleep 0.5; done
echo "ready, RSS $(grep VmRSS /proc/$PID/status)"
s=$(date +%s.%N); curl -s -o /dev/null -H "authorization: Bearer $T" http://127.0.0.1:$HTTP/v1/ops/reports; echo "GetReports (starts the background load): $(echo "($(date +%s.%N) - $s)*1000" | bc) ms"
s=$(date +%s.%N); curl -s -o /dev/null -H "authorization: Bearer $T" "http://127.0.0.1:$HTTP/v1/ops/users/2030"; echo "InspectUser right after (waits for the load): $(echo "$(date +%s.%N) - $s" | bc) s"
echo "RSS after the load: $(grep VmRSS /proc/$PID/status)"
$BIN/Recommender.Host inspect-latency --address http://127.0.0.1:$PORT --token $T --calls 300
$BIN/Recommender.Host inspect-latency --address http://127.0.0.1:$PORT --token $T --calls 300 --seed 2
echo "RSS after inspecting: $(grep VmRSS /proc/$PID/status)"
kill $PID; wait $PID 2>/dev/null
