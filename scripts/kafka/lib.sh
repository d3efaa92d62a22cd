# shellcheck shell=bash
# Shell helpers shared by scripts/setup, stack, demo, test, fresh-check and kafka-compat-check.
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

# The command prefix that starts a sandq worker in a cgroup it may delegate
# from: on a pure cgroup v2 host run by systemd, a transient scope with
# Delegate=yes (from a login shell the worker would sit in a session scope,
# where v2 refuses to enable controllers for its sandboxes' cgroups); nothing
# elsewhere. docs/operations.md, "cgroups: which version does what".
worker_launcher() {
    if [ -d /run/systemd/system ] && [ -f /sys/fs/cgroup/cgroup.controllers ] &&
        command -v systemd-run >/dev/null 2>&1; then
        echo "systemd-run --scope --quiet --collect -p Delegate=yes --"
    fi
}
