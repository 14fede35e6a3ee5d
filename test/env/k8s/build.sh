#!/usr/bin/env bash
# Builds the binaries of the local Kubernetes control plane from Go modules:
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl  (k8s.io/kubernetes)
#   etcd                                                              (go.etcd.io/etcd/server/v3)
#   helm                                                              (helm.sh/helm/vN/cmd/helm)
#   kwok                                                              (sigs.k8s.io/kwok/cmd/kwok)
#
# Versions are pinned in versions.env. Every binary is built inside a small
# throwaway Go module under modules/<name>/ whose go.mod + go.sum are committed,
# so builds are reproducible (-mod=readonly: nothing is resolved at build time).
# k8s.io/kubernetes is not meant to be consumed as a module; its go.mod carries
# replace directives onto ./staging/src/k8s.io/*, so modules/kubernetes/go.mod
# replaces every staging module with the published v0.X.Y of the same release.
#
# Output: ${TALLY_CACHE_DIR:-$HOME/.cache/tally}/bin/<binary>, outside the
# checkout so every clone on the machine shares it. A stamp per binary
# (bin/.stamps/<binary>) records what it was built from; an up-to-date binary
# is skipped, so a cached run costs a few milliseconds. Go's own module and
# build caches (GOMODCACHE, GOCACHE) are used as configured.
#
# Usage:
#   build.sh [--force] [BINARY...]   build (all binaries by default) if stale
#   build.sh --update-modules        regenerate modules/*/go.mod+go.sum from versions.env
#   build.sh --print-bin-dir         print the output directory and exit
#
# Environment:
#   TALLY_CACHE_DIR   cache root (default: $HOME/.cache/tally)
#   GO                go binary (default: go on PATH, else /usr/local/go/bin/go)
#   GOTOOLCHAIN       default "local": never download a Go toolchain behind your back
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MODULES_DIR="${SCRIPT_DIR}/modules"
# shellcheck source=versions.env
source "${SCRIPT_DIR}/versions.env"

CACHE_DIR="${TALLY_CACHE_DIR:-${HOME}/.cache/tally}"
BIN_DIR="${CACHE_DIR}/bin"
STAMP_DIR="${BIN_DIR}/.stamps"
LOG_DIR="${CACHE_DIR}/logs/k8s-build"

# Bump whenever the way binaries are built changes (flags, ldflags, env) so
# existing binaries are rebuilt even though no version changed.
RECIPE_REV=1

log() { printf '[setup] k8s: %s\n' "$*"; }
die() { printf '[setup] k8s: ERROR: %s\n' "$*" >&2; exit 1; }

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

# --- versions -------------------------------------------------------------------------

for var in KUBERNETES_VERSION ETCD_VERSION HELM_VERSION KWOK_VERSION; do
  [[ -n "${!var:-}" ]] || die "${var} is not set in ${SCRIPT_DIR}/versions.env"
