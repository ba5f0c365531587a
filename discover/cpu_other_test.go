//go:build !unix

package discover

func processCPU() float64 { return 0 }
