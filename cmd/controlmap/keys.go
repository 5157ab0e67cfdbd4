package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	cmv1 "github.com/controlmap/controlmap/api/controlmap/v1"
	"github.com/controlmap/controlmap/internal/auth"
	"github.com/controlmap/controlmap/internal/store"
	"github.com/controlmap/controlmap/internal/store/postgres"
	"github.com/controlmap/controlmap/internal/tenancy"
	"github.com/controlmap/controlmap/internal/writes"
)

// keysCommand manages tenants' API keys directly in the database, for
// operators (the same changes as TenantService, audited as "operator-cli").
func keysCommand() *cobra.Command {
	var url string
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Create and revoke tenants' API keys in the database (operators)",
	}
	cmd.PersistentFlags().StringVar(&url, "database-url", databaseURL(), "PostgreSQL connection string (CONTROLMAP_DATABASE_URL, or DATABASE_URL)")

	var tenant, scopes, createTenant string
	var expireIn time.Duration
	create := &cobra.Command{
		Use:   "create",
		Short: "Issue an API key for a tenant and print its secret (shown once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc, err := parseScopes(scopes)
			if err != nil {
				return err
			}
			if !tenancy.ValidTenantID(tenant) {
				return fmt.Errorf("--tenant must match [a-z0-9][a-z0-9.-]{0,62}, got %q", tenant)
			}
			if len(createTenant) > 200 {
				return fmt.Errorf("--create-tenant: at most 200 characters")
			}
			return withStore(cmd.Context(), url, func(ctx context.Context, w *writes.Writer) error {
				if createTenant != "" {
					if _, err := w.CreateTenant(ctx, tenancy.Tenant{ID: tenant, DisplayName: createTenant}); err != nil && !errors.Is(err, store.ErrAlreadyExists) {
						return err
					}
				}
				var expires time.Time
				if expireIn > 0 {
					expires = time.Now().Add(expireIn)
				}
				k, secret, _, err := w.CreateAPIKey(ctx, tenant, sc, expires)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "key:    %s\nscopes: %s\n", tenancy.KeyName(k.Tenant, k.ID), scopes)
				if !k.ExpireTime.IsZero() {
					fmt.Fprintf(cmd.OutOrStdout(), "expires: %s\n", k.ExpireTime.Format(time.RFC3339))
				}
				fmt.Fprintf(cmd.OutOrStdout(), "secret: %s\n", secret)
				return nil
			})
		},
	}
	create.Flags().StringVar(&tenant, "tenant", "", "tenant id")
	create.Flags().StringVar(&scopes, "scopes", "read", "comma-separated scopes: read, write, admin")
	create.Flags().StringVar(&createTenant, "create-tenant", "", "create the tenant first, with this display name, if it does not exist")
	create.Flags().DurationVar(&expireIn, "expire-in", 0, "the key stops working after this long (720h for 30 days); 0: it does not expire")

	var keyName string
	revoke := &cobra.Command{
		Use:   "revoke",
		Short: "Revoke an API key (tenants/{tenant}/apiKeys/{key})",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, id, ok := strings.Cut(strings.TrimPrefix(keyName, "tenants/"), "/apiKeys/")
			if !ok || !strings.HasPrefix(keyName, "tenants/") {
				return fmt.Errorf("--key must be tenants/{tenant}/apiKeys/{key}")
			}
			return withStore(cmd.Context(), url, func(ctx context.Context, w *writes.Writer) error {
				k, _, err := w.RevokeAPIKey(ctx, t, id)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "revoked %s at %s\n", keyName, k.RevokeTime.Format(time.RFC3339))
				return nil
			})
		},
	}
	revoke.Flags().StringVar(&keyName, "key", "", "key name")
	cmd.AddCommand(create, revoke)
	return cmd
}

func parseScopes(s string) ([]cmv1.Scope, error) {
	var out []cmv1.Scope
	for _, p := range strings.Split(s, ",") {
		v, ok := cmv1.Scope_value["SCOPE_"+strings.ToUpper(strings.TrimSpace(p))]
		if !ok || v == 0 {
			return nil, fmt.Errorf("--scopes: unknown scope %q (read, write, admin)", p)
		}
		if slices.Contains(out, cmv1.Scope(v)) {
			return nil, fmt.Errorf("--scopes: %q listed twice", p)
		}
		out = append(out, cmv1.Scope(v))
	}
	return out, nil
}

// withStore opens the PostgreSQL store, waits for it to load, runs fn as
// the operator's command line (under the same rules as the API), and
// closes it.
func withStore(ctx context.Context, url string, fn func(context.Context, *writes.Writer) error) error {
	if url == "" {
		return fmt.Errorf("--database-url (or CONTROLMAP_DATABASE_URL, DATABASE_URL) is required")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := postgres.Open(ctx, postgres.Config{URL: url})
	if err != nil {
		return err
	}
	defer st.Close()
	for !st.Ready() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("the database did not answer: %w", ctx.Err())
		case err := <-st.Failed():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fn(auth.WithPrincipal(ctx, auth.Principal{Name: "operator-cli", Operator: true}, "controlmap keys"), writes.New(st))
}
