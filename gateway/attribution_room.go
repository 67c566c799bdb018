package gateway

import "github.com/simgate/simgate/gateway/attribution"

// Attribution is the attribution room: orders credited to texts, the
// results of campaigns and flows, clicks by hour, prices per part.
func (g *Gateway) Attribution() *attribution.Service { return g.attribution }
