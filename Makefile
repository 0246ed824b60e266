.PHONY: build test bench demo lint

build:
	go build -o bin/tandem ./cmd/tandem

test:
	go test -race -shuffle=on -timeout 20m ./...

bench: build
	./bin/tandem bench

demo: build
	./bin/tandem demo --duration 15s
