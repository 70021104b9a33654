# syntax=docker/dockerfile:1
# Multi-stage: compile TypeScript with dev dependencies, ship only production dependencies and the build.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The platform API's OpenAPI document is compiled in (served at /platform/v1/openapi.json).
COPY docs ./docs
RUN npm run build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config ./config
# The image's `node` user, by number: an orchestrator can only verify runAsNonRoot against a numeric id.
USER 1000:1000
EXPOSE 3000
# BRIDGE_ROLE=web|worker|all selects what this container runs. Every role listens on PORT and serves /healthz
# (alive), /readyz (MongoDB and Redis answer) and /metrics, so this one check fits every container of the image.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
CMD ["node", "dist/src/main.js"]
