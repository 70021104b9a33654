// Command ferretdb-launcher runs FerretDB v1 (SQLite backend) embedded, for tests on loopback.
//
// It exists because `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.x` builds a binary that
// panics at start (FerretDB issue #2982: build/version/version.txt is not in the module zip). Embedding the
// `ferretdb` package from a main module of our own skips that check, and embedded FerretDB has telemetry
// disabled and locked, writes no state.json and starts no debug HTTP listener.
//
//	ferretdb-launcher -listen 127.0.0.1:0 -dir /abs/existing/dir/ [-log-level warn] [-watch-pid PID]
//
// On success it prints one line on stdout, `READY mongodb://127.0.0.1:PORT/`, then serves until SIGINT or
// SIGTERM (or until the -watch-pid process is gone). Port 0 lets the kernel pick a free port; the READY
// line carries the real one.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "ferretdb-launcher: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "TCP address to listen on; loopback only")
	dir := flag.String("dir", "", "existing directory for the SQLite files; absolute path ending with '/'")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	watchPID := flag.Int("watch-pid", 0, "exit when this process is gone (0: do not watch)")
	flag.Parse()
	if flag.NArg() != 0 {
		fail("unexpected arguments %q", flag.Args())
	}

	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		fail("bad -listen %q: %v", *listen, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		fail("-listen %q: only loopback IP addresses are allowed", *listen)
	}

	if *dir == "" || !filepath.IsAbs(*dir) || !strings.HasSuffix(*dir, "/") {
		fail("-dir must be an absolute path ending with '/', got %q", *dir)
	}
	if st, err := os.Stat(*dir); err != nil || !st.IsDir() {
		fail("-dir %q must be an existing directory", *dir)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fail("bad -log-level %q: %v", *logLevel, err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + *dir,
	})
	if err != nil {
		fail("%v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	if *watchPID > 0 {
		go func() {
			for ctx.Err() == nil {
				if err := syscall.Kill(*watchPID, 0); errors.Is(err, syscall.ESRCH) {
					logger.Warn("watched process is gone; stopping", "pid", *watchPID)
					stop()
					return
				}
				time.Sleep(time.Second)
			}
		}()
	}

	// ferretdb.New has already bound the socket (clientconn.Listen), so the address is known here and
	// clients that connect before Run starts accepting simply wait in the backlog.
	fmt.Println("READY", f.MongoDBURI())

	if err := f.Run(ctx); err != nil {
		fail("%v", err)
	}
}
