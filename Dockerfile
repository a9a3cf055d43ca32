# syntax=docker/dockerfile:1
# Build: a static binary (pure-Go SQLite, no cgo).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/louyuan ./server

# Run: distroless static, non-root.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/louyuan /louyuan
COPY configs/config.example.yaml /etc/louyuan/config.example.yaml
WORKDIR /var/lib/louyuan
ENV LOUYUAN_DATA_DIR=/var/lib/louyuan LOUYUAN_LOG_FORMAT=json
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/louyuan"]
CMD ["serve"]
