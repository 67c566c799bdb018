//go:build !linux

package sim

import (
	"context"
	"errors"
)

// ServePTY is only implemented on Linux, where the simulator is used.
func (m *Modem) ServePTY(ctx context.Context, link string) error {
	return errors.New("sim: ServePTY needs Linux")
}
