# syntax=docker/dockerfile:1
# One image for every role: `sextant start` (embedded), `sextant agent <name>`, `sextant api`,
# `sextant bots`, `sextant recorder`. Multi-stage: the build stage bundles the app with esbuild;
# the runtime stage has production dependencies only and runs as the unprivileged `node` user.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY agents ./agents
COPY bus ./bus
COPY config ./config
COPY interfaces ./interfaces
COPY src ./src
COPY scripts ./scripts
RUN npm run build

FROM node:20-bookworm-slim AS prod-deps
WORKDIR /app
# better-sqlite3 (the embedded store) is a native module: its install script fetches a prebuilt
# binary for this Node, or compiles it with node-gyp (python3, make, g++: this stage only)
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm rebuild better-sqlite3 \
  && node -e "new (require('better-sqlite3'))(':memory:').close()" && npm cache clean --force

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    SEXTANT_DATA_DIR=/data \
    PORT=3000
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
# the API answers /health; agent-only roles have no HTTP port (their health is on the bus)
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const p=process.env.PORT||'3000';if(p==='0')process.exit(0);fetch('http://127.0.0.1:'+p+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "--max-semi-space-size=64", "--no-allocation-site-pretenuring", "--enable-source-maps", "dist/sextant.mjs"]
CMD ["start"]
