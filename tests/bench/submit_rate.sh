#!/usr/bin/env bash
# submit_rate.sh — batch-submission rate (issue 5's benchmark): requests/s that
# Kafka acknowledges from `sandq batch submit` (no --wait) against a raw librdkafka
# producer of the same messages (raw_produce.c), in the same run, same broker, same
# producer settings. Prints both rates and the ratio; asserts nothing.
#
# Both run ROUNDS times (default 5), interleaved, and the medians are compared:
# single runs on a shared machine vary by 2-3x.
#
# The messages go to their own topic prefix (SANDQ_BENCH_PREFIX, default
# sandqbench: `sandqbench.requests`, auto-created by the dev broker) so no worker
# consumes them: millions of requests to the real topic would bury a running worker
# under a backlog of rejections.
#
# usage: tests/bench/submit_rate.sh [N] [BUILD_DIR] [ROUNDS]   (env: SANDQ_KAFKA_BROKERS of
#        a running stack)
set -euo pipefail
N=${1:-100000}
BUILD=${2:-build}
ROUNDS=${3:-5}
: "${SANDQ_KAFKA_BROKERS:?source the stack env first}"
PREFIX=${SANDQ_BENCH_PREFIX:-sandqbench}
export SANDQ_TOPIC_PREFIX=$PREFIX
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
# N raw task.exec requests, each to its own (never created) sandbox, every id present,
# so both producers send the same bytes.
python3 - "$N" > "$DIR/jobs.jsonl" <<'PY'
import json, os, sys, time
C = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
def ulid():
    n = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(C[(n >> (5 * i)) & 31] for i in reversed(range(26)))
for i in range(int(sys.argv[1])):
    print(json.dumps({"v": 1, "requestId": "req_" + ulid(), "type": "task.exec", "sandboxId": "sbx_" + ulid(),
                      "taskId": "tsk_" + ulid(), "tenant": "default",
                      "body": {"command": "echo", "args": [f"line-{i}"]}}, separators=(",", ":")))
PY
echo "messages: $N ($(du -h "$DIR/jobs.jsonl" | cut -f1)), broker $SANDQ_KAFKA_BROKERS"
RAWS=() BATCHES=()
for r in $(seq "$ROUNDS"); do
  RAW=$("$BUILD/tests/bench/raw_produce" "$SANDQ_KAFKA_BROKERS" "$PREFIX.requests" "$DIR/jobs.jsonl" 20)
  rm -f "$DIR"/out.jsonl*
  BATCH=$("$BUILD/producer/sandq" batch submit "$DIR/jobs.jsonl" -o "$DIR/out.jsonl" --max-sandboxes 0 --json 2>/dev/null)
  echo "round $r: raw librdkafka producer $RAW"
  echo "round $r: sandq batch submit      $BATCH"
  RAWS+=("$RAW") BATCHES+=("$BATCH")
done
python3 - "${#RAWS[@]}" "${RAWS[@]}" "${BATCHES[@]}" <<'PY'
import json, statistics, sys
n = int(sys.argv[1])
raw = [json.loads(x)["rate"] for x in sys.argv[2:2 + n]]
batch = [json.loads(x)["submitRate"] for x in sys.argv[2 + n:]]
r, b = statistics.median(raw), statistics.median(batch)
print(f"median of {n}: sandq batch submit {b:.0f} requests/s, raw librdkafka {r:.0f} requests/s; "
      f"ratio {b / r:.2f} (target >= 0.5)")
PY
