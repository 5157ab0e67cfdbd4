package service

import (
	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/resource"
)

func frameworkProto(g *catalog.Graph, f *catalog.FrameworkNode) *cmv1.Framework {
	out := resource.Framework(&f.Framework)
	out.ControlCount = int32(f.ControlCount())
	out.AssessableCount = f.AssessableCount
	out.Groups = make([]string, len(f.Groups))
	for i, id := range f.Groups {
		out.Groups[i] = g.Ref(id).Name()
	}
	return out
}

func controlProto(g *catalog.Graph, c *catalog.ControlNode) *cmv1.Control {
	fw := g.FrameworkAt(c.Framework).ID
	out := resource.Control(fw, &c.Control)
	out.Aliases = c.Accepted
	out.Group = catalog.ControlName(fw, g.Control(c.Group).ID)
	return out
}

// mappingProto presents m in its stored direction, or from its target's side
// when inverse is true.
func mappingProto(m *catalog.Mapping, inverse bool) *cmv1.Mapping {
	return resource.Mapping(m, inverse)
}
