#!/usr/bin/env bash
# Portcullis registry login for GitHub Actions (see action.yml and docs/ci.md).
# Requests the job's OIDC ID token for INPUT_AUDIENCE from the runner's token
# service and pipes it, as the password, into `<client> login --password-stdin`
# for every selected client and registry. The token never appears in argv or logs.
set -euo pipefail

fail() {
  echo "::error title=portcullis login::$*" >&2
  exit 1
}

registries=$(printf '%s' "${INPUT_REGISTRY:-}" | tr ',\n' '  ')
[[ -n ${registries// /} ]] || fail "input 'registry' is required"
[[ -n ${INPUT_AUDIENCE:-} ]] || fail "input 'audience' is required (one of the audiences the broker accepts for GitHub)"
username=${INPUT_USERNAME:-oidc}
tls_verify=${INPUT_TLS_VERIFY:-true}
[[ $tls_verify == true || $tls_verify == false ]] || fail "input 'tls-verify' must be true or false"
if [[ -z ${ACTIONS_ID_TOKEN_REQUEST_URL:-} || -z ${ACTIONS_ID_TOKEN_REQUEST_TOKEN:-} ]]; then
  fail "no ID token service: give the job 'permissions: id-token: write' (ACTIONS_ID_TOKEN_REQUEST_URL is unset)"
fi
command -v curl >/dev/null || fail "curl is required"

# Percent-encode the audience for the query string (RFC 3986 unreserved characters pass).
urlencode() {
  local LC_ALL=C s=$1 out='' c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
      [A-Za-z0-9.~_-]) out+=$c ;;
      *) printf -v c '%%%02X' "'$c"; out+=$c ;;
    esac
  done
  printf '%s' "$out"
}

sep='?'
[[ $ACTIONS_ID_TOKEN_REQUEST_URL == *\?* ]] && sep='&'
# The request token goes through a header file on stdin, never argv.
response=$(printf 'Authorization: bearer %s\n' "$ACTIONS_ID_TOKEN_REQUEST_TOKEN" |
  curl --silent --show-error --fail --retry 3 --max-time 30 \
    --header @- --header 'Accept: application/json' \
    "${ACTIONS_ID_TOKEN_REQUEST_URL}${sep}audience=$(urlencode "$INPUT_AUDIENCE")") ||
  fail "the runner's ID token service refused the request"
# {"value":"<JWT>"}: a JWT holds only base64url characters and dots.
token=$(printf '%s' "$response" | sed -n 's/.*"value"[[:space:]]*:[[:space:]]*"\([A-Za-z0-9._-]*\)".*/\1/p')
[[ $token =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]] || fail "the ID token service answered without a token"
echo "::add-mask::$token"

if [[ ${INPUT_CLIENTS:-auto} == auto ]]; then
  clients=()
  for c in docker podman buildah; do command -v "$c" >/dev/null && clients+=("$c"); done
  ((${#clients[@]} > 0)) || fail "none of docker, podman or buildah is installed"
else
  read -r -a clients <<<"$INPUT_CLIENTS"
  for c in "${clients[@]}"; do
    case $c in docker | podman | buildah | skopeo) ;; *) fail "unknown client '$c' (docker, podman, buildah, skopeo)" ;; esac
    command -v "$c" >/dev/null || fail "client '$c' is not installed"
  done
fi

for registry in $registries; do
  for c in "${clients[@]}"; do
    args=(login --username "$username" --password-stdin)
    [[ $c == docker ]] || args+=("--tls-verify=$tls_verify")
    if ! printf '%s' "$token" | "$c" "${args[@]}" "$registry" >/dev/null; then
      fail "$c login to $registry was refused: check the broker's audit log (reason) and that '$INPUT_AUDIENCE' is an accepted audience"
    fi
    echo "portcullis: $c logged in to $registry"
  done
done

[[ -n ${GITHUB_OUTPUT:-} ]] && echo "clients=${clients[*]}" >>"$GITHUB_OUTPUT"
exit 0
