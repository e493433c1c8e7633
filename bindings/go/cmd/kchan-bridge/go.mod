// kchan-bridge is built in GOPATH mode against Debian's Go packages
// (/usr/share/gocode: nats.go, nkeys, nuid, x/crypto), see its Makefile.
// This go.mod only keeps it out of the parent module's ./... (the parent,
// kchan.dev/kchan, needs nothing but the standard library).
module kchan.dev/kchan/cmd/kchan-bridge

go 1.19
