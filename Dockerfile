# One image for every Relais process; each container's command picks its bundle (node dist/<name>.js).

# --- manifests: what npm ci needs, every workspace's package.json -------------------------------------
FROM node:24-slim AS manifests

WORKDIR /app

# Manifests first, so the dependency layers are rebuilt only when they change.
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY testing/package.json testing/
COPY gateway/package.json gateway/
COPY services/contacts/package.json services/contacts/
COPY services/domiciliation/package.json services/domiciliation/
COPY services/mail/package.json services/mail/
COPY services/notifications/package.json services/notifications/
COPY services/exchanges/package.json services/exchanges/

# --- build: all dependencies, TypeScript bundled into dist/ ---------------------------------------
FROM manifests AS build

RUN npm ci --no-audit --no-fund

COPY . .
RUN npm run build

# --- run: production dependencies and the bundles only -------------------------------------------
FROM manifests

# --omit=dev leaves out tsx, esbuild, the test tools and the `node` devDependency (a second Node).
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# The bundles import their npm packages from /app/node_modules; dist/ also holds the files they
# read at run time (the gateway's docs page).
COPY --from=build /app/dist ./dist

ENV NODE_ENV=production
# Stack traces name the TypeScript sources (dist/*.js.map).
ENV NODE_OPTIONS=--enable-source-maps
USER node
EXPOSE 3000
CMD ["node", "dist/gateway.js"]
