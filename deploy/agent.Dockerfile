# StreamSpace agent: `streamspace-agent <platform>`; the Kubernetes agent by default.
# Build from the repository root:
#   docker build -f deploy/agent.Dockerfile -t streamspace/agent:0.1.0 .
# Run: docker run streamspace/agent:0.1.0 kubernetes --url https://streamspace.example.com \
#        --enrollment-token sse_…   (or STREAMSPACE_URL / STREAMSPACE_ENROLLMENT_TOKEN)
# The docker agent in this image needs the engine's socket mounted; the local agent is meant
# to run on a host with Xvnc, not in this image.
FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages ./packages
COPY apps ./apps
COPY agents ./agents
RUN npm ci --include=dev --no-audit --no-fund && npm cache clean --force
RUN printf '%s\n' '#!/bin/sh' \
      '# streamspace-agent <platform> [flags]: runs agents/<platform>/src/main.ts with tsx.' \
      'platform="${1:?usage: streamspace-agent kubernetes|docker|local [flags]}"; shift' \
      'exec node --import tsx "/app/agents/${platform}/src/main.ts" "$@"' \
      > /usr/local/bin/streamspace-agent \
    && chmod 0755 /usr/local/bin/streamspace-agent
USER 1000:1000
ENV STREAMSPACE_CREDENTIALS_FILE=/var/lib/streamspace-agent/credentials.json \
    STREAMSPACE_AGENT_STATE_DIR=/var/lib/streamspace-agent
ENTRYPOINT ["streamspace-agent"]
CMD ["kubernetes"]
