// Package dnsdisc implements node discovery via DNS (EIP-1459, devp2p
// dnsdisc.md): signed, updatable lists of node records published as a
// merkle tree of TXT records.
//
// The codec (ParseURL, ParseRoot, ParseEntry, EntryHash) is pure. MakeTree
// and Tree.Sign build a tree for publishing, Tree.ToTXT gives its records,
// and ReadTreeDir and friends keep a tree's definition in a directory in
// go-ethereum's "devp2p dns" layout. Client.SyncTree downloads a whole tree;
// Client.NewIterator returns an enode.Iterator of random nodes from one or
// more trees, which plugs into p2p.Config.Discovery:
//
//	c := dnsdisc.NewClient(dnsdisc.Config{})
//	it, err := c.NewIterator("enrtree://AKA3AM6LPBYEUDMVNU3BSVQJ5AD45Y7YPOHJLEF6W26QOE4VTUDPE@all.mainnet.ethdisco.net")
//	if err != nil { ... }
//	cfg.Discovery = it // or mix.AddSource(it) with an enode.FairMix
//
// Everything read from DNS is bounded: entries by MaxEntryLength, hashes by
// MinHashLength..MaxHashLength, branches by Config.MaxWidth, subtrees by
// Config.MaxDepth and Config.MaxEntries, linked trees by Config.MaxTrees,
// each lookup by Config.Timeout, and the query rate by Config.RateLimit.
// Malformed input yields errors that match the Err* values with errors.Is.
package dnsdisc
