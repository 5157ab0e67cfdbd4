package catalog

// View is the part of a Graph one caller may see: the public frameworks and
// those the caller's tenant owns, with their controls and the mappings
// between them. A mapping always joins two frameworks a tenant can see (a
// tenant maps its own controls to visible ones), so a framework-level check
// is enough to hide everything of other tenants: every read goes through a
// View and asks it.
type View struct {
	*Graph
	// Tenant is the caller's tenant; empty for callers outside any tenant.
	Tenant  string
	visible []bool
}

// View returns what a caller of the given tenant may see.
func (g *Graph) View(tenant string) View {
	v := View{Graph: g, Tenant: tenant, visible: make([]bool, len(g.frameworks))}
	for i := range g.frameworks {
		owner := g.frameworks[i].Owner
		v.visible[i] = owner == "" || owner == tenant
	}
	return v
}

// SeesFramework reports whether the framework in slot i is visible.
func (v View) SeesFramework(i int32) bool { return v.visible[i] }

// SeesControl reports whether control c is visible.
func (v View) SeesControl(c ControlID) bool { return v.visible[v.Control(c).Framework] }

// SeesMapping reports whether both ends of a mapping are visible.
func (v View) SeesMapping(m *MappingNode) bool { return v.SeesControl(m.Src) && v.SeesControl(m.Dst) }

// Visible is the visibility of every framework by slot, for searches.
func (v View) Visible() []bool { return v.visible }
