package crypto

import "github.com/decred/dcrd/dcrec/secp256k1/v4"

func secpSharedSecret(k *PrivateKey, p *PublicKey) []byte {
	return secp256k1.GenerateSharedSecret(k, p)
}
