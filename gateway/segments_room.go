package gateway

import "github.com/simgate/simgate/gateway/segments"

// Segments is the room of saved segments and audiences
// (docs/segments.md): the web layer calls it for its own types.
func (g *Gateway) Segments() *segments.Service { return g.segments }
