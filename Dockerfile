# One image for the three programs: `tally operator`, `tally gateway`, `tally pipeline-worker` (the
# container args the chart and the operator's renderer give). It cannot be built on the development
# machines (no container engine); hack/image/dockerfile.test.ts checks what can be checked without one.
#
#   docker build -t tally:dev .

# Build: type-check, then bundle the programs into dist/ (hack/image/build-dist.ts).
FROM node:26.12.1-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.web.json ./
COPY api ./api
COPY contracts ./contracts
COPY lib ./lib
COPY operator ./operator
COPY runtime ./runtime
COPY gateway ./gateway
COPY hack ./hack
RUN npx tsc --noEmit -p tsconfig.json && node --import tsx hack/image/build-dist.ts dist

# Production dependencies only (no test tooling, no ClickHouse engine).
FROM node:26.12.1-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Runtime: no npm, no shell tools the programs do not use, a fixed non-root user, and nothing written to the
# root filesystem (the chart mounts it read-only; the programs write only to stdout and emptyDir /tmp).
FROM node:26.12.1-bookworm-slim
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack /usr/local/bin/npm \
      /usr/local/bin/npx /usr/local/bin/corepack /opt/yarn* /usr/local/bin/yarn /usr/local/bin/yarnpkg
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# The gateway bundles its browser code (web UI, tracker) from these sources when it starts.
COPY --from=build /src/gateway/ui/web ./gateway/ui/web
COPY --from=build /src/gateway/tracker/web ./gateway/tracker/web
COPY package.json ./
ENV NODE_ENV=production TALLY_SOURCE_ROOT=/app
USER 65532:65532
ENTRYPOINT ["node", "/app/dist/tally.mjs"]
