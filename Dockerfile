# jobcast — one image for both roles: `api` (default) and `worker` (command: node dist/worker.js).
# Multi-stage: the service is compiled in a build stage (npm run build); the runtime stage carries
# the compiled JavaScript and production dependencies only, and runs as the unprivileged `node`
# user. Job types of your own: mount an ES module and set JOB_TYPES to its path (README).

# The npm workspaces (packages/) are for client authors, not the service: --workspaces=false
# keeps them, and React (a peer of @jobcast/react), out of both stages.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --workspaces=false --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY workers ./workers
COPY scripts ./scripts
COPY packages/client/src ./packages/client/src
RUN npm run build -- --service

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --workspaces=false --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --chown=node:node package.json package-lock.json openapi.yaml ./
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node bin ./bin
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# One API process by default. On a machine of N cores run N of them on this one port with
# API_PROCESSES=N (node:cluster: a primary restarts one that dies and stops all on SIGTERM;
# /metrics answers their sum), e.g. docker run -e API_PROCESSES=$(nproc) … For many streams
# also raise the open-files limit (--ulimit nofile=…): README, "Sizing".
CMD ["node", "dist/main.js"]
