package gateway

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway/compliance"
)

// TestClientCannotTakeAReplyKey (issue 15, point 7): an automatic reply's
// idempotency key is derived from what caused it ("reply:<inbound id>:stop")
// and easy to guess. A client's text sent under such a key must not stand
// in for the reply (the opt-out confirmation would never go): the gateway's
// own keys are a scope apart from the clients'.
func TestClientCannotTakeAReplyKey(t *testing.T) {
	c := newConsentGW(t)
	// The store judges a key's age by its own clock, the real one: bring
	// the gateway's to it, or every key would look a day old.
	c.clock.add(time.Since(c.clock.now()))
	c.optIn(webForm(numA))
	nextInbound := c.next + 1 // the id c.text gives the next text
	if _, _, err := c.g.Submit(context.Background(), SubmitRequest{To: numB, Text: "hello",
		IdempotencyKey: fmt.Sprintf("reply:%d:stop", nextInbound)}); err != nil {
		t.Fatal(err)
	}
	c.text(numA, "STOP")
	c.wantReplies(numA, c.reply(compliance.ReplyOptIn), c.reply(compliance.ReplyStop))
}
