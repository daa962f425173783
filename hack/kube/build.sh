#!/usr/bin/env bash
# Build kube-apiserver, kube-controller-manager and etcd for the test control
# plane in tests/kube, and helm for the chart tests in tests/kube, and cache
# them outside the checkout, keyed by the
# Kubernetes version:
#   ${KUBEGATEWAY_CACHE:-$HOME/.cache/kubegateway}/kube/<k8s-version>/
# If all four binaries are already cached, print the folder and exit 0.
# A cold build downloads the modules through the Go module proxy and compiles
# for many minutes (see docs/kubernetes-harness.md for a measured time).
set -euo pipefail

# Keep these in step with go.mod and etcd/go.mod in this folder.
KUBE_VERSION=v1.36.3
ETCD_VERSION=v3.6.16
# Keep in step with helm/go.mod.
HELM_VERSION=v3.22.0

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="${KUBEGATEWAY_CACHE:-$HOME/.cache/kubegateway}"
bin_dir="$cache_root/kube/$KUBE_VERSION"
binaries=(etcd kube-apiserver kube-controller-manager helm)

log() { printf '[hack/kube/build.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

all_cached() {
	local name
	for name in "${binaries[@]}"; do
		[[ -x "$bin_dir/$name" ]] || return 1
	done
}

if all_cached; then
	log "binaries for Kubernetes $KUBE_VERSION are cached in $bin_dir"
	echo "$bin_dir"
	exit 0
fi

command -v go >/dev/null || { log "error: go is not on PATH"; exit 1; }
if ! grep -q "^require k8s.io/kubernetes $KUBE_VERSION\$" "$here/go.mod" ||
	! grep -q "^require go.etcd.io/etcd/server/v3 $ETCD_VERSION\$" "$here/etcd/go.mod" ||
	! grep -q "^require helm.sh/helm/v3 $HELM_VERSION\$" "$here/helm/go.mod"; then
	log "error: go.mod or etcd/go.mod does not require Kubernetes $KUBE_VERSION and etcd $ETCD_VERSION; update them together with this script"
	exit 1
fi
mkdir -p "$bin_dir"

export CGO_ENABLED=0
export GOFLAGS=-mod=mod
# Use the installed Go and never download a toolchain. The go.mod files need
# Go 1.26.0 or newer.
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

start=$(date +%s)

# build_one NAME MODULE_DIR PACKAGE [LDFLAGS]
# Builds into a temporary file and renames it, so that an interrupted build
# never leaves a truncated binary that all_cached would accept.
build_one() {
	local name=$1 module_dir=$2 package=$3 ldflags=${4:-}
	if [[ -x "$bin_dir/$name" ]]; then
		log "$name is cached in $bin_dir"
		return
	fi
	local t0 tmp
	t0=$(date +%s)
	tmp="$bin_dir/.$name.partial"
	log "building $name from $package (go $(go env GOVERSION))"
	(cd "$module_dir" && go build -trimpath -ldflags="-s -w $ldflags" -o "$tmp" "$package")
	mv -f "$tmp" "$bin_dir/$name"
	log "built $name in $(($(date +%s) - t0)) s"
}

# component-base/version otherwise reports v0.0.0-master on /version.
git_minor=${KUBE_VERSION#v1.}
git_minor=${git_minor%%.*}
kube_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	kube_ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1"
	kube_ldflags+=" -X $pkg.gitMinor=$git_minor -X $pkg.gitTreeState=clean"
done

build_one etcd "$here/etcd" go.etcd.io/etcd/server/v3
build_one kube-apiserver "$here" k8s.io/kubernetes/cmd/kube-apiserver "$kube_ldflags"
build_one kube-controller-manager "$here" k8s.io/kubernetes/cmd/kube-controller-manager "$kube_ldflags"
build_one helm "$here/helm" helm.sh/helm/v3/cmd/helm "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"

log "done in $(($(date +%s) - start)) s; binaries are in $bin_dir"
echo "$bin_dir"
