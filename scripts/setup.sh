#!/usr/bin/env bash
# Brings a checkout to a runnable state: npm packages installed and, unless MONGO_URL points at a
# MongoDB, the FerretDB binary built. Runs before every npm start/test/bench, so the nothing-to-do
# path must stay silent and take milliseconds.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

say() { echo "setup: $*" >&2; }

# --- npm packages -----------------------------------------------------------------------------
# npm writes node_modules/.package-lock.json last, so an older one means an outdated install.
if [[ -f package-lock.json ]]; then
  if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
    # The install runs under the machine's Node, which may be older than the engines field wants: its
    # EBADENGINE warnings are noise, since npm scripts then run the project's own Node. Under an npm
    # script PATH starts with node_modules/.bin, whose node is the one npm ci is about to delete: drop it.
    machine_path=""
    IFS=: read -ra path_dirs <<<"$PATH"
    for dir in "${path_dirs[@]}"; do
      [[ "$dir" == "$root/node_modules/.bin" ]] || machine_path+="${machine_path:+:}$dir"
    done
    say "installing npm packages (npm ci) under the machine's Node $(PATH="$machine_path" node --version); engine warnings are harmless: npm scripts use the project's Node 24 from node_modules"
    PATH="$machine_path" npm ci --no-audit --no-fund --loglevel=error >&2
  fi
elif [[ ! -d node_modules ]]; then
  say "installing npm packages (npm install)"
  npm install --no-audit --no-fund >&2
fi

# --- FerretDB ---------------------------------------------------------------------------------
[[ -n "${MONGO_URL:-}" ]] && exit 0

src="tools/ferretdb"
hash="$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-12)"
bin=".cache/ferretdb-$hash"

if [[ ! -x "$bin" ]]; then
  go="$(command -v go || true)"
  [[ -z "$go" && -x /usr/local/go/bin/go ]] && go=/usr/local/go/bin/go
  if [[ -z "$go" ]]; then
    # Tests and npm start fall back to containers when a Docker engine answers.
    if command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1; then
      say "Go not found: FerretDB not built; MongoDB will run in a container"
      exit 0
    fi
    cat >&2 <<'EOF'
setup: cannot build FerretDB (the local MongoDB stand-in): Go is not installed.
setup: either install Go (https://go.dev/dl/) and PostgreSQL, or set MONGO_URL (and NATS_URL)
setup: to running servers, e.g. MONGO_URL=mongodb://127.0.0.1:27017 NATS_URL=nats://127.0.0.1:4222,
setup: or run a Docker engine.
EOF
    exit 1
  fi
  mkdir -p .cache
  say "building FerretDB into $bin (first build takes a few minutes)"
  start=$SECONDS
  tmp="$bin.tmp.$$"
  # -mod=readonly: the committed go.sum must be complete; a build never rewrites it.
  if ! (cd "$src" && "$go" build -mod=readonly -buildvcs=false -trimpath -o "$root/$tmp" .) >&2; then
    rm -f "$tmp"
    say "FerretDB build failed"
    exit 1
  fi
  mv -f "$tmp" "$bin"
  # Older builds are ~35 MB each.
  find .cache -maxdepth 1 -type f -name 'ferretdb-????????????' ! -name "ferretdb-$hash" -delete
  say "FerretDB built in $((SECONDS - start)) s"
fi

if [[ "$(readlink .cache/ferretdb 2>/dev/null || true)" != "ferretdb-$hash" ]]; then
  ln -sfn "ferretdb-$hash" .cache/ferretdb
  say "linked .cache/ferretdb -> ferretdb-$hash"
fi
