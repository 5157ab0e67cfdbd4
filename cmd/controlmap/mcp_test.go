package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/controlmap/controlmap/internal/server"
)

// `controlmap mcp` speaks the protocol on its standard streams and answers
// from the server it is pointed at.
func TestMCPCommandOverStdio(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := server.New(ctx, server.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Run(ctx) }()
	defer func() {
		cancel()
		<-served
	}()

	stdin, toCommand := io.Pipe()
	fromCommand, stdout := io.Pipe()
	cmd := rootCommand()
	cmd.SetArgs([]string{"mcp", "--server", srv.GRPCAddr()})
	cmd.SetIn(stdin)
	cmd.SetOut(stdout)
	ran := make(chan error, 1)
	go func() { ran <- cmd.ExecuteContext(ctx) }()

	session, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, &mcp.IOTransport{Reader: fromCommand, Writer: toCommand}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "get_control", Arguments: map[string]any{"control": "frameworks/iso-42001-2023/controls/A.5.2"}})
	if err != nil || res.IsError {
		t.Fatalf("get_control: %v %+v", err, res)
	}
	if m, _ := res.StructuredContent.(map[string]any); m["title"] == nil || m["title"] == "" || m["name"] != "frameworks/iso-42001-2023/controls/A.5.2" {
		t.Errorf("get_control answered %v", res.StructuredContent)
	}
	session.Close()
	toCommand.Close()
	if err := <-ran; err != nil {
		t.Errorf("mcp ended with %v", err)
	}
}
