# multiget in a container, as the README's Kubernetes recipe runs it:
#   docker build -t registry.example.com/multiget:latest .
#   docker run --rm -v "$PWD/out:/data" registry.example.com/multiget:latest -d /data https://example.com/a.iso
# Built with cgo against Debian 12's libcurl; the image holds only the
# binary, the runtime libcurl and the CA certificates, and runs as a
# non-root user.

FROM golang:1.26-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev pkg-config libcurl4-openssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# CURL_DISABLE_DEPRECATION: curl's own switch for its deprecation
# attributes, which go-curl's C code would otherwise warn about.
ENV CGO_ENABLED=1 CGO_CFLAGS="-O2 -g -DCURL_DISABLE_DEPRECATION"
RUN go build -trimpath -ldflags "-X github.com/multiget/multiget/cmd.Version=${VERSION}" -o /out/multiget .

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends libcurl4 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/multiget /usr/local/bin/multiget
# A numeric user, so that Kubernetes' runAsNonRoot can check it.
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /data multiget \
    && mkdir -p /data && chown 10001:10001 /data
USER 10001:10001
WORKDIR /data
ENTRYPOINT ["multiget"]
