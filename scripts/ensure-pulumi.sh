#!/usr/bin/env bash
# Makes a Pulumi CLI and its YAML language host (pulumi-language-yaml, which runs
# `runtime: yaml` programs) available and prints the directory that holds both.
#
# Order: `pulumi` on PATH with the YAML host beside it (a user's normal install, if
# recent enough) -> a cached build -> a build from Pulumi's published Go modules
# when `go` exists. It never downloads a binary. Progress goes to stderr; stdout is
# only the bin directory.
set -euo pipefail

# Go and the cache need a home even where the environment has none (some CI runners).
export HOME="${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}"
PULUMI_VERSION="${GEMINI_PULUMI_VERSION:-3.274.1}"
YAML_HOST_VERSION="${GEMINI_PULUMI_YAML_VERSION:-1.25.0}"
MIN_MAJOR_MINOR="3.216"   # read() may return inputs from 3.216.0 on
CACHE_ROOT="${GEMINI_WEBHOOKS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gemini-webhooks}"
BIN_DIR="$CACHE_ROOT/pulumi-v$PULUMI_VERSION/bin"

log() { printf '[ensure-pulumi] %s\n' "$*" >&2; }

version_ok() { # $1 = "3.274.1" or "v3.274.1"
  local v="${1#v}" major minor
  major="${v%%.*}"; minor="${v#*.}"; minor="${minor%%.*}"
  [[ "$major" =~ ^[0-9]+$ && "$minor" =~ ^[0-9]+$ ]] || return 1
  (( major > 3 || (major == 3 && minor >= ${MIN_MAJOR_MINOR#*.}) ))
}

if [[ "${GEMINI_PULUMI_IGNORE_PATH:-}" != "1" ]] && command -v pulumi >/dev/null 2>&1; then
  found="$(pulumi version 2>/dev/null || true)"
  if version_ok "$found" && [[ -x "$(dirname "$(command -v pulumi)")/pulumi-language-yaml" ]]; then
    log "using pulumi $found from PATH"
    dirname "$(command -v pulumi)"
    exit 0
  fi
  log "pulumi on PATH is '${found:-unknown}' (need $MIN_MAJOR_MINOR or newer, with pulumi-language-yaml beside it); looking for a cached build"
fi

if [[ -x "$BIN_DIR/pulumi" && -x "$BIN_DIR/pulumi-language-yaml" ]] && version_ok "$("$BIN_DIR/pulumi" version 2>/dev/null || true)"; then
  log "using cached pulumi v$PULUMI_VERSION and pulumi-language-yaml v$YAML_HOST_VERSION ($BIN_DIR)"
  echo "$BIN_DIR"
  exit 0
fi

install_help() {
  cat >&2 <<MSG
[ensure-pulumi] $1
Install Pulumi (https://www.pulumi.com/docs/install/), e.g.:
  curl -fsSL https://get.pulumi.com | sh        # Linux/macOS
  brew install pulumi/tap/pulumi                 # macOS
then run this command again.
MSG
}

if ! command -v go >/dev/null 2>&1; then
  install_help "No Pulumi CLI (3.216 or newer) found and no Go toolchain to build one."
  exit 1
fi
trap 'install_help "Building the Pulumi CLI from its Go modules failed (see above)."' ERR

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$BIN_DIR"
export GOFLAGS="${GOFLAGS:-} -mod=mod"

if ! { [[ -x "$BIN_DIR/pulumi" ]] && version_ok "$("$BIN_DIR/pulumi" version 2>/dev/null || true)"; }; then
  log "building pulumi v$PULUMI_VERSION from its Go modules into $BIN_DIR (first run only, ~5-10 min)"
  mkdir -p "$work/cli" && cd "$work/cli"
  # A wrapper module: pkg/v3's own go.mod has replace directives, so `go install
  # pkg@version` refuses it; requiring pkg and sdk at one release stands in for them.
  cat > go.mod <<MOD
module gemini-webhooks/pulumi-cli-build

go 1.25
MOD
  go get "github.com/pulumi/pulumi/pkg/v3@v$PULUMI_VERSION" "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION" >&2
  go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$PULUMI_VERSION" >&2
  go build -trimpath \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
    -o "$BIN_DIR/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi >&2
  mv "$BIN_DIR/pulumi.tmp" "$BIN_DIR/pulumi"
  log "built $("$BIN_DIR/pulumi" version)"
fi

if [[ ! -x "$BIN_DIR/pulumi-language-yaml" ]]; then
  # Beside the CLI, where it looks for bundled language hosts first (no PATH warning).
  log "building pulumi-language-yaml v$YAML_HOST_VERSION from its Go module into $BIN_DIR (first run only, ~1 min)"
  mkdir -p "$work/yaml" && cd "$work/yaml"
  GOBIN="$work/yaml/bin" go install -trimpath -ldflags "-s -w" "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml@v$YAML_HOST_VERSION" >&2
  mv "$work/yaml/bin/pulumi-language-yaml" "$BIN_DIR/pulumi-language-yaml"
fi
echo "$BIN_DIR"
