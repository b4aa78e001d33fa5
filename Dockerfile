# syntax=docker/dockerfile:1
#
# The decoy image: /usr/bin/decoy and /usr/bin/decoyd on Debian 12 slim,
# with iptables for `decoy redirect install` (the init container of
# `decoy kube inject`).  Runs as the unprivileged uid 1337 (user "decoy")
# by default, the uid `decoy kube inject` gives the sidecar and excludes
# from the redirect; the init container alone runs as root with NET_ADMIN.
#
#   docker build -t decoy:0.1.0 .
#   docker run --rm decoy:0.1.0 --version
#
# tests/integration/t-dockerfile.sh checks what can be checked without a
# container engine: the runtime packages cover every library the installed
# binaries link, the build packages are configure.ac's, and the tree
# `make install DESTDIR=...` produces runs.

# --- build: autotools, the -dev packages configure.ac asks for -------------
FROM debian:12-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      autoconf automake libtool pkg-config make gcc libc6-dev \
      libssl-dev libcjson-dev libpcre2-dev libyaml-dev \
      libmnl-dev libnetfilter-queue-dev libnghttp2-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN ./autogen.sh \
 && ./configure --prefix=/usr --sysconfdir=/etc \
 && make -j"$(nproc)" \
 && make install-strip DESTDIR=/out \
 && rm -rf /out/usr/share/man

# --- runtime: the shared libraries the binaries link, and iptables -------
FROM debian:12-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libssl3 libcjson1 libpcre2-8-0 libyaml-0-2 \
      libmnl0 libnetfilter-queue1 libnfnetlink0 libnghttp2-14 \
      iptables ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 1337 decoy \
 && useradd --system --uid 1337 --gid 1337 --home-dir /var/lib/decoy \
      --no-create-home --shell /usr/sbin/nologin decoy \
 && install -d -o 1337 -g 1337 -m 0755 /var/lib/decoy
COPY --from=build /out/ /
WORKDIR /var/lib/decoy
USER 1337:1337
ENTRYPOINT ["/usr/bin/decoy"]
CMD ["--help"]
