# syntax=docker/dockerfile:1
#
# sandq-worker image. Build from the repository root:
#   docker build -f docker/worker.Dockerfile -t sandq-worker .
# docker/compose.yaml builds it for the `migrate` service and the workers.
#
# Two stages on Debian 12 (bookworm), the same distribution and the same -dev
# packages as scripts/setup, so the image builds what a developer builds:
#   build    compilers + -dev libraries, cmake, the whole tree (as CI does)
#   runtime  the matching runtime libraries and the worker's executables
#
# Running it: sandboxes use user, mount, pid, net, uts and ipc namespaces,
# cgroup v2 and seccomp filters. A container's default seccomp/AppArmor profile
# and capability set forbid most of that, so the worker container needs
# `privileged: true` (what compose.yaml does) or, at least, CAP_SYS_ADMIN,
# CAP_NET_ADMIN, CAP_SYS_RESOURCE, CAP_SETUID/SETGID, seccomp=unconfined,
# apparmor=unconfined and a writable cgroup v2 subtree.

FROM debian:bookworm AS build
# keep in step with APT_PACKAGES in scripts/setup (the build half of it)
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      librdkafka-dev libhiredis-dev libjansson-dev libcurl4-openssl-dev libpq-dev \
      libcmocka-dev libseccomp-dev libmicrohttpd-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
 && cmake --build /build \
 && mkdir -p /out \
 && find /build/worker -maxdepth 1 -type f -perm -u+x -name 'sandq-*' -exec cp {} /out/ \; \
 && test -x /out/sandq-worker

FROM debian:bookworm-slim AS runtime
# Runtime halves of the -dev packages above (bookworm's sonames), the tools the
# worker shells out to or that scripts/setup also installs (bubblewrap,
# iproute2, procps; chromium-headless-shell for capabilities.browser, which
# sandboxes start from this /usr (docs/browser.md), and tinyproxy, its relay to a
# proxy with credentials (docs/egress.md); mkfs.ext4 for workspace disks, slirp4netns and nft for the
# "internet" network mode — the disks also need /dev/loop-control, which
# `privileged` gives), and what sandboxes run: they see this image's /usr
# read-only (worker/sandbox/rootfs.c), so the "python" and "node" runtimes of
# PROTOCOL.md are the image's python3 and nodejs. ("bun" is not packaged by
# Debian.)
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      librdkafka1 libhiredis0.14 libjansson4 libcurl4 libpq5 libseccomp2 \
      libmicrohttpd12 libssl3 ca-certificates \
      bubblewrap iproute2 procps \
      e2fsprogs slirp4netns nftables \
      tar zstd \
      python3 nodejs \
      chromium-headless-shell tinyproxy \
 && rm -rf /var/lib/apt/lists/*
# sandq-init (when the build makes it) sits beside sandq-worker, where the
# worker looks for it (worker/sandbox/initbin.c).
COPY --from=build /out/ /usr/local/bin/
RUN mkdir -p /var/lib/sandq/workspaces /run/sandq
ENV SANDQ_WORKSPACE_ROOT=/var/lib/sandq/workspaces \
    SANDQ_RUN_DIR=/run/sandq
ENTRYPOINT ["/usr/local/bin/sandq-worker"]
CMD ["run"]
