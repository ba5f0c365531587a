package discover

import (
	"crypto/sha256"
	"sync"

	"github.com/trellis-p2p/trellis/enode"
	"github.com/trellis-p2p/trellis/enr"
)

// maxVerifiedRecords bounds the cache of records whose signature has been
// checked.
const maxVerifiedRecords = 4096

// recordCache remembers records that passed enode.NewWithSchemes, by the
// hash of their encoding. A lookup hears of the same nodes from many
// responders, and a signature check costs about a thousand times more than
// the hash; an attacker gains nothing, since only identical bytes hit.
type recordCache struct {
	mu sync.Mutex
	m  map[[32]byte]*enode.Node
}

// node returns the node of r, verified under schemes, from the cache if r
// was seen before.
func (c *recordCache) node(schemes enr.IdentityScheme, r *enr.Record) (*enode.Node, error) {
	raw, err := r.MarshalBinary()
	if err != nil {
		return nil, err
	}
	key := sha256.Sum256(raw)
	c.mu.Lock()
	n := c.m[key]
	c.mu.Unlock()
	if n != nil {
		return n, nil
	}
	n, err = enode.NewWithSchemes(schemes, r)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[[32]byte]*enode.Node)
	}
	if len(c.m) >= maxVerifiedRecords {
		// Forget an eighth, arbitrarily, so that this runs once per
		// maxVerifiedRecords/8 new records.
		drop := maxVerifiedRecords / 8
		for k := range c.m {
			if drop == 0 {
				break
			}
			delete(c.m, k)
			drop--
		}
	}
	c.m[key] = n
	return n, nil
}
