package sim

import (
	"context"
	"io"
	"sync"
)

// Connect plugs a host into the modem over an in-memory serial line (a pair
// of io.Pipes) and serves it until the host closes its end or ctx is done.
// It is the byte boundary tests use where a pty is not needed; reconnecting
// is calling Connect again, as reopening a port would.
func (m *Modem) Connect(ctx context.Context) io.ReadWriteCloser {
	toModemR, toModemW := io.Pipe()
	fromModemR, fromModemW := io.Pipe()
	modemSide := &pipeLine{Reader: toModemR, Writer: fromModemW, closers: []io.Closer{toModemR, fromModemW}}
	go func() {
		m.Serve(ctx, modemSide)
		modemSide.Close()
	}()
	return &pipeLine{Reader: fromModemR, Writer: toModemW, closers: []io.Closer{fromModemR, toModemW, toModemR, fromModemW}}
}

// pipeLine is one end of the in-memory line; Close ends both directions.
type pipeLine struct {
	io.Reader
	io.Writer
	once    sync.Once
	closers []io.Closer
}

func (p *pipeLine) Close() error {
	p.once.Do(func() {
		for _, c := range p.closers {
			c.Close()
		}
	})
	return nil
}
