//go:build !unix

package main

import "golang.org/x/term"

// watchResize does nothing where there is no SIGWINCH: the console keeps
// the size it started with.
func watchResize(int, *term.Terminal) (stop func()) { return func() {} }
