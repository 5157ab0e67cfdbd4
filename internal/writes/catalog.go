package writes

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/auth"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/resource"
	"github.com/controlmap/controlmap/internal/store"
)

// FrameworkPatch lists the fields of a framework an update sets; nil
// leaves a field as it is.
type FrameworkPatch struct {
	DisplayName, Version, Description *string
}

func checkFramework(f *catalog.Framework) error {
	if err := Text("framework.display_name", f.DisplayName, MaxDisplayName, true); err != nil {
		return err
	}
	// A reference framework is a published edition: its version says which.
	if err := Text("framework.version", f.Version, MaxVersion, f.Kind != cmv1.FrameworkKind_FRAMEWORK_KIND_INTERNAL); err != nil {
		return err
	}
	return Text("framework.description", f.Description, MaxSummary, false)
}

// CreateFramework stores a new framework without controls: for a tenant,
// an internal framework whose id starts with the tenant id and a dash; for
// the operator, a reference framework (STANDARD, REGULATION or FRAMEWORK,
// the default).
func (w *Writer) CreateFramework(ctx context.Context, f catalog.Framework) (catalog.Framework, error) {
	p := principal(ctx)
	if err := newFramework(p, &f, "framework_id", "framework.kind"); err != nil {
		return f, err
	}
	if err := checkFramework(&f); err != nil {
		return f, err
	}
	if err := w.checkQuota(p.Tenant, "frameworks"); err != nil {
		return f, err
	}
	if err := w.outsideTenants(&f, "framework_id"); err != nil {
		return f, err
	}
	rev, err := w.st.Update(ctx, func(tx store.Tx) (store.Audit, error) {
		if _, err := tx.Framework(f.ID, store.Share); err == nil {
			return store.Audit{}, fmt.Errorf("%w: framework %s", store.ErrAlreadyExists, catalog.FrameworkName(f.ID))
		} else if !isNotFound(err) {
			return store.Audit{}, err
		}
		tx.Write(store.Change{Kind: store.KindFramework, New: true, Owner: f.Owner, Framework: f})
		return store.Audit{Resource: catalog.FrameworkName(f.ID), Tenant: f.Owner, After: frameworkAfter(f)}, nil
	})
	f.Revision = rev
	return f, err
}

// outsideTenants refuses a public framework whose id starts with a
// tenant's id and a dash: those ids are the tenant's, and a public
// framework there would let the operator's data pass for the tenant's.
func (w *Writer) outsideTenants(f *catalog.Framework, idField string) error {
	if f.Owner != "" {
		return nil
	}
	for _, t := range w.st.Directory().Tenants() {
		if strings.HasPrefix(f.ID, t.ID+"-") {
			return invalid(idField, "%q starts with the id of tenant %q and a dash: those framework ids are the tenant's", f.ID, t.ID)
		}
	}
	return nil
}

// newFramework checks the id and kind of a framework p creates and sets
// what the caller does not choose: owner, publisher and kind of an
// internal framework; kind FRAMEWORK by default for the operator. Errors
// name idField and kindField.
func newFramework(p auth.Principal, f *catalog.Framework, idField, kindField string) error {
	f.DisplayName, f.Version, f.Description = strings.TrimSpace(f.DisplayName), strings.TrimSpace(f.Version), strings.TrimSpace(f.Description)
	f.BuiltIn = false
	if p.Operator {
		if !catalog.ValidFrameworkID(f.ID) {
			return invalid(idField, "must match [a-z0-9][a-z0-9.-]{0,62}, got %q", f.ID)
		}
		switch f.Kind {
		case 0:
			f.Kind = cmv1.FrameworkKind_FRAMEWORK_KIND_FRAMEWORK
		case cmv1.FrameworkKind_FRAMEWORK_KIND_STANDARD, cmv1.FrameworkKind_FRAMEWORK_KIND_REGULATION, cmv1.FrameworkKind_FRAMEWORK_KIND_FRAMEWORK:
		case cmv1.FrameworkKind_FRAMEWORK_KIND_INTERNAL:
			return denied(cmv1.ErrorReason_ERROR_REASON_TENANT_REQUIRED, "internal frameworks belong to a tenant: create them with an API key of the tenant")
		default:
			return invalid(kindField, "must be STANDARD, REGULATION or FRAMEWORK, got %d", int32(f.Kind))
		}
		f.Owner = ""
		return Text("framework.publisher", f.Publisher, MaxDisplayName, false)
	}
	if p.Tenant == "" {
		return denied(cmv1.ErrorReason_ERROR_REASON_TENANT_REQUIRED, "internal frameworks belong to a tenant: call with an API key of the tenant")
	}
	if !catalog.ValidFrameworkID(f.ID) || !strings.HasPrefix(f.ID, p.Tenant+"-") {
		return invalid(idField, "must match [a-z0-9][a-z0-9.-]{0,62} and start with %q, got %q", p.Tenant+"-", f.ID)
	}
	if f.Kind != 0 && f.Kind != cmv1.FrameworkKind_FRAMEWORK_KIND_INTERNAL {
		return invalid(kindField, "must be FRAMEWORK_KIND_INTERNAL: reference frameworks are the operator's")
	}
	f.Publisher, f.Kind, f.Owner, f.Tags = p.Tenant, cmv1.FrameworkKind_FRAMEWORK_KIND_INTERNAL, p.Tenant, nil
	return nil
}

