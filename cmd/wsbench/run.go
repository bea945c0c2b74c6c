package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/wsbench/wsbench/analysis"
	"github.com/wsbench/wsbench/charts"
	"github.com/wsbench/wsbench/internal/termsafe"
	"github.com/wsbench/wsbench/matrix"
	"github.com/wsbench/wsbench/peer"
	"github.com/wsbench/wsbench/rundir"
	"github.com/wsbench/wsbench/wire"
	"golang.org/x/term"
)

func newRunCmd() *cobra.Command {
	var (
		resultsDir string
		resume     string
		shard      string
		noReport   bool
		plain      bool
		printOnly  bool
		runID      string
		hw         matrix.HardwareOptions
		wifiSSID   string
		behaviour  string
		branch     string
		allowFail  bool
	)
	cmd := &cobra.Command{
		Use:   "run [MATRIX.yaml]",
		Short: "Run a benchmark matrix (the built-in default on virtual boards when no file is given) and write a report",
		Long: `Run a benchmark matrix and write a report.

Without a matrix file, wsbench runs its built-in default matrix on virtual
ESP32-S3 boards: the four combinations of the two esp_websocket_client
placement options, sweeping 0 to 8 TLS sessions, plus churn and handler
scenarios (see 'wsbench run --print-default').

Every cell's raw serial bytes, decoded records and console log are kept under
results/<run-id>/cells/. A run stopped with Ctrl-C can be continued with
--resume results/<run-id>.

Exit status:
  0    every cell ran (with --allow-failed-cells: at least one did)
  1    a cell failed (the report is still written), or every cell failed
  2    usage or set-up error: bad matrix or flag, missing tool, unset port
  130  interrupted (continue with --resume)`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if printOnly {
				_, err := cmd.OutOrStdout().Write(matrix.DefaultYAML())
				return err
			}
			ctx := cmd.Context()
			var (
				f   *matrix.File
				err error
				src string // the matrix's name in errors, as Load names it
			)
			switch {
			case len(args) == 1:
				src = args[0]
				f, err = matrix.Load(src)
			case resume != "":
				// Resuming without a matrix file: the run's own record of it.
				src = filepath.Join(resume, rundir.ManifestFile)
				var man rundir.Manifest
				if man, err = rundir.ReadManifest(resume); err == nil {
					f, err = matrix.FromManifest(man, src)
				}
			default:
				src = matrix.DefaultName
				f, err = matrix.Default()
			}
			if err != nil {
				return err
			}
			if err := overrideComponent(f, behaviour, branch); err != nil {
				return err
			}
			// Before any directory, peer or build: a missing QEMU is an
			// install hint now, not a failed cell later.
			if err := matrix.CheckQEMU(f); err != nil {
				return inMatrix(src, err)
			}
			if err := matrix.CheckHardware(f, hw.Tool, hw.Project); err != nil {
				return inMatrix(src, err)
			}
			var shardIdx [2]int
			if shard != "" {
				i, n, err := matrix.ParseShard(shard)
				if err != nil {
					return fmt.Errorf("--shard: %w", err)
				}
				shardIdx = [2]int{i, n}
			}
			matrixJSON, err := json.Marshal(f)
			if err != nil {
				return fmt.Errorf("encode matrix: %w", err)
			}
			sum := sha256.Sum256(matrixJSON)
			hash := hex.EncodeToString(sum[:8])

			dir := resume
			if dir == "" {
				explicit := runID != ""
				if explicit {
					if err := rundir.CheckName("--run-id", runID, rundir.MaxRunIDLen); err != nil {
						return err
					}
				} else {
					runID = time.Now().UTC().Format("20060102-150405")
					if f.Name != "" {
						// The matrix checked its name (rundir.CheckName); it is
						// checked again here as the path it becomes.
						runID += "-" + f.Name
					}
				}
				id := runID
				// Two runs started in the same second get -2, -3, ...
				for i := 2; !explicit && exists(filepath.Join(resultsDir, id)); i++ {
					id = fmt.Sprintf("%s-%d", runID, i)
				}
				if err := rundir.CheckName("run id", id, rundir.MaxRunIDLen); err != nil {
					return err
				}
				if dir, err = rundir.Inside(resultsDir, id); err != nil {
					return err
				}
				runID = id
				if exists(dir) {
					return fmt.Errorf("run directory %s exists: use --resume %s to continue it", dir, dir)
				}
			} else {
				runID = filepath.Base(dir)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("create %s: %w", dir, err)
			}
			man := matrix.NewManifest(runID, version, os.Args, f, matrixJSON, hash)
			if shard != "" {
				man.Shard = shard
			}
			stderr := cmd.ErrOrStderr()

			// The peer server every session talks to.
			var peerSrv *peer.Server
			urls := matrix.PeerURLs{WSURL: f.Peer.WSURL, HTTPSURL: f.Peer.HTTPSURL}
			var trust matrix.Trust
			hw.Tool.Output = stderr
			hw.SizeDir = filepath.Join(dir, rundir.FirmwareDir)
			hw.RunDir = dir
			if f.Component.Path != "" && hw.ComponentPath == "" {
				hw.ComponentPath = f.Component.Path
			}
			if urls.WSURL == "" {
				// Certificates live outside the run directory (peer.DefaultCertDir):
				// results never hold a private key, and a firmware built with the
				// CA embedded keeps working across runs.
				pc := peer.Config{
					Host:         f.Peer.Listen,
					KeyType:      f.Peer.Key,
					PushSize:     f.Peer.PushSize,
					PushInterval: f.Peer.PushEvery.D(),
					ResponseSize: f.Peer.ResponseSize,
					Trusted:      trustedAddrs(f),
				}
				if f.Peer.CertDir != "" {
					pc.CertDir = f.Peer.CertDir
				}
				if f.HasQEMU() {
					// Firmware in QEMU dials the host's loopback as 10.0.2.2.
					pc.ExtraSANs = append(pc.ExtraSANs, matrix.QEMUPeerHost)
				}
				peerSrv, err = peer.Start(ctx, pc)
				if err != nil {
					return fmt.Errorf("start peer server: %w", err)
				}
				defer peerSrv.Close()
				urls = matrix.PeerURLs{WSURL: peerSrv.WSURL(), HTTPSURL: peerSrv.HTTPSURL()}
				trust = matrix.Trust{Pool: peerSrv.CAPool(), CAFile: peerSrv.CAFile()}
				info := peerSrv.Info()
				man.Peer = &info
				fmt.Fprintf(stderr, "peer: %s and %s (CA %s)\n", urls.WSURL, urls.HTTPSURL, peerSrv.CAFile())
			} else {
				man.Peer = &rundir.PeerInfo{WSURL: urls.WSURL, HTTPSURL: urls.HTTPSURL}
				trust = matrix.Trust{InsecureSkipVerify: true}
			}

			var prog matrix.Progress
			// Fd puts a non-blocking file into blocking mode (os.File.Fd);
			// for stderr, written with plain blocking writes, that is harmless.
			if fd, ok := stderr.(interface{ Fd() uintptr }); ok && !plain && term.IsTerminal(int(fd.Fd())) {
				prog = &barProgress{w: stderr}
			} else {
				prog = &lineProgress{w: stderr}
			}
			fmt.Fprintf(stderr, "run %s: %s\n", runID, dir)
			res, runErr := matrix.Run(ctx, f, matrix.Options{
				RunDir: dir, Resume: resume != "", Shard: shardIdx, Manifest: man, Peer: urls,
				NewDevice:    matrix.Devices(trust, hw),
				StartCapture: matrix.CollectorCapture,
				Progress:     prog,
				CellPeer:     cellPeer(peerSrv),
				WiFiSSID:     wifiSSID,
				WiFiPass:     os.Getenv("WSBENCH_WIFI_PASS"),
			})
			if peerSrv != nil {
				if err := rundir.WriteJSON(filepath.Join(dir, rundir.PeerFile), peerSrv.Counters()); err != nil {
					fmt.Fprintln(stderr, "wsbench:", err)
				}
			}
			if res == nil {
				return runErr
			}
			if runErr != nil {
				fmt.Fprintln(stderr, "wsbench:", runErr)
			}
			if res.Interrupted {
				fmt.Fprintf(stderr, "interrupted: continue with: wsbench run --resume %s\n", dir)
				return &exitError{code: 130, err: fmt.Errorf("interrupted")}
			}
			out := cmd.OutOrStdout()
			printCellCounts(out, res)
			if counts := res.Counts(); len(res.Cells) > 0 && counts[rundir.StatusOK] == 0 {
				// Nothing was measured: a CI job must not go green on it.
				return &exitError{code: 1, err: fmt.Errorf("all %d cells failed; nothing was measured (first: %s)", len(res.Cells), termsafe.String(res.Cells[0].Reason))}
			}
			failedErr := failedCellsError(res, allowFail)
			if noReport {
				return errors.Join(runErr, failedErr)
			}
			s, err := analysis.AnalyzeRun(ctx, dir)
			if err != nil {
				return fmt.Errorf("analyse %s: %w", dir, err)
			}
			if err := analysis.WriteSummary(dir, s); err != nil {
				return err
			}
			if err := charts.WriteReport(dir, s); err != nil {
				return fmt.Errorf("report: %w", err)
			}
			printRunSummary(out, s)
			fmt.Fprintf(out, "\nreport:  %s\nsummary: %s\n", filepath.Join(dir, rundir.ReportFile), filepath.Join(dir, rundir.SummaryFile))
			return errors.Join(runErr, failedErr)
		},
	}
	cmd.Flags().StringVar(&resultsDir, "results", "results", "directory that holds run directories")
	cmd.Flags().StringVar(&resume, "resume", "", "continue the run in this run directory, skipping completed cells")
	cmd.Flags().StringVar(&shard, "shard", "", "run only shard i of n of the matrix's cells (i/n), e.g. for CI runners")
	cmd.Flags().StringVar(&runID, "run-id", "", "name of the run directory (default: UTC time and matrix name)")
	cmd.Flags().BoolVar(&noReport, "no-report", false, "skip analysis and report")
	cmd.Flags().BoolVar(&plain, "plain", false, "plain progress lines even on a terminal")
	cmd.Flags().BoolVar(&printOnly, "print-default", false, "print the built-in default matrix and exit")
	cmd.Flags().BoolVar(&allowFail, "allow-failed-cells", false, "exit 0 although some cells failed (they are still reported)")
	cmd.Flags().StringVar(&behaviour, "behaviour", "", "override the matrix's component behaviour: fallback (internal RAM when PSRAM fails) or strict (init/start fail: PR 1117, PR 980's head 64b47ec97)")
	cmd.Flags().StringVar(&branch, "branch", "", "override the matrix's component branch label (shown in reports and compare)")
	cmd.Flags().StringVar(&wifiSSID, "wifi-ssid", os.Getenv("WSBENCH_WIFI_SSID"), "Wi-Fi network real boards join (the password comes from $WSBENCH_WIFI_PASS, never from a flag)")
	cmd.Flags().StringVar(&hw.Project, "project", "firmware", "ESP-IDF project built for port and qemu boards (a variant is its variants/<name>.defaults)")
	cmd.Flags().StringVar(&hw.Tool.IDFPy, "idf-py", "", "idf.py to run for hardware boards (default: from PATH, then $IDF_PATH/tools)")
	cmd.Flags().StringVar(&hw.ComponentPath, "component-path", "", "local checkout of esp_websocket_client to build against (hardware boards), e.g. a PR branch")
	return cmd
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// overrideComponent applies --behaviour and --branch to the matrix, so one
// matrix file serves both sides of a branch comparison.
func overrideComponent(f *matrix.File, behaviour, branch string) error {
	switch behaviour {
	case "":
	case wire.BehaviourFallback, wire.BehaviourStrict:
		f.Component.Behaviour = behaviour
	default:
		return fmt.Errorf("--behaviour %q: want %s or %s", behaviour, wire.BehaviourFallback, wire.BehaviourStrict)
	}
	if branch != "" {
		f.Component.Branch = branch
	}
	return nil
}

