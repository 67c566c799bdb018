package gateway

import "github.com/simgate/simgate/gateway/flows"

// Flows is the room of automated flows (package flows): list, create,
// edit, pause and test them, and read their entries.
func (g *Gateway) Flows() *flows.Service { return g.flowService }
