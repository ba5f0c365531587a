//go:build !amd64 || purego

package ec

const useADX = false

func mulADX(z, x, y *fe) { panic("unreachable") }
func sqrADX(z, x *fe)    { panic("unreachable") }
