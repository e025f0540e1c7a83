# StreamSpace control plane: REST API, agent hub, VNC proxy and the web UI on one port.
# Build from the repository root:
#   docker build -f deploy/control-plane.Dockerfile -t streamspace/control-plane:0.1.0 .
# Server code runs from TypeScript with tsx (no build step); the UI is built with Vite.
FROM node:20-slim AS web
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages ./packages
COPY apps ./apps
COPY agents ./agents
RUN npm ci --no-audit --no-fund
RUN npm run build -w @streamspace/web

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages ./packages
COPY apps ./apps
COPY agents ./agents
# --include=dev: tsx is a dev dependency and the server runs from source with it.
RUN npm ci --include=dev --no-audit --no-fund && npm cache clean --force
COPY --from=web /app/apps/web/dist ./apps/web/dist
# uid/gid 1000 is the image's `node` user; the Helm chart runs it non-root with a read-only
# root filesystem and a writable /tmp (STREAMSPACE_DATA_DIR).
USER 1000:1000
ENV PORT=8080 STREAMSPACE_DATA_DIR=/tmp/streamspace STREAMSPACE_EMBEDDED_AGENT=none
EXPOSE 8080
ENTRYPOINT ["node", "--import", "tsx", "apps/control-plane/src/main.ts"]
