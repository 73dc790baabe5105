# Build with cgo (mattn/go-sqlite3), run on a slim Debian with zone data.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -o /aftercare ./cmd/aftercare

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata && rm -rf /var/lib/apt/lists/*
COPY --from=build /aftercare /usr/local/bin/aftercare
ENTRYPOINT ["aftercare"]
CMD ["serve"]
