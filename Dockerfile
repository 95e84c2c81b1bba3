# syntax=docker/dockerfile:1.7
# One binary per image; the build argument BINARY picks it:
#   docker build -t causeway-server .                                  # every role: --role ...
#   docker build -t causeway-gateway --build-arg BINARY=causeway-gateway .
# The server image runs any role, chosen by its argument (`--role command|query|projection`)
# or CAUSEWAY_ROLE. Both listen on 0.0.0.0 here (the binaries' own defaults stay 127.0.0.1)
# and run as a non-root user with a read-only root filesystem in mind: the only place written
# is the data directory, /var/lib/causeway.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS builder
ARG BINARY=causeway-server
WORKDIR /src
COPY . .
# The registry and target caches live in BuildKit cache mounts, so the binary is copied out.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    case "${BINARY}" in causeway-server|causeway-gateway) ;; \
      *) echo "BINARY must be causeway-server or causeway-gateway" >&2; exit 1 ;; esac \
    && cargo build --release --locked -p "${BINARY}" --bin "${BINARY}" \
    && install -D -m 0755 "target/release/${BINARY}" /out/usr/local/bin/causeway \
    && install -d -m 0750 /out/var/lib/causeway

# glibc and libgcc only: SQLite and the TLS library are linked in statically.
FROM gcr.io/distroless/cc-debian12:nonroot
ARG BINARY=causeway-server
LABEL org.opencontainers.image.title="${BINARY}" \
      org.opencontainers.image.source="https://example.invalid/causeway" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder --chown=65532:65532 /out/ /
USER 65532:65532
WORKDIR /var/lib/causeway
ENV CAUSEWAY_LISTEN=0.0.0.0:50051 \
    CAUSEWAY_DATA_DIR=/var/lib/causeway \
    CAUSEWAY_METRICS_LISTEN=0.0.0.0:9464 \
    CAUSEWAY_GATEWAY_LISTEN=0.0.0.0:8080 \
    CAUSEWAY_GATEWAY_METRICS_LISTEN=0.0.0.0:9465 \
    CAUSEWAY_LOG_FORMAT=json
# gRPC (server), HTTP (gateway), and /metrics of each.
EXPOSE 50051 8080 9464 9465
VOLUME ["/var/lib/causeway"]
# `health` asks the process itself: the gRPC health service of the server (SERVING only while
# its stores answer), or the gateway's /healthz (every upstream SERVING).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/causeway", "health"]
ENTRYPOINT ["/usr/local/bin/causeway"]
