package webui

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"math/bits"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The proof of work the sign-up page asks for while sign-ups come fast:
// the browser must find a nonce such that SHA-256(challenge ":" nonce)
// starts with challengeBits zero bits (static/join.js). It costs a phone
// about a second and a script that does not run the page's JavaScript
// everything; a script that does pays the same second for every sign-up,
// and the gateway's daily budget bounds what it can cost anyway.
//
// A challenge is signed with a key made at start, so the server keeps no
// state per challenge issued; each solved one is remembered until it
// expires, so it counts once.

const (
	// challengeBits: 2^18 SHA-256 hashes on average, about a second of
	// plain JavaScript on a cheap phone, a few milliseconds of native code.
	challengeBits = 18
	// challengeTTL is how long a challenge may be solved and sent: enough
	// to read the page, type a number and tick the box.
	challengeTTL = 30 * time.Minute
	// challengeMaxUsed bounds the solved challenges remembered; past it
	// the oldest are forgotten, and a replay of one of those costs the
	// solving of as many others first.
	challengeMaxUsed = 10000
	// maxNonceLen bounds the nonce: a decimal number.
	maxNonceLen = 20
)

// challenges issues and checks the proofs of work.
type challenges struct {
	key  []byte
	bits int

	mu   sync.Mutex
	used map[string]time.Time // solved challenge → its expiry
}

func newChallenges() *challenges {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic("webui: no randomness for the sign-up challenge key: " + err.Error())
	}
	return &challenges{key: key, bits: challengeBits, used: map[string]time.Time{}}
}

// issue returns a new challenge: base64url(expiry | bits | 12 random
// bytes) "." base64url(its HMAC, 16 bytes).
func (c *challenges) issue(now time.Time) string {
	payload := make([]byte, 8+1+12)
	binary.BigEndian.PutUint64(payload, uint64(now.Add(challengeTTL).Unix()))
	payload[8] = byte(c.bits)
	if _, err := rand.Read(payload[9:]); err != nil {
		panic("webui: no randomness for a sign-up challenge: " + err.Error())
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(c.sign(payload))
}

func (c *challenges) sign(payload []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write(payload)
	return m.Sum(nil)[:16]
}

// verify reports whether nonce solves challenge, which this server issued,
// has not expired and was not solved before; a solved one is used up.
func (c *challenges) verify(challenge, nonce string, now time.Time) bool {
	if challenge == "" || nonce == "" || len(nonce) > maxNonceLen {
		return false
	}
	if _, err := strconv.ParseUint(nonce, 10, 64); err != nil {
		return false
	}
	p64, s64, ok := strings.Cut(challenge, ".")
	if !ok {
		return false
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(p64)
	sig, err2 := enc.DecodeString(s64)
	if err1 != nil || err2 != nil || len(payload) != 21 || !hmac.Equal(sig, c.sign(payload)) {
		return false
	}
	expires := time.Unix(int64(binary.BigEndian.Uint64(payload)), 0)
	if !now.Before(expires) || int(payload[8]) < c.bits {
		return false
	}
	if leadingZeroBits(sha256.Sum256([]byte(challenge+":"+nonce))) < int(payload[8]) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, seen := c.used[challenge]; seen {
		return false
	}
	if len(c.used) >= challengeMaxUsed {
		c.forget(now)
	}
	c.used[challenge] = expires
	return true
}

// forget drops expired solved challenges and, if that is not enough, the
// ones closest to expiry; the caller holds mu.
func (c *challenges) forget(now time.Time) {
	var oldest string
	for k, exp := range c.used {
		if !now.Before(exp) {
			delete(c.used, k)
			continue
		}
		if oldest == "" || exp.Before(c.used[oldest]) {
			oldest = k
		}
	}
	if len(c.used) >= challengeMaxUsed && oldest != "" {
		delete(c.used, oldest)
	}
}

// leadingZeroBits counts the zero bits a digest starts with.
func leadingZeroBits(sum [32]byte) int {
	n := 0
	for _, b := range sum {
		if b != 0 {
			return n + bits.LeadingZeros8(b)
		}
		n += 8
	}
	return n
}
