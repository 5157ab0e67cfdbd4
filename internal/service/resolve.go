package service

import (
	"context"
	"strings"

	"github.com/controlmap/controlmap/internal/auth"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/store"
)

// resolveFramework finds the framework a request field names. With bareID
// a plain id ("iso-27001-2022") is accepted besides "frameworks/{id}".
func resolveFramework(v catalog.View, field, name string, bareID bool) (*catalog.FrameworkNode, error) {
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
	f, ok := v.Framework(id)
	if !ok || !v.SeesFramework(f.Index) {
		return nil, notFound("framework", catalog.FrameworkName(id))
	}
	return f, nil
}

// resolveControl finds the control a request field names,
// "frameworks/{fw}/controls/{id}" with any accepted spelling of the id.
func resolveControl(v catalog.View, field, name string) (catalog.ControlID, error) {
	if name == "" {
		return catalog.NoControl, invalid(field, "is required")
	}
	fw, ref, ok := catalog.ParseControlName(name)
	if !ok {
		return catalog.NoControl, invalid(field, "must be frameworks/{framework}/controls/{control}, got %q", name)
	}
	if f, ok := v.Framework(fw); !ok || !v.SeesFramework(f.Index) {
		return catalog.NoControl, notFound("framework", catalog.FrameworkName(fw))
	}
	id, ok := v.ResolveControl(fw, ref)
	if !ok {
		return catalog.NoControl, notFound("control", name)
	}
	return id, nil
}

// resolveChildControl finds a control of framework f given by name or by
// id (any accepted spelling).
func resolveChildControl(v catalog.View, f *catalog.FrameworkNode, field, ref string) (catalog.ControlID, error) {
	if !strings.HasPrefix(ref, "frameworks/") && !catalog.ValidControlRef(ref) {
		return catalog.NoControl, invalid(field, "must be a control id or name of %s", catalog.FrameworkName(f.ID))
	}
	if fw, id, ok := catalog.ParseControlName(ref); ok {
		if fw != f.ID {
			return catalog.NoControl, invalid(field, "must be a control of %s, got %q", catalog.FrameworkName(f.ID), ref)
		}
		ref = id
	}
	id, ok := v.ResolveControl(f.ID, ref)
	if !ok {
		return catalog.NoControl, notFound("control", catalog.ControlName(f.ID, ref))
	}
	return id, nil
}

// viewOf is what the caller of ctx may see of the store's current catalog.
func viewOf(ctx context.Context, st store.Store) catalog.View {
	return st.Snapshot().View(auth.PrincipalFrom(ctx).Tenant)
}