done
[[ "${KUBERNETES_VERSION}" =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] ||
  die "KUBERNETES_VERSION must look like v1.X.Y (got '${KUBERNETES_VERSION}')"
KUBE_MAJOR=1
KUBE_MINOR="${BASH_REMATCH[1]}"
# Staging modules (k8s.io/api, k8s.io/client-go, ...) of v1.X.Y are published as v0.X.Y.
KUBE_STAGING_VERSION="v0.${KUBE_MINOR}.${BASH_REMATCH[2]}"
helm_major="${HELM_VERSION#v}"
helm_major="${helm_major%%.*}"
HELM_MODULE="helm.sh/helm/v${helm_major}"

# Throwaway modules: <dir>|<upstream module>|<version>|<tool packages (space separated)>
MODULE_SPECS=(
  "kubernetes|k8s.io/kubernetes|${KUBERNETES_VERSION}|k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl"
  "etcd|go.etcd.io/etcd/server/v3|${ETCD_VERSION}|go.etcd.io/etcd/server/v3"
  "helm|${HELM_MODULE}|${HELM_VERSION}|${HELM_MODULE}/cmd/helm"
  "kwok|sigs.k8s.io/kwok|${KWOK_VERSION}|sigs.k8s.io/kwok/cmd/kwok"
)

# Binaries, in build order: <binary>|<module dir>|<package>|<version>
TARGETS=(
  "kube-apiserver|kubernetes|k8s.io/kubernetes/cmd/kube-apiserver|${KUBERNETES_VERSION}"
  "kube-controller-manager|kubernetes|k8s.io/kubernetes/cmd/kube-controller-manager|${KUBERNETES_VERSION}"
  "kube-scheduler|kubernetes|k8s.io/kubernetes/cmd/kube-scheduler|${KUBERNETES_VERSION}"
  "kubectl|kubernetes|k8s.io/kubernetes/cmd/kubectl|${KUBERNETES_VERSION}"
  "etcd|etcd|go.etcd.io/etcd/server/v3|${ETCD_VERSION}"
  "helm|helm|${HELM_MODULE}/cmd/helm|${HELM_VERSION}"
  "kwok|kwok|sigs.k8s.io/kwok/cmd/kwok|${KWOK_VERSION}"
)

# --- helpers --------------------------------------------------------------------------

now_us() { local t="${EPOCHREALTIME/[.,]/}"; printf '%s' "$((10#${t}))"; }

fmt_duration() { # microseconds -> "812ms" / "42.3s" / "7m05s"
  local us=$1 ms s
  ms=$((us / 1000))
  if ((ms < 1000)); then
    printf '%dms' "${ms}"
  elif ((ms < 60000)); then
    printf '%d.%ds' "$((ms / 1000))" "$(((ms % 1000) / 100))"
  else
    s=$((ms / 1000))
    printf '%dm%02ds' "$((s / 60))" "$((s % 60))"
  fi
}

find_go() {
  if [[ -z "${GO:-}" ]]; then
    GO="$(command -v go || true)"
    if [[ -z "${GO}" && -x /usr/local/go/bin/go ]]; then GO=/usr/local/go/bin/go; fi
  fi
  [[ -n "${GO}" && -x "${GO}" ]] || die "no Go toolchain found (install Go or set GO=/path/to/go)"
}

go_env() {
  export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
  export GOWORK=off
  export CGO_ENABLED=0
  local out
  out="$("${GO}" env GOVERSION GOOS GOARCH)" || die "'${GO} env' failed"
  { read -r GO_VERSION; read -r GO_OS; read -r GO_ARCH; } <<<"${out}"
}

module_spec() { # dir -> sets SPEC_MOD SPEC_VERSION SPEC_TOOLS
  local spec dir
  for spec in "${MODULE_SPECS[@]}"; do
    IFS='|' read -r dir SPEC_MOD SPEC_VERSION SPEC_TOOLS <<<"${spec}"
    [[ "${dir}" == "$1" ]] && return 0
  done
  die "unknown module dir '$1'"
}

# Make sure modules/<dir>/go.mod was generated for the version in versions.env.
declare -A MODULE_HASH=()
check_module() {
  local dir=$1 gomod="${MODULES_DIR}/$1/go.mod" gosum="${MODULES_DIR}/$1/go.sum" pin
  [[ -n "${MODULE_HASH[${dir}]:-}" ]] && return 0
  module_spec "${dir}"
  [[ -f "${gomod}" && -f "${gosum}" ]] ||
    die "${gomod#"${SCRIPT_DIR}/"} or go.sum is missing; run: bash test/env/k8s/build.sh --update-modules"
  IFS= read -r pin <"${gomod}"
  [[ "${pin}" == "// pin: ${SPEC_MOD}@${SPEC_VERSION}" ]] ||
    die "modules/${dir}/go.mod is for '${pin#// pin: }' but versions.env wants ${SPEC_MOD}@${SPEC_VERSION}; run: bash test/env/k8s/build.sh --update-modules (and commit test/env/k8s/modules)"
  MODULE_HASH[${dir}]="$(cat "${gomod}" "${gosum}" | sha256sum)"
  MODULE_HASH[${dir}]="${MODULE_HASH[${dir}]%% *}"
}

stamp_key() { # binary dir pkg version
  printf 'recipe=%s binary=%s pkg=%s version=%s go=%s platform=%s/%s modules=%s' \
    "${RECIPE_REV}" "$1" "$3" "$4" "${GO_VERSION}" "${GO_OS}" "${GO_ARCH}" "${MODULE_HASH[$2]:0:16}"
}

is_fresh() { # binary key
  local stamp="${STAMP_DIR}/$1" have
  [[ -x "${BIN_DIR}/$1" && -f "${stamp}" ]] || return 1
  IFS= read -r have <"${stamp}" || true
  [[ "${have}" == "$2" ]]
}

release_date() { # dir module -> commit time of the release as recorded by the module proxy
  (cd "${MODULES_DIR}/$1" && "${GO}" list -mod=readonly -m \
    -f '{{with .Time}}{{.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' "$2" 2>/dev/null) || true
}

ldflags_for() { # binary dir
  local flags="-s -w" date pkg
  case "$1" in
    kube-*|kubectl)
      # Same variables as kubernetes' hack/lib/version.sh, so `kubectl version`
      # and the apiserver's /version report the real release. The git commit is
      # not known from a module build: set it empty instead of "$Format:%H$".
      date="$(release_date "$2" k8s.io/kubernetes)"
      for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
        flags+=" -X ${pkg}.gitVersion=${KUBERNETES_VERSION}"
        flags+=" -X ${pkg}.gitMajor=${KUBE_MAJOR} -X ${pkg}.gitMinor=${KUBE_MINOR}"
        flags+=" -X ${pkg}.gitCommit= -X ${pkg}.gitTreeState=clean"
        [[ -n "${date}" ]] && flags+=" -X ${pkg}.buildDate=${date}"
      done
      ;;
    helm)
      flags+=" -X ${HELM_MODULE}/internal/version.version=${HELM_VERSION}"
      flags+=" -X ${HELM_MODULE}/internal/version.gitTreeState=clean"
      ;;
    kwok)
      flags+=" -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}"
      ;;
    etcd) ;; # the etcd version is a constant in go.etcd.io/etcd/api/v3/version
  esac
  printf '%s' "${flags}"
}

