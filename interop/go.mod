module github.com/trellis-p2p/trellis/interop

go 1.25.0

require (
	github.com/ethereum/go-ethereum v1.17.10
	github.com/trellis-p2p/trellis v0.0.0
)

require github.com/holiman/uint256 v1.3.2 // indirect

replace github.com/trellis-p2p/trellis => ../
