# One image for every role: `sextant start`, `sextant agent <name>`, later `sextant api`/`bots`.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY agents ./agents
COPY bus ./bus
COPY config ./config
COPY interfaces ./interfaces
COPY src ./src
USER node
ENTRYPOINT ["node", "src/cli/sextant.mjs"]
CMD ["start"]
