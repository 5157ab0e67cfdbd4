package service

import (
	"strings"

	"github.com/controlmap/controlmap/internal/catalog"
)

// resolveFramework finds the framework a request field names. With bareID
// a plain id ("iso-27001-2022") is accepted besides "frameworks/{id}".
func resolveFramework(g *catalog.Graph, field, name string, bareID bool) (*catalog.FrameworkNode, error) {
	if name == "" {
		return nil, invalid(field, "is required")
	}
	id, ok := catalog.ParseFrameworkName(name, bareID)
	if !ok {
		if bareID {
			return nil, invalid(field, "must be a framework id or frameworks/{id} with an id of lowercase letters, digits, dots and dashes, got %q", name)
		}
		return nil, invalid(field, "must be frameworks/{id} with an id of lowercase letters, digits, dots and dashes, got %q", name)
	}
	f, ok := g.Framework(id)
	if !ok {
		return nil, notFound("framework", catalog.FrameworkName(id))
	}
	return f, nil
}

// resolveControl finds the control a request field names,
// "frameworks/{fw}/controls/{id}" with any accepted spelling of the id.
func resolveControl(g *catalog.Graph, field, name string) (catalog.ControlID, error) {
	if name == "" {
		return catalog.NoControl, invalid(field, "is required")
	}
	fw, ref, ok := catalog.ParseControlName(name)
	if !ok {
		return catalog.NoControl, invalid(field, "must be frameworks/{framework}/controls/{control}, got %q", name)
	}
	if _, ok := g.Framework(fw); !ok {
		return catalog.NoControl, notFound("framework", catalog.FrameworkName(fw))
	}
	id, ok := g.ResolveControl(fw, ref)
	if !ok {
		return catalog.NoControl, notFound("control", name)
	}
	return id, nil
}

// resolveChildControl finds a control of framework f given by name or by
// id (any accepted spelling).
func resolveChildControl(g *catalog.Graph, f *catalog.FrameworkNode, field, ref string) (catalog.ControlID, error) {
	if !strings.HasPrefix(ref, "frameworks/") && !catalog.ValidControlRef(ref) {
		return catalog.NoControl, invalid(field, "must be a control id or name of %s", catalog.FrameworkName(f.ID))
	}
	if fw, id, ok := catalog.ParseControlName(ref); ok {
		if fw != f.ID {
			return catalog.NoControl, invalid(field, "must be a control of %s, got %q", catalog.FrameworkName(f.ID), ref)
		}
		ref = id
	}
	id, ok := g.ResolveControl(f.ID, ref)
	if !ok {
		return catalog.NoControl, notFound("control", catalog.ControlName(f.ID, ref))
	}
	return id, nil
}