// inMatrix names the matrix file in each problem of err, as a matrix's
// parse errors do ("m.yaml: ..."); errors.Is and errors.As still see them.
func inMatrix(name string, err error) error {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = fmt.Errorf("%s: %w", name, e)
	}
	return errors.Join(out...)
}

// cellPeer returns the peer counters of one cell's sessions, or nil when
// the run uses an external peer.
func cellPeer(srv *peer.Server) func(string) any {
	if srv == nil {
		return nil
	}
	return func(tag string) any { return srv.Counters().WithTag(tag) }
}

func printCellCounts(w io.Writer, res *matrix.Result) {
	counts := res.Counts()
	var keys []string
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
	}
	fmt.Fprintf(w, "cells: %s\n", strings.Join(parts, ", "))
	for _, c := range res.Cells {
		if c.Status == rundir.StatusFailed {
			fmt.Fprintf(w, "  failed %s: %s\n", termsafe.String(c.ID), termsafe.String(c.Reason))
		}
	}
}

// failedCellsError is exit status 1 when some cells failed, unless allowed.
func failedCellsError(res *matrix.Result, allow bool) error {
	var failed []rundir.Cell
	for _, c := range res.Cells {
		if c.Status == rundir.StatusFailed {
			failed = append(failed, c)
		}
	}
	if len(failed) == 0 || allow {
		return nil
	}
	return &exitError{code: 1, err: fmt.Errorf("%d of %d cells failed (first: %s: %s); --allow-failed-cells exits 0 on a partial run",
		len(failed), len(res.Cells), failed[0].ID, failed[0].Reason)}
}

// trustedAddrs are the addresses whose sessions the peer serves first: the
// matrix's peer.trusted, and for virtual boards this host's own addresses
// (they connect from loopback, or from the advertised address when the
// peer listens on every interface). Nil leaves the peer's default.
func trustedAddrs(f *matrix.File) []string {
	out := append([]string(nil), f.Peer.Trusted...)
	for _, b := range f.Boards {
		if b.Virtual == "" {
			continue
		}
		out = append(out, "loopback")
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if ipn, ok := a.(*net.IPNet); ok {
					out = append(out, ipn.IP.String())
				}
			}
		}
		break
	}
	return out
}
