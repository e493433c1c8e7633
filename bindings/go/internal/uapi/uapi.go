// SPDX-License-Identifier: GPL-2.0

// Package uapi holds the constants and struct layouts of
// uapi/linux/chan.h, generated from the header by mkuapi.sh (go tool cgo
// -godefs) into zuapi_linux_GOARCH.go; TestUAPIGenerated in the parent
// package fails when the header and the generated file disagree.
package uapi

//go:generate sh -c "./mkuapi.sh ../../../../uapi/linux/chan.h > zuapi_linux_$GOARCH.go"
