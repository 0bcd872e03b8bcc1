# The pullsim image that deploy/sweep-indexed-job.yaml runs: a sweep shard per pod.
#   docker build -t registry.example.com/tools/pullsim:0.1.0 .
#   docker run --rm -v "$PWD:/work" registry.example.com/tools/pullsim:0.1.0 run scenarios/rollout-300.toml
# Build stage: the release binary (fat LTO; takes a few minutes).
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY assets assets
COPY benches benches
RUN cargo build --release --locked --bin pullsim

# Runtime stage: the binary alone on a small Debian (it needs only libc; fonts for the charts
# are compiled in). /bin/sh stays for the Job's `sh -c` command line.
FROM debian:bookworm-slim
COPY --from=build /src/target/release/pullsim /usr/local/bin/pullsim
COPY scenarios /usr/share/pullsim/scenarios
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["pullsim"]
CMD ["--help"]
