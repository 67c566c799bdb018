package gateway

import "github.com/simgate/simgate/gateway/outbox"

// Meter is told, as it happens, what the monitoring figures (GET /metrics,
// package webui) count: parts accepted by the network or failed, by SIM and
// by class (transactional, marketing, compliance), and each message's time
// from submit to its delivery report. Its methods run on the send and
// report paths and must not block.
type Meter = outbox.Meter

// SetMeter makes m hear the outbox's parts and deliveries from now on (nil
// stops it). The HTTP layer sets it when it builds its handler; the last
// one set is told.
func (g *Gateway) SetMeter(m Meter) { g.outbox.SetMeter(m) }

// StoreSize is the database file's size and the bytes of its free pages,
// from what bbolt knows without reading a page (cheap enough for every
// scrape, unlike DataFile's page measurement).
func (g *Gateway) StoreSize() (size, free int64) { return g.db.FileSize() }
