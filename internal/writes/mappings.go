package writes

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/auth"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/resource"
	"github.com/controlmap/controlmap/internal/store"
)

// MappingPatch lists the fields of a mapping an update sets; nil leaves a
// field as it is. A mapping's ends and author never change.
type MappingPatch struct {
	Relationship    *cmv1.Relationship
	Strength        *int32
	ReverseStrength *int32
	Rationale       *cmv1.Rationale
	Justification   *string
	Document        *string
	Method          *cmv1.MappingMethod
	Status          *cmv1.MappingStatus
}

// CheckMapping is catalog.CheckMapping as an error naming the request's
// fields ("mapping.strength").
func CheckMapping(m *catalog.Mapping) error {
	vs := catalog.CheckMapping(m)
	if len(vs) == 0 {
		return nil
	}
	for i := range vs {
		vs[i].Field = "mapping." + vs[i].Field
	}
	return &catalog.InvalidError{Violations: vs}
}

// fillDefaults sets what a request may leave out: method HUMAN, status
// DRAFT.
func fillDefaults(m *catalog.Mapping) {
	if m.Provenance.Method == 0 {
		m.Provenance.Method = cmv1.MappingMethod_MAPPING_METHOD_HUMAN
	}
	if m.Provenance.Status == 0 {
		m.Provenance.Status = cmv1.MappingStatus_MAPPING_STATUS_DRAFT
	}
}

