module github.com/kubebank/kubebank/tests/e2e

go 1.26.8
