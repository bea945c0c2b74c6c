package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wsbench/wsbench/sim"
	"github.com/wsbench/wsbench/wire"
)

func newSimCmd() *cobra.Command {
	var (
		profile, variant, behaviour, caFile string
		stackExt, allocExt, realtime        bool
		insecure                            bool
		seed                                uint64
		faults                              sim.Faults
	)
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run one virtual board on a pseudo-terminal until Ctrl-C",
		Long: `Run a virtual ESP32 board that speaks wsbench's wire protocol on a
pseudo-terminal, and print the terminal's path so that "wsbench collect", a
terminal program or any serial tool can attach to it.

The board boots (ROM banner, ESP-IDF log lines, a Hello frame) and then
answers line commands (hello, run, stop, reset, owners, fault). Its sessions
are real TLS connections to the URLs of the run command; --ca names the PEM
CA that signs the peer's certificate ("wsbench serve" writes one).
Profiles: ` + profileList() + `.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			prof, err := sim.ProfileByName(profile)
			if err != nil {
				return fmt.Errorf("--profile: %w", err)
			}
			opts := sim.DefaultOptions(prof)
			opts.WSTaskStackInExtRAM = stackExt
			opts.WSAllocInExtRAM = allocExt
			if caFile == "" && !insecure {
				return errors.New("--ca FILE is required (the peer's CA certificate), or --insecure for a throw-away test")
			}
			b, err := sim.New(sim.Config{Profile: profile, Variant: variant, Options: opts, Behaviour: behaviour,
				Seed: seed, Realtime: realtime, Faults: faults, CAFile: caFile, InsecureSkipVerify: insecure})
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			path, done, err := sim.ServePTY(ctx, b)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), path)
			fmt.Fprintf(cmd.ErrOrStderr(), "virtual %s (%s, %s) on %s; Ctrl-C to stop\n", profile, sim.VariantName(opts), behaviourOr(behaviour), path)
			err = <-done
			if ctx.Err() != nil {
				return nil
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&profile, "profile", "esp32s3-n8r8", "board profile")
	f.StringVar(&variant, "variant", "", "variant name reported in Hello (default: derived from the options)")
	f.BoolVar(&stackExt, "stack-ext", false, "CONFIG_ESP_WS_CLIENT_TASK_STACK_IN_EXT_RAM")
	f.BoolVar(&allocExt, "alloc-ext", false, "CONFIG_ESP_WS_CLIENT_ALLOC_IN_EXT_RAM")
	f.StringVar(&behaviour, "behaviour", wire.BehaviourFallback, "placement behaviour: fallback (PR 980) or strict (PR 1117)")
	f.Uint64Var(&seed, "seed", 1, "seed of the modelled variation")
	f.BoolVar(&realtime, "realtime", false, "pace virtual time at wall-clock speed")
	f.StringVar(&caFile, "ca", "", "PEM file of the CA the board trusts for its TLS sessions")
	f.BoolVar(&insecure, "insecure", false, "skip certificate verification (tests only)")
	f.Uint32Var(&faults.LeakBytes, "fault-leak", 0, "leak this many bytes per churn cycle")
	f.BoolVar(&faults.SmallStack, "fault-small-stack", false, "websocket task stack too small for TLS")
	f.BoolVar(&faults.PSRAMFail, "fault-psram-fail", false, "every PSRAM allocation fails")
	f.BoolVar(&faults.WDTPanic, "fault-wdt-panic", false, "the task watchdog panics and reboots")
	return cmd
}

func profileList() string {
	var s string
	for i, p := range sim.Profiles() {
		if i > 0 {
			s += ", "
		}
		s += p.Name + " (" + p.Description + ")"
	}
	return s
}

func behaviourOr(b string) string {
	if b == "" {
		return wire.BehaviourFallback
	}
	return b
}
