package dnsdisc

import (
	"context"
	"time"
)

// Clock is a source of time and timers. The client takes every time from
// it (root rechecks, rate limiting, backoff), so that tests can run it on a
// clock they control.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is a timer of a Clock, like time.Timer.
type Timer interface {
	C() <-chan time.Time
	Stop()
}

// SystemClock is the real clock. Inside a testing/synctest bubble it runs
// on the bubble's fake time.
type SystemClock struct{}

func (SystemClock) Now() time.Time                 { return time.Now() }
func (SystemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time { return t.t.C }
func (t systemTimer) Stop()               { t.t.Stop() }

// sleep waits for d on clock, or until ctx is done.
func sleep(ctx context.Context, clock Clock, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// tokenBucket refills at rate tokens per second up to burst. A taker may
// drive the count negative: it then waits until its token has been earned,
// so concurrent waiters are served at the rate, in order. Not safe for
// concurrent use; the Client guards it.
type tokenBucket struct {
	rate, burst float64
	tokens      float64
	last        time.Time
}

// take removes one token and returns how long to wait until it exists.
func (b *tokenBucket) take(now time.Time) time.Duration {
	if b.last.IsZero() {
		b.tokens = b.burst
	} else if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(b.burst, b.tokens+elapsed.Seconds()*b.rate)
	}
	b.last = now
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}

// refund returns a token taken by a waiter that gave up.
func (b *tokenBucket) refund() { b.tokens = min(b.burst, b.tokens+1) }
