package writes_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/controlmap/controlmap/internal/auth"
	"github.com/controlmap/controlmap/internal/catalog"
	"github.com/controlmap/controlmap/internal/content"
	"github.com/controlmap/controlmap/internal/store"
	"github.com/controlmap/controlmap/internal/store/memory"
	"github.com/controlmap/controlmap/internal/writes"
)

// Deleting a framework of many controls records their count and at most
// 1,000 names, not every control.
func TestCascadeAuditIsBounded(t *testing.T) {
	_, g, err := content.LoadGraph()
	if err != nil {
		t.Fatal(err)
	}
	st := memory.New(g)
	w := writes.New(st)
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Name: "tenants/acme/apiKeys/k1", Tenant: "acme"}, "/test")
	if _, err := w.CreateFramework(ctx, catalog.Framework{ID: "acme-big", DisplayName: "Big"}); err != nil {
		t.Fatal(err)
	}
	const n = 1500
	for i := range n {
		if _, err := w.CreateControl(ctx, "acme-big", catalog.Control{ID: fmt.Sprintf("C-%04d", i), Title: "A control with a title of some length"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.DeleteFramework(ctx, "acme-big"); err != nil {
		t.Fatal(err)
	}
	events, err := st.AuditEvents(ctx, store.AuditQuery{Tenant: "acme", Limit: 1})
	if err != nil || len(events) != 1 {
		t.Fatalf("audit: %v %v", events, err)
	}
	var before struct {
		Deleted      map[string]any `json:"deleted"`
		ControlCount int            `json:"controlCount"`
		Controls     []string       `json:"controls"`
		Omitted      int            `json:"omitted"`
	}
	if err := json.Unmarshal([]byte(events[0].Before), &before); err != nil {
		t.Fatal(err)
	}
	if before.Deleted["name"] != "frameworks/acme-big" || before.ControlCount != n || len(before.Controls) != 1000 || before.Omitted != n-1000 {
		t.Fatalf("cascade summary: %s, %d controls, %d names, %d omitted", before.Deleted["name"], before.ControlCount, len(before.Controls), before.Omitted)
	}
	if size := len(events[0].Before); size > 64<<10 {
		t.Fatalf("the audit event of the cascade is %d bytes", size)
	}
}
