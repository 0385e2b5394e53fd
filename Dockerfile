# Kiln for production-like runs (see docker-compose.yml). Uses an external PostgreSQL.
FROM node:24-bookworm-slim AS build
WORKDIR /app
RUN npm install -g pnpm@10.34.8
COPY . .
RUN pnpm install --frozen-lockfile && pnpm build

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production PORT=7130 DATA_DIR=/data
COPY --from=build --chown=node:node /app /app
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
EXPOSE 7130
USER node
# V8's young generation at 64 MB per semi-space: fewer, cheaper scavenges under load (README,
# "Performance"); the same flag as `pnpm start`.
CMD ["node", "--max-semi-space-size=64", "backend/dist/server.js"]
