package main

import (
	"io"
	"os"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/controlmap/controlmap/internal/client"
	"github.com/controlmap/controlmap/internal/mcpserver"
)

func mcpCommand() *cobra.Command {
	var (
		addr      string
		useTLS    bool
		plaintext bool
	)
	cmd := &cobra.Command{
		Use:   "mcp",
		Short: "Serve the Model Context Protocol over stdio, answering from a running controlmap",
		Long: `Serve the Model Context Protocol on stdin and stdout, for an AI assistant
that starts it as a local tool server. Every tool call is a gRPC call to the
controlmap at --server, made with the token in CONTROLMAP_TOKEN (an API key, or
the operator's token); without one the calls are anonymous and see public
data only. Logs go to stderr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := client.Dial(addr, client.Options{Token: os.Getenv("CONTROLMAP_TOKEN"), TLS: useTLS, Plaintext: plaintext})
			if err != nil {
				return err
			}
			defer conn.Close()
			srv := mcpserver.New(conn, mcpserver.Options{Version: buildVersion()})
			return srv.Run(cmd.Context(), &mcp.IOTransport{Reader: readCloser(cmd), Writer: writeCloser(cmd)})
		},
	}
	cmd.Flags().StringVar(&addr, "server", env("CONTROLMAP_SERVER", "localhost:9090"), "host:port of controlmap's gRPC port (CONTROLMAP_SERVER)")
	cmd.Flags().BoolVar(&useTLS, "tls", false, "connect with TLS, verifying the server against the system's roots")
	cmd.Flags().BoolVar(&plaintext, "plaintext", false, "send the token without TLS to a server on another host (only where the network encrypts, such as a service mesh)")
	return cmd
}

// readCloser and writeCloser give the transport the command's streams
// (stdin and stdout, or what a test set); closing them is the process's
// business.
func readCloser(cmd *cobra.Command) io.ReadCloser { return io.NopCloser(cmd.InOrStdin()) }

func writeCloser(cmd *cobra.Command) io.WriteCloser { return nopWriteCloser{cmd.OutOrStdout()} }

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
