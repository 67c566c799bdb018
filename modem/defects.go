package modem

// Where each known defect of warthog618/modem v0.4.0, warthog618/sms v0.3.0
// and go.bug.st/serial v1.8.0 (docs/modems.md §3.1) is neutralised, and the test
// that pins it:
//
//  1. Indications leak into command replies (at.go l.412 `continue` only
//     leaves the inner loop) and unknown URCs become info lines: the line
//     filter (linereader.go) removes every URC before at.AT sees it and
//     queues it for Serve in order; echo fragments are dropped there and
//     again in identity parsing (cleanValue).
//     Tests: TestDefectURCLeak, TestLineFilterEchoSplitByURC, TestInitHuaweiNoise.
//  2. A late reply after a timeout is attributed to the next command: the
//     filter forwards lines only while a command is in flight, drops
//     replies that belong to none, and records every "+CMGS: <mr>"; after a
//     submit timeout Send waits ResyncGrace, resyncs (quiet period, then
//     AT / AT+CSQ until consistent) and harvests the late MR
//     (Modem.recoverSubmit). Tests: TestDefectLateCMGS, TestSimLateCMGS.
//  3. The concatenation reference is always 1 (sms.Encode builds a new
//     Encoder per call): EncodeSubmit takes the reference from the caller
//     (fixedCounter in pdu.go). Test: TestEncodeSubmitConcatRef.
//  4. at.AT's default timeout of 1s for every command: each command gets
//     its own bound (CommandTimeout, PromptTimeout, SubmitTimeout), enforced
//     by the driver, with at's own timer only as a far backstop.
//     Test: TestSubmitOutlastsOneSecond.
//  5. No +CMTI/+CDSI/+CMT/+CDS handling: Serve reads stored messages with
//     +CMGR, hands them to the Handler, deletes them with +CMGD only after
//     a nil return, handles routed +CMT/+CDS (+CNMA when +CSMS=1) and sweeps
//     with +CMGL=4. Tests: TestServeStoredAndRouted, TestSim*.
//  6. FF-padded status reports are rejected by the codec (PI=0xFF):
//     storedCandidates strips trailing 0xFF and cuts the PDU to the declared
//     length before sms.Unmarshal. Tests: TestParseStoredVectors (gammu 32),
//     TestParseStoredPaddedReportNeedsTrim.
//  7. bufio.Scanner gives up after 100 reads of (0, nil), which a serial
//     port with a read timeout returns while idle, and at.AT closes itself:
//     loopingReader below never passes (0, nil) on. Test: TestDefectZeroReads.
//
//  8. (found here) warthog618/sms builds its GSM-7 tables lazily and without
//     synchronisation (charset.DefaultEncoder and friends assign package
//     variables on first use): the first concurrent encode/decode is a data
//     race. warmCharsets builds them all at package init, before any
//     goroutine exists. Test: TestSimConcurrent under -race (it failed so).
//
// Also: Huawei's COMMAND NOT SUPPORT is translated into ERROR and Wavecom's
// OK-less "+CPIN: READY" is completed (finalResult, completeOptional).

import (
	"io"
	"time"

	"github.com/warthog618/sms/encoding/gsm7/charset"
)

func init() { warmCharsets() }

// warmCharsets generates every lazily built table of the GSM-7 codec once
// (defect 8). It only touches the codec's own caches.
func warmCharsets() {
	charset.DefaultDecoder()
	charset.DefaultEncoder()
	charset.DefaultExtDecoder()
	charset.DefaultExtEncoder()
	for nli := charset.Start; nli < charset.End; nli++ {
		charset.NewDecoder(nli)
		charset.NewEncoder(nli)
		charset.NewExtDecoder(nli)
		charset.NewExtEncoder(nli)
	}
}

// loopingReader retries reads that return (0, nil) instead of passing them
// on (defect 7). After a run of empty reads it backs off briefly, so a port
// with a short read timeout doesn't spin a CPU.
type loopingReader struct {
	r io.Reader
}

func (l loopingReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for empty := 0; ; empty++ {
		n, err := l.r.Read(p)
		if n > 0 || err != nil {
			return n, err
		}
		if empty >= 100 {
			time.Sleep(time.Millisecond)
		}
	}
}
