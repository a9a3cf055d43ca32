# Louyuan's image: a static Go binary (pure-Go SQLite, no cgo) on distroless,
# running as the non-root user 65532. Builds with Docker's legacy builder or
# BuildKit without fetching a frontend (no syntax line on purpose).
#
#   docker build -t louyuan .
#
# The Go image is pinned to the release go.mod names (go 1.26.8). The test
# of this image (scripts/docker-test.sh) builds only the runtime stage from
# a binary built outside, with BuildKit:
#   DOCKER_BUILDKIT=1 docker build --target runtime --build-arg BINARY_FROM=prebuilt CONTEXT
# where CONTEXT holds this file's configs/config.example.yaml and prebuilt/
# (prebuilt/louyuan, a CGO_ENABLED=0 linux binary, and an empty prebuilt/data/).
ARG GO_IMAGE=golang:1.26.8-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot
# The stage that provides /out/louyuan and the empty /out/data: build or prebuilt.
ARG BINARY_FROM=build

FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/louyuan ./server \
 && mkdir -m 0700 /out/data

# A binary built outside: CONTEXT/prebuilt/ holds louyuan and an empty data/.
# The pattern prebuil[t] may match nothing (the legacy builder runs this
# stage in every build; the example config keeps the COPY from being empty).
FROM scratch AS prebuilt
COPY configs/config.example.yaml prebuil[t] /out/

FROM ${BINARY_FROM} AS binary

# Run: distroless static, non-root. The data folder is created owned by
# 65532 (distroless has no shell to chown in), so a fresh named volume
# mounted there takes that ownership.
FROM ${RUNTIME_IMAGE} AS runtime
COPY --from=binary /out/louyuan /louyuan
COPY configs/config.example.yaml /etc/louyuan/config.example.yaml
COPY --from=binary --chown=65532:65532 /out/data /var/lib/louyuan
WORKDIR /var/lib/louyuan
# /metrics listens on the container's own network (a Prometheus on the same
# Docker network scrapes louyuan:9090); compose publishes only 8080.
ENV LOUYUAN_DATA_DIR=/var/lib/louyuan LOUYUAN_LOG_FORMAT=json LOUYUAN_HTTP_ADDR=:8080 LOUYUAN_METRICS_ADDR=:9090
EXPOSE 8080 9090
USER 65532:65532
# No shell or curl in the image: the binary checks its own /readyz.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["/louyuan", "healthcheck"]
ENTRYPOINT ["/louyuan"]
CMD ["serve"]