// frameworkAfter renders f as written, for the audit trail.
func frameworkAfter(f catalog.Framework) func(int64) string {
	return func(rev int64) string {
		f.Revision = rev
		return resourceJSON(resource.Framework(&f))
	}
}

// controlAfter renders c, a control of fw, as written.
func controlAfter(fw string, c catalog.Control) func(int64) string {
	return func(rev int64) string {
		c.Revision = rev
		return resourceJSON(resource.Control(fw, &c))
	}
}

// UpdateFramework changes the display name, version or description of one
// of the caller's internal frameworks.
func (w *Writer) UpdateFramework(ctx context.Context, id string, patch FrameworkPatch) (catalog.Framework, error) {
	p := principal(ctx)
	var out catalog.Framework
	rev, err := w.st.Update(ctx, func(tx store.Tx) (store.Audit, error) {
		before, err := ownedFramework(tx, p, id, store.Exclusive)
		if err != nil {
			return store.Audit{}, err
		}
		out = before
		set(&out.DisplayName, patch.DisplayName)
		set(&out.Version, patch.Version)
		set(&out.Description, patch.Description)
		if err := checkFramework(&out); err != nil {
			return store.Audit{}, err
		}
		tx.Write(store.Change{Kind: store.KindFramework, Owner: out.Owner, Framework: out})
		return store.Audit{Resource: catalog.FrameworkName(id), Tenant: out.Owner,
			Before: resourceJSON(resource.Framework(&before)), After: frameworkAfter(out)}, nil
	})
	out.Revision = rev
	return out, err
}

// set trims and sets *dst to *v when v is not nil.
func set(dst *string, v *string) {
	if v != nil {
		*dst = strings.TrimSpace(*v)
	}
}

// DeleteFramework deletes one of the caller's internal frameworks, its
// controls and every mapping of them, and returns the revision.
func (w *Writer) DeleteFramework(ctx context.Context, id string) (int64, error) {
	p := principal(ctx)
	return w.st.Update(ctx, func(tx store.Tx) (store.Audit, error) {
		f, err := ownedFramework(tx, p, id, store.Exclusive)
		if err != nil {
			return store.Audit{}, err
		}
		// Locked before their mappings are listed: a mapping written
		// meanwhile either committed (and is listed) or finds them gone.
		controls, err := tx.Controls(id, store.Exclusive)
		if err != nil {
			return store.Audit{}, err
		}
		mappings, err := tx.MappingsOf(id, "", store.Share)
		if err != nil {
			return store.Audit{}, err
		}
		mappingNames, byOwner, err := removeMappings(tx, mappings)
		if err != nil {
			return store.Audit{}, err
		}
		controlNames := make([]string, len(controls))
		// Children after parents in document order: deleted last first.
		for i, c := range slices.Backward(controls) {
			controlNames[i] = catalog.ControlName(id, c.ID)
			tx.Write(store.Change{Kind: store.KindControl, Delete: true, Owner: f.Owner, Framework: catalog.Framework{ID: id}, Control: catalog.Control{ID: c.ID}})
		}
		tx.Write(store.Change{Kind: store.KindFramework, Delete: true, Owner: f.Owner, Framework: catalog.Framework{ID: id}})
		deleted := resourceJSON(resource.Framework(&f))
		return store.Audit{Resource: catalog.FrameworkName(id), Tenant: f.Owner,
			Before: cascadeJSON(deleted, controlNames, mappingNames), Affected: affected(f.Owner, deleted, byOwner)}, nil
	})
}

