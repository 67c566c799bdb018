// Package compat holds what the Twilio-, Kannel- and SMSEagle-compatible
// APIs compute without the network or the store: Twilio's identifiers,
// statuses and error codes, its request signature (X-Twilio-Signature), the
// form bodies of its status callbacks and inbound posts, and Kannel's
// recipients, delivery-report values and dlr-url substitutions. They are
// pure functions, so the HTTP routes (package webui) and the callback
// senders share one definition, and tests check them against the clients'
// own libraries.
package compat
