#!/usr/bin/python3
"""Write the sdkconfig, sdkconfig.h and config.env of one firmware build the
way ESP-IDF's configure step does, without ESP-IDF's Python environment:
Debian's python3-kconfiglib (upstream kconfiglib 14) reads the real Kconfig
tree of an ESP-IDF source checkout, the defaults layers are applied in order
(each followed by <layer>.<target> when it exists, as tools/cmake/kconfig.cmake
does), after renaming deprecated options from every sdkconfig.rename (as
kconfgen does for defaults files).

Differences from a real configure step: every component of the ESP-IDF tree
is read (a real build reads only the components in the build), and kconfgen's
ESP-IDF extensions are absent (the v5.3-v5.5 Kconfig files need none).

    kconfig_gen.py IDF_DIR IDF_VERSION WS_COMPONENT_DIR TARGET PROJECT OUT LAYER...

Used by scripts/firmware-hostcheck.sh.
"""
import glob
import json
import os
import sys
import tempfile

import kconfiglib

# kconfiglib 14.1 reads a help text on a node that never had one
# (AttributeError: 'MenuNode' object has no attribute 'help'), which some
# ESP-IDF Kconfig files trigger; give such nodes an empty help first.
_parse_help = kconfiglib.Kconfig._parse_help


def _parse_help_safe(self, node):
    try:
        node.help
    except AttributeError:
        node.help = None
    return _parse_help(self, node)


kconfiglib.Kconfig._parse_help = _parse_help_safe


def main():
    idf, version, ws, target, project, out = sys.argv[1:7]
    layers = sys.argv[7:]
    os.makedirs(out, exist_ok=True)
    kconfigs = sorted(glob.glob(f"{idf}/components/*/Kconfig")) + ([f"{ws}/Kconfig"] if ws else [])
    projbuild = sorted(glob.glob(f"{idf}/components/*/Kconfig.projbuild")) + [f"{project}/main/Kconfig.projbuild"]
    renames = [f"{idf}/sdkconfig.rename"] + sorted(glob.glob(f"{idf}/components/*/sdkconfig.rename")) + \
        sorted(glob.glob(f"{idf}/components/*/sdkconfig.rename.{target}"))
    renames = [r for r in renames if os.path.exists(r)]
    with open(f"{out}/kconfigs.in", "w") as f:
        f.write("\n".join(f'source "{p}"' for p in kconfigs))
    with open(f"{out}/kconfigs_projbuild.in", "w") as f:
        f.write("\n".join(f'source "{p}"' for p in projbuild))
    # The keys of ESP-IDF's tools/kconfig_new/config.env.in (v5.3-v5.5).
    env = {
        "COMPONENT_KCONFIGS": ";".join(kconfigs),
        "COMPONENT_KCONFIGS_PROJBUILD": ";".join(projbuild),
        "COMPONENT_SDKCONFIG_RENAMES": ";".join(renames),
        "IDF_TARGET": target,
        "IDF_TOOLCHAIN": "gcc",
        "IDF_VERSION": version,
        "IDF_ENV_FPGA": "",
        "IDF_PATH": idf,
        "COMPONENT_KCONFIGS_SOURCE_FILE": f"{out}/kconfigs.in",
        "COMPONENT_KCONFIGS_PROJBUILD_SOURCE_FILE": f"{out}/kconfigs_projbuild.in",
    }
    with open(f"{out}/config.env", "w") as f:
        json.dump(env, f, indent=4)
    for k, v in env.items():
        os.environ[k] = v
    os.environ["IDF_INIT_VERSION"] = version

    ren = {}
    for p in renames:
        with open(p) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    old, new = line.split()
                    ren[old] = new

    def renamed(line):
        s = line.strip()
        for old, new in ren.items():
            inv = new.startswith("!")
            name = new.lstrip("!")
            if s.startswith(old + "="):
                val = s[len(old) + 1:]
                if inv:
                    val = {"y": "n", "n": "y"}.get(val, val)
                return f"{name}={val}\n" if val != "n" else f"# {name} is not set\n"
            if s == f"# {old} is not set":
                return f"{name}=y\n" if inv else f"# {name} is not set\n"
        return line

    kconf = kconfiglib.Kconfig(f"{idf}/Kconfig", warn=False)
    files = []
    for layer in layers:
        p = layer if os.path.isabs(layer) else f"{project}/{layer}"
        files.append(p)
        if os.path.exists(f"{p}.{target}") and not p.endswith("." + target):
            files.append(f"{p}.{target}")
    for p in files:
        with open(p) as f:
            lines = [renamed(line) for line in f]
        with tempfile.NamedTemporaryFile("w", delete=False, suffix=".defaults") as t:
            t.writelines(lines)
        try:
            kconf.load_config(t.name, replace=False)
        finally:
            os.unlink(t.name)
    kconf.write_config(f"{out}/sdkconfig")
    kconf.write_autoconf(f"{out}/sdkconfig.h")
    # For the Go check (idf.TestCheckGeneratedSDKConfigs): what was applied.
    with open(f"{out}/layers.txt", "w") as f:
        f.write(f"{project}\n{target}\n" + "\n".join(layers) + "\n")
    print(f"{out}: {len(kconf.unique_defined_syms)} symbols")


if __name__ == "__main__":
    main()
