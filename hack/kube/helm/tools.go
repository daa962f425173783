//go:build tools

// Package tools records the helm command as a dependency, so that go mod
// tidy keeps the modules that `go build helm.sh/helm/v3/cmd/helm` needs.
package tools

import _ "helm.sh/helm/v3/cmd/helm"
