# One image for every Relais process; each container's command picks its entry point.
FROM node:24-slim

WORKDIR /app

# Manifests first, so the dependency layer is rebuilt only when they change.
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY gateway/package.json gateway/
COPY services/contacts/package.json services/contacts/
COPY services/domiciliation/package.json services/domiciliation/
COPY services/mail/package.json services/mail/
COPY services/notifications/package.json services/notifications/
COPY services/exchanges/package.json services/exchanges/

# Not --omit=dev: tsx, which runs the TypeScript sources, is a devDependency.
RUN npm ci --no-audit --no-fund && npm cache clean --force

COPY . .

ENV NODE_ENV=production
USER node
EXPOSE 3000
CMD ["node", "--import", "tsx", "gateway/src/main.ts"]
