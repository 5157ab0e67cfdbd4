package server_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/controlmap/controlmap/internal/openapidoc/client"
)

// The OpenAPI 3.0 document is one a client generator can use: the client
// oapi-codegen generates from it (internal/openapidoc/client) reads the
// catalog, asks what a control satisfies, writes, and gets the errors,
// against a running server.
func TestGeneratedOpenAPIClient(t *testing.T) {
	s := startDefault(t)
	c, err := client.NewClientWithResponses(s.base)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	list, err := c.CatalogServiceListFrameworksWithResponse(ctx, &client.CatalogServiceListFrameworksParams{})
	if err != nil || list.JSON200 == nil || len(*list.JSON200.Frameworks) != 3 {
		t.Fatalf("list frameworks: %v %s", err, list.Body)
	}
	targets := []string{"iso-42001-2023"}
	sat, err := c.SatisfactionServiceSatisfiesWithResponse(ctx, "iso-27001-2022", "A.5.24", &client.SatisfactionServiceSatisfiesParams{TargetFrameworks: &targets})
	if err != nil || sat.JSON200 == nil || len(*sat.JSON200.Frameworks) != 1 {
		t.Fatalf("satisfies: %v %s", err, sat.Body)
	}
	var got []string
	for _, ctl := range *(*sat.JSON200.Frameworks)[0].Controls {
		got = append(got, *ctl.Control)
	}
	if !slices.Contains(got, "frameworks/iso-42001-2023/controls/A.8.4") {
		t.Fatalf("A.5.24 satisfies %v", got)
	}

	name := "Acme ISMS"
	id := "acme-isms"
	refused, err := c.CatalogServiceCreateFrameworkWithResponse(ctx, &client.CatalogServiceCreateFrameworkParams{FrameworkId: &id}, client.V1Framework{DisplayName: &name})
	if err != nil || refused.HTTPResponse.StatusCode != 401 || refused.JSON4XX == nil || refused.JSON4XX.Message == nil {
		t.Fatalf("a write without a key: %v %s", err, refused.Body)
	}
	_, secret := newTenantWithKey(t, s, "acme", "SCOPE_READ", "SCOPE_WRITE")
	withKey := func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+secret)
		return nil
	}
	created, err := c.CatalogServiceCreateFrameworkWithResponse(ctx, &client.CatalogServiceCreateFrameworkParams{FrameworkId: &id}, client.V1Framework{DisplayName: &name}, withKey)
	if err != nil || created.JSON200 == nil || *created.JSON200.Framework.Name != "frameworks/acme-isms" {
		t.Fatalf("create a framework: %v %s", err, created.Body)
	}
}
