package gateway

import "github.com/simgate/simgate/gateway/access"

// Access is the room of who may use the box (package access): console
// users, their sessions and the API tokens.
func (g *Gateway) Access() *access.API { return g.accessAPI }
