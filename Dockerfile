# One image for both processes: the gateway (default CMD) and the Temporal worker, launched as
# `npm run start:worker` launches it (its node flags and malloc settings: docker-compose.yml's worker).
# Debian slim, not Alpine: the Temporal worker's native core needs glibc.

FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The CLI package is a workspace of the root package: npm needs its manifest to install.
COPY apps/cli/package.json ./apps/cli/
# The lockfile was produced where the registry serves only linux-x64's optional packages, which
# `npm ci` takes for an out-of-sync lockfile; install from package.json's pinned versions then.
RUN npm ci || npm install
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

FROM node:20-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY apps/cli/package.json ./apps/cli/
RUN (npm ci --omit=dev || npm install --omit=dev) && npm cache clean --force
# dist/workflows is what the worker bundles at start (require.resolve('../../workflows') from dist/apps/worker).
COPY --from=build /app/dist ./dist
# Chromium for browser steps ships inside @sparticuz/chromium; it needs NSS and a font from Debian.
RUN apt-get update && apt-get install -y --no-install-recommends libnss3 libexpat1 fonts-liberation && rm -rf /var/lib/apt/lists/* \
  && mkdir -p /app/artifacts && chown node:node /app/artifacts
# Not root: Chromium's sandbox (which cannot run as root) confines every page a browser step opens.
USER node
EXPOSE 3000
CMD ["node", "dist/apps/gateway/main.js"]
