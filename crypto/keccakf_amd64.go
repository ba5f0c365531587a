//go:build amd64 && !purego

package crypto

func keccakF1600(a *[25]uint64) { keccakF1600Generic(a) }

func absorbBlocks(a *[25]uint64, p []byte) { absorbBlocksGeneric(a, p) }
