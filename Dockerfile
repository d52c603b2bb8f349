# loadlab in containers: one build stage, two runtime images on one Debian 12 base.
#
#   docker build --target orderd  -t loadlab-orderd  .   (also the default target)
#   docker build --target loadlab -t loadlab-driver  .
#
# docker-compose.yml builds both; docs/docker.md explains the stack.
# The build stage installs the build packages of scripts/deps.sh (tests/integration/test_compose.sh
# fails if the two lists drift apart); the runtime stages install only the shared
# libraries the binaries link and, for loadlab, the tools it runs (wrk, gnuplot).

ARG DEBIAN_IMAGE=debian:12-slim

FROM ${DEBIAN_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential pkg-config \
      libevent-dev libjansson-dev libinih-dev libsqlite3-dev sqlite3 libcmocka-dev \
      libcurl4-openssl-dev libunwind-dev libdw-dev libhttp-parser-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY common/ common/
COPY service/ service/
COPY harness/ harness/
# CI= : no -Werror here; warnings fail CI's own build, not someone's image build.
# Tests run in CI (make test), not in the image build.
RUN make -j"$(nproc)" all CI= \
 && test -x build/orderd && test -x build/loadlab

# Shared runtime base: the shared libraries both binaries link, and an unprivileged
# user with a numeric id (so Kubernetes' runAsNonRoot can verify it).
FROM ${DEBIAN_IMAGE} AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libevent-2.1-7 libevent-pthreads-2.1-7 libjansson4 libinih1 libsqlite3-0 \
      libcurl4 libunwind8 libdw1 libelf1 libhttp-parser2.9 zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 loadlab \
 && useradd --uid 10001 --gid loadlab --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin loadlab

# loadlab: the scenario driver. It writes results.db, JUnit and the report under /data;
# /data belongs to the loadlab user, and a fresh named volume mounted there inherits that.
FROM runtime AS loadlab
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      wrk gnuplot-nox \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o loadlab -g loadlab /data
COPY --from=build /src/build/loadlab /usr/local/bin/loadlab
# Fail the image build, not the first run, if a runtime library is missing.
RUN ! ldd /usr/local/bin/loadlab | grep 'not found'
WORKDIR /opt/loadlab
COPY scenarios/ scenarios/
USER 10001:10001
# docker-compose.yml supplies the suite to run; by hand: docker run IMAGE run ... SCENARIO...
ENTRYPOINT ["loadlab"]

# orderd: the service. Public port 8080 on all interfaces. The debug port stays on
# loopback by default, since orderd refuses a non-loopback debug address without a
# token; docker-compose.yml opens it to the compose network with the token secret.
# Only 8080 is EXPOSEd: `docker run -P` publishes every EXPOSEd port, and the debug
# port must never reach the host.
FROM runtime AS orderd
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/orderd /usr/local/bin/orderd
RUN ! ldd /usr/local/bin/orderd | grep 'not found'
COPY deploy/docker/orderd-healthcheck /usr/local/bin/orderd-healthcheck
USER 10001:10001
EXPOSE 8080
# curl (already a dependency through libcurl4, so it adds little) rather than a
# hand-written HTTP probe; the script sends the bearer token from the secret.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["orderd-healthcheck", "http://127.0.0.1:6060/healthz"]
ENTRYPOINT ["orderd"]
CMD ["--listen", "0.0.0.0:8080", "--debug-listen", "127.0.0.1:6060", "--log-format", "json"]
