//go:build tools

// Package tools records the Kubernetes commands that build.sh builds, so that
// `go mod tidy` keeps their dependencies in go.mod and go.sum. The build tag
// keeps this file out of every build: a main package cannot be imported.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