build_target() { # binary dir pkg version key
  local name=$1 dir=$2 pkg=$3 version=$4 key=$5
  local logf="${LOG_DIR}/${name}.log" tmp="${BIN_DIR}/.${name}.tmp.$$" start ldflags rc=0
  log "building ${name} (${version}) …"
  start="$(now_us)"
  ldflags="$(ldflags_for "${name}" "${dir}")"
  {
    printf '# %s\n# cd %s && nice -n 10 %s build -mod=readonly -buildvcs=false -trimpath -ldflags "%s" -o %s %s\n' \
      "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${MODULES_DIR}/${dir}" "${GO}" "${ldflags}" "${tmp}" "${pkg}"
    (cd "${MODULES_DIR}/${dir}" &&
      nice -n 10 "${GO}" build -mod=readonly -buildvcs=false -trimpath -ldflags "${ldflags}" -o "${tmp}" "${pkg}") 2>&1
  } >"${logf}" || rc=$?
  if ((rc != 0)); then
    rm -f "${tmp}"
    {
      log "FAILED to build ${name} (${version}) after $(fmt_duration $(($(now_us) - start))) (go build exit ${rc})"
      log "last lines of ${logf}:"
      tail -n 40 "${logf}" | sed 's/^/    | /'
    } >&2
    exit 1
  fi
  mv -f "${tmp}" "${BIN_DIR}/${name}"
  printf '%s\n' "${key}" >"${STAMP_DIR}/${name}"
  log "built ${name} (${version}) in $(fmt_duration $(($(now_us) - start)))"
}

# --- --update-modules -----------------------------------------------------------------

# Print the directives of an upstream go.mod one per line, block syntax flattened:
# "<verb> <args...>" (comments dropped).
flatten_gomod() {
  awk '
    { sub(/\/\/.*/, ""); sub(/[ \t]+$/, "") }
    block != "" { if ($0 ~ /^[ \t]*\)/) { block = ""; next } if (NF) print block, $0; next }
    $2 == "(" && NF == 2 { block = $1; next }
    NF { print }
  ' "$1" | awk '{ $1 = $1; print }'
}

