package gateway

import "github.com/simgate/simgate/gateway/templates"

// Templates is the room of saved message templates (package templates):
// the library, the lint on save, the preview and sending one to a number.
func (g *Gateway) Templates() *templates.Service { return g.templates }
