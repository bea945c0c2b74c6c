package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/wsbench/wsbench/idf"
)

func newBuildCmd() *cobra.Command {
	var o idf.BuildOptions
	cmd := &cobra.Command{
		Use:   "build --target esp32s3|esp32 --variant NAME",
		Short: "Build one firmware variant with idf.py (needs ESP-IDF v5.3+ in the environment)",
		Long: `Build one variant of the benchmark firmware with ESP-IDF's idf.py.

The build lives in <project>/build/<target>/<variant> with its own sdkconfig,
generated from sdkconfig.defaults, sdkconfig.defaults.<target> and
variants/<variant>.defaults. Afterwards 'idf.py size --format json2' is stored
as size.json beside it, so reports can show static memory.

Variants of the repository's firmware: ` + strings.Join(idf.Variants(), ", ") + `.
Another project (--project) has the variants of its variants/*.defaults.

By default esp_websocket_client comes from esp-protocols at the merge commit
of PR 1117 (firmware/main/idf_component.yml: no registry release has the
placement options yet). --component-path builds against a local checkout
instead (for example PR 980's head, or any other branch of esp-protocols;
--behaviour says what its code does when PSRAM allocation fails).

After configuring and before compiling, the generated sdkconfig is checked
against every line of the defaults layers: the build fails naming each line
(file:line) that did not take effect, and why (no such option in this ESP-IDF
and component, a dependency that is off, ...). See firmware/README.md.

--qemu builds the image for Espressif's QEMU (sdkconfig.defaults.qemu after the
variant's layer, in <project>/build/qemu/<target>/<variant>) and writes the full
flash image qemu_flash.bin there (docs/qemu.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Output = cmd.ErrOrStderr()
			art, err := idf.Build(cmd.Context(), o)
			if err != nil {
				return err
			}
			out := struct {
				idf.Artifact
				FlashImage string `json:"flash_image,omitempty"`
			}{Artifact: art}
			if o.QEMU {
				if out.FlashImage, err = idf.MergeFlash(art.BuildDir); err != nil {
					return err
				}
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			if err := enc.Encode(out); err != nil {
				return fmt.Errorf("write artifact: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Target, "target", "esp32s3", "chip: "+strings.Join(idf.Targets(), " or "))
	f.StringVar(&o.Variant, "variant", "", "firmware variant (variants/<name>.defaults)")
	f.StringVar(&o.ComponentPath, "component-path", "", "local esp_websocket_client checkout to build against (default: esp-protocols at PR 1117's merge commit)")
	f.StringVar(&o.Behaviour, "behaviour", "", "placement behaviour of that checkout: fallback (internal RAM when PSRAM fails) or strict (init/start fail: PR 1117, PR 980's head 64b47ec97)")
	f.StringVar(&o.PeerCA, "peer-ca", "", "CA of the peer server to embed (default: firmware/main/certs/peer_ca.pem, else the one 'wsbench serve' generated)")
	f.StringVar(&o.Project, "project", "firmware", "ESP-IDF project directory")
	f.StringVar(&o.BuildRoot, "build-root", "", "directory for build/<target>/<variant> (default <project>/build)")
	f.StringVar(&o.IDFPy, "idf-py", "", "idf.py to run (default: from PATH, then $IDF_PATH/tools)")
	f.BoolVar(&o.Clean, "clean", false, "remove the variant's build directory first")
	f.BoolVar(&o.QEMU, "qemu", false, "build for Espressif's QEMU and write its flash image")
	_ = cmd.MarkFlagRequired("variant")
	return cmd
}
