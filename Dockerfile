# threathq-connector as one executable in a scratch image.
#
#   docker build -t threathq-connector .
#   docker run --rm threathq-connector --version
#
# The build stage compiles the executable and assembles the final stage's
# root file system with scripts/rootfs.ts, which also builds the file set
# that the packaging tests run in a chroot. The final stage copies only that
# folder, so the image and the tested file set come from the same code.

FROM denoland/deno:2.9.6 AS build

# The image carries Debian's CA bundle for DENO_TLS_CA_STORE=system, because
# the executable trusts only its built-in Mozilla roots by default.
# debian:stable-slim, the base of the Deno image, has no CA bundle.
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates \
  && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY deno.json deno.lock ./
RUN deno install --frozen
COPY . .

RUN deno task compile \
  && deno run --allow-read --allow-write=/rootfs --allow-run=ldd \
    scripts/rootfs.ts assemble /rootfs dist/threathq-connector


FROM scratch

ARG VERSION=0.1.0
ARG SOURCE_URL=
LABEL org.opencontainers.image.title="threathq-connector" \
      org.opencontainers.image.description="OpenCTI external-import connector for Cofense ThreatHQ" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="Apache-2.0"

COPY --from=build /rootfs/ /
# The data directory is copied again with --chown, so the unprivileged user
# owns it whatever owner COPY --from would keep.
COPY --from=build --chown=65532:65532 /rootfs/var/lib/threathq-connector/ /var/lib/threathq-connector/

USER 65532:65532
WORKDIR /etc/threathq-connector

# The health and metrics server listens on all interfaces inside the
# container; a config.yml or .env mounted in the working directory overrides
# these, as it overrides every environment variable.
ENV CONNECTOR_EXPOSE_METRICS=true \
    CONNECTOR_METRICS_BIND_ADDRESS=0.0.0.0
EXPOSE 9095

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/threathq-connector", "healthcheck"]

ENTRYPOINT ["/usr/local/bin/threathq-connector"]
CMD ["run"]
