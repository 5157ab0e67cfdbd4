package writes

import (
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/tenancy"
)

// Quotas bound what one tenant may hold; zero means no bound. They are
// checked against the replica's current snapshot before a write, so
// writes racing on several replicas may pass a quota by a few.
type Quotas struct {
	Keys, Frameworks, Controls, Mappings int
}

// DefaultQuotas are generous for one organization's programs and small
// enough that one tenant cannot swamp a deployment.
var DefaultQuotas = Quotas{Keys: 100, Frameworks: 50, Controls: 20_000, Mappings: 200_000}

// QuotaError is a write that would take a tenant past one of its quotas.
type QuotaError struct {
	Tenant, Quota string
	Limit         int
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("tenant %s holds its quota of %d %s; delete some first, or ask the operator for a larger quota", e.Tenant, e.Limit, e.Quota)
}

// Reason, Metadata and Detail describe the error to clients.
func (e *QuotaError) Reason() cmv1.ErrorReason { return cmv1.ErrorReason_ERROR_REASON_QUOTA_EXCEEDED }

// Metadata names the quota and its limit.
func (e *QuotaError) Metadata() []string {
	return []string{"quota", e.Quota, "limit", fmt.Sprint(e.Limit)}
}

// Detail is the standard QuotaFailure detail of the error.
func (e *QuotaError) Detail() *errdetails.QuotaFailure {
	return &errdetails.QuotaFailure{Violations: []*errdetails.QuotaFailure_Violation{{Subject: tenancy.TenantName(e.Tenant), Description: e.Error()}}}
}

// held counts what a tenant holds in the current snapshot: keys (not
// revoked), frameworks, controls and mappings with an end in them.
func (w *Writer) held(tenant string) Quotas {
	var h Quotas
	for _, k := range w.st.Directory().Keys(tenant) {
		if !k.Revoked() {
			h.Keys++
		}
	}
	g := w.st.Snapshot()
	owned := map[int32]bool{}
	for _, f := range g.Frameworks() {
		if f.Owner == tenant {
			owned[f.Index] = true
			h.Frameworks++
			h.Controls += f.ControlCount()
		}
	}
	for fi := range owned {
		for _, other := range g.FrameworkAt(fi).Partners() {
			if !owned[other] || other > fi { // a mapping between two owned frameworks counts once
				h.Mappings += g.MappingsBetween(fi, other)
			}
		}
	}
	return h
}

// checkQuota refuses a write that would add one more of quota to tenant.
func (w *Writer) checkQuota(tenant, quota string) error { return w.checkQuotaFor(tenant, quota, 1) }

// checkQuotaFor refuses a write that would add n of quota to tenant.
func (w *Writer) checkQuotaFor(tenant, quota string, n int) error {
	if tenant == "" || n <= 0 {
		return nil
	}
	limit, held := 0, 0
	h := w.held(tenant)
	switch quota {
	case "keys":
		limit, held = w.quotas.Keys, h.Keys
	case "frameworks":
		limit, held = w.quotas.Frameworks, h.Frameworks
	case "controls":
		limit, held = w.quotas.Controls, h.Controls
	case "mappings":
		limit, held = w.quotas.Mappings, h.Mappings
	}
	if limit > 0 && held+n > limit {
		return &QuotaError{Tenant: tenant, Quota: quota, Limit: limit}
	}
	return nil
}
