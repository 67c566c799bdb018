package modem

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/warthog618/modem/at"
)

// CMSError is a +CMS ERROR final result (3GPP TS 27.005 §3.2.5): a failure
// of an SMS command. Code is -1 when the modem answered with text
// (AT+CMEE=2 or a firmware that ignores CMEE=1); Text then holds it.
type CMSError struct {
	Code int
	Text string
}

func (e CMSError) Error() string {
	if e.Code < 0 {
		return "+CMS ERROR: " + e.Text
	}
	return "+CMS ERROR: " + strconv.Itoa(e.Code)
}

// CMEError is a +CME ERROR final result (3GPP TS 27.007 §9.2): a failure
// of a mobile equipment command (SIM, radio). Code is -1 when textual.
type CMEError struct {
	Code int
	Text string
}

func (e CMEError) Error() string {
	if e.Code < 0 {
		return "+CME ERROR: " + e.Text
	}
	return "+CME ERROR: " + strconv.Itoa(e.Code)
}

var (
	// ErrMaybeSent means Send wrote the PDU but got neither +CMGS nor an
	// error, not even after a resync: the message may have gone out. The
	// gateway marks such a part "unknown" rather than failed, so it is not
	// sent twice.
	ErrMaybeSent = errors.New("modem: submit outcome unknown, the message may have been sent")

	// ErrTimeout means a command got no final result in time. For Send it
	// means the prompt never came, so the PDU was not written.
	ErrTimeout = errors.New("modem: command timed out")

	// ErrClosed means the port is closed or the modem is gone.
	ErrClosed = errors.New("modem: port closed")

	// ErrError is a bare ERROR final result (no CMS/CME code).
	ErrError = errors.New("modem: ERROR")
)

// ErrorClass says what the gateway should do after a failed command.
type ErrorClass int

// Error classes, per docs/modems.md §2.3.
const (
	ClassNone             ErrorClass = iota // err == nil
	ClassTransient                          // retry later, same or another modem
	ClassPermanentMessage                   // this message can never go: fail it
	ClassPermanentSIM                       // this SIM/modem can't send: take it out of rotation
	ClassAmbiguous                          // CMS 500 and friends: retry once or twice, then fail
	ClassMaybeSent                          // ErrMaybeSent: don't resend, mark unknown
)

func (c ErrorClass) String() string {
	switch c {
	case ClassNone:
		return "none"
	case ClassTransient:
		return "transient"
	case ClassPermanentMessage:
		return "permanent-message"
	case ClassPermanentSIM:
		return "permanent-sim"
	case ClassAmbiguous:
		return "ambiguous"
	case ClassMaybeSent:
		return "maybe-sent"
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// Classify maps an error from this package to what the caller should do,
// following the table in docs/modems.md §2.3. Unknown codes are ambiguous: they
// are retried a bounded number of times, never forever.
func Classify(err error) ErrorClass {
	if err == nil {
		return ClassNone
	}
	if errors.Is(err, ErrMaybeSent) {
		return ClassMaybeSent
	}
	var cms CMSError
	if errors.As(err, &cms) {
		return classifyCMS(cms.Code)
	}
	var cme CMEError
	if errors.As(err, &cme) {
		return classifyCME(cme.Code)
	}
	if errors.Is(err, ErrTimeout) || errors.Is(err, ErrClosed) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return ClassTransient
	}
	return ClassAmbiguous
}

func classifyCMS(code int) ErrorClass {
	switch code {
	case 41, 42, 47, // temporary failure, congestion, resources unavailable
		38,       // network out of order: long-lasting, retry minutes later elsewhere
		331, 332, // no network service, network timeout
		512, 513, 514, // vendor: MM establishment / lower layer failure / congestion
		515, // init in progress
		314, // SIM busy
		322, // memory full (storage, not the message)
		340: // no +CNMA expected: bookkeeping
		return ClassTransient
	case 8, 10, 21, 50, 69, // barring, SM transfer rejected, facility not subscribed, not implemented
		310, 311, 312, 313, 316, 317, 318, // SIM absent, PIN/PUK needed, SIM failure
		330: // SMSC address unknown: fix +CSCA
		return ClassPermanentSIM
	case 1, 28, 30, 96, // unassigned number, unknown subscriber, invalid mandatory info
		304, 305, // invalid PDU/text mode parameter: our PDU
		325: // vendor (SIM800L text length bug)
		return ClassPermanentMessage
	}
	return ClassAmbiguous // 500 unknown error, textual codes (-1), anything unlisted
}

func classifyCME(code int) ErrorClass {
	switch code {
	case 14, 515, // SIM busy, please wait
		30, 31, 32, // no network service, network timeout, emergency only
		100: // unknown (often transient on Quectel)
		return ClassTransient
	case 10, 11, 12, 13, 15, 16, 17, 18: // SIM not inserted, PIN/PUK, failure, wrong, PIN2/PUK2
		return ClassPermanentSIM
	}
	return ClassAmbiguous
}

// fromAT converts an error of the at package into this package's errors.
func fromAT(err error) error {
	var cms at.CMSError
	var cme at.CMEError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &cms):
		return parseCMS(string(cms))
	case errors.As(err, &cme):
		return parseCME(string(cme))
	case errors.Is(err, at.ErrError):
		return ErrError
	case errors.Is(err, at.ErrDeadlineExceeded):
		return ErrTimeout
	case errors.Is(err, at.ErrClosed):
		return ErrClosed
	}
	return err
}

func parseCMS(s string) CMSError {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		return CMSError{Code: n}
	}
	return CMSError{Code: -1, Text: s}
}

func parseCME(s string) CMEError {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		return CMEError{Code: n}
	}
	return CMEError{Code: -1, Text: s}
}

// isCMS reports whether err is a +CMS ERROR with the given code.
func isCMS(err error, code int) bool {
	var cms CMSError
	return errors.As(err, &cms) && cms.Code == code
}

// isCME reports whether err is a +CME ERROR with the given code.
func isCME(err error, code int) bool {
	var cme CMEError
	return errors.As(err, &cme) && cme.Code == code
}

// cmdError adds the command to an error without hiding its type.
func cmdError(cmd string, err error) error {
	return fmt.Errorf("AT%s: %w", redact(cmd), err)
}