// removeMappings deletes mappings a delete takes with it and returns their
// names, all and by owner. Each delete is logged as its mapping's: the
// tenant owning an end, or public (a reference framework the operator
// deletes may take tenants' mappings with it, which only those tenants see
// go).
func removeMappings(tx store.Tx, ms []catalog.Mapping) (names []string, byOwner map[string][]string, err error) {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.Source.Framework, m.Target.Framework)
	}
	slices.Sort(ids)
	fws, err := tx.Frameworks(slices.Compact(ids)...)
	if err != nil {
		return nil, nil, err
	}
	owners := map[string]string{}
	for _, f := range fws {
		owners[f.ID] = f.Owner
	}
	names, byOwner = make([]string, len(ms)), map[string][]string{}
	for i, m := range ms {
		names[i] = catalog.MappingName(m.ID)
		owner := cmp.Or(owners[m.Source.Framework], owners[m.Target.Framework])
		byOwner[owner] = append(byOwner[owner], names[i])
		tx.Write(store.Change{Kind: store.KindMapping, Delete: true, Owner: owner, Mapping: catalog.Mapping{ID: m.ID, Source: m.Source, Target: m.Target, BuiltIn: m.BuiltIn}})
	}
	return names, byOwner, nil
}

// affected lists the tenants other than owner whose mappings a delete of
// the resource deleted (its API JSON) took with it, by owner, each with
// its own mappings: the delete is in their trails too.
func affected(owner, deleted string, byOwner map[string][]string) []store.AffectedTenant {
	var out []store.AffectedTenant
	for _, t := range slices.Sorted(maps.Keys(byOwner)) {
		if t != "" && t != owner {
			out = append(out, store.AffectedTenant{Tenant: t, Before: cascadeJSON(deleted, nil, byOwner[t])})
		}
	}
	return out
}

// ControlPatch lists the fields of a control an update sets; nil leaves a
// field as it is.
type ControlPatch struct {
	Title, Summary, Owner *string
	Assessable            *bool
	Implementation        *cmv1.ImplementationStatus
	Evidence              *[]string
}

func checkControl(c *catalog.Control) error {
	if err := Text("control.title", c.Title, MaxTitle, true); err != nil {
		return err
	}
	if err := Text("control.summary", c.Summary, MaxSummary, false); err != nil {
		return err
	}
	if err := Text("control.owner", c.Owner, MaxOwner, false); err != nil {
		return err
	}
	if err := CheckEnum("control.implementation_status", c.Implementation, cmv1.ImplementationStatus_name); err != nil {
		return err
	}
	return checkLinks("control.evidence_links", c.Evidence)
}

// CreateControl adds a control to one of the caller's internal frameworks,
// after its other controls. Its id must be new to the framework, ignoring
// case, and its parent, if any, a control of the framework.
func (w *Writer) CreateControl(ctx context.Context, framework string, c catalog.Control) (catalog.Control, error) {
	p := principal(ctx)
	if !ControlIDPattern.MatchString(c.ID) {
		return c, invalid("control_id", "must match [A-Za-z0-9][A-Za-z0-9._-]{0,62}, got %q", c.ID)
	}
	c.Title, c.Summary, c.Owner = strings.TrimSpace(c.Title), strings.TrimSpace(c.Summary), strings.TrimSpace(c.Owner)
	c.Kind, c.Aliases, c.Tags = cmv1.ControlKind_CONTROL_KIND_CONTROL, nil, nil
	if c.Implementation == 0 {
		c.Implementation = cmv1.ImplementationStatus_IMPLEMENTATION_STATUS_NOT_IMPLEMENTED
	}
	if err := checkControl(&c); err != nil {
		return c, err
	}
	if err := w.checkQuota(p.Tenant, "controls"); err != nil {
		return c, err
	}
	rev, err := w.st.Update(ctx, func(tx store.Tx) (store.Audit, error) {
		f, err := ownedFramework(tx, p, framework, store.Exclusive)
		if err != nil {
			return store.Audit{}, err
		}
		controls, err := tx.Controls(framework, store.Share)
		if err != nil {
			return store.Audit{}, err
		}
		if slices.ContainsFunc(controls, func(x catalog.Control) bool { return strings.EqualFold(x.ID, c.ID) }) {
			return store.Audit{}, fmt.Errorf("%w: control %s", store.ErrAlreadyExists, catalog.ControlName(framework, c.ID))
		}
		if c.Parent != "" && !slices.ContainsFunc(controls, func(x catalog.Control) bool { return x.ID == c.Parent }) {
			return store.Audit{}, invalid("control.parent", "is not a control of %s", catalog.FrameworkName(framework))
		}
		tx.Write(store.Change{Kind: store.KindControl, New: true, Owner: f.Owner, Framework: catalog.Framework{ID: framework}, Control: c})
		return store.Audit{Resource: catalog.ControlName(framework, c.ID), Tenant: f.Owner, After: controlAfter(framework, c)}, nil
	})
	c.Revision = rev
	return c, err
}

