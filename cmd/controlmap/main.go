// Command controlmap serves security and AI-governance frameworks and the
// crosswalks between them over gRPC and a JSON REST facade.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := rootCommand().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "controlmap:", describe(err))
		os.Exit(exitCode(err))
	}
}
