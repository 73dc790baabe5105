# Aftercare's image: built with cgo (mattn/go-sqlite3), run as a non-root
# user on a slim Debian with zone data (patients' time zones) and CA
# certificates (Twilio, SMTP over TLS). docs/operations.md says how to run it.
#
# .dockerignore keeps .git out of the build context (with screenshots and any
# local database: patient data), so the Go toolchain has no VCS data to
# record: pass the version as build args, e.g.
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) \
#     --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg COMMIT_TIME=$(git show -s --format=%cI HEAD) -t aftercare .
# Without them `aftercare version` says "source: none" rather than guess.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=""
ARG COMMIT=""
ARG COMMIT_TIME=""
ARG DIRTY=""
RUN CGO_ENABLED=1 go build -trimpath \
      -ldflags "-s -w -X main.buildVersion=${VERSION} -X main.buildCommit=${COMMIT} -X main.buildCommitTime=${COMMIT_TIME} -X main.buildDirty=${DIRTY}" \
      -o /out/aftercare ./cmd/aftercare \
 && /out/aftercare version

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 aftercare \
 && useradd --system --uid 10001 --gid aftercare --home-dir /data --no-create-home --shell /usr/sbin/nologin aftercare \
 && mkdir -p /data \
 && chown aftercare:aftercare /data \
 && chmod 0700 /data
COPY --from=build /out/aftercare /usr/local/bin/aftercare
# The database, its -wal/-shm files, the outbox and backups live in /data, a
# volume the aftercare user owns (a new named volume takes this ownership).
ENV AFTERCARE_DB=/data/aftercare.db \
    AFTERCARE_OUTBOX=/data/outbox.jsonl \
    AFTERCARE_HTTP_ADDR=0.0.0.0:8080
USER aftercare:aftercare
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# GET /readyz through the binary itself: the image has no curl. Unhealthy
# when the database does not take writes or its migrations are not applied.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["aftercare", "healthcheck", "--timeout", "4s"]
# serve stops cleanly on SIGTERM within serveDrain (90 s, cmd_serve.go):
# give `docker stop` longer than that (docker stop -t 100; compose's
# stop_grace_period).
STOPSIGNAL SIGTERM
ENTRYPOINT ["aftercare"]
CMD ["serve"]
