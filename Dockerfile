# A small image of the querybot binary: built with the locked dependencies, run as a
# non-root user with a health check. Build: docker build -t querybot .
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY src ./src
COPY migrations ./migrations
COPY assets ./assets
RUN cargo build --release --locked && strip target/release/querybot

FROM debian:bookworm-slim
# ca-certificates follows Debian's security updates; pinning its version would only stop them.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /data --create-home querybot
COPY --from=build /src/target/release/querybot /usr/local/bin/querybot
# A numeric user, so Kubernetes' runAsNonRoot can check it.
USER 10001
WORKDIR /data
ENV QUERYBOT_DATA_DIR=/data QUERYBOT_LISTEN=0.0.0.0:8080 QUERYBOT_LOG_FORMAT=json
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["querybot", "health"]
ENTRYPOINT ["querybot"]
CMD ["serve"]
