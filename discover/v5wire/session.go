package v5wire

import (
	"crypto/cipher"
	"time"

	"github.com/trellis-p2p/trellis/enode"
)

// HandshakeTimeout is how long a WHOAREYOU challenge stays valid: "good
// timeout values are 500ms for a single request/response and 1s for the
// handshake" (discv5-wire.md "UDP Communication").
const HandshakeTimeout = time.Second

// DefaultSessionCacheSize is the number of sessions (and, separately, of
// pending challenges) a SessionCache holds unless told otherwise; the spec
// asks for "a limited number of sessions in an in-memory LRU cache"
// (discv5-theory.md "Session Cache"). go-ethereum keeps 1024.
const DefaultSessionCacheSize = 1024

// Session holds the keys agreed with one remote node at one UDP endpoint.
// Only the Codec creates sessions: when it encodes a handshake (as
// initiator) or accepts one (as recipient).
type Session struct {
	node         *enode.Node
	writeKey     [keySize]byte // encrypts what we send
	readKey      [keySize]byte // decrypts what we receive
	nonceCounter uint32

	// AES-GCM instances for the two keys, built on first use.
	write, read cipher.AEAD
}

// newSession returns the session of the initiator (who sends the handshake)
// or, with initiator false, of the recipient.
func newSession(node *enode.Node, initiatorKey, recipientKey [keySize]byte, initiator bool) *Session {
	s := &Session{node: node, writeKey: initiatorKey, readKey: recipientKey}
	if !initiator {
		s.writeKey, s.readKey = recipientKey, initiatorKey
	}
	return s
}

// Node returns the remote node's record as it was when the session was
// established: the one the handshake proved the remote's identity against.
func (s *Session) Node() *enode.Node { return s.node }

// nextCounter counts a message encrypted with the write key and returns the
// count, which goes into the message's nonce (see Codec.newNonce).
func (s *Session) nextCounter() uint32 {
	s.nonceCounter++
	return s.nonceCounter
}

func (s *Session) writeAEAD() cipher.AEAD {
	if s.write == nil {
		s.write = newGCM(&s.writeKey)
	}
	return s.write
}

func (s *Session) readAEAD() cipher.AEAD {
	if s.read == nil {
		s.read = newGCM(&s.readKey)
	}
	return s.read
}

// SessionStore keeps what the Codec needs between packets: established
// sessions and the WHOAREYOU challenges sent and not yet answered, both keyed
// by remote node ID and UDP endpoint (addr, as given to Encode and Decode).
// The discv5 protocol owns the store; SessionCache is the usual choice.
//
// The Codec calls the store synchronously from Encode and Decode, so an
// implementation needs no locking if the same goroutine owns both.
type SessionStore interface {
	// Session returns the session with the node at addr, nil if none.
	Session(id enode.ID, addr string) *Session
	// StoreSession records a new session with the node at addr, replacing
	// any previous one. The Codec calls it when it encodes a handshake and
	// when it accepts one.
	StoreSession(id enode.ID, addr string, s *Session)

	// Challenge returns the WHOAREYOU sent to the node at addr that is still
	// awaiting its handshake, nil if none or if it has expired.
	Challenge(id enode.ID, addr string) *Whoareyou
	// StoreChallenge records a WHOAREYOU when the Codec encodes one,
	// replacing any previous challenge to the node at addr.
	StoreChallenge(id enode.ID, addr string, w *Whoareyou)
	// DeleteChallenge forgets the challenge to the node at addr. The Codec
	// calls it once a handshake answering the challenge has been accepted
	// or rejected, so that a handshake cannot be replayed.
	DeleteChallenge(id enode.ID, addr string)
}

// sessionKey identifies a session or challenge.
type sessionKey struct {
	id   enode.ID
	addr string
}

// SessionCache is a SessionStore holding at most a fixed number of sessions
// and, separately, of pending challenges, each evicting the least recently
// used entry when full. Challenges also expire HandshakeTimeout after they
// were stored. Counting both bounds the memory a flood of packets from
// spoofed endpoints can claim.
//
// A SessionCache is not safe for concurrent use.
type SessionCache struct {
	sessions   lru[sessionKey, *Session]
	challenges lru[sessionKey, pendingChallenge]
	now        func() time.Time
}

type pendingChallenge struct {
	w       *Whoareyou
	expires time.Time
}

// NewSessionCache returns a cache for up to limit sessions and limit pending
// challenges (DefaultSessionCacheSize if limit <= 0). now is the clock for
// challenge expiry; nil means time.Now.
func NewSessionCache(limit int, now func() time.Time) *SessionCache {
	if limit <= 0 {
		limit = DefaultSessionCacheSize
	}
	if now == nil {
		now = time.Now
	}
	return &SessionCache{
		sessions:   newLRU[sessionKey, *Session](limit),
		challenges: newLRU[sessionKey, pendingChallenge](limit),
		now:        now,
	}
}

// Session implements SessionStore.
func (sc *SessionCache) Session(id enode.ID, addr string) *Session {
	s, _ := sc.sessions.get(sessionKey{id, addr})
	return s
}

// StoreSession implements SessionStore.
func (sc *SessionCache) StoreSession(id enode.ID, addr string, s *Session) {
	sc.sessions.put(sessionKey{id, addr}, s)
}

// DeleteSession forgets the session with the node at addr, so that the next
// packet to it starts a handshake.
func (sc *SessionCache) DeleteSession(id enode.ID, addr string) {
	sc.sessions.remove(sessionKey{id, addr})
}

// Challenge implements SessionStore.
func (sc *SessionCache) Challenge(id enode.ID, addr string) *Whoareyou {
	k := sessionKey{id, addr}
	c, ok := sc.challenges.get(k)
	if !ok {
		return nil
	}
	if !sc.now().Before(c.expires) {
		sc.challenges.remove(k)
		return nil
	}
	return c.w
}

// StoreChallenge implements SessionStore.
func (sc *SessionCache) StoreChallenge(id enode.ID, addr string, w *Whoareyou) {
	sc.challenges.put(sessionKey{id, addr}, pendingChallenge{w, sc.now().Add(HandshakeTimeout)})
}

// DeleteChallenge implements SessionStore.
func (sc *SessionCache) DeleteChallenge(id enode.ID, addr string) {
	sc.challenges.remove(sessionKey{id, addr})
}

// Len returns the number of sessions and of challenges held (expired
// challenges included until they are looked up or evicted).
func (sc *SessionCache) Len() (sessions, challenges int) {
	return sc.sessions.len(), sc.challenges.len()
}