update_module() {
  local dir=$1 work info upstream_gomod upstream_directives goline line lhs rhs rhs_ver t
  local -a replaces
  module_spec "${dir}"
  log "resolving modules/${dir} for ${SPEC_MOD}@${SPEC_VERSION} …"
  work="${UPDATE_TMP}/${dir}"
  mkdir -p "${work}"
  info="$("${GO}" mod download -json "${SPEC_MOD}@${SPEC_VERSION}")" ||
    die "cannot download ${SPEC_MOD}@${SPEC_VERSION}"
  upstream_gomod="$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' <<<"${info}")"
  [[ -f "${upstream_gomod}" ]] || die "no go.mod for ${SPEC_MOD}@${SPEC_VERSION}"
  upstream_directives="$(flatten_gomod "${upstream_gomod}")"
  goline="$(awk '$1 == "go" && !seen { print $2; seen = 1 }' <<<"${upstream_directives}")"
  {
    printf '// pin: %s@%s\n' "${SPEC_MOD}" "${SPEC_VERSION}"
    printf '// Generated by test/env/k8s/build.sh --update-modules from versions.env; do not edit.\n'
    printf '// Throwaway module that only exists to build %s reproducibly.\n' "${SPEC_TOOLS}"
    printf 'module tally.local/test-env-k8s/%s\n\n' "${dir}"
    printf 'go %s\n\n' "${goline:-1.24}"
    awk '$1 == "godebug"' <<<"${upstream_directives}"
    printf 'require %s %s\n\n' "${SPEC_MOD}" "${SPEC_VERSION}"
    # Replace directives of the upstream module apply only when it is the main
    # module; carry them over. Local-path replaces are the upstream's dev layout:
    # k8s.io/kubernetes' ./staging/src/k8s.io/X becomes k8s.io/X v0.X.Y (only for
    # staging modules it requires); others (e.g. etcd's ../api) point at modules
    # whose real versions are required anyway.
    replaces=()
    while read -r line; do
      lhs="${line#replace }"
      rhs="${lhs#*=> }"
      lhs="${lhs%% =>*}"
      case "${rhs}" in
        ./staging/src/k8s.io/*)
          [[ "${SPEC_MOD}" == k8s.io/kubernetes ]] || continue
          grep -qxF "require ${lhs} v0.0.0" <<<"${upstream_directives}" || continue
          replaces+=("${lhs} => ${rhs#./staging/src/} ${KUBE_STAGING_VERSION}")
          ;;
        ./* | ../* | /*) continue ;;
        *)
          rhs_ver="${rhs#* }"
          [[ "${rhs_ver}" != "${rhs}" ]] || continue
          replaces+=("${lhs} => ${rhs}")
          ;;
      esac
    done < <(awk '$1 == "replace"' <<<"${upstream_directives}")
    if ((${#replaces[@]})); then
      printf 'replace (\n'
      printf '\t%s\n' "${replaces[@]}"
      printf ')\n\n'
    fi
    printf 'tool (\n'
    for t in ${SPEC_TOOLS}; do printf '\t%s\n' "${t}"; done
    printf ')\n'
  } >"${work}/go.mod"
  (cd "${work}" && "${GO}" mod tidy) || die "go mod tidy failed for modules/${dir} (see above)"
  mkdir -p "${MODULES_DIR}/${dir}"
  cp "${work}/go.mod" "${work}/go.sum" "${MODULES_DIR}/${dir}/"
  log "wrote test/env/k8s/modules/${dir}/go.mod and go.sum"
}

# --- main -----------------------------------------------------------------------------

force=0
update=0
selected=()
while (($#)); do
  case "$1" in
    --force) force=1 ;;
    --update-modules) update=1 ;;
    --print-bin-dir) printf '%s\n' "${BIN_DIR}"; exit 0 ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) selected+=("$1") ;;
  esac
  shift
done

find_go
go_env

if ((update)); then
  UPDATE_TMP="$(mktemp -d)"
  trap 'rm -rf "${UPDATE_TMP}"' EXIT
  for spec in "${MODULE_SPECS[@]}"; do update_module "${spec%%|*}"; done
  log "modules updated; commit test/env/k8s/modules and run build.sh to rebuild"
  exit 0
fi

total_start="$(now_us)"
todo=()
declare -A wanted=()
for name in "${selected[@]}"; do wanted[${name}]=1; done
for target in "${TARGETS[@]}"; do
  IFS='|' read -r name dir pkg version <<<"${target}"
  if ((${#selected[@]})); then
    [[ -n "${wanted[${name}]:-}" ]] || continue
    unset "wanted[${name}]"
  fi
  check_module "${dir}"
  key="$(stamp_key "${name}" "${dir}" "${pkg}" "${version}")"
  if ((force)) || ! is_fresh "${name}" "${key}"; then todo+=("${target}|${key}"); fi
done
((${#wanted[@]} == 0)) || die "unknown binary name(s): ${!wanted[*]} (known: kube-apiserver kube-controller-manager kube-scheduler kubectl etcd helm kwok)"

if ((${#todo[@]} == 0)); then
  log "binaries up to date in ${BIN_DIR} ($(fmt_duration $(($(now_us) - total_start))))"
  exit 0
fi

mkdir -p "${BIN_DIR}" "${STAMP_DIR}" "${LOG_DIR}"
# One build at a time per cache dir (several clones may share it).
exec 9>"${CACHE_DIR}/.k8s-build.lock"
if ! flock -n 9 2>/dev/null; then
  log "another build.sh holds ${CACHE_DIR}/.k8s-build.lock; waiting …"
  flock 9 || die "cannot lock ${CACHE_DIR}/.k8s-build.lock"
fi

built=0
for item in "${todo[@]}"; do
  IFS='|' read -r name dir pkg version key <<<"${item}"
  # Another process may have built it while we waited for the lock.
  if ((!force)) && is_fresh "${name}" "${key}"; then continue; fi
  build_target "${name}" "${dir}" "${pkg}" "${version}" "${key}"
  built=$((built + 1))
done
log "built ${built} binar$( ((built == 1)) && echo y || echo ies) into ${BIN_DIR} in $(fmt_duration $(($(now_us) - total_start)))"
