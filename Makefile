.PHONY: build test bench demo lint

# golangci-lint from PATH, else where `go install` puts it.
GOLANGCI_LINT = $(or $(shell command -v golangci-lint 2>/dev/null),$(shell go env GOPATH)/bin/golangci-lint)

build:
	go build -o bin/tandem ./cmd/tandem

test:
	go test -race -shuffle=on -timeout 20m ./...

bench: build
	./bin/tandem bench

demo: build
	./bin/tandem demo --duration 15s

lint:
	$(GOLANGCI_LINT) run ./...
