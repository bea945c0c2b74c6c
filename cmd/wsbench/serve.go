package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/wsbench/wsbench/peer"
	"github.com/wsbench/wsbench/rundir"
)

func newServeCmd() *cobra.Command {
	var (
		cfg            peer.Config
		tlsMin, tlsMax string
		statsOut       string
		statsEvery     time.Duration
		quiet          bool
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the TLS peer server (wss:// echo and push, https:// bytes) until Ctrl-C",
		Long: `Run the peer server that benchmark sessions talk to, on its own.

It serves wss://HOST:WS-PORT/ws (echo; server push with --push-size and
--push-every, or per connection with ?push_size=N&push_every=D) and
https://HOST:HTTPS-PORT/bytes?n=N (keep-alive; N bytes, default
--response-size). Ports 0 pick free ports.

Certificates live in --cert-dir: a CA (ca.pem, the file a firmware build
embeds) and a server certificate naming the listen address (every interface
address for 0.0.0.0) are generated once and reused while valid; keys are
written 0600. --cert-file/--key-file serve your own certificate instead.

Listens on loopback unless --listen names another address: real boards need
the address of the interface they reach.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if cfg.MinTLS, err = peer.ParseTLSVersion(tlsMin); err != nil {
				return fmt.Errorf("--tls-min: %w", err)
			}
			if cfg.MaxTLS, err = peer.ParseTLSVersion(tlsMax); err != nil {
				return fmt.Errorf("--tls-max: %w", err)
			}
			level := slog.LevelInfo
			if quiet {
				level = slog.LevelWarn
			}
			cfg.Log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			ctx := cmd.Context()
			srv, err := peer.Start(ctx, cfg)
			if err != nil {
				return err
			}
			info := srv.Info()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "wss:   %s\n", info.WSURL)
			fmt.Fprintf(out, "https: %s\n", info.HTTPSURL)
			if info.CAFile != "" {
				fmt.Fprintf(out, "CA:    %s  (embed this in the firmware build)\n", info.CAFile)
			}
			fmt.Fprintf(out, "cert:  %s, %s, sha256 %s\n", info.CertKeyType, srv.CertSource(), info.CertSHA256)
			fmt.Fprintf(out, "TLS %s to %s; Ctrl-C stops\n", info.TLSMinVersion, info.ServerTLSVerMax)

			var tick <-chan time.Time
			if statsEvery > 0 {
				t := time.NewTicker(statsEvery)
				defer t.Stop()
				tick = t.C
			}
		wait:
			for {
				select {
				case <-ctx.Done():
					break wait
				case <-tick:
					printTotals(cmd, srv.Counters().Totals)
				}
			}
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			shutErr := srv.Shutdown(sctx)
			snap := srv.Counters()
			printTotals(cmd, snap.Totals)
			if statsOut != "" {
				if err := rundir.WriteJSON(statsOut, snap); err != nil {
					return err
				}
				fmt.Fprintf(out, "counters: %s\n", statsOut)
			}
			if shutErr != nil {
				return fmt.Errorf("serve: %w", shutErr)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Host, "listen", peer.DefaultHost, "address to listen on (0.0.0.0 for every interface)")
	f.StringVar(&cfg.AdvertiseHost, "advertise", "", "host to put in the printed URLs (default: the listen address)")
	f.IntVar(&cfg.WSPort, "ws-port", 0, "wss:// port (0 picks a free port)")
	f.IntVar(&cfg.HTTPSPort, "https-port", 0, "https:// port (0 picks a free port; equal to --ws-port shares one port)")
	f.StringVar(&cfg.CertDir, "cert-dir", peer.DefaultCertDir(), "directory of generated certificates, reused while valid")
	f.StringVar(&cfg.KeyType, "key", peer.KeyECDSAP256, "generated key type: ecdsa-p256 or rsa-2048")
	f.StringSliceVar(&cfg.ExtraSANs, "san", nil, "extra name or address for the server certificate (repeatable)")
	f.StringVar(&cfg.CertFile, "cert-file", "", "serve this certificate (PEM) instead of generating one")
	f.StringVar(&cfg.KeyFile, "key-file", "", "private key of --cert-file")
	f.StringVar(&cfg.CAFile, "ca-file", "", "CA of --cert-file, or with --ca-key-file the CA that issues the server certificate")
	f.StringVar(&cfg.CAKeyFile, "ca-key-file", "", "private key of --ca-file, to issue the server certificate from your CA")
	f.StringVar(&tlsMin, "tls-min", "1.2", "lowest TLS version: 1.2 or 1.3")
	f.StringVar(&tlsMax, "tls-max", "1.3", "highest TLS version: 1.2 or 1.3")
	f.IntVar(&cfg.MaxConns, "max-conns", peer.DefaultMaxConns, "maximum concurrent connections; more are refused and counted")
	f.IntVar(&cfg.PushSize, "push-size", 0, "server push message size in bytes (0: no push)")
	f.DurationVar(&cfg.PushInterval, "push-every", 0, "server push interval, e.g. 100ms")
	f.IntVar(&cfg.ResponseSize, "response-size", peer.DefaultResponseSize, "https /bytes body size without ?n=")
	f.Int64Var(&cfg.MaxMessageSize, "max-message", peer.DefaultMaxMessageSize, "WebSocket message and request body read limit in bytes")
	f.DurationVar(&cfg.HandshakeTimeout, "handshake-timeout", peer.DefaultHandshakeTimeout, "TLS handshake timeout")
	f.DurationVar(&cfg.IdleTimeout, "idle-timeout", peer.DefaultIdleTimeout, "close connections silent this long (pings count as activity)")
	f.StringVar(&statsOut, "stats-out", "", "write the per-session counters as JSON to this file on exit")
	f.DurationVar(&statsEvery, "stats-every", 0, "print totals this often (0: only on exit)")
	f.BoolVarP(&quiet, "quiet", "q", false, "log warnings only")
	return cmd
}

func printTotals(cmd *cobra.Command, t peer.Totals) {
	fmt.Fprintf(cmd.OutOrStdout(), "sessions %d (active %d, refused %d), handshakes %d (errors %d, timeouts %d), websockets %d, requests %d, idle timeouts %d, read timeouts %d, read-limit hits %d, bytes in %d out %d, errors %d\n",
		t.Accepted, t.Active, t.Refused, t.Handshakes, t.HandshakeErrors, t.HandshakeTimeouts, t.WebSockets, t.Requests, t.IdleTimeouts, t.ReadTimeouts, t.ReadLimitHits, t.BytesIn, t.BytesOut, t.Errors)
}
