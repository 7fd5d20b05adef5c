# Build a small image of the querybot binary.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY src ./src
COPY migrations ./migrations
COPY assets ./assets
RUN cargo build --release --locked && strip target/release/querybot

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /data --create-home querybot
COPY --from=build /src/target/release/querybot /usr/local/bin/querybot
USER querybot
WORKDIR /data
ENV QUERYBOT_DATA_DIR=/data QUERYBOT_LISTEN=0.0.0.0:8080 QUERYBOT_LOG_FORMAT=json
EXPOSE 8080
VOLUME ["/data"]
ENTRYPOINT ["querybot"]
CMD ["serve"]
