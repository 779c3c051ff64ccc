//go:build !linux

// Package evloop runs TCP connections on epoll event loops; it is built
// on Linux only.
package evloop
