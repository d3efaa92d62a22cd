# shellcheck shell=bash
# Shell helpers shared by scripts/setup, scripts/stack and scripts/kafka-compat-check.
# Sourced, not run. Expects ROOT (the repository root) to be set.
#
# The Kafka version is pinned in exactly one place, the kafka.version property of
# scripts/kafka/pom.xml; everything here reads it from there. (docker/compose.yaml
# names the same version in its image tag; kafka-compat-check warns if they drift.)

KAFKA_POM=$ROOT/scripts/kafka/pom.xml
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM" | head -n1)
[ -n "$KAFKA_VERSION" ] || { echo "cannot read kafka.version from $KAFKA_POM" >&2; exit 1; }
SANDQ_CACHE_DIR=${SANDQ_CACHE_DIR:-$HOME/.cache/sandq}
KAFKA_HOME=$SANDQ_CACHE_DIR/kafka-$KAFKA_VERSION
KAFKA_LIBS=$KAFKA_HOME/libs

PROG=${PROG:-$(basename "$0")}

note() { printf '%s: %s\n' "$PROG" "$*" >&2; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die()  { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

# Run a command with its output captured; show the output only if it fails.
quietly() {
    local log rc=0
    log=$(mktemp)
    "$@" >"$log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        printf '%s: command failed (exit %d): %s\n' "$PROG" "$rc" "$*" >&2
        tail -n 60 "$log" >&2
    fi
    rm -f "$log"
    return "$rc"
}

require_kafka() {
    if [ ! -f "$KAFKA_HOME/.complete" ] || [ ! -d "$KAFKA_LIBS" ]; then
        die "Kafka $KAFKA_VERSION jars not found in $KAFKA_LIBS; run scripts/setup first"
    fi
}

# Run one of Kafka's command-line tools (a main class from the cached jars) with a
# small, quick-starting JVM and warnings-only logging on stderr.
kafka_tool() {
    java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$ROOT/scripts/kafka/tools-log4j2.xml" \
        -cp "$KAFKA_LIBS/*" "$@"
}
