# syntax=docker/dockerfile:1
# One image for the three processes (k8s/ picks the binary per Deployment:
# catalytic-api, catalytic-worker, catalytic-scheduler; the api pods' init container
# runs `catalytic-api migrate`). Multi-stage: the Rust toolchain stays in the
# build stage; the runtime is Debian slim with CA certificates and a
# non-root user whose uid (10001) matches the manifests' runAsUser.
#
#   docker build -t catalytic:$(git rev-parse --short HEAD) .
#
# Queries are checked at build time from the committed .sqlx/ data
# (SQLX_OFFLINE), so no database is needed to build. Migrations are
# embedded in the binaries.

# The toolchain pinned in rust-toolchain.toml (left out of the build context,
# .dockerignore: rustup would fetch its clippy and rustfmt, which a release
# build does not use).
ARG RUST_VERSION=1.95.0
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS build
WORKDIR /src
ENV SQLX_OFFLINE=true \
    CARGO_TERM_COLOR=never \
    CARGO_INCREMENTAL=0
COPY . .
# The registry and target caches survive between builds (BuildKit); the
# binaries are copied out of the cached target dir in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bins \
        -p catalytic-api -p catalytic-worker -p catalytic-scheduler \
 && install -D -m 0755 -t /out \
        target/release/catalytic-api \
        target/release/catalytic-worker \
        target/release/catalytic-scheduler

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# ca-certificates: outbound TLS (webhook endpoints, the Stripe meter API,
# managed PostgreSQL/RabbitMQ/Redis); tini: PID 1 that forwards SIGTERM, so
# the drain phases run on `kubectl delete pod` and `docker stop`.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 catalytic \
 && useradd --system --uid 10001 --gid catalytic --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin catalytic
COPY --from=build /out/ /usr/local/bin/
USER 10001:10001
# Listen on all interfaces inside the container (the defaults are loopback).
ENV CATALYTIC_API__LISTEN=0.0.0.0:8080 \
    CATALYTIC_WORKER__PROBE_LISTEN=0.0.0.0:9101 \
    CATALYTIC_SCHEDULER__PROBE_LISTEN=0.0.0.0:9102 \
    CATALYTIC_LOG__FORMAT=json
EXPOSE 8080 9101 9102
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["catalytic-api", "serve"]

# GPU workers (k8s/base/worker-gpu.yaml): the same binaries plus NVRTC, which
# the worker loads at run time to compile its kernels (docs/adr/0002-lattices.md). The NVIDIA
# container toolkit mounts the driver (libcuda) into the pod; NVRTC comes
# from the nvidia-cuda-nvrtc wheel, so no CUDA base image is needed.
#
#   docker build --target runtime-gpu -t catalytic-gpu:$(git rev-parse --short HEAD) .
FROM python:3.12-slim-${DEBIAN_RELEASE} AS nvrtc
RUN pip install --no-cache-dir --target /nvrtc 'nvidia-cuda-nvrtc==13.0.*' \
 && mkdir /out \
 && cp /nvrtc/nvidia/cu13/lib/libnvrtc* /out/

FROM runtime AS runtime-gpu
COPY --from=nvrtc /out/ /usr/local/lib/nvrtc/
ENV LD_LIBRARY_PATH=/usr/local/lib/nvrtc \
    CATALYTIC_WORKER__DEVICE=cuda
CMD ["catalytic-worker"]
