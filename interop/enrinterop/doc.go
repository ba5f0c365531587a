// Package enrinterop checks Trellis's enr and enode packages against
// go-ethereum's p2p/enr and p2p/enode: records and enode URLs made by each
// are accepted by the other with the same meaning and the same bytes, and
// benchmarks compare the two record codecs.
package enrinterop
