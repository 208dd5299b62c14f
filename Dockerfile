# Mailroom container image.
#   docker build -t mailroom .
#   docker run --rm -e MAILROOM_DATABASE_URL=postgresql://… -e MAILROOM_SECRET_KEY=… mailroom <subcommand>
# The image has no PostgreSQL server: point MAILROOM_DATABASE_URL at one (the embedded cluster is for
# development checkouts).

# --- build --------------------------------------------------------------------------------------------
FROM swift:6.3-bookworm AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libpq-dev libcurl4-openssl-dev libgmime-3.0-dev libssl-dev libxml2-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so source edits reuse the resolved-packages layer.
COPY Package.swift Package.resolve[d] ./
RUN swift package resolve
# Every target the manifest declares must exist, tests included, even when building one product.
COPY Sources ./Sources
COPY Tests ./Tests
# The Swift runtime is linked in; libpq, libcurl, GMime and glib stay dynamic (no static Linux SDK here).
RUN swift build -c release --static-swift-stdlib --product mailroom \
    && install -m 755 "$(swift build -c release --static-swift-stdlib --show-bin-path)/mailroom" /usr/local/bin/mailroom

# --- runtime ------------------------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libpq5 libcurl4 libgmime-3.0-0 libxml2 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --user-group --home-dir /app --shell /usr/sbin/nologin mailroom
COPY --from=build /usr/local/bin/mailroom /usr/local/bin/mailroom
COPY migrations/ /app/migrations/
WORKDIR /app
USER mailroom
ENTRYPOINT ["/usr/local/bin/mailroom"]