// ends reads the frameworks of a mapping's ends and decides whether the
// caller may see the mapping (both ends in frameworks it sees) and write it
// (the operator writes public mappings; a tenant, mappings with at least
// one end in a framework it owns). It returns the tenant the mapping
// belongs to: the owner of an internal end, or none.
func ends(tx store.Tx, p auth.Principal, a, b catalog.ControlRef, name string) (string, error) {
	fws, err := tx.Frameworks(a.Framework, b.Framework)
	if err != nil {
		return "", err
	}
	var owner string
	for _, r := range []catalog.ControlRef{a, b} {
		i := slices.IndexFunc(fws, func(f catalog.Framework) bool { return f.ID == r.Framework })
		if i < 0 || !visible(p, &fws[i]) {
			if name != "" {
				return "", store.NotFound("mapping", name)
			}
			return "", store.NotFound("framework", catalog.FrameworkName(r.Framework))
		}
		if fws[i].Owner != "" {
			owner = fws[i].Owner
		}
	}
	if !p.Operator && (owner == "" || owner != p.Tenant) {
		return "", denied(cmv1.ErrorReason_ERROR_REASON_NOT_OWNER, "a tenant writes mappings of its own internal controls; mappings between public controls are the operator's")
	}
	return owner, nil
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// lockMembers locks the controls of a group mapping's sides until commit,
// as the database's checks of a mapping's ends lock those: a delete of a
// member either commits first (and the write finds it gone) or waits and
// then sees the group mapping to delete with it.
func lockMembers(tx store.Tx, m *catalog.Mapping) error {
	if !m.IsGroup() {
		return nil
	}
	return tx.LockControls(slices.Concat(m.SourceSide(), m.TargetSide()))
}

// mayApprove checks that the caller may move a mapping of the tenant
// owner (none: a public one, the operator's) from status before to after:
// making it APPROVED needs SCOPE_ADMIN when the tenant requires it.
func mayApprove(tx store.Tx, p auth.Principal, owner string, before, after cmv1.MappingStatus) error {
	approving := after == cmv1.MappingStatus_MAPPING_STATUS_APPROVED && before != after
	if !approving || p.Operator || owner == "" || p.Has(cmv1.Scope_SCOPE_ADMIN) {
		return nil
	}
	t, ok, err := tx.Tenant(owner, store.Share)
	if err != nil || !ok || !t.RequireAdminApproval {
		return err
	}
	return denied(cmv1.ErrorReason_ERROR_REASON_NOT_ADMIN, "tenant %s approves mappings with SCOPE_ADMIN keys only; create it as a DRAFT", owner)
}

// CreateMapping stores m, whose ends are canonical references, under a new
// id. Strengths the relationship fixes are filled in; method and status
// default to HUMAN and DRAFT. The author is the caller, whatever m says.
func (w *Writer) CreateMapping(ctx context.Context, m catalog.Mapping) (catalog.Mapping, error) {
	p := principal(ctx)
	m.Justification = strings.TrimSpace(m.Justification)
	m.Provenance.Document, m.Provenance.Author = strings.TrimSpace(m.Provenance.Document), p.Name
	m.NormalizeSides()
	catalog.FillStrengths(&m)
	fillDefaults(&m)
	if err := CheckMapping(&m); err != nil {
		return m, err
	}
	m.ID, m.BuiltIn = store.NewMappingID(), false
	if err := w.checkQuota(p.Tenant, "mappings"); err != nil {
		return m, err
	}
	rev, err := w.st.Update(ctx, func(tx store.Tx) (store.Audit, error) {
		// The store refuses ends that do not exist and a pair mapped
		// already, at commit.
		owner, err := ends(tx, p, m.Source, m.Target, "")
		if err != nil {
			return store.Audit{}, err
		}
		if err := lockMembers(tx, &m); err != nil {
			return store.Audit{}, err
		}
		if err := mayApprove(tx, p, owner, cmv1.MappingStatus_MAPPING_STATUS_DRAFT, m.Provenance.Status); err != nil {
			return store.Audit{}, err
		}
		m.Provenance.CreateTime, m.Provenance.UpdateTime = tx.Now(), tx.Now()
		tx.Write(store.Change{Kind: store.KindMapping, New: true, Owner: owner, Mapping: m})
		return store.Audit{Resource: catalog.MappingName(m.ID), Tenant: owner, After: mappingAfter(m)}, nil
	})
	m.Revision = rev
	return m, err
}

// mappingAfter renders m as written, for the audit trail.
func mappingAfter(m catalog.Mapping) func(int64) string {
	return func(rev int64) string {
		m.Revision = rev
		return resourceJSON(resource.Mapping(&m, false))
	}
}

// lockedMapping reads a mapping the caller may change, locked. etag, when
// not empty, must be the stored mapping's: it is compared after the caller
// is known to be allowed, so a refused caller learns nothing of it.
func lockedMapping(tx store.Tx, p auth.Principal, id, etag string) (catalog.Mapping, string, error) {
	name := catalog.MappingName(id)
	m, err := tx.Mapping(id)
	if err != nil {
		return m, "", err
	}
	owner, err := ends(tx, p, m.Source, m.Target, name)
	if err != nil {
		return m, "", err
	}
	if etag != "" && etag != m.Etag() {
		return m, "", fmt.Errorf("%w: mapping %s has etag %q, the request sent %q", store.ErrEtagMismatch, name, m.Etag(), catalog.Clip(etag))
	}
	return m, owner, nil
}

// UpdateMapping changes a mapping as stored (never a replica's copy, which
// may be behind). etag, when not empty, must be the stored mapping's.
func (w *Writer) UpdateMapping(ctx context.Context, id, etag string, patch MappingPatch) (catalog.Mapping, error) {
	p := principal(ctx)
	var out catalog.Mapping
	rev, err := w.st.Update(ctx, func(tx store.Tx) (store.Audit, error) {
		before, owner, err := lockedMapping(tx, p, id, etag)
		if err != nil {
			return store.Audit{}, err
		}
		out = patch.apply(before)
		fillDefaults(&out)
		if err := mayApprove(tx, p, owner, before.Provenance.Status, out.Provenance.Status); err != nil {
			return store.Audit{}, err
		}
		if err := CheckMapping(&out); err != nil {
			return store.Audit{}, err
		}
		out.Provenance.UpdateTime = tx.Now()
		tx.Write(store.Change{Kind: store.KindMapping, Owner: owner, Mapping: out})
		return store.Audit{Resource: catalog.MappingName(id), Tenant: owner,
			Before: resourceJSON(resource.Mapping(&before, false)), After: mappingAfter(out)}, nil
	})
	out.Revision = rev
	return out, err
}

// apply returns m with the patch's fields set. A strength the new
// relationship fixes follows it unless the patch sets it too; one left to
// judgement must be sent.
func (patch *MappingPatch) apply(m catalog.Mapping) catalog.Mapping {
	if patch.Relationship != nil {
		m.Relationship = *patch.Relationship
		if lo, hi := catalog.StrengthRange(m.Relationship); lo == hi {
			m.Strength = lo
		}
		if lo, hi := catalog.ReverseStrengthRange(m.Relationship); lo == hi {
			m.ReverseStrength = lo
		}
	}
	if patch.Strength != nil {
		m.Strength = *patch.Strength
	}
	if patch.ReverseStrength != nil {
		m.ReverseStrength = *patch.ReverseStrength
	}
	if patch.Rationale != nil {
		m.Rationale = *patch.Rationale
	}
	set(&m.Justification, patch.Justification)
	set(&m.Provenance.Document, patch.Document)
	if patch.Method != nil {
		m.Provenance.Method = *patch.Method
	}
	if patch.Status != nil {
		m.Provenance.Status = *patch.Status
	}
	return m
}

// DeleteMapping deletes a mapping; etag, when not empty, must be the stored
// mapping's.
func (w *Writer) DeleteMapping(ctx context.Context, id, etag string) (int64, error) {
	p := principal(ctx)
	return w.st.Update(ctx, func(tx store.Tx) (store.Audit, error) {
		m, owner, err := lockedMapping(tx, p, id, etag)
		if err != nil {
			return store.Audit{}, err
		}
		tx.Write(store.Change{Kind: store.KindMapping, Delete: true, Owner: owner, Mapping: catalog.Mapping{ID: id, Source: m.Source, Target: m.Target, BuiltIn: m.BuiltIn}})
		return store.Audit{Resource: catalog.MappingName(id), Tenant: owner, Before: resourceJSON(resource.Mapping(&m, false))}, nil
	})
}