// UpdateControl changes a control of one of the caller's internal
// frameworks: its title, summary, assessability and implementation record.
func (w *Writer) UpdateControl(ctx context.Context, framework, id string, patch ControlPatch) (catalog.Control, error) {
	p := principal(ctx)
	var out catalog.Control
	rev, err := w.st.Update(ctx, func(tx store.Tx) (store.Audit, error) {
		// The framework first: a caller that may not change it learns
		// nothing of its controls.
		f, err := ownedFramework(tx, p, framework, store.Share)
		if err != nil {
			return store.Audit{}, err
		}
		before, err := tx.Control(framework, id, store.Exclusive)
		if err != nil {
			return store.Audit{}, err
		}
		out = before
		set(&out.Title, patch.Title)
		set(&out.Summary, patch.Summary)
		set(&out.Owner, patch.Owner)
		if patch.Assessable != nil {
			out.Assessable = *patch.Assessable
		}
		if patch.Implementation != nil {
			out.Implementation = *patch.Implementation
		}
		if patch.Evidence != nil {
			out.Evidence = *patch.Evidence
		}
		if err := checkControl(&out); err != nil {
			return store.Audit{}, err
		}
		tx.Write(store.Change{Kind: store.KindControl, Owner: f.Owner, Framework: catalog.Framework{ID: framework}, Control: out})
		return store.Audit{Resource: catalog.ControlName(framework, id), Tenant: f.Owner,
			Before: resourceJSON(resource.Control(framework, &before)), After: controlAfter(framework, out)}, nil
	})
	out.Revision = rev
	return out, err
}

// DeleteControl deletes a control of one of the caller's internal
// frameworks and every mapping of it. A control with children cannot be
// deleted before them.
func (w *Writer) DeleteControl(ctx context.Context, framework, id string) (int64, error) {
	p := principal(ctx)
	return w.st.Update(ctx, func(tx store.Tx) (store.Audit, error) {
		f, err := ownedFramework(tx, p, framework, store.Exclusive)
		if err != nil {
			return store.Audit{}, err
		}
		// Locked before its mappings are listed, as in DeleteFramework.
		if _, err := tx.Control(framework, id, store.Exclusive); err != nil {
			return store.Audit{}, err
		}
		controls, err := tx.Controls(framework, store.Share)
		if err != nil {
			return store.Audit{}, err
		}
		i := slices.IndexFunc(controls, func(x catalog.Control) bool { return x.ID == id })
		if slices.ContainsFunc(controls, func(x catalog.Control) bool { return x.Parent == id }) {
			return store.Audit{}, fmt.Errorf("%w: control %s has child controls; delete them first", store.ErrFailedPrecondition, catalog.ControlName(framework, id))
		}
		mappings, err := tx.MappingsOf(framework, id, store.Share)
		if err != nil {
			return store.Audit{}, err
		}
		names, byOwner, err := removeMappings(tx, mappings)
		if err != nil {
			return store.Audit{}, err
		}
		tx.Write(store.Change{Kind: store.KindControl, Delete: true, Owner: f.Owner, Framework: catalog.Framework{ID: framework}, Control: catalog.Control{ID: id}})
		deleted := resourceJSON(resource.Control(framework, &controls[i]))
		return store.Audit{Resource: catalog.ControlName(framework, id), Tenant: f.Owner,
			Before: cascadeJSON(deleted, nil, names), Affected: affected(f.Owner, deleted, byOwner)}, nil
	})
}
